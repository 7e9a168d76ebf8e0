"""``normconf bisect``: the first release of a package where a cell's verdict changed.

The command lists the candidate releases (:mod:`.candidates`), makes or reuses each candidate's
environment (:mod:`.envs`), runs the cell there (:mod:`.cell`) and searches (:mod:`.search`): the two
ends first, then halving, or every release with ``--all``. It prints one line per release tried, then
the first change ("first changed in NAME X (S1 in W, S2 in X)") and the number of installs, and can
write the timeline (:mod:`harness.results.timeline`). Exit status: 0 when a change was found, 1 when
there is none in the range, 2 for a usage or harness error (one line on stderr).
"""
from __future__ import annotations

import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from harness.adapters import registry
from harness.results.record import utc_now
from harness.results.timeline import (
    Change,
    Step,
    Timeline,
    TimelineFileError,
    check_target,
    write_timeline,
)
from harness.text.inert import fmt, printable

from .candidates import (
    Candidate,
    CandidateError,
    default_index,
    extra_indexes,
    from_directories,
    from_index,
    select,
)
from .cell import (
    Cell,
    CellError,
    harness_requirements,
    harness_source,
    locate,
    run_cell,
)
from .envs import (
    BisectSetupError,
    Environments,
    InstallFailed,
    Sources,
    allow_runs,
    default_cache_dir,
    find_uv,
    stop_all,
)
from .search import Search, bisect

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
#: a package name as PEP 508 spells one
_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")


class UsageError(Exception):
    """A bad argument; one line."""


def _say(msg: str):
    print(f"normconf bisect: {msg}", file=sys.stderr)


def words(explanation: str) -> str:
    """An explanation's words: its numbers masked, so that a change of figures is no change of kind."""
    return " ".join(_NUMBER.sub("#", explanation or "").split())


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _first_line(text: str, limit: int = 160) -> str:
    """A message as one line: terminal colour codes dropped, line breaks folded, the rest escaped, cut."""
    t = printable(" ".join(_ANSI.sub("", text or "").split()))
    return t if len(t) <= limit else t[:limit - 3] + "..."


def step_of(c: Candidate, result=None, problem: str = "", installed: bool = True) -> Step:
    """The timeline's step for a candidate: its record's figures, or why it has none."""
    if result is None:
        return Step(str(c.version), "", installed=installed, message=problem)
    m = result.metrics
    ratio = m.max_abs / m.allowed if m.max_abs is not None and m.allowed else None
    message = result.message if result.status not in ("agree", "diverge") else ""
    return Step(str(c.version), result.status, ratio, m.max_abs, result.explanation, True, message)


def format_step(package: str, s: Step, note: str = "") -> str:
    head = f"{package} {s.version:<12}"
    if not s.installed:
        return f"{head} INSTALL FAILED  {_first_line(s.message, 300)}"
    if not s.status:
        return f"{head} NOT RUN         {_first_line(s.message, 300)}"
    line = f"{head} {s.status:<9} error {fmt(s.error) if s.error is not None else '-':<10} " \
           f"ratio {fmt(s.ratio) if s.ratio is not None else '-':<8}"
    if s.message and s.status not in ("agree", "diverge"):
        line += f"  {_first_line(s.message, 240)}"
    if note:
        line += f"  [{note}]"
    return line.rstrip()


def _parse_args(args):
    if not args.id or not args.adapter:
        raise UsageError("bisect needs a case id and an adapter: normconf bisect CASE_ID ADAPTER --package NAME")
    if not _NAME.match(args.package or ""):
        raise UsageError(f"--package {printable(args.package)!s}: not a package name")
    spec = None
    if args.versions:
        try:
            spec = SpecifierSet(args.versions)
        except InvalidSpecifier:
            raise UsageError(f"--versions {printable(args.versions)}: not a PEP 440 version specifier "
                             "(e.g. '>=3.5,<3.16')") from None
    fixed = []
    for r in args.with_ or []:
        try:
            req = Requirement(r)
        except InvalidRequirement:
            raise UsageError(f"--with {printable(r)}: not a requirement (e.g. torch==2.13.0)") from None
        if canonicalize_name(req.name) == canonicalize_name(args.package):
            raise UsageError(f"--with {printable(r)}: names the package being bisected")
        fixed.append(r)
    if args.jobs < 1:
        raise UsageError(f"--jobs wants a positive number, not {args.jobs}")
    if args.no_index and not args.find_links:
        raise UsageError("--no-index needs --find-links DIR (where else would the releases come from?)")
    for d in [*(args.find_links or []), *(args.extra_find_links or [])]:
        if not Path(d).is_dir():
            raise UsageError(f"{printable(d)}: no such directory of wheels")
    return spec, fixed


