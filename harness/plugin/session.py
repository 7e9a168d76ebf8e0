"""The conformance run's :class:`~harness.execution.runner.Runner` and expectations.

One Runner per pytest session, made from the options at the first cell or
claim (so a session that collects nothing starts no worker), with the
expectations of the run's expectations directory; a bad expectations file's
entries are left out here and its own item fails (:mod:`harness.plugin.collect`).
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.cases.load import EXPECTATIONS_DIR
from harness.cases.tree import walk
from harness.execution.runner import Runner
from harness.expectations.load import discover
from harness.expectations.outcomes import Expectations

from .options import adapter_names, env_name, expectations_dir, jobs, shard

_RUNNER = pytest.StashKey["Runner | None"]()
_EXPECT = pytest.StashKey["Expectations | None"]()
_STARTED = pytest.StashKey[float]()


def pytest_configure(config):
    config.stash[_RUNNER] = None
    config.stash[_EXPECT] = None


def pytest_sessionstart(session):
    session.config.stash[_STARTED] = time.perf_counter()


def wall_seconds(config) -> float:
    """Seconds since the session started."""
    return time.perf_counter() - config.stash.get(_STARTED, time.perf_counter())


def run_expectations(config) -> Expectations:
    """The run's expectations (a bad file's entries are left out; its own item fails)."""
    e = config.stash[_EXPECT]
    if e is None:
        d = expectations_dir(config)
        e = Expectations.load(discover(d.parent) if d.name == EXPECTATIONS_DIR
                              else list(walk(d).files), relative_to=config.rootpath)
        config.stash[_EXPECT] = e
    return e


def results_path(config) -> str | None:
    """The run's results file (``--results``, or ``reports/results/<env>[.shard-K-of-N].jsonl``); None for
    ``--results none``."""
    res = config.getoption("--results")
    if res is None:
        env, selected = env_name(config), shard(config)
        name = f"{env}.shard-{selected[0]}-of-{selected[1]}.jsonl" if selected else f"{env}.jsonl"
        res = str(Path(config.rootpath, "reports", "results", name))
    return None if res == "none" else res


def runner(config) -> Runner:
    """The session's Runner, made on first use."""
    r = config.stash[_RUNNER]
    if r is None:
        env = env_name(config)
        r = Runner(env, results_path(config), adapter_names(config),
                   cell_timeout=config.getoption("--cell-timeout"),
                   startup_timeout=config.getoption("--startup-timeout"),
                   resume=config.getoption("--resume"), expectations=run_expectations(config),
                   jobs=jobs(config))
        config.stash[_RUNNER] = r
    return r


def made_runner(config) -> Runner | None:
    """The session's Runner if a cell or claim made one, else None."""
    return config.stash.get(_RUNNER, None)
