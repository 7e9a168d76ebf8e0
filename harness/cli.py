"""The ``normconf`` command (also ``python -m harness``): the parser and one thin function per command.

Each command imports its package when it runs, so ``normconf --help`` and one command do not pay for
the others' imports (pytest and the plugin for ``run``, Jinja2 for ``report``, hypothesis for ``fuzz``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.results.paths import collect
from harness.text.inert import printable


def _is_test_path(arg: str) -> bool:
    """A case directory, a case file or a node id among the pytest arguments."""
    if arg.startswith("-"):
        return False
    path = Path(arg.split("::", 1)[0])
    return "::" in arg or path.is_dir() or path.suffix in (".yaml", ".yml")


def _cmd_run(args, rest) -> int:
    import pytest

    pargs = ["-p", "harness.plugin", "-p", "no:cacheprovider", "-q", "--tb=short",
             "-o", "console_output_style=count"]
    if args.env_name:
        pargs += ["--env-name", args.env_name]
    if args.strict:
        pargs.append("--strict-expectations")
    if args.cases != "cases" and not any(r.split("=", 1)[0] == "--cases-root" for r in rest):
        pargs += ["--cases-root", args.cases]  # the root `normconf list` walks is the root the run walks
    if args.no_cache:
        pargs.append("--no-cache")
    if not any(_is_test_path(r) for r in rest):
        rest = [*rest, args.cases]
    # 0: every cell as expected; 1: something unexpected; 2: a harness failure (pytest's own
    # codes above 2 mean it could not run: usage errors, nothing collected)
    return int(pytest.main(pargs + rest))


def _cmd_report(args, rest) -> int:
    from harness.report import write_report

    paths = collect(args.paths)
    if not paths:
        print("normconf: no results files found; run the conformance environments first", file=sys.stderr)
    baseline = collect(args.baseline) if args.baseline else None
    fuzz_html = ""
    if args.fuzz:
        import os

        from harness.report import fuzz_view
        link = os.path.relpath(args.fuzz, Path(args.out).resolve().parent)
        fuzz_html = fuzz_view.section(args.fuzz, link)
    follows = cause_of = None
    if Path(args.cases, "expectations").is_dir():
        from harness.expectations import Expectations, discover
        from harness.expectations.grouping import cause_for
        exp = Expectations.load(discover(args.cases))
        for e in exp.errors:  # the report is written either way; only the moving comparison and causes are affected
            print(f"normconf: warning: {printable(e)}", file=sys.stderr)
        follows = None if exp.errors else exp.environments
        cause_of = None if exp.errors else (lambda r: cause_for(exp, r))
    from harness.compare import discover_defaults, load_defaults
    defaults, problems = load_defaults(discover_defaults(args.cases), relative_to=Path.cwd())
    for p in problems:  # a broken defaults file leaves its entries out of the porting view
        print(f"normconf: warning: {printable(p)}", file=sys.stderr)
    expect = [e.strip() for e in (args.expect_env or "").split(",") if e.strip()]
    out = write_report(paths, args.out, baseline, fuzz_html, given=args.paths, baseline_given=args.baseline,
                       expect_envs=expect, follows=follows, timeline_paths=args.timeline or (), cause_of=cause_of,
                       defaults=defaults)
    print(f"normconf: wrote {out} from {len(paths)} results file(s)"
          + (f", compared with {len(baseline)} baseline file(s)" if baseline else "")
          + (f", with the fuzz findings of {printable(args.fuzz)}" if args.fuzz else ""))
    return 0


def _cmd_diff(args, rest) -> int:
    from harness.report.diff import diff, format_text, pairing
    from harness.results.read import read_many

    wanted = []
    for p in args.pair or ():
        a, sep, b = p.partition("=")
        if not (sep and a and b):
            print(f"normconf: --pair wants OLD_ENV=NEW_ENV, not {printable(p)!r}", file=sys.stderr)
            return 2
        wanted.append((a, b))
    old, new = collect([args.old]), collect([args.new])
    if not old or not new:
        print("normconf: diff needs results on both sides", file=sys.stderr)
        return 2
    before, after = read_many(old), read_many(new)
    try:
        pairs = pairing(before, after, wanted)
    except ValueError as e:
        print(f"normconf: --pair {printable(e)}", file=sys.stderr)
        return 2
    d = diff(before, after, drift=args.drift, pairs=pairs)
    print(format_text(d, args.old, args.new))
    return 1 if args.strict and d.of("regression") else 0


def _cmd_claims(args, rest) -> int:
    from harness.report.claims_view import build, format_text
    from harness.results.read import read_many

    paths = collect(args.paths)
    print(format_text(build(read_many(paths))))
    return 0


def _cmd_list(args, rest) -> int:
    from harness.cases.load import load_tree
    from harness.cases.tree import walk

    tree = walk(args.cases)
    for w in tree.warnings:  # the run's collection leaves out the same files with the same warnings
        print(f"normconf: warning: {w}", file=sys.stderr)
    cases, errors = load_tree(tree.of("case"), max_elements=args.max_elements, relative_to=Path.cwd())
    for c in cases:
        print(f"{c.id}\t{c.file}:{c.line}")
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    print(f"{len(cases)} cases, {len(errors)} bad file(s)", file=sys.stderr)
    return 1 if errors else 0


def _cmd_expectations(args, rest) -> int:
    from harness.cases.load import CaseError
    from harness.expectations.load import discover
    from harness.expectations.update import update
    from harness.results.read import read_many

    paths = collect(args.results)
    if not paths:
        print("normconf: expectations update needs results files", file=sys.stderr)
        return 2
    merged = read_many(paths)
    for p in merged.problems:
        print(f"normconf: warning: {printable(p)}", file=sys.stderr)
    try:
        got = update(merged, args.out, discover(args.cases), relative_to=Path.cwd())
    except CaseError as e:
        print(f"normconf: {printable(e)}", file=sys.stderr)
        return 2
    print(f"normconf: wrote {args.out}: {got['kept']} entries kept, {got['added']} added, "
          f"{len(got['narrowed'])} narrowed, {len(got['dropped'])} dropped")
    for e, fixed in got["narrowed"]:
        text = ", ".join(f"{k} {v}" for k, v in fixed.items())
        print(f"  narrowed {e.where}: {printable(e.names)} fixed in {printable(text)}")
    for e in got["dropped"]:
        print(f"  dropped {e.where}: {printable(e.names)} (its cells agree now or are no longer run)")
    return 0


def _cmd_repro(args, rest) -> int:
    from harness.repro.command import main as repro_main

    return repro_main(args)


def _cmd_file(args, rest) -> int:
    from harness.repro.file_command import main as file_main

    return file_main(args)


def _cmd_fuzz(args, rest) -> int:
    from harness.fuzz.command import main as fuzz_main

    return fuzz_main(args)


def _cmd_bisect(args, rest) -> int:
    from harness.bisect import main as bisect_main

    return bisect_main(args)


def _cmd_expectations_check(args, rest) -> int:
    """Judge every record of RESULTS against the expectations files as they are now."""
    from harness.expectations.check import check
    from harness.expectations.load import discover

    paths = collect(args.results)
    if not paths:
        print("normconf: expectations check needs results files", file=sys.stderr)
        return 2
    return check(paths, discover(args.cases), strict=args.strict, relative_to=Path.cwd())


def _cmd_expectations_causes(args, rest) -> int:
    """List the root causes, with the records of RESULTS each explains."""
    from harness.adapters import registry
    from harness.expectations.check import list_causes
    from harness.expectations.load import discover

    specs = registry()
    return list_causes(collect(args.results) if args.results else [], discover(args.cases),
                       framework_of=lambda a: specs[a].framework if a in specs else a, as_json=args.json,
                       relative_to=Path.cwd())


def _cmd_compare(args, rest) -> int:
    """Two columns side by side; the declared root causes come from the expectations, as for the report."""
    from harness.compare.command import run as compare_run

    def causes():  # loaded once the columns are known: a usage error does not wait for them
        if not Path(args.cases, "expectations").is_dir():
            return None
        from harness.expectations import Expectations, discover
        from harness.expectations.grouping import cause_for
        exp = Expectations.load(discover(args.cases))
        for e in exp.errors:  # the comparison is made either way, without root causes
            print(f"normconf: warning: {printable(e)}", file=sys.stderr)
        return None if exp.errors else (lambda r: cause_for(exp, r))
    return compare_run(args, causes=causes)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="normconf", description="conformance harness for normalization operators")
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("run", help="run the conformance cases (extra arguments go to pytest)")
    r.add_argument("--env-name", help="environment name recorded in the results file")
    r.add_argument("--cases", default="cases", help="case directory (default: cases)")
    r.add_argument("--strict", action="store_true",
                   help="a stale expectation entry (matching no cell of the run) is a harness failure (exit 2)")
    r.add_argument("--no-cache", action="store_true",
                   help="build every exported, converted or compiled model afresh for each cell (by default a worker "
                        "reuses one it built for the same call, parameters, shape and dtype)")
    r.set_defaults(func=_cmd_run)

    rep = sub.add_parser("report", help="merge results files into an HTML matrix")
    rep.add_argument("paths", nargs="*", default=["reports/results"], help="results files or directories")
    rep.add_argument("--out", default="reports/index.html")
    rep.add_argument("--baseline", nargs="+", metavar="PATH",
                     help="earlier results (files or directories) to compare with in a Diff section")
    rep.add_argument("--fuzz", metavar="DIR", help="a normconf fuzz output directory whose findings to show")
    rep.add_argument("--expect-env", metavar="ENV,ENV", help="environments the results should hold; one without "
                     "results (it did not install or run) is named on the first screen")
    rep.add_argument("--timeline", action="append", metavar="FILE", help="a normconf bisect timeline file "
                     "(--timeline-out) to show beside its cell (repeatable)")
    rep.add_argument("--cases", default="cases", help="case directory whose expectations/environments.yaml says "
                     "which pinned environments each moving one follows (default: cases)")
    rep.set_defaults(func=_cmd_report)

    df = sub.add_parser("diff", help="compare two sets of results (files or directories)")
    df.add_argument("old")
    df.add_argument("new")
    df.add_argument("--strict", action="store_true", help="exit 1 when any cell stopped agreeing")
    df.add_argument("--pair", action="append", metavar="OLD_ENV=NEW_ENV",
                    help="compare OLD's environment OLD_ENV with NEW's NEW_ENV, cells matched by adapter and case id "
                         "(repeatable; only the paired environments are compared). Without it, when OLD and NEW "
                         "each hold one environment under different names, those two are paired")
    df.add_argument("--drift", type=float, default=2.0,
                    help="report a cell whose error moved by more than this factor (default 2)")
    df.set_defaults(func=_cmd_diff)

    cp = sub.add_parser("compare", help="two columns side by side for porting: where they differ, under which case "
                                         "parameters, and their documented defaults; exit 1 when they differ")
    cp.add_argument("a", help="a column: adapter@env, an adapter (its first environment) or a framework (its first "
                              "column)")
    cp.add_argument("b", help="the other column, named the same ways")
    cp.add_argument("--op", help="only the cases of this op")
    cp.add_argument("--results", nargs="+", default=["reports/results"], metavar="PATH",
                    help="results files or directories (default: reports/results)")
    cp.add_argument("--cases", default="cases", help="case directory whose defaults/ holds the documented defaults "
                                                     "and expectations/ the root causes (default: cases)")
    cp.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    cp.add_argument("--all", action="store_true", help="list every differing case (default: the first 20)")
    cp.set_defaults(func=_cmd_compare)

    cl = sub.add_parser("claims", help="print the measured verdict of every documentation claim")
    cl.add_argument("paths", nargs="*", default=["reports/results"], help="results files or directories")
    cl.set_defaults(func=_cmd_claims)

    ex = sub.add_parser("expectations", help="known divergences: write or refresh entries from a run")
    exsub = ex.add_subparsers(dest="action", required=True)
    up = exsub.add_parser("update", help="write entries for every cell of RESULTS that does not agree, keeping reasons")
    up.add_argument("results", nargs="+", help="results files or directories")
    up.add_argument("-o", "--out", default="cases/expectations/known.yaml",
                    help="the expectations file to write (default: cases/expectations/known.yaml)")
    up.add_argument("--cases", default="cases", help="case directory whose expectations/ holds the other files")
    up.set_defaults(func=_cmd_expectations)
    ck = exsub.add_parser("check", help="judge RESULTS against the expectations files; exit 1 naming every "
                                       "unexpected record")
    ck.add_argument("results", nargs="+", help="results files or directories")
    ck.add_argument("--cases", default="cases", help="case directory whose expectations/ holds the entries")
    ck.add_argument("--strict", action="store_true", help="a stale entry is an error (exit 2)")
    ck.set_defaults(func=_cmd_expectations_check)
    ca = exsub.add_parser("causes", help="list the root causes (classification, repository, upstream state) and "
                                         "the records of RESULTS each explains; exit 1 when a record has none")
    ca.add_argument("results", nargs="*", help="results files or directories")
    ca.add_argument("--cases", default="cases", help="case directory whose expectations/ holds the causes")
    ca.add_argument("--json", action="store_true", help="print JSON instead of text")
    ca.set_defaults(func=_cmd_expectations_causes)

    ls = sub.add_parser("list", help="validate case files and list expanded case ids")
    ls.add_argument("cases", nargs="?", default="cases")
    ls.add_argument("--max-elements", type=int, default=None)
    ls.set_defaults(func=_cmd_list)

    rp = sub.add_parser("repro", help="write a standalone reproducer (and an issue body) for one cell or claim")
    rp.add_argument("id", nargs="?", help="case id or claim id")
    rp.add_argument("adapter", nargs="?")
    rp.add_argument("--unexpected", action="store_true",
                    help="write a reproducer and an issue body for every unexpected cell and claim of the results")
    rp.add_argument("--out-dir", default="reports/repro", help="with --unexpected: where to write them")
    rp.add_argument("--limit", type=int, default=50, help="with --unexpected: at most this many (default 50)")
    rp.add_argument("--results", default="reports/results", help="results file or directory")
    rp.add_argument("-o", "--output", help="script file (default: stdout)")
    rp.add_argument("--issue", metavar="ISSUE_MD", help="also write an issue body in Markdown")
    rp.add_argument("--no-shrink", action="store_true", help="keep the recorded shape")
    rp.add_argument("--budget", type=int, default=40, help="most adapter calls while shrinking (default 40)")
    rp.add_argument("--env", help="environment name, when the results hold several")
    rp.add_argument("--cell-timeout", type=float, default=120.0)
    rp.set_defaults(func=_cmd_repro)

    fi = sub.add_parser("file", help="one issue per root cause: the body its classification calls for, a script "
                                     "and where they came from")
    fi.add_argument("cause", nargs="?", help="root cause id (declared under causes: in the expectations files)")
    fi.add_argument("results", nargs="*", help="results files or directories (default: reports/results)")
    fi.add_argument("--all", action="store_true", help="every declared cause, with an index.md")
    fi.add_argument("--cases", default="cases", help="case directory whose expectations/ declares the causes")
    fi.add_argument("--out-dir", default="reports/issues", help="where to write (default: reports/issues)")
    fi.add_argument("--budget", type=int, default=40, help="most adapter calls while shrinking (default 40)")
    fi.add_argument("--no-shrink", action="store_true", help="keep the recorded input")
    fi.add_argument("--cell-timeout", type=float, default=120.0)
    fi.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    fi.set_defaults(func=_cmd_file)

    fz = sub.add_parser("fuzz", help="draw cases from the case schema, run them on adapters, shrink and write what "
                                     "no expectation covers")
    fz.add_argument("--adapters", required=True, help="comma-separated adapters to fuzz")
    fz.add_argument("--budget", type=int, default=100, help="judged cells per adapter (default 100; unsupported "
                                                            "cells do not count)")
    fz.add_argument("--seed", type=int, default=0, help="the same seed draws the same cases (default 0)")
    fz.add_argument("--out", default="reports/fuzz", help="directory for findings and the summary "
                                                          "(default reports/fuzz)")
    fz.add_argument("--repro", action="store_true", help="also write a reproducer and an issue body per finding")
    fz.add_argument("--env-name", default=None,
                    help="environment name the expectations are matched with (default: $NORMCONF_ENV, "
                         "$TOX_ENV_NAME or 'local')")
    fz.add_argument("--cases", default="cases", help="case directory whose expectations/ says what is known")
    fz.add_argument("--ops", default=None, help="comma-separated ops to draw (default: every op)")
    fz.add_argument("--max-elements", type=int, default=None, help="largest drawn input (default 4096 elements)")
    fz.add_argument("--max-draws", type=int, default=None, help="most cases drawn (default 20 x the budget)")
    fz.add_argument("--shrink-budget", type=int, default=40, help="most adapter calls shrinking one finding "
                                                                  "(default 40; 0 does not shrink)")
    fz.add_argument("--cell-timeout", type=float, default=120.0)
    fz.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    fz.set_defaults(func=_cmd_fuzz)

    bs = sub.add_parser("bisect", help="the first release of a package where a cell's verdict changed")
    bs.add_argument("id", nargs="?", help="case id (as in normconf list and the results files)")
    bs.add_argument("adapter", nargs="?", help="adapter name (as in the results files)")
    bs.add_argument("--package", required=True, help="the package whose releases are tried (e.g. keras)")
    bs.add_argument("--versions", metavar="SPEC", help="PEP 440 specifier narrowing the releases (e.g. '>=3.5,<3.16')")
    bs.add_argument("--all", action="store_true", help="try every release: the whole timeline and every change "
                                                      "(default: the two ends, then halving)")
    bs.add_argument("--explanation", action="store_true",
                    help="a change of the explanation (its words, numbers aside) also counts as a change")
    bs.add_argument("--pre", action="store_true", help="include pre-releases")
    bs.add_argument("--find-links", action="append", metavar="DIR",
                    help="take the releases from this directory of wheels, not from the index (repeatable)")
    bs.add_argument("--extra-find-links", action="append", metavar="DIR",
                    help="a directory of wheels every environment may install from, e.g. a local torch (repeatable)")
    bs.add_argument("--index-url", metavar="URL", help="the package index (default: uv's own, PyPI)")
    bs.add_argument("--extra-index-url", action="append", metavar="URL", help="another index (repeatable)")
    bs.add_argument("--no-index", action="store_true", help="no index at all, only --find-links directories")
    bs.add_argument("--with", dest="with_", action="append", metavar="REQ",
                    help="a requirement every candidate environment holds, e.g. torch==2.13.0 (repeatable)")
    bs.add_argument("--swap", action="store_true",
                    help="resolve one base environment (with the newest release) and swap only the package in each "
                         "candidate's environment (--no-deps); fast for pure-Python packages")
    bs.add_argument("--build", action="store_true", help="allow building source distributions (default: wheels only)")
    bs.add_argument("--cache-dir", metavar="DIR", help="where the environments are kept (default: "
                                                       "$NORMCONF_BISECT_CACHE or ~/.cache/normconf/bisect)")
    bs.add_argument("--cases", default="cases", help="case directory (default: cases)")
    bs.add_argument("--max-elements", type=int, default=None)
    bs.add_argument("--cell-timeout", type=float, default=120.0, help="seconds for the cell (default 120)")
    bs.add_argument("--startup-timeout", type=float, default=300.0,
                    help="seconds for the framework's import in the worker (default 300)")
    bs.add_argument("--jobs", type=int, default=1, metavar="N",
                    help="install and run N candidates at once (--all: all of them; else the two ends; default 1)")
    bs.add_argument("--timeline-out", metavar="FILE", help="write the timeline (or append it to a timeline file)")
    bs.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    bs.set_defaults(func=_cmd_bisect)
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.cmd != "run":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return args.func(args, rest)


if __name__ == "__main__":
    sys.exit(main())