def _candidates(args, spec) -> list[Candidate]:
    if args.find_links:
        found = from_directories(args.find_links, args.package)
        where = " ".join(printable(d) for d in args.find_links)
    else:
        index = args.index_url or default_index()
        found = []
        for url in [index, *(args.extra_index_url or []), *extra_indexes()]:
            found += from_index(url, args.package)
        where = printable(index)
    chosen = select(found, spec, args.pre)
    if len(chosen) < 2:
        what = f" matching {printable(args.versions)}" if args.versions else ""
        listed = ", ".join(str(c.version) for c in select(found, None, True)[-8:]) or "none"
        raise UsageError(f"{len(chosen)} release(s) of {printable(args.package)}{what} in {where}; bisect needs "
                         f"at least two (releases there: {listed})")
    return chosen


def _summary(package: str, search: Search, steps: dict[str, Step], explanation: bool) -> list[str]:
    lines = []

    def change_line(t, first: bool) -> str:
        a, b = steps[str(t.before)], steps[str(t.after)]
        text = (f"{'first changed' if first else 'changed'} in {package} {t.after} "
                f"({a.status} in {t.before}, {b.status} in {t.after})")
        if explanation and a.status == b.status:
            text += f"; explanation {_first_line(a.explanation, 80)!r} -> {_first_line(b.explanation, 80)!r}"
        if t.untried:
            text += f"; could not be tried between them: {', '.join(str(u) for u in t.untried)}"
        return text

    for i, t in enumerate(search.transitions):
        lines.append(change_line(t, i == 0))
    if not search.transitions:
        judged = sorted(search.judged, key=lambda cv: cv[0].version)
        lo, hi = judged[0][0], judged[-1][0]
        status = steps[str(lo.version)].status
        if search.every:
            lines.append(f"no change in {package} {lo} ... {hi}: {status} in every release tried")
        else:
            lines.append(f"no change in {package} {lo} ... {hi}: {status} at both ends")
    return lines


def main(args) -> int:
    try:
        return _main(args)
    except (UsageError, CellError, CandidateError, BisectSetupError, TimelineFileError) as e:
        _say(str(e))
        return 2
    except KeyboardInterrupt:
        _say("interrupted")
        return 130


