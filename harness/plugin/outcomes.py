"""The conformance run's outcomes: tallied per item, summarized, and the exit status.

Every cell and claim ends as one of three outcomes, given the expectations in
``<cases>/expectations/*.yaml``: *expected* (agrees, or diverges as an entry
says: reported as xfail with the entry's reason), *unexpected* (a new
divergence, error, crash or timeout, or an expected divergence that now
agrees: a failure), or a *harness failure* (a bad case, claims or
expectations file, an unknown adapter, an exception in the harness itself).
The session ends with a summary naming every unexpected cell and harness
failure, and its exit status says which: 0 all expected, 1 something
unexpected, 2 a harness failure (also a stale expectation entry with
``--strict-expectations``). A session that judged no cell, claim or
expectations file keeps pytest's own status.
"""
from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

from harness.expectations.entry import any_glob

from .collect import CaseFileError, ExpectationsOK
from .items import AdapterItem, CellFailure
from .options import cases_root
from .session import made_runner

_TALLY = pytest.StashKey[dict]()


def pytest_configure(config):
    config.stash[_TALLY] = {"expected": 0, "expected_divergent": [], "unexpected": [], "harness": [], "other_failed": 0}


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
            tally["unexpected"].append((item.nodeid, exc.summary))
        else:
            tally["harness"].append((item.nodeid, rep.longreprtext.strip().splitlines()[-1:] or [""]))
    elif rep.when == "call" and isinstance(item, AdapterItem):
        tally["expected"] += 1
        if hasattr(rep, "wasxfail"):
            tally["expected_divergent"].append(item.nodeid)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    tally = config.stash.get(_TALLY, None)
    tr = terminalreporter
    if tally is not None and (tally["expected"] or tally["unexpected"] or tally["harness"]):
        tr.write_sep("=", "normconf outcomes")
        tr.write_line(f"{tally['expected']} expected ({len(tally['expected_divergent'])} of them known "
                      f"divergences or errors), {len(tally['unexpected'])} unexpected, "
                      f"{len(tally['harness'])} harness failure(s)")
        for nodeid, why in tally["unexpected"]:
            tr.write_line(f"unexpected: {nodeid}: {why}")
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


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    config = session.config
    r = made_runner(config)
    if r is not None:
        r.close()
    tally = config.stash.get(_TALLY, None)
    if tally is None or int(exitstatus) not in (0, 1) or tally["other_failed"]:
        return  # pytest's own status stands: it could not run, or other tests failed
    if not (tally["expected"] or tally["unexpected"] or tally["harness"]):
        return  # no cell, claim or harness file was judged in this session
    stale = _stale(config)
    if tally["harness"] or (stale and config.getoption("--strict-expectations")):
        session.exitstatus = 2
    elif tally["unexpected"]:
        session.exitstatus = 1
    else:
        session.exitstatus = 0
