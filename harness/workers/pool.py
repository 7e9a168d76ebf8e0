"""Persistent, isolated worker processes for adapters.

Each worker is a ``multiprocessing`` process started with the ``spawn`` method
(a fresh interpreter, so a framework is imported only there, with the
environment variables its adapter asks for, e.g. ``KERAS_BACKEND``). The
harness talks to it over a ``multiprocessing`` pipe, one cell at a time.

* A segfault, abort, ``os._exit`` or a ``MemoryError`` in a cell ends the
  worker: that cell is ``crash``; the next cell starts a fresh worker.
* A cell that does not answer within its timeout is ``timeout``: the worker is
  killed and restarted.
* Requests and answers are the named messages of :mod:`harness.workers.protocol`; the
  worker's side is :mod:`harness.workers.main`.
* An adapter whose declared framework modules are not installed makes its
  cells ``unsupported`` (the report hides the column); any other failure to
  load it makes them ``error`` with the traceback.
* An output that is not a numeric numpy array (an object, a string array, a
  complex array, ``None``) makes the cell ``error`` naming what came back.
* Each worker leads its own process group: on a timeout, a crash or at the end
  of the run the whole tree (the worker and anything its framework started) is
  killed.
* A worker that cannot start (its import hangs past the startup timeout or
  dies) is not started again in that run: its later cells are ``crash`` at
  once, with the first failure's message.
* A worker answers one request at a time: calls from several threads (the
  dispatcher's prefetch and a claim, say) wait for each other on the worker's
  lock. A pool made with ``jobs`` lets at most that many workers be busy at
  once (:class:`harness.workers.slots.Slots`).
"""
from __future__ import annotations

import multiprocessing as mp
import signal
import tempfile
import threading
import time

from harness.adapters import RUN_DIR_ENV, AdapterSpec

from .proctree import kill_group, kill_tree
from .protocol import FindQuote, Ready, Reply, RunCell, Stop, reply_problem
from .slots import NoSlots, Slots, never, priority, urgency

DEFAULT_CELL_TIMEOUT = 120.0
DEFAULT_STARTUP_TIMEOUT = 300.0
_SPAWN_LOCK = threading.Lock()


def _worker_main(conn, specs, env):  # runs in the child process; a module-level name for spawn
    from .main import main  # imported in the child only: the harness side never needs it
    main(conn, specs, env)


def _describe_exit(code) -> str:
    if code is None:
        return "worker stopped answering"
    if code < 0:
        try:
            return f"worker killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"worker killed by signal {-code}"
    return f"worker exited with code {code}"