def _main(args) -> int:
    t0 = time.monotonic()
    allow_runs()
    spec, fixed = _parse_args(args)
    try:
        known = registry()
    except Exception as e:  # noqa: BLE001 - a broken NORMCONF_ADAPTERS entry is one line, not a traceback
        raise UsageError(f"cannot read the adapter registry: {type(e).__name__}: {printable(e)}") from None
    if args.adapter not in known:
        raise UsageError(f"unknown adapter '{printable(args.adapter)}' (known: {', '.join(sorted(known))})")
    if args.timeline_out:
        check_target(args.timeline_out)  # before the installs, not after them
    cell: Cell = locate(args.id, args.adapter, args.cases, max_elements=args.max_elements)
    uv = find_uv()
    candidates = _candidates(args, spec)
    package = canonicalize_name(args.package)
    cache = Path(args.cache_dir).expanduser() if args.cache_dir else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    source = harness_source(cache)
    reqs = harness_requirements()
    if not reqs:
        raise BisectSetupError("cannot read the harness's runtime requirements (pyproject.toml or the installed "
                               "normconf's metadata)")
    # the candidates of --find-links are installed by their file; --extra-find-links serve every requirement
    sources = Sources(find_links=tuple(str(Path(d).resolve()) for d in args.extra_find_links or []),
                      index_url=args.index_url, extra_index_urls=tuple(args.extra_index_url or []),
                      no_index=args.no_index, pre=args.pre, build=args.build)
    envs = Environments(cache / "envs", uv, sources, package=package, harness_requirements=reqs, fixed=fixed,
                        swap=args.swap, log=lambda text: _say(text) if not args.quiet else None)
    newest_first = list(reversed(candidates))
    steps: dict[str, Step] = {}
    print(f"normconf bisect: {cell.case_id} on {cell.adapter}, {len(candidates)} release(s) of {package} "
          f"({candidates[0]} ... {candidates[-1]}){' with ' + ', '.join(fixed) if fixed else ''}"
          f"{', swapping the package in one base environment' if args.swap else ''}", flush=True)

    def evaluate(c: Candidate) -> tuple[Step, str]:
        """The candidate's step (and a note for its line): make its environment, run the cell."""
        try:
            env = envs.get(c, newest_first)
        except InstallFailed as e:
            return step_of(c, problem=str(e), installed=False), ""
        ran = run_cell(env, cell, source, cell_timeout=args.cell_timeout, startup_timeout=args.startup_timeout,
                       timeout=args.cell_timeout + args.startup_timeout + 300)
        return step_of(c, ran.result, ran.problem), "cached environment" if env.reused else ""

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        # with --jobs N, N candidates are installed and run at once: every one for --all, else the two ends
        ahead = candidates if args.all else [candidates[0], candidates[-1]]
        futures = {c: pool.submit(evaluate, c) for c in (ahead if args.jobs > 1 else [])}

        def probe(c: Candidate):
            s, note = futures[c].result() if c in futures else evaluate(c)
            steps[str(c.version)] = s
            print(format_step(package, s, note), flush=True)
            if not s.status:
                return None
            return (s.status, words(s.explanation)) if args.explanation else s.status

        try:
            search = bisect(candidates, probe, every=args.all)
        except BaseException:
            for f in futures.values():
                f.cancel()
            stop_all()
            raise
        for f in futures.values():  # an end prefetched but never asked for (both ends are always asked for)
            f.cancel()
    installs = envs.made + envs.reused + envs.failed
    extra = [f"{envs.reused} reused from the cache" if envs.reused else "",
             f"{envs.failed} failed" if envs.failed else "",
             "and 1 base environment" if envs.base is not None else ""]
    count_line = f"{installs} installs" + (f" ({', '.join(e for e in extra if e)})" if any(extra) else "") \
        + f" in {time.monotonic() - t0:.0f} s"
    if len(search.judged) < 2:
        print(count_line)
        raise BisectSetupError(f"only {len(search.judged)} release(s) of {package} could be installed and run; "
                               "nothing to compare (see the lines above)")
    for line in _summary(package, search, steps, args.explanation):
        print(line)
    judged = [steps[str(c.version)] for c, _ in search.judged]
    if all(s.status == "unsupported" for s in judged):
        print(f"note: the cell is unsupported in every environment tried ({_first_line(judged[0].message, 120)}); "
              "a framework the adapter needs may be missing: hold it with --with")
    print(count_line)
    if args.timeline_out:
        first = search.first
        change = None if first is None else Change(
            str(first.after), str(first.before), steps[str(first.before)].status, steps[str(first.after)].status)
        ordered = tuple(steps[str(c.version)] for c in candidates if str(c.version) in steps)
        info = {"mode": "swap" if args.swap else "resolve", "python": sys.version.split()[0], "time": utc_now(),
                "all": bool(args.all), "installs": installs}
        path = write_timeline(args.timeline_out, Timeline(cell.case_id, cell.adapter, package, ordered, change,
                                                          tuple(fixed), info))
        print(f"normconf bisect: wrote the timeline to {printable(path)}")
    return 0 if search.transitions else 1

