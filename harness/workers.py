"""Persistent, isolated worker processes for adapters.

Each worker is a ``multiprocessing`` process started with the ``spawn`` method
(a fresh interpreter, so a framework is imported only there, with the
environment variables its adapter asks for, e.g. ``KERAS_BACKEND``). The
harness talks to it over a ``multiprocessing`` pipe, one cell at a time.

* A segfault, abort, ``os._exit`` or a ``MemoryError`` in a cell ends the
  worker: that cell is ``crash``; the next cell starts a fresh worker.
* A cell that does not answer within its timeout is ``timeout``: the worker is
  killed and restarted.
* A framework that is not installed makes its cells ``unsupported``.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
import traceback
from dataclasses import dataclass, field

from .adapters import AdapterSpec, load_adapter
from .results import NOT_AVAILABLE, NOT_INSTALLED

DEFAULT_CELL_TIMEOUT = 120.0
DEFAULT_STARTUP_TIMEOUT = 300.0


@dataclass
class Reply:
    status: str  # ok | unsupported | error | crash | timeout
    y: object = None
    snippet: str = ""
    message: str = ""
    traceback: str = ""
    duration: float = 0.0
    versions: dict = field(default_factory=dict)


def _framework_missing(exc: BaseException) -> bool:
    return isinstance(exc, ModuleNotFoundError) and not (exc.name or "").startswith("harness")


def _worker_main(conn, specs, env):  # runs in the child process
    os.environ.update(env)
    adapters, problems = {}, {}
    for spec in specs:
        try:
            ad = load_adapter(spec)
            why = ad.unavailable()
            if why:
                problems[spec.name] = ("unsupported", f"{NOT_AVAILABLE}: {why}")
            else:
                adapters[spec.name] = ad
        except Exception as e:  # noqa: BLE001 - reported to the harness
            if _framework_missing(e):
                problems[spec.name] = ("unsupported", f"{NOT_INSTALLED}: {e}")
            else:
                problems[spec.name] = ("error", f"import failed: {type(e).__name__}: {e}")
    versions = {}
    for name, ad in adapters.items():
        try:
            versions[name] = ad.versions()
        except Exception as e:  # noqa: BLE001
            versions[name] = {"error": f"{type(e).__name__}: {e}"}
    conn.send(("ready", versions, problems))
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        name, case, inputs = msg
        if name in problems:
            status, text = problems[name]
            conn.send((status, None, "", text, "", 0.0))
            continue
        ad = adapters[name]
        t0 = time.perf_counter()
        try:
            reason = ad.supports(case)
            if reason:
                conn.send(("unsupported", None, "", reason, "", 0.0))
                continue
            out = ad.run(case, inputs)
            conn.send(("ok", out.y, out.snippet, "", "", time.perf_counter() - t0))
        except MemoryError as e:
            conn.send(("crash", None, "", f"MemoryError: {e}", traceback.format_exc(), time.perf_counter() - t0))
            os._exit(3)
        except Exception as e:  # noqa: BLE001 - the framework raised
            snippet = ""
            try:
                snippet = ad.code(case) if hasattr(ad, "code") else ""
            except Exception:  # noqa: BLE001
                pass
            conn.send(("error", None, snippet, f"{type(e).__name__}: {e}", traceback.format_exc(),
                       time.perf_counter() - t0))


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

    def __init__(self, specs: list[AdapterSpec], startup_timeout=DEFAULT_STARTUP_TIMEOUT):
        self.specs = list(specs)
        env: dict[str, str] = {}
        for s in self.specs:
            env.update(dict(s.env))
        self.env = env
        self.startup_timeout = startup_timeout
        self.proc = None
        self.conn = None
        self.versions: dict[str, dict] = {}
        self.problems: dict[str, tuple] = {}
        self.restarts = 0

    # -- lifecycle ----------------------------------------------------------
    def start(self):
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, self.specs, self.env), daemon=True,
                                name="normconf-worker")
        self.proc.start()
        child.close()
        self.conn = parent
        if not parent.poll(self.startup_timeout):
            self.kill()
            raise RuntimeError(f"worker did not start within {self.startup_timeout:g}s")
        try:
            _, self.versions, self.problems = parent.recv()
        except EOFError:
            code = self._reap()
            raise RuntimeError(f"worker failed to start: {_describe_exit(code)}") from None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.is_alive()

    def _reap(self, wait=5.0):
        if self.proc is None:
            return None
        self.proc.join(wait)
        code = self.proc.exitcode
        if self.conn is not None:
            self.conn.close()
        self.proc, self.conn = None, None
        return code

    def kill(self):
        if self.proc is not None and self.proc.is_alive():
            self.proc.kill()
        self._reap()

    def close(self):
        if self.alive():
            try:
                self.conn.send(None)
            except (OSError, BrokenPipeError):
                pass
            self.proc.join(5)
        self.kill()

    # -- calls ----------------------------------------------------------------
    def call(self, name: str, case, inputs, timeout=DEFAULT_CELL_TIMEOUT) -> Reply:
        if not self.alive():
            if self.proc is not None:
                self._reap()
            try:
                self.start()
            except RuntimeError as e:
                return Reply("crash", message=str(e))
        t0 = time.perf_counter()
        try:
            self.conn.send((name, case, inputs))
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
            status, y, snippet, message, tb, dur = self.conn.recv()
        except (EOFError, OSError):
            code = self._reap()
            self.restarts += 1
            return Reply("crash", message=_describe_exit(code), duration=time.perf_counter() - t0,
                         versions=self.versions.get(name, {}))
        if status == "crash":
            self._reap()
            self.restarts += 1
        return Reply(status, y, snippet, message, tb, dur, self.versions.get(name, {}))


class WorkerPool:
    """Lazily started workers, one per worker key."""

    def __init__(self, specs: dict[str, AdapterSpec], startup_timeout=DEFAULT_STARTUP_TIMEOUT):
        self.specs = specs
        self.startup_timeout = startup_timeout
        self._workers: dict[str, Worker] = {}

    def worker_for(self, name: str) -> Worker:
        spec = self.specs[name]
        key = spec.worker_key
        if key not in self._workers:
            group = [s for s in self.specs.values() if s.worker_key == key]
            self._workers[key] = Worker(group, self.startup_timeout)
        return self._workers[key]

    def call(self, name, case, inputs, timeout=DEFAULT_CELL_TIMEOUT) -> Reply:
        return self.worker_for(name).call(name, case, inputs, timeout)

    def close(self):
        for w in self._workers.values():
            w.close()
        self._workers.clear()
