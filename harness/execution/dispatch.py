"""Cells sent to the adapter workers ahead of time, so that every core stays busy to the end of a run.

pytest runs items one at a time, in item order, and the runner (in the main thread) takes each cell's reply
in that order, judges it and writes its record: the records come out in the same order, with the same
content, as a sequential run. The dispatcher runs the cells before the main thread asks for them:

* **One lane per worker key**, fed by a thread from the start of the run, which makes a cell's inputs and
  calls its worker, one cell after another in item order, and keeps the reply until the main thread takes
  it. A lane runs ahead of the main thread as far as the bytes held allow (``max_bytes`` over all lanes;
  the cell the main thread waits for is always run), so the main thread waiting for a slow column's cell
  never stops the other columns.
* **The slowest columns first.** At most ``jobs`` workers are busy at once (the pool's ``Slots``): the
  cell the main thread waits for goes first, then the lane with the most expected work left. A cell's
  expected seconds come from the previous results file of the same environment (``prior``, when there is
  one; else every cell counts the same), scaled by what the lane's cells took so far in this run.
* **A slow column gets more than one worker.** When fewer than ``jobs`` lanes have work to run (the fast
  columns are done) and a lane still has more expected work than starting another process of its worker
  key costs, a further worker process of that key joins the lane, up to ``jobs`` per lane. A lane with
  one worker takes its cells one at a time; with several, each takes the next block of neighbouring cells
  (the unclaimed cells divided by twice the workers: blocks shrink towards the end), so each worker keeps
  its own caches warm on neighbouring cells, the main thread follows close behind, and the workers end
  together.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from itertools import accumulate

from harness.cases.inputs import make_inputs
from harness.workers.slots import set_urgency

MAX_BYTES = 1024 * 2**20  # replies (inputs and outputs) held ahead of the main thread, all lanes together
HELD_OVERHEAD = 4096  # bytes a held reply counts beyond its arrays (the objects around them)
SPLIT_MARGIN_S = 2.0  # a further worker starts only for more expected work than twice its start and this
DEFAULT_STARTUP_S = 10.0  # a worker's start, until the lane's first worker has measured it


@dataclass
class Prefetched:
    inputs: object = None
    reply: object = None
    error: BaseException | None = None  # what making the inputs raised (re-raised in the main thread)
    duration: float = 0.0  # inputs and the call, without waiting for a slot or the worker's lock
    nbytes: int = 0
    resumed: bool = False  # recorded before (--resume): not run


def _nbytes(inputs, reply) -> int:
    arrays = [getattr(inputs, k, None) for k in ("x", "gamma", "beta", "dy", "mask")]
    arrays += list(getattr(inputs, "batches", ()) or ())
    arrays.append(getattr(reply, "y", None))
    more = getattr(reply, "arrays", None)
    if isinstance(more, dict):
        arrays += list(more.values())
    return HELD_OVERHEAD + sum(int(getattr(a, "nbytes", 0) or 0) for a in arrays)


class _Feeder:
    """A thread feeding one worker process with a lane's cells: the lane's first worker, or a further
    worker of the same key (``extra``)."""

    def __init__(self, lane, worker, extra: bool):
        self.lane = lane
        self.worker = worker
        self.extra = extra
        self.pos = 0  # its block of cells: the next index it runs ..
        self.end = 0  # .. and the end of the block
        self.running = -1  # the index it runs, else -1
        self.state = "start"  # start | run | blocked (by the bytes held) | done
        self.thread: threading.Thread | None = None

    def urgent(self) -> bool:
        """Whether the main thread waits for what this thread is doing now (or is about to do)."""
        wanted = self.lane.wanted
        if wanted < 0:
            return False
        if self.running >= 0:
            return self.running == wanted
        if self.pos < self.end:
            return self.pos == wanted
        return not self.extra and self.lane.lo == wanted  # its next cell, or its start


class _Lane:
    """One worker key's cells, in item order; cells from ``lo`` on are not claimed by a thread yet."""

    def __init__(self, key, cells, base):
        self.key = key
        self.cells = cells  # [(case, adapter)]
        self.index = {(c.id, a): i for i, (c, a) in enumerate(cells)}
        self.prefix = [0.0, *accumulate(base)]  # expected cost of cells before index i, in the prior's units
        self.consumed = 0  # cells before this index were taken (or passed over) by the main thread
        self.wanted = -1  # the index the main thread is waiting for, else -1
        self.next = 0  # the first cell no thread has claimed
        self.done: dict[int, Prefetched] = {}
        self.failed: BaseException | None = None
        self.feeders: list[_Feeder] = []
        self.ran_base = 0.0  # expected cost of the cells run so far in this run
        self.ran_s = 0.0  # and what they took
        self.startup_s: float | None = None

    @property
    def lo(self) -> int:
        return min(max(self.next, self.consumed), len(self.cells))

    def unclaimed(self) -> int:
        return len(self.cells) - self.lo

    def left_s(self) -> float:
        """Expected seconds of the cells not run yet (claimed by a thread or not)."""
        scale = self.ran_s / self.ran_base if self.ran_base > 0 and self.ran_s > 0 else 1.0
        base = self.prefix[-1] - self.prefix[self.lo]
        for f in self.feeders:
            start = min(max(f.pos, self.consumed), f.end)
            base += self.prefix[f.end] - self.prefix[start]
        return max(0.0, base) * scale

    def alive(self) -> list[_Feeder]:
        return [f for f in self.feeders if f.state != "done"]


