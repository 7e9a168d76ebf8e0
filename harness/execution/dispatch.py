"""Cells sent to every adapter worker ahead of time, so that the workers run at once.

pytest runs items one at a time; without this only one worker process would be
busy at any moment. The dispatcher is given the run's cells in item order and
runs one thread per worker: each thread makes a cell's inputs and calls its
worker, one cell after another, and keeps the reply until the runner (in the
main thread, in item order) takes it, judges it and writes its record. So the
records come out in the same order, with the same content, as a sequential run.

Bounds: at most ``jobs`` workers are busy at once (the pool's ``Slots``; the
cell the main thread is waiting for goes first); each thread runs at most
``lookahead`` cells beyond the last one the main thread took from its worker,
and stops early when the replies it holds exceed ``max_bytes`` (the cell the
main thread needs next is always run), so memory does not grow with the number
of cases.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from harness.cases.inputs import make_inputs
from harness.workers.slots import set_urgency

LOOKAHEAD = 32
MAX_BYTES = 256 * 2**20  # replies (inputs and outputs) held per worker beyond the cell being judged


@dataclass
class Prefetched:
    inputs: object = None
    reply: object = None
    error: BaseException | None = None  # what making the inputs raised (re-raised in the main thread)
    duration: float = 0.0  # inputs and the call, without waiting for a slot or the worker's lock
    nbytes: int = 0


def _nbytes(inputs, reply) -> int:
    n = 0
    for a in (getattr(inputs, "x", None), getattr(inputs, "gamma", None), getattr(inputs, "beta", None),
              getattr(reply, "y", None)):
        n += int(getattr(a, "nbytes", 0) or 0)
    return n


class _Lane:
    """One worker's cells, in item order, and the replies its thread holds."""

    def __init__(self, key, worker, cells):
        self.key = key
        self.worker = worker
        self.cells = cells  # [(case, adapter)]
        self.index = {(c.id, a): i for i, (c, a) in enumerate(cells)}
        self.consumed = 0  # cells before this index were taken (or passed over) by the main thread
        self.wanted = -1  # the index the main thread is waiting for, else -1
        self.pos = 0  # the next index the thread considers
        self.running = -1  # the index the thread is running, else -1
        self.done: dict[int, Prefetched] = {}
        self.held = 0  # bytes in done
        self.failed: BaseException | None = None
        self.thread: threading.Thread | None = None

    def urgent(self) -> bool:
        """Whether the main thread waits for what this lane's thread is doing now."""
        return self.wanted >= 0 and self.running in (-1, self.wanted)


class Dispatcher:
    def __init__(self, runner, cells, lookahead=LOOKAHEAD, max_bytes=MAX_BYTES):
        self.runner = runner
        self.lookahead = max(1, int(lookahead))
        self.max_bytes = max_bytes
        self._cond = threading.Condition()
        self._stop = False
        lanes: dict[str, list] = {}
        for case, adapter in cells:
            lanes.setdefault(runner.pool.specs[adapter].worker_key, []).append((case, adapter))
        self.lanes = {k: _Lane(k, runner.pool.worker_for(cs[0][1]), cs) for k, cs in lanes.items()}
        self._by_cell = {cell: lane for lane in self.lanes.values() for cell in lane.index}

    def start(self):
        for lane in self.lanes.values():
            lane.thread = threading.Thread(target=self._feed, args=(lane,), daemon=True,
                                           name=f"normconf-dispatch-{lane.key}")
            lane.thread.start()
        return self

    # -- the feeding threads ----------------------------------------------------
    def _feed(self, lane: _Lane):
        set_urgency(lane.urgent)
        r = self.runner
        try:
            lane.worker.ensure_started(lane.urgent)
            i = 0
            while True:
                with self._cond:
                    while True:
                        if self._stop:
                            return
                        i = max(i, lane.consumed)
                        lane.pos = i
                        if i >= len(lane.cells):
                            return
                        if self._may_run(lane, i):
                            break
                        self._cond.wait()
                    lane.running = i
                case, adapter = lane.cells[i]
                got = None
                if not (r._recorded and r._still_recorded("case", adapter, case.id, case.to_dict())):
                    got = self._run(case, adapter)  # else resume will not run it
                with self._cond:
                    lane.running = -1
                    if got is not None and i >= lane.consumed:  # else the main thread passed it over
                        lane.done[i] = got
                        lane.held += got.nbytes
                    i += 1
                    lane.pos = i
                    self._cond.notify_all()
        except BaseException as e:  # noqa: BLE001 - never leave the main thread waiting for this lane
            with self._cond:
                lane.failed = e
                lane.running = -1
                self._cond.notify_all()

    def _may_run(self, lane: _Lane, i: int) -> bool:
        if i == lane.consumed:
            return True  # the cell the main thread needs next
        return len(lane.done) < self.lookahead and lane.held < self.max_bytes

    def _run(self, case, adapter) -> Prefetched:
        r = self.runner
        if r._recorded and r._still_recorded("case", adapter, case.id, case.to_dict()):
            return Prefetched()  # resume will not run it
        t0 = time.perf_counter()
        try:
            inputs = make_inputs(case)
        except Exception as e:  # noqa: BLE001 - raised again where the sequential run would raise it
            return Prefetched(error=e, duration=time.perf_counter() - t0)
        t1 = time.perf_counter()
        reply = r.pool.call(adapter, case, inputs, r.cell_timeout)
        return Prefetched(inputs, reply, duration=(t1 - t0) + max(reply.duration, 0.0),
                          nbytes=_nbytes(inputs, reply))

    # -- the main thread ---------------------------------------------------------
    def take(self, case, adapter) -> Prefetched | None:
        """The prefetched inputs and reply of this cell (waiting for them), or None when there is none
        (not planned, passed over, or its lane stopped): then the caller runs the cell itself."""
        lane = self._by_cell.get((case.id, adapter))
        if lane is None:
            return None
        i = lane.index[(case.id, adapter)]
        with self._cond:
            if i < lane.consumed:
                return None  # taken before (an item run twice)
            for j in [j for j in lane.done if j < i]:  # cells pytest did not run (-x, a plugin): dropped
                lane.held -= lane.done.pop(j).nbytes
            lane.consumed = i
            lane.wanted = i
            self._cond.notify_all()
        slots = self.runner.pool.slots
        if slots is not None:
            slots.poke()
        with self._cond:
            while (i not in lane.done and (lane.running == i or lane.pos <= i) and not self._stop
                   and lane.failed is None and lane.thread is not None and lane.thread.is_alive()):
                self._cond.wait(1.0)
            got = lane.done.pop(i, None)
            if got is not None:
                lane.held -= got.nbytes
            lane.consumed = i + 1
            lane.wanted = -1
            self._cond.notify_all()
        return got

    def close(self, timeout=10.0):
        """Stop feeding; kill workers still answering a prefetched cell (nobody will read it) and wait for the
        threads. Called at the end of the session, also after -x or Ctrl-C."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        busy = [lane for lane in self.lanes.values() if lane.thread is not None and lane.thread.is_alive()]
        for lane in busy:
            if lane.running >= 0:
                lane.worker.interrupt()
        if self.runner.pool.slots is not None:
            self.runner.pool.slots.poke()
        deadline = time.monotonic() + timeout
        for lane in busy:
            lane.thread.join(max(0.0, deadline - time.monotonic()))
