"""The conformance run's outcomes: tallied per item, summarized, and the exit status.

Every cell and claim ends as one of these outcomes, given the expectations in
``<cases>/expectations/*.yaml``: *expected* (agrees, or diverges as an entry
says: reported as xfail with the entry's reason), *unexpected* (a new
divergence, error, crash or timeout: a failure), *fixed* (an expected
divergence, error or failing verdict that now agrees or holds: an unexpected
pass, a failure too, tallied apart), or a *harness failure* (a bad case, claims
or expectations file, an unknown adapter, an exception in the harness itself).
The session ends with a summary naming every unexpected and fixed cell and
every harness failure, and its exit status says which: 0 all expected, 1
something unexpected or fixed, 2 a harness failure (also a stale expectation
entry with ``--strict-expectations``). A session that judged no cell, claim or
expectations file keeps pytest's own status.

The same tally closes the results file as its ``summary`` record
(:class:`harness.results.write.Summary`, with the exit status and whether the
session was interrupted), so a report tells a finished run and its harness
failures from one that was killed. A session whose items never made a Runner
(every item a harness failure: an unknown adapter, only broken case files)
writes a results file of its own holding its header and that summary.
"""
from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

from harness.expectations.entry import any_glob
from harness.results.write import Summary, Writer, summary_item

from .collect import CaseFileError, ExpectationsOK
from .items import AdapterItem, CellFailure
from .options import cases_root, env_name
from .session import made_runner, results_path, wall_seconds

_TALLY = pytest.StashKey[dict]()


def pytest_configure(config):
    config.stash[_TALLY] = {"expected": 0, "expected_divergent": [], "unexpected": [], "fixed": [], "harness": [],
                            "other_failed": 0}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not isinstance(item, (AdapterItem, CaseFileError, ExpectationsOK)):
        if rep.failed:  # another test in the same session (e.g. the harness's own test suite)
            item.config.stash[_TALLY]["other_failed"] += 1
        return
    if rep.when != "call" and not rep.failed:
        return
    tally = item.config.stash[_TALLY]
    if rep.failed:
        exc = call.excinfo.value if call.excinfo else None
        if isinstance(exc, CellFailure):
            fixed = ("outcome", "fixed") in item.user_properties
            tally["fixed" if fixed else "unexpected"].append((item.nodeid, exc.summary))
        else:
            tally["harness"].append((item.nodeid, rep.longreprtext.strip().splitlines()[-1:] or [""]))
    elif rep.when == "call" and isinstance(item, AdapterItem):
        tally["expected"] += 1
        if hasattr(rep, "wasxfail"):
            tally["expected_divergent"].append(item.nodeid)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    tally = config.stash.get(_TALLY, None)
    tr = terminalreporter
    if tally is not None and _judged(tally):
        tr.write_sep("=", "normconf outcomes")
        fixed = f"{len(tally['fixed'])} fixed, " if tally["fixed"] else ""
        tr.write_line(f"{tally['expected']} expected ({len(tally['expected_divergent'])} of them known "
                      f"divergences or errors), {len(tally['unexpected'])} unexpected, {fixed}"
                      f"{len(tally['harness'])} harness failure(s)")
        for nodeid, why in tally["unexpected"]:
            tr.write_line(f"unexpected: {nodeid}: {why}")
        for nodeid, why in tally["fixed"]:
            tr.write_line(f"fixed: {nodeid}: {why}")
        for nodeid, why in tally["harness"]:
            tr.write_line(f"harness failure: {nodeid}: {' '.join(why)[:300]}")
        for e in _stale(config):
            level = "error" if config.getoption("--strict-expectations") else "warning"
            tr.write_line(f"{level}: stale expectation {e.where}: {e.names} matches no cell of this run")
    r = made_runner(config)
    if r is not None and r.writer is not None and r.writer.moved_aside:
        terminalreporter.write_line(f"normconf: moved the earlier results file {r.writer.path} to "
                                    f"{r.writer.moved_aside} (use --resume to continue it instead)")
    if r is not None and config.getoption("--resume"):
        terminalreporter.write_line(f"normconf: resumed: {r.resumed} cell(s) and claim(s) already recorded "
                                    "were not run again")
    if r is not None and r.cell_seconds:
        terminalreporter.write_line(time_line(r.timing(wall_seconds(config))))


