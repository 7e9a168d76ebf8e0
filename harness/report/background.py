"""One piece of work beside the main thread's, on another core.

Writing the report is pure Python, so threads would take turns. The work runs
instead in a forked process of a one-worker process pool: the child inherits
the data it needs (nothing is pickled on the way in) and sends back its result.
Where forking is not safe or not worth it (not Linux, a single core) the work
runs in this process when its result is asked for; if the child fails to
deliver for any reason other than the work's own exception, the work is done
again here, so nothing is lost.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, TypeVar

T = TypeVar("T")

#: the work a forked child runs: set only while the pool forks its worker
_pending: Callable | None = None


def _run_pending():
    return _pending()


def forking() -> bool:
    """Whether work goes to a forked process on this machine."""
    return (sys.platform == "linux" and (os.cpu_count() or 1) > 1
            and "fork" in multiprocessing.get_all_start_methods()
            and os.environ.get("NORMCONF_REPORT_FORK", "1") != "0")


def start(work: Callable[[], T]) -> Callable[[], T]:
    """Start ``work()``; the returned function waits for its result."""
    global _pending
    if not forking():
        return work
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
    _pending = work
    try:
        future = pool.submit(_run_pending)  # forks the worker now, with _pending set
    except (OSError, RuntimeError):
        pool.shutdown(wait=False)
        return work
    finally:
        _pending = None

    def result() -> T:
        try:
            return future.result()
        except BrokenProcessPool:  # the child died (memory, a signal): do the work here
            return work()
        finally:
            pool.shutdown(wait=True)
    return result
