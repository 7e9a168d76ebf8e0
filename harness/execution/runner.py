"""The :class:`Runner`: runs cells (case x adapter) and claims through one worker pool and writes their records.

For a cell: the seeded inputs, the adapter's call in its worker (or the reply the dispatcher fetched ahead
of time), the verdict (:func:`harness.execution.judge.judge_cell`), on a divergence the fingerprint and the
explanation, the outcome under the run's expectations, then the record. With ``resume`` a cell or claim
already recorded with the same content and framework versions is not run again.

The runner also keeps the seconds each adapter's cells took (their records' durations: the inputs, the
call in the worker and the verdict; and apart, the inputs and the call alone) for the run's time line
(:meth:`Runner.timing`), and the durations of the earlier results file of the environment, which the
dispatcher uses to start the slowest columns first.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

from harness.adapters import registry
from harness.cases.inputs import make_inputs
from harness.claims.evaluate import evaluate, to_result
from harness.expectations.outcomes import Expectations
from harness.results.read import read
from harness.results.record import Result, clean
from harness.results.write import Writer
from harness.workers.pool import DEFAULT_CELL_TIMEOUT, DEFAULT_STARTUP_TIMEOUT, WorkerPool

from .dispatch import Dispatcher
from .explain import explain
from .judge import judge_cell


def _content(d: dict) -> str:
    """A case's or claim's record without its location: what decides whether a recorded cell is still valid."""
    return json.dumps({k: v for k, v in clean(d).items() if k not in ("file", "line")}, sort_keys=True,
                      default=str)


def _prior_costs(path, env: str) -> dict[tuple[str, str], float]:
    """Seconds per (adapter, case id) recorded for ``env`` in an earlier results file: only a hint for the
    order of the work, so a line that does not fit is passed over without a word (``normconf report``
    is where a results file is checked)."""
    out: dict[tuple[str, str], float] = {}
    try:
        p = Path(path)
        if not p.is_file():
            return out
        with p.open("rb") as f:
            for line in f:
                if b'"result"' not in line:
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(rec, dict) or rec.get("kind") != "result" or rec.get("env") != env:
                    continue
                a, c, d = rec.get("adapter"), rec.get("case_id"), rec.get("duration")
                if (isinstance(a, str) and isinstance(c, str) and isinstance(d, (int, float))
                        and not isinstance(d, bool) and math.isfinite(d) and d >= 0):
                    out[(a, c)] = float(d)
    except OSError:
        pass
    return out


def _same_versions(a: dict, b: dict) -> bool:
    return {k: str(v) for k, v in (a or {}).items()} == {k: str(v) for k, v in (b or {}).items()}


class Runner:
    """Runs cells and claims with one worker pool and streams their records.

    With ``resume``, the records already in ``results_path`` for this environment
    are reused: a cell (or claim) recorded with the same case (claim) content and
    the same framework versions is not run again, and new records are appended."""

    def __init__(self, env: str, results_path=None, adapters=None, cell_timeout=DEFAULT_CELL_TIMEOUT,
                 startup_timeout=DEFAULT_STARTUP_TIMEOUT, resume=False, expectations=None, jobs=1):
        specs = registry()
        if adapters:
            unknown = [a for a in adapters if a not in specs]
            if unknown:
                raise ValueError(f"unknown adapter(s) {', '.join(unknown)}; known: {', '.join(sorted(specs))}")
            specs = {a: specs[a] for a in adapters}
        self.specs = specs
        self.env = env
        self.cell_timeout = cell_timeout
        self.jobs = max(1, int(jobs or 1))
        self.pool = WorkerPool(specs, startup_timeout, jobs=self.jobs if self.jobs > 1 else None)
        self.dispatcher = None
        self._recorded: dict[tuple, object] = {}
        self.resumed = 0
        self.cell_seconds: dict[str, float] = {}  # per adapter: the recorded durations of the cells run
        self.adapter_seconds: dict[str, float] = {}  # per adapter: their inputs and calls alone
        self.workers_added = 0  # further worker processes the dispatcher started for slow columns
        self.judge_seconds = 0.0  # the main thread's judging, explaining and writing of cells
        self._prior = _prior_costs(results_path, env) if results_path and self.jobs > 1 else {}
        if resume and results_path and Path(results_path).is_file():
            rf = read(results_path)
            for r in rf.results:
                if r.env == env:
                    self._recorded[("case", r.adapter, r.case_id)] = r
            for c in rf.claims:
                if c.env == env:
                    self._recorded[("claim", c.adapter, c.claim_id)] = c
        self.writer = Writer(results_path, env, resume=resume) if results_path else None
        self._announced: set[str] = set()
        self.expectations = expectations if expectations is not None else Expectations()

    def _judge(self, result):
        """Set a cell's or claim's outcome (expected / unexpected) from the run's expectations."""
        self.expectations.judge(result)
        return result

    def _versions_now(self, adapter: str) -> dict:
        """The adapter's framework versions in this run (starts its worker if needed)."""
        w = self.pool.worker_for(adapter)
        if not w.alive() and not w.start_failure:
            w.ensure_started()
        return w.versions.get(adapter, {})

    def _already(self, kind: str, adapter: str, key: str, content: dict):
        """The recorded result of this cell or claim when resuming and it is still valid, else None."""
        rec = self._still_recorded(kind, adapter, key, content)
        if rec is not None:
            self.resumed += 1
        return rec

    def _still_recorded(self, kind: str, adapter: str, key: str, content: dict):
        """What ``_already`` returns, without counting it (the dispatcher asks too)."""
        rec = self._recorded.get((kind, adapter, key))
        if rec is None:
            return None
        if _content(rec.case if kind == "case" else rec.claim) != _content(content):
            return None
        if kind == "case" and rec.status == "skipped":
            pass  # a skip does not depend on framework versions
        elif not _same_versions(rec.versions, self._versions_now(adapter)):
            return None
        return rec

    @property
    def adapter_names(self) -> list[str]:
        return list(self.specs)

    def dispatch(self, cells) -> None:
        """Send these cells ((case, adapter) in the order run_cell will ask for them) to their workers ahead
        of time, at most ``jobs`` workers busy at once (nothing with ``jobs`` 1)."""
        if self.jobs > 1 and self.dispatcher is None:
            cells = [(c, a) for c, a in cells if a in self.specs]
            if cells:
                self.dispatcher = Dispatcher(self, cells, prior=self._prior).start()

    def run_cell(self, case, adapter: str) -> Result:
        done = self._already("case", adapter, case.id, case.to_dict()) if self._recorded else None
        if done is not None:
            return self._judge(done)
        got = self.dispatcher.take(case, adapter) if self.dispatcher is not None else None
        if got is not None and got.error is not None:
            raise got.error
        if got is not None:
            t0 = time.perf_counter() - got.duration
            inputs, reply = got.inputs, got.reply
            spent = got.duration
        else:
            t0 = time.perf_counter()
            inputs = make_inputs(case)
            t1 = time.perf_counter()
            reply = self.pool.call(adapter, case, inputs, self.cell_timeout)
            spent = (t1 - t0) + max(reply.duration, 0.0)
        self.adapter_seconds[adapter] = self.adapter_seconds.get(adapter, 0.0) + spent
        judging = time.perf_counter()
        if adapter not in self._announced and reply.versions:
            self._announced.add(adapter)
            if self.writer:
                self.writer.adapter(adapter, reply.versions)
        judged = judge_cell(case, inputs, reply)
        result = Result(
            case_id=case.id, adapter=adapter, env=self.env, status=judged.status, versions=reply.versions,
            metrics=judged.metrics, message=reply.message, traceback=reply.traceback, snippet=reply.snippet,
            duration=time.perf_counter() - t0, case=case.to_dict(), absent=reply.absent,
        )
        self.cell_seconds[adapter] = self.cell_seconds.get(adapter, 0.0) + result.duration
        if judged.status == "diverge":
            result.fingerprint = judged.fingerprint()
            result.message = explain(case, result)
        self._judge(result)
        if self.writer:
            self.writer.write(result)
        self.judge_seconds += time.perf_counter() - judging
        return result

    def run_claim(self, claim, adapter: str):
        done = self._already("claim", adapter, claim.id, claim.to_dict()) if self._recorded else None
        if done is not None:
            return self._judge(done)
        t0 = time.perf_counter()
        verdict, versions = evaluate(claim, self.pool, adapter, self.cell_timeout)
        result = self._judge(to_result(claim, adapter, self.env, verdict, versions, time.perf_counter() - t0))
        if self.writer:
            self.writer.write(result)
        return result

    def record_skip(self, case, adapter: str, reason: str) -> Result:
        done = self._already("case", adapter, case.id, case.to_dict()) if self._recorded else None
        if done is not None and done.status == "skipped":
            return self._judge(done)
        result = self._judge(Result(case_id=case.id, adapter=adapter, env=self.env, status="skipped",
                                    message=reason, case=case.to_dict()))
        if self.writer:
            self.writer.write(result)
        return result

    def timing(self, wall: float) -> dict:
        """The run's time against its floor: ``wall`` seconds; the floor, the cells' summed recorded
        durations (inputs, the call in the worker, the verdict) divided by the jobs, what the run would take
        with every core busy on its cells and nothing else; their ratio; the seconds per adapter, slowest
        first; and apart, the inputs and calls alone and the main thread's judging and writing."""
        total = sum(self.cell_seconds.values())
        floor = total / self.jobs
        per = dict(sorted(self.cell_seconds.items(), key=lambda kv: (-kv[1], kv[0])))
        return {"wall_s": wall, "cells_s": total, "adapter_s": sum(self.adapter_seconds.values()),
                "jobs": self.jobs, "floor_s": floor,
                "ratio": wall / floor if floor > 0 else None, "per_adapter_s": per, "judge_s": self.judge_seconds,
                "workers_added": self.workers_added + (self.dispatcher.splits if self.dispatcher else 0)}

    def close(self):
        if self.dispatcher is not None:
            self.workers_added += self.dispatcher.splits
            self.dispatcher.close()
            self.dispatcher = None
        self.pool.close()
        if self.writer:
            self.writer.close()
