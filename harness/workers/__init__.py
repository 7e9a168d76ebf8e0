"""Workers: every adapter runs in a process of its own, spoken to in named messages.

* :mod:`.protocol`: the messages between the harness and a worker;
* :mod:`.pool`: :class:`Worker` and :class:`WorkerPool` (start, call with a timeout, restart after a crash);
* :mod:`.main`: the worker's side, run in the child interpreter (kept light: it imports the adapters);
* :mod:`.slots`: how many workers may be busy at once;
* :mod:`.proctree`: killing a worker's process tree.

Only this package knows about processes.
"""
from .pool import DEFAULT_CELL_TIMEOUT, DEFAULT_STARTUP_TIMEOUT, Worker, WorkerPool
from .protocol import Reply

__all__ = ["DEFAULT_CELL_TIMEOUT", "DEFAULT_STARTUP_TIMEOUT", "Reply", "Worker", "WorkerPool"]