def time_line(t: dict, shown: int = 6) -> str:
    """The run's wall time against its floor (the cells' summed recorded durations divided by the jobs), in
    one line with the slowest columns."""
    per = list(t["per_adapter_s"].items())
    cols = ", ".join(f"{a} {s:.1f} s" for a, s in per[:shown])
    if len(per) > shown:
        cols += f", {len(per) - shown} more {sum(s for _, s in per[shown:]):.1f} s"
    ratio = f"{t['ratio']:.2f}" if t["ratio"] is not None else "n/a"
    added = f"; {t['workers_added']} worker(s) added for slow columns" if t.get("workers_added") else ""
    return (f"normconf: time: wall {t['wall_s']:.1f} s, floor {t['floor_s']:.1f} s (cells {t['cells_s']:.1f} s "
            f"/ {t['jobs']} jobs), ratio {ratio}; in the workers {t['adapter_s']:.1f} s, judging "
            f"{t['judge_s']:.1f} s; per column: {cols}{added}")


def _partial(config) -> bool:
    """Whether this run selects part of the cells (then no entry can be called stale)."""
    if config.getoption("keyword") or config.getoption("markexpr") or config.getoption("--shard"):
        return True
    root = cases_root(config)
    # node ids, or files and directories below the case root (not the whole tree)
    return any("::" in a or Path(config.invocation_params.dir, a).resolve() != root for a in config.args)


def _stale(config):
    r = made_runner(config)
    if r is None or _partial(config):
        return []
    ran = set(r.adapter_names)
    return [e for e in r.expectations.stale()
            if any(any_glob(a, e.adapter) for a in ran) and (not e.env or fnmatch.fnmatchcase(r.env, e.env))]


def _judged(tally) -> bool:
    """Whether the session judged a cell, claim or harness file."""
    return bool(tally["expected"] or tally["unexpected"] or tally["fixed"] or tally["harness"])


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    config = session.config
    r = made_runner(config)
    tally = config.stash.get(_TALLY, None)
    try:
        if tally is None or not _judged(tally):
            return  # no cell, claim or harness file was judged in this session: pytest's own status stands
        if int(exitstatus) in (0, 1) and not tally["other_failed"]:  # else it could not run, or other tests failed
            stale = _stale(config)
            if tally["harness"] or (stale and config.getoption("--strict-expectations")):
                session.exitstatus = 2
            elif tally["unexpected"] or tally["fixed"]:
                session.exitstatus = 1
            else:
                session.exitstatus = 0
        _write_summary(config, r, tally, int(session.exitstatus),
                       interrupted=int(exitstatus) == pytest.ExitCode.INTERRUPTED)
    finally:
        if r is not None:
            r.close()


def _write_summary(config, r, tally, status: int, interrupted: bool) -> None:
    """Close the results file with the session's summary record. A session whose items never made a
    Runner writes a results file of its own for it (none with ``--results none``)."""
    if r is not None and r.writer is None:
        return  # --results none
    summary = Summary(
        env_name(config), status, expected=tally["expected"], expected_divergent=len(tally["expected_divergent"]),
        unexpected=[summary_item(n, why) for n, why in tally["unexpected"]],
        fixed=[summary_item(n, why) for n, why in tally["fixed"]],
        harness_failures=[summary_item(n, " ".join(why)) for n, why in tally["harness"]],
        interrupted=interrupted)
    if r is not None:
        r.writer.summary(summary)
        return
    path = results_path(config)
    if path is None:
        return
    try:
        w = Writer(path, summary.env, resume=config.getoption("--resume"))
    except OSError as e:
        print(f"normconf: cannot write the run's summary to {path}: {e}")
        return
    try:
        w.summary(summary)
    finally:
        w.close()