class Worker:
    """One persistent worker process serving one or more adapters."""

    def __init__(self, specs: list[AdapterSpec], startup_timeout=DEFAULT_STARTUP_TIMEOUT, slots=None, run_dir=""):
        self.specs = list(specs)
        env: dict[str, str] = {RUN_DIR_ENV: run_dir} if run_dir else {}
        for s in self.specs:
            env.update(dict(s.env))
        self.env = env
        self.startup_timeout = startup_timeout
        self.proc = None
        self.conn = None
        self.versions: dict[str, dict] = {}
        self.problems: dict[str, tuple] = {}
        self.restarts = 0
        self.start_failure = ""  # set when the worker could not start: not retried in this run
        self.startup_s = None  # seconds its last start took (the process, the imports, the ready message)
        self.started_at = None  # time.monotonic() when its first start began
        self.slots = slots or NoSlots()
        self._lock = threading.Lock()  # one request at a time, whichever thread asks

    # -- lifecycle ----------------------------------------------------------
    def start(self, attempts: int = 2):
        """Start the worker process and wait for its ready message. A worker that exits
        while starting is tried once more (a transient failure must not mark it broken for
        the whole run); one that does not answer within the startup timeout is not."""
        t0 = time.perf_counter()
        if self.started_at is None:
            self.started_at = time.monotonic()
        for attempt in range(attempts):
            ctx = mp.get_context("spawn")
            parent, child = ctx.Pipe()
            with _SPAWN_LOCK:  # one process start at a time, whichever thread asks
                self.proc = ctx.Process(target=_worker_main, args=(child, self.specs, self.env), daemon=True,
                                        name="normconf-worker")
                self.proc.start()
            child.close()
            self.conn = parent
            if not parent.poll(self.startup_timeout):
                self.kill()
                raise RuntimeError(f"worker did not start within {self.startup_timeout:g}s")
            try:
                ready = parent.recv()
                if not isinstance(ready, Ready):
                    raise EOFError
                self.versions, self.problems = ready.versions, ready.problems
                self.startup_s = time.perf_counter() - t0
                return
            except EOFError:
                code = self._reap(wait=5.0)  # it may be alive and have sent something else
                if attempt + 1 == attempts:
                    raise RuntimeError(f"worker failed to start: {_describe_exit(code)}") from None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.is_alive()

    def _reap(self, wait=30.0):
        """The worker's exit code once it has ended, or None when it had to be killed: a worker that
        crashed ends within milliseconds of closing its pipe, but on a loaded machine that can take
        seconds, and its cell should still say how it ended."""
        if self.proc is None:
            return None
        self.proc.join(wait)
        code = self.proc.exitcode
        if code is None:
            kill_tree(self.proc.pid)
            self.proc.kill()
            self.proc.join(5)
        else:
            kill_group(self.proc.pid)  # what the worker started dies with it
        if self.conn is not None:
            self.conn.close()
        self.proc, self.conn = None, None
        return code

    def ensure_started(self, urgent=None) -> None:
        """Start the worker unless it runs or could not start earlier in this run (then ``start_failure``)."""
        self.slots.acquire(urgent or never, priority())
        try:
            with self._lock:
                if not self.start_failure:
                    self._start_locked()
        finally:
            self.slots.release()

    def _start_locked(self) -> str:
        """Start the worker if it is not running (the lock held); '' or why it could not
        start, which is remembered for the rest of the run in ``start_failure``."""
        if self.alive():
            return ""
        if self.proc is not None:
            self._reap()
        try:
            self.start()
        except RuntimeError as e:
            self.start_failure = f"{e} (earlier in this run; not started again)"
            return str(e)
        return ""

    def interrupt(self):
        """Kill the worker's process tree without waiting for its lock (at shutdown, from another thread):
        a call in flight ends as a crash, and the thread that made it cleans up."""
        proc = self.proc
        if proc is not None and proc.pid is not None and proc.exitcode is None:
            kill_tree(proc.pid)

    def kill(self):
        if self.proc is not None and self.proc.is_alive():
            kill_tree(self.proc.pid)
            self.proc.kill()
        self._reap()

    def close(self):
        if self.alive():
            try:
                self.conn.send(Stop())
            except (OSError, BrokenPipeError):
                pass
            self.proc.join(5)
        self.kill()

    # -- calls ----------------------------------------------------------------
    def call(self, name: str, case, inputs, timeout=DEFAULT_CELL_TIMEOUT) -> Reply:
        """Run one cell with adapter ``name``. An adapter the running worker could not load (its framework
        is not installed, say) answers what the worker would, without a round trip."""
        if name in self.problems and self.alive():
            reply = Reply.from_problem(self.problems[name])
            reply.versions = self.versions.get(name, {})
            return reply
        return self._ask(RunCell(name, case, inputs), name, timeout, cell=True)

    def quote(self, name: str, path: str, quote: str, timeout=DEFAULT_CELL_TIMEOUT) -> Reply:
        """Whether ``quote`` appears in the docstring or source of ``path`` in this worker's
        framework (``y`` is True or False; ``error`` when the object cannot be found)."""
        if name in self.problems:
            return Reply.from_problem(self.problems[name])
        return self._ask(FindQuote(name, path, quote), name, timeout, cell=False)

    def _ask(self, msg, name: str, timeout, cell: bool) -> Reply:
        self.slots.acquire(urgency(), priority())
        try:
            with self._lock:
                return self._ask_locked(msg, name, timeout, cell)
        finally:
            self.slots.release()

    def _ask_locked(self, msg, name: str, timeout, cell: bool) -> Reply:
        if self.start_failure:
            return Reply("crash", message=self.start_failure)
        failed = self._start_locked()
        if failed:
            return Reply("crash", message=failed)
        t0 = time.perf_counter()
        try:
            self.conn.send(msg)
        except (OSError, BrokenPipeError):
            code = self._reap()
            self.restarts += 1
            return Reply("crash", message=_describe_exit(code), duration=time.perf_counter() - t0)
        if not self.conn.poll(timeout):
            self.kill()
            self.restarts += 1
            return Reply("timeout", message=f"no answer within {timeout:g}s; worker killed and restarted",
                         duration=time.perf_counter() - t0, versions=self.versions.get(name, {}))
        try:
            reply = self.conn.recv()
            if not isinstance(reply, Reply):
                raise TypeError(f"expected a Reply, got {type(reply).__qualname__}")
        except (EOFError, OSError):
            code = self._reap()
            self.restarts += 1
            return Reply("crash", message=_describe_exit(code), duration=time.perf_counter() - t0,
                         versions=self.versions.get(name, {}))
        except Exception as e:  # noqa: BLE001 - a reply this process cannot unpickle
            return Reply("error", message=f"unreadable reply from the worker: {type(e).__name__}: {e}",
                         duration=time.perf_counter() - t0, versions=self.versions.get(name, {}))
        reply.versions = self.versions.get(name, {})
        if cell and reply.status == "ok":
            problem = reply_problem(reply)
            if problem:
                reply.status, reply.y, reply.arrays, reply.message = "error", None, {}, problem
        if reply.status == "crash":
            self._reap()
            self.restarts += 1
        return reply