class Dispatcher:
    def __init__(self, runner, cells, max_bytes=MAX_BYTES, prior=None):
        """``cells``: (case, adapter) in the order the main thread will ask for them; ``prior``: expected
        seconds per (adapter, case id), e.g. from the previous results file of the environment."""
        self.runner = runner
        self.max_bytes = max_bytes
        self.jobs = max(1, int(getattr(runner, "jobs", 1) or 1))
        self.held = 0  # bytes held in every lane's done
        self.splits = 0  # further workers started
        self._cond = threading.Condition()
        self._stop = False
        prior = prior or {}
        known = {}
        for (adapter, _), s in prior.items():
            known.setdefault(adapter, []).append(s)
        mean = {a: sum(v) / len(v) for a, v in known.items()}
        lanes: dict[str, list] = {}
        for case, adapter in cells:
            lanes.setdefault(runner.pool.specs[adapter].worker_key, []).append((case, adapter))
        self.lanes = {}
        for key, cs in lanes.items():
            base = [max(prior.get((a, c.id), mean.get(a, 1.0)), 1e-4) for c, a in cs]
            self.lanes[key] = _Lane(key, cs, base)
        self._by_cell = {cell: lane for lane in self.lanes.values() for cell in lane.index}
        self._balancer: threading.Thread | None = None

    def start(self):
        for lane in sorted(self.lanes.values(), key=lambda ln: -ln.left_s()):  # the slowest start first
            self._add_feeder(lane, self.runner.pool.worker_for(lane.cells[0][1]), extra=False)
        if self.jobs > 1:
            self._balancer = threading.Thread(target=self._balance, daemon=True, name="normconf-dispatch-balance")
            self._balancer.start()
        return self

    def _add_feeder(self, lane: _Lane, worker, extra: bool) -> _Feeder:
        f = _Feeder(lane, worker, extra)
        lane.feeders.append(f)
        f.thread = threading.Thread(target=self._feed, args=(f,), daemon=True,
                                    name=f"normconf-dispatch-{lane.key}{'-extra' if extra else ''}")
        f.thread.start()
        return f

    # -- the feeding threads ----------------------------------------------------
    def _claim(self, f: _Feeder) -> int | None:
        """The next index this thread runs (the lock held), or None when none is left for it: the next
        cell of its block, else a new block from the lane's unclaimed cells (one cell while it is the
        lane's only thread, else the unclaimed cells divided by twice the threads)."""
        lane = f.lane
        f.pos = max(f.pos, lane.consumed)  # cells the main thread passed over are not run
        if f.pos < f.end:
            return f.pos
        lo, n = lane.lo, len(lane.cells)
        if lo >= n:
            return None
        threads = len(lane.alive())
        size = 1 if threads <= 1 else max(1, math.ceil((n - lo) / (2 * threads)))
        f.pos, f.end = lo, lo + size
        lane.next = f.end
        return f.pos

    def _feed(self, f: _Feeder):
        lane = f.lane
        set_urgency(f.urgent, lane.left_s)
        try:
            f.worker.ensure_started(f.urgent)
            if f.extra and f.worker.start_failure:
                return  # the lane's first worker goes on alone
            with self._cond:
                if f.worker.startup_s is not None and lane.startup_s is None:
                    lane.startup_s = f.worker.startup_s
                f.state = "run"
                self._cond.notify_all()
            while True:
                with self._cond:
                    while True:
                        if self._stop:
                            return
                        i = self._claim(f)
                        if i is None:
                            return
                        if i == lane.consumed or self.held < self.max_bytes:
                            break  # the cell the main thread needs next always runs
                        f.state = "blocked"
                        self._cond.wait()
                    f.state = "run"
                    f.running = i
                    f.pos = i + 1
                case, adapter = lane.cells[i]
                got = self._run(f.worker, case, adapter)
                with self._cond:
                    f.running = -1
                    if not got.resumed and got.reply is not None:
                        lane.ran_base += lane.prefix[i + 1] - lane.prefix[i]
                        lane.ran_s += got.duration
                    if i >= lane.consumed:  # else the main thread passed it over
                        lane.done[i] = got
                        self.held += got.nbytes
                    self._cond.notify_all()
        except BaseException as e:  # noqa: BLE001 - never leave the main thread waiting for this lane
            with self._cond:
                lane.failed = e
        finally:
            with self._cond:
                f.running = -1
                f.state = "done"
                self._cond.notify_all()

    def _run(self, worker, case, adapter) -> Prefetched:
        r = self.runner
        if r._recorded and r._still_recorded("case", adapter, case.id, case.to_dict()):
            return Prefetched(resumed=True)  # resume will not run it
        t0 = time.perf_counter()
        try:
            inputs = make_inputs(case)
        except Exception as e:  # noqa: BLE001 - raised again where the sequential run would raise it
            return Prefetched(error=e, duration=time.perf_counter() - t0)
        t1 = time.perf_counter()
        reply = worker.call(adapter, case, inputs, r.cell_timeout)
        return Prefetched(inputs, reply, duration=(t1 - t0) + max(reply.duration, 0.0),
                          nbytes=_nbytes(inputs, reply))

    # -- more than one worker for a slow lane -------------------------------------
    def _balance(self):
        while True:
            with self._cond:
                if self._stop:
                    return
                self._maybe_split()
                self._cond.wait(0.25)

    def _maybe_split(self) -> None:
        """Start a further worker for the lane with the most expected work per worker, when fewer than
        ``jobs`` threads have work to run and that work outweighs starting a worker (the lock held)."""
        feeders = [f for lane in self.lanes.values() for f in lane.feeders]
        if sum(f.state in ("start", "run") for f in feeders) >= self.jobs or self.held >= self.max_bytes:
            return
        best, best_s = None, 0.0
        for lane in self.lanes.values():
            alive = lane.alive()
            if lane.failed is not None or not alive or len(alive) >= self.jobs or lane.unclaimed() < 2:
                continue
            if any(f.state == "start" for f in alive):
                continue  # one start at a time per lane
            startup = lane.startup_s if lane.startup_s is not None else DEFAULT_STARTUP_S
            left = lane.left_s()
            if left > 2 * startup + SPLIT_MARGIN_S and left / len(alive) > best_s:
                best, best_s = lane, left / len(alive)
        if best is not None:
            self.splits += 1
            self._add_feeder(best, self.runner.pool.another_worker(best.cells[0][1]), extra=True)

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
                self.held -= lane.done.pop(j).nbytes
            lane.consumed = i
            lane.wanted = i
            self._cond.notify_all()
        slots = self.runner.pool.slots
        if slots is not None:
            slots.poke()
        with self._cond:
            while i not in lane.done and not self._stop and lane.failed is None and self._coming(lane, i):
                self._cond.wait(1.0)
            got = lane.done.pop(i, None)
            if got is not None:
                self.held -= got.nbytes
            lane.consumed = i + 1
            lane.wanted = -1
            self._cond.notify_all()
        if got is not None and got.resumed:
            return None  # the runner reports the recorded result itself
        return got

    def _coming(self, lane: _Lane, i: int) -> bool:
        """Whether a thread runs cell ``i`` now or will (the lock held)."""
        alive = lane.alive()
        if any(f.running == i or f.pos <= i < f.end for f in alive):
            return True
        return lane.lo <= i and bool(alive)

    def close(self, timeout=10.0):
        """Stop feeding; kill workers still answering a prefetched cell (nobody will read it) and wait for the
        threads. Called at the end of the session, also after -x or Ctrl-C."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
            busy = [f for lane in self.lanes.values() for f in lane.feeders
                    if f.thread is not None and f.thread.is_alive()]
        for f in busy:
            if f.running >= 0:
                f.worker.interrupt()
        if self.runner.pool.slots is not None:
            self.runner.pool.slots.poke()
        deadline = time.monotonic() + timeout
        for f in busy:
            f.thread.join(max(0.0, deadline - time.monotonic()))
        if self._balancer is not None:
            self._balancer.join(max(0.0, deadline - time.monotonic()))
