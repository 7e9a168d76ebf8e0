"""The conformance run's command-line options, how they are read, and ``--shard``.

Every normconf option of ``normconf run`` (and of ``pytest`` with the plugin)
is declared here, with the readers that turn it into what the run uses: the
environment name, the selected adapters, the number of jobs, the case and
expectations directories, the shard, ``--no-cache`` (an environment variable the
worker processes inherit). ``--shard K/N`` keeps the items whose
case or claim id hashes to shard K (:func:`shard_of`) and deselects the others.
"""
from __future__ import annotations

import os
import zlib
from pathlib import Path

import pytest

from harness.adapters import NO_CACHE_ENV
from harness.cases.load import EXPECTATIONS_DIR
from harness.workers.pool import DEFAULT_CELL_TIMEOUT, DEFAULT_STARTUP_TIMEOUT


def pytest_addoption(parser):
    g = parser.getgroup("normconf")
    g.addoption("--adapters", default=os.environ.get("NORMCONF_ADAPTER_NAMES", ""),
                help="comma-separated adapters to run (default: every registered adapter)")
    g.addoption("--env-name", default=None,
                help="environment name recorded in results (default: $NORMCONF_ENV, $TOX_ENV_NAME or 'local')")
    g.addoption("--results", default=None,
                help="results JSONL path (default: reports/results/<env>.jsonl); 'none' writes nothing")
    g.addoption("--resume", action="store_true", default=False,
                help="continue the results file: skip cells already recorded with the same case content and "
                     "framework versions, append the rest (without it, an existing results file is moved aside)")
    g.addoption("--shard", default=None, metavar="K/N",
                help="run only shard K of N (cases and claims split by a stable hash of their id; "
                     "default results file reports/results/<env>.shard-K-of-N.jsonl); merging all N equals one run")
    g.addoption("--cases-root", default=None, help="directory holding case files (default: <rootdir>/cases)")
    g.addoption("--jobs", type=int, default=None, metavar="N",
                help="at most N adapter workers busy at once, cells sent to them ahead of time; records are "
                     "still written in item order (default: the number of cores; 1 runs one cell at a time)")
    g.addoption("--cell-timeout", type=float, default=DEFAULT_CELL_TIMEOUT, help="seconds per cell")
    g.addoption("--startup-timeout", type=float, default=DEFAULT_STARTUP_TIMEOUT,
                help="seconds for a worker to import its framework")
    g.addoption("--expectations", default=None, metavar="DIR",
                help="directory of expectations files (default: <cases-root>/expectations)")
    g.addoption("--strict-expectations", action="store_true", default=False,
                help="a stale expectation entry (one that matches no cell of the run) is a harness failure")
    g.addoption("--max-elements", type=int, default=None,
                help="largest input (elements) a case may ask for (default: $NORMCONF_MAX_ELEMENTS or 2**24)")
    g.addoption("--no-cache", action="store_true", default=False,
                help="build every exported, converted or compiled model afresh for each cell instead of reusing "
                     f"one a worker built for the same call, parameters and shape (also ${NO_CACHE_ENV}=1)")


def pytest_configure(config):
    """``--no-cache`` reaches the adapters through the environment the worker processes inherit."""
    if config.getoption("--no-cache", False):
        config.add_cleanup(_restore_env(NO_CACHE_ENV))
        os.environ[NO_CACHE_ENV] = "1"


def _restore_env(name):
    old = os.environ.get(name)

    def restore():
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old
    return restore


def env_name(config) -> str:
    return (config.getoption("--env-name") or os.environ.get("NORMCONF_ENV")
            or os.environ.get("TOX_ENV_NAME") or "local")


def adapter_names(config) -> list[str] | None:
    """The adapters named by ``--adapters``, or None for every registered adapter."""
    raw = config.getoption("--adapters")
    names = [a.strip() for a in raw.split(",") if a.strip()]
    return names or None


def jobs(config) -> int:
    n = config.getoption("--jobs")
    if n is None:
        try:
            n = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            n = os.cpu_count() or 1
    if n < 1:
        raise pytest.UsageError(f"--jobs wants a positive number, not {n}")
    return n


def cases_root(config) -> Path:
    opt = config.getoption("--cases-root")
    return Path(opt).resolve() if opt else Path(config.rootpath, "cases")


def expectations_dir(config) -> Path:
    opt = config.getoption("--expectations")
    return Path(opt).resolve() if opt else cases_root(config) / EXPECTATIONS_DIR


def shard(config) -> tuple[int, int] | None:
    raw = config.getoption("--shard")
    if not raw:
        return None
    try:
        k, n = (int(x) for x in raw.split("/"))
    except ValueError:
        raise pytest.UsageError(f"--shard wants K/N, e.g. 2/4, not {raw!r}") from None
    if not 1 <= k <= n:
        raise pytest.UsageError(f"--shard {raw}: K must be between 1 and N")
    return k, n


def shard_of(key: str, n: int) -> int:
    """The shard (1..n) an item with this case or claim id belongs to: stable across machines and runs."""
    return zlib.crc32(key.encode("utf-8")) % n + 1


def pytest_collection_modifyitems(config, items):
    selected = shard(config)
    if not selected:
        return
    k, n = selected
    keep, drop = [], []
    for item in items:
        key = (getattr(getattr(item, "case", None), "id", None) or getattr(getattr(item, "claim", None), "id", None)
               or item.nodeid)
        (keep if shard_of(key, n) == k else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