class WorkerPool:
    """Lazily started workers, one per worker key; with ``jobs``, at most that many busy at once.

    :meth:`another_worker` starts a further process for a worker key (the dispatcher splits a slow
    column's cells over two processes when a core would idle); each is its own process, isolated
    like the first, and all are closed with the pool."""

    def __init__(self, specs: dict[str, AdapterSpec], startup_timeout=DEFAULT_STARTUP_TIMEOUT, jobs=None):
        self.specs = specs
        self.startup_timeout = startup_timeout
        self.slots = Slots(jobs) if jobs else None
        self._workers: dict[str, Worker] = {}
        self._more: list[Worker] = []
        self._run_dir = None  # shared by this pool's workers (harness.adapters.RUN_DIR_ENV), made at first use

    @property
    def run_dir(self) -> str:
        if self._run_dir is None:
            self._run_dir = tempfile.TemporaryDirectory(prefix="normconf-run-")
        return self._run_dir.name

    def worker_for(self, name: str) -> Worker:
        spec = self.specs[name]
        key = spec.worker_key
        if key not in self._workers:
            group = [s for s in self.specs.values() if s.worker_key == key]
            self._workers[key] = Worker(group, self.startup_timeout, self.slots, self.run_dir)
        return self._workers[key]

    def another_worker(self, name: str) -> Worker:
        """A further worker (not started yet) for the adapters of ``name``'s worker key."""
        key = self.specs[name].worker_key
        w = Worker([s for s in self.specs.values() if s.worker_key == key], self.startup_timeout, self.slots,
                   self.run_dir)
        self._more.append(w)
        return w

    def call(self, name, case, inputs, timeout=DEFAULT_CELL_TIMEOUT) -> Reply:
        return self.worker_for(name).call(name, case, inputs, timeout)

    def close(self):
        for w in [*self._workers.values(), *self._more]:
            w.close()
        self._workers.clear()
        self._more.clear()
        if self._run_dir is not None:
            self._run_dir.cleanup()
            self._run_dir = None
