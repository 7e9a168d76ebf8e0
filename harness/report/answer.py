"""The report's first line: is the run as expected, and if not, what is not.

Built from the merged results and the results paths ``normconf report`` was given. Per environment:
the cells and claims whose outcome is *unexpected* or *fixed* (an entry's divergence, error or failing
verdict that now agrees or holds, with the versions it was fixed in), the harness failures its run's
``summary`` record lists, its run's exit status, a results file without a summary (the run did not
finish, or an older normconf wrote it), a path that does not exist (the environment did not install
or its run did not start) or a file that holds no cell, and the framework versions it ran. The line
says "As expected" only when every environment's run finished with nothing unexpected; "Not as
expected: ..." with the counts otherwise; "Not confirmed: ..." when nothing unexpected was recorded
but a run left no summary.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from harness.results.read import Merged, RunInfo
from harness.results.record import ClaimResult, Result

from .model import DISAGREE, Matrix, env_rank

#: why a results path given to the report has no results
MISSING = "is missing: the environment did not install or its run did not start"
NO_SUMMARY = "no summary: the run did not finish (killed, or still running), or an older normconf wrote it"
#: how many items an environment lists before pointing to the matrix filter
LIST_LIMIT = 50

_SHARD = re.compile(r"\.shard-\d+-of-\d+$")


def env_of_path(path) -> str:
    """The environment a results path is named for: ``reports/results/nightly.jsonl`` -> ``nightly``
    (a shard's ``current.shard-1-of-2.jsonl`` -> ``current``; any other path, a directory, as it is)."""
    name = Path(path).name
    if not name.endswith(".jsonl"):
        return str(path)
    return _SHARD.sub("", name.removesuffix(".jsonl")) or str(path)


def missing_paths(given) -> list[tuple[str, str]]:
    """(path, why) for each results path given that holds no results file: missing, or a directory
    without ``*.jsonl``."""
    out = []
    for it in given or ():
        p = Path(it)
        if p.is_dir():
            if not any(q.is_file() for q in p.glob("*.jsonl")):
                out.append((str(it), "holds no results file"))
        elif not p.exists():
            out.append((str(it), MISSING if p.name.endswith(".jsonl") else "is missing"))
    return out


def missing_envs(merged: Merged, expected, given=None) -> list[tuple[str, str]]:
    """(environment, why) for each expected environment that has no results file (no run, no record),
    unless a missing path given already names it."""
    have = {run.env for run in merged.runs} | {k[0] for k in merged.results} | {k[0] for k in merged.claims}
    named = {env_of_path(p) for p, _ in missing_paths(given)}
    where = ", ".join(str(g) for g in given or ()) or "the results given"
    return [(env, f"has no results in {where}: the environment did not install or its run did not start")
            for env in expected if env not in have and env not in named]


@dataclass
class Item:
    """One unexpected or fixed cell or claim, as the first screen lists it."""
    kind: str  # cell | claim
    ident: str  # case id or claim id
    column: str  # adapter@env
    outcome: str  # unexpected | fixed
    why: str  # status and the entry's reason, in a few words
    href: str  # where it is on the page: its details, the drill-down, or the claim ('' when nowhere)
    row: int = -1  # the matrix row and column of a cell (-1 for a claim), for the page script
    col: int = -1


@dataclass
class EnvAnswer:
    env: str
    paths: list[str] = field(default_factory=list)
    cells: int = 0
    claims: int = 0
    unexpected_cells: list[Item] = field(default_factory=list)
    unexpected_claims: list[Item] = field(default_factory=list)
    fixed: list[Item] = field(default_factory=list)
    #: fixed-in text ("keras 3.16.0.dev2026102704", or "" when not recorded) -> (cells, claims)
    fixed_in: dict[str, list[int]] = field(default_factory=dict)
    harness: list[tuple[str, str]] = field(default_factory=list)  # (node id, reason)
    unfinished: list[str] = field(default_factory=list)  # files without a summary record
    interrupted: list[str] = field(default_factory=list)
    exits: list[int] = field(default_factory=list)  # exit statuses of the runs' summaries
    no_results: list[str] = field(default_factory=list)  # "PATH is missing: ..." / "PATH holds no cell ..."
    versions: list[tuple[str, str]] = field(default_factory=list)  # (package, version(s))

    @property
    def bad(self) -> bool:
        return bool(self.unexpected_cells or self.unexpected_claims or self.fixed or self.harness
                    or self.no_results or self.interrupted or self.unexplained_exit)

    @property
    def unexplained_exit(self) -> int:
        """A run's non-zero exit status that no unexpected item or harness failure explains (a stale
        entry under ``--strict``, pytest's own failures), else 0."""
        if self.harness or self.unexpected_cells or self.unexpected_claims or self.fixed:
            return 0
        return max(self.exits, default=0)

    @property
    def state(self) -> str:
        """ok | bad | unconfirmed: the environment's word on the first screen's colour."""
        return "bad" if self.bad else ("unconfirmed" if self.unfinished else "ok")

    @property
    def text(self) -> str:
        """The environment's one line: what is not as expected, or that it is."""
        if self.no_results and not (self.cells or self.claims):
            return "no results — " + "; ".join(self.no_results)
        parts = []
        if self.unexpected_cells:
            parts.append(_count(len(self.unexpected_cells), "unexpected cell"))
        if self.unexpected_claims:
            parts.append(_count(len(self.unexpected_claims), "unexpected claim"))
        parts += _fixed_phrases(self.fixed_in)
        if self.harness:
            parts.append(_count(len(self.harness), "harness failure"))
        if self.interrupted:
            parts.append("run interrupted")
        if self.unexplained_exit:
            parts.append(f"run exited {self.unexplained_exit}")
        parts += self.no_results
        if self.unfinished:
            parts.append(NO_SUMMARY)
        done = f"{_count(self.cells, 'cell')}, {_count(self.claims, 'claim')}"
        if not parts:
            return f"as expected — {done}"
        return "; ".join(parts) + f" ({done})"

    @property
    def items(self) -> list[Item]:
        return self.unexpected_cells + self.unexpected_claims + self.fixed


@dataclass
class Answer:
    verdict: str  # As expected | Not as expected | Not confirmed | No results
    line: str  # what follows the verdict
    state: str  # ok | bad | unconfirmed
    envs: list[EnvAnswer]

    @property
    def text(self) -> str:
        return f"{self.verdict}: {self.line}"


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _fixed_phrases(fixed_in: dict[str, list[int]]) -> list[str]:
    """"1 claim fixed in keras 3.16.0.dev2026102704" per fixed-in text."""
    out = []
    for where, (cells, claims) in sorted(fixed_in.items()):
        what = " and ".join(_count(n, w) for n, w in ((cells, "cell"), (claims, "claim")) if n)
        out.append(f"{what} fixed" + (f" in {where}" if where else ""))
    return out


def _versions_text(pkgs) -> str:
    if not isinstance(pkgs, dict):
        return ""
    return ", ".join(f"{k} {v}" for k, v in pkgs.items() if isinstance(v, (str, int, float)))


def _why(r: Result | ClaimResult) -> str:
    e = r.expectation if isinstance(r.expectation, dict) else {}
    state = r.verdict if isinstance(r, ClaimResult) else r.status
    where = f" ({e.get('file')}:{e.get('line', '')})" if e.get("file") else ""
    if r.outcome == "fixed":
        want = e.get("verdict") if isinstance(r, ClaimResult) else e.get("status")
        want = "/".join(want) if isinstance(want, list) else str(want or "")
        return f"{state}, the entry expects {want}: {e.get('reason', '')}{where}"
    if e.get("regressed"):
        return f"{state} again although fixed in {_versions_text(e.get('fixed'))}{where}"
    if e:
        want = e.get("verdict") if isinstance(r, ClaimResult) else e.get("status")
        want = "/".join(want) if isinstance(want, list) else str(want or "")
        return f"{state}, expected {want}{where}"
    if isinstance(r, ClaimResult):
        return f"verdict {state}, expected holds"
    return {"diverge": "new divergence", "error": "new error"}.get(state, state)


def _versions(merged: Merged, env: str) -> list[tuple[str, str]]:
    """The packages the environment's adapters ran with, each with its version(s); Python and numpy
    from the run's header."""
    seen: dict[str, list[str]] = {}
    for (e, _), versions in sorted(merged.adapters.items()):
        if e != env:
            continue
        for k, v in versions.items():
            vs = seen.setdefault(str(k), [])
            if str(v) not in vs:
                vs.append(str(v))
    h = merged.headers.get(env) or {}
    out = [(k, ", ".join(seen[k])) for k in sorted(seen)]
    for k in ("numpy", "python"):
        if isinstance(h.get(k), str) and k not in seen:
            out.insert(0, (k, h[k]))
    return out


class CellLinks:
    """Where a cell is on the page: the details of a disagreeing cell (``#x<row>-<column>``, also
    without JavaScript), else its drill-down (``#cell=<case id>|<adapter@env>``, which the page script
    opens), with its matrix row and column (-1 when the matrix has no such cell)."""

    def __init__(self, matrix: Matrix):
        self.rows = {row.case_id: row for row in matrix.rows}
        self.cols = {(c.env, c.adapter): c.index for c in matrix.columns}

    def at(self, case_id: str, adapter: str, env: str) -> tuple[str, int, int]:
        row, col = self.rows.get(case_id), self.cols.get((env, adapter), -1)
        if row is None or col < 0 or row.cells[col].result is None:
            return "", -1, -1
        if row.cells[col].status in DISAGREE:
            return f"#x{row.index}-{col}", row.index, col
        return "#cell=" + quote(f"{case_id}|{adapter}@{env}", safe="@|"), row.index, col


def build(merged: Merged, matrix: Matrix, missing=()) -> Answer:
    """The answer for these merged results, the matrix the page shows them in, and the results paths
    that were given but hold nothing (``missing``: (path, why), see :func:`missing_paths`)."""
    envs: dict[str, EnvAnswer] = {}

    def env(name: str) -> EnvAnswer:
        a = envs.get(name)
        if a is None:
            a = envs[name] = EnvAnswer(name)
        return a

    links = CellLinks(matrix)
    for run in merged.runs:
        _add_run(env(run.env or env_of_path(run.path)), run)
    for path, why in missing:
        a = env(env_of_path(path))
        a.paths.append(path)
        a.no_results.append(f"{path} {why}")
    for (e, adapter, cid), r in merged.results.items():
        if r.absent:
            continue
        a = env(e)
        if r.outcome not in ("unexpected", "fixed"):
            continue
        href, ri, col = links.at(cid, adapter, e)
        item = Item("cell", cid, f"{adapter}@{e}", r.outcome, _why(r), href, ri, col)
        (a.fixed if r.outcome == "fixed" else a.unexpected_cells).append(item)
        if r.outcome == "fixed":
            a.fixed_in.setdefault(_versions_text((r.expectation or {}).get("fixed_in")), [0, 0])[0] += 1
    for (e, adapter, cid), c in merged.claims.items():
        if c.absent or c.outcome not in ("unexpected", "fixed"):
            continue
        a = env(e)
        item = Item("claim", cid, f"{adapter}@{e}", c.outcome, _why(c), f"#claim-{cid}")
        (a.fixed if c.outcome == "fixed" else a.unexpected_claims).append(item)
        if c.outcome == "fixed":
            a.fixed_in.setdefault(_versions_text((c.expectation or {}).get("fixed_in")), [0, 0])[1] += 1
    # cells and claims per environment, as the page shows them (the newest record of each)
    counts: dict[str, list[int]] = {}
    for (e, _, _), r in merged.results.items():
        if not r.absent:
            counts.setdefault(e, [0, 0])[0] += 1
    for (e, _, _), c in merged.claims.items():
        if not c.absent:
            counts.setdefault(e, [0, 0])[1] += 1
    for name in counts:
        env(name)
    for name, a in envs.items():
        a.cells, a.claims = counts.get(name, (0, 0))
        a.versions = _versions(merged, name)
        for items in (a.unexpected_cells, a.unexpected_claims, a.fixed):
            items.sort(key=lambda i: (i.ident, i.column))
    ordered = sorted(envs.values(), key=lambda a: (env_rank(a.env), a.env))
    return _answer(ordered)


def _add_run(a: EnvAnswer, run: RunInfo) -> None:
    a.paths.append(run.path)
    s = run.summary
    if s is None:
        a.unfinished.append(run.path)
    else:
        a.exits.append(s.exit_status)
        a.harness.extend((str(h.get("node", "")), str(h.get("reason", ""))) for h in s.harness_failures)
        if s.interrupted:
            a.interrupted.append(run.path)
    if run.cells == 0 and run.claims == 0:
        if s is None:
            why = "its run did not finish"
        elif s.harness_failures:
            first = s.harness_failures[0]
            why = (f"its run ended with {_count(len(s.harness_failures), 'harness failure')} "
                   f"(the first: {first.get('reason') or first.get('node')})")
        else:
            why = "its run selected no cell"
        a.no_results.append(f"{run.path} holds no cell: {why}")


def _per_env(envs: list[EnvAnswer], n_of) -> str:
    return ", ".join(f"{a.env} {n_of(a)}" for a in envs if n_of(a))


def _answer(envs: list[EnvAnswer]) -> Answer:
    if not envs:
        return Answer("No results", "no results file was given or found; run the conformance environments first",
                      "bad", envs)
    n_cells = sum(len(a.unexpected_cells) for a in envs)
    n_claims = sum(len(a.unexpected_claims) for a in envs)
    n_harness = sum(len(a.harness) for a in envs)
    parts = [_count(n_cells, "unexpected cell")
             + (f" ({_per_env(envs, lambda a: len(a.unexpected_cells))})" if n_cells else "")]
    if n_claims:
        parts.append(_count(n_claims, "unexpected claim") + f" ({_per_env(envs, lambda a: len(a.unexpected_claims))})")
    fixed_in: dict[str, list[int]] = {}
    for a in envs:
        for where, (c, k) in a.fixed_in.items():
            got = fixed_in.setdefault(where, [0, 0])
            got[0] += c
            got[1] += k
    parts += _fixed_phrases(fixed_in)
    parts.append(_count(n_harness, "harness failure")
                 + (f" ({_per_env(envs, lambda a: len(a.harness))})" if n_harness else ""))
    extra = []
    empty = [a.env for a in envs if a.no_results and not (a.cells or a.claims)]
    if empty:
        extra.append(f"no results from {', '.join(empty)}")
    partly = [a.env for a in envs if a.no_results and (a.cells or a.claims)]
    if partly:
        extra.append(f"a results file missing or empty in {', '.join(partly)}")
    stopped = [a.env for a in envs if a.interrupted]
    if stopped:
        extra.append(f"run interrupted in {', '.join(stopped)}")
    exited = [f"{a.env} exited {a.unexplained_exit}" for a in envs if a.unexplained_exit]
    extra += exited
    unfinished = [a.env for a in envs if a.unfinished]
    if unfinished:
        extra.append(f"no summary from {', '.join(unfinished)} (run did not finish, or an older normconf wrote it)")
    line = ", ".join(parts) + ("; " + "; ".join(extra) if extra else "")
    if any(a.bad for a in envs):
        return Answer("Not as expected", line, "bad", envs)
    if unfinished:
        return Answer("Not confirmed", line, "unconfirmed", envs)
    total = sum(a.cells for a in envs), sum(a.claims for a in envs)
    names = ", ".join(a.env for a in envs)
    return Answer("As expected", f"{_count(len(envs), 'environment')} ({names}), {_count(total[0], 'cell')} and "
                  f"{_count(total[1], 'claim')}, 0 unexpected, 0 harness failures", "ok", envs)
