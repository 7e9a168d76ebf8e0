"""Runs one cell (case x adapter): inputs -> reference, achievable error and adapter -> verdict -> Result."""
from __future__ import annotations

import json
import time
from pathlib import Path

from .adapters import registry
from .case import params_text
from .expectations import Expectations, claim_outcome, device_of, outcome
from .inputs import make_inputs
from .judge_training import check_words, judge_training, output_words
from .layouts import Layout
from .numerics import judge
from .records import Fingerprint, Metrics
from .results import ClaimResult, Result, Writer, _clean
from .results_read import read
from .semantics import fingerprint
from .workers import DEFAULT_CELL_TIMEOUT, DEFAULT_STARTUP_TIMEOUT, WorkerPool


def explain(case, result: Result) -> str:
    """A multi-line, human message for a cell that did not agree."""
    m = result.metrics
    lines = [f"{result.status}: {case.id} [{result.adapter}] ({params_text(case.to_dict())})"]
    if result.status == "diverge" and m.expected_error:
        lines.append(f"  {m.expected_error}")
    elif result.status == "diverge":
        if m.shape_mismatch:
            lines.append(f"  {m.shape_mismatch}")
        else:
            if m.nonfinite:
                lines.append(f"  {m.nonfinite}")
            lines += output_words(m)
            lay = Layout(case.layout)
            where = ", ".join(f"{a}={i}" for a, i in zip(lay.axes, m.worst_index or []))
            if m.output not in (None, "y", "dx"):  # a parameter-shaped output
                where = ", ".join(str(i) for i in m.worst_index or [])
            lines.append(f"  error {_g(m.max_abs)} (max abs), achievable {_g(m.achievable)}, "
                         f"ratio {_g(m.ratio)}; {m.n_bad} of {m.n} elements above the allowed {_g(m.allowed)}")
            lines.append(f"  rule: {rule_text(m, case)}")
            lines.append(f"  largest difference{' in ' + m.output if m.output else ''} at [{where}]: "
                         f"expected {m.worst_expected!r}, got {m.worst_actual!r}")
        if m.output_dtype and m.output_dtype != case.dtype:
            lines.append(f"  output dtype {m.output_dtype} (case dtype {case.dtype})")
        if m.epsilon_default:
            d = m.epsilon_default
            lines.append(f"  epsilon: the documented default {d.value!r} ({d.source})")
        lines.append(f"  reference: {case.semantics_with(_eps(case, m)).describe()}")
        lines += check_words(case)
        if result.explanation:
            lines.append(f"  explanation: {result.explanation}")
    elif result.message:
        lines.append(f"  {result.message}")
    if result.snippet:
        lines.append("  call:")
        lines += ["    " + s for s in result.snippet.splitlines()]
    lines.append(f"  case: {case.file}:{case.line}")
    return "\n".join(lines)


def _g(v) -> str:
    return f"{v:.3g}" if isinstance(v, (int, float)) else str(v)


def rule_text(m: Metrics, case=None) -> str:
    """The verdict rule a cell was judged by, in one line."""
    if m.rule == "atol/rtol":
        t = (case.tolerance_spec if case is not None else None)
        reason = f" (case tolerance: {t.reason})" if t else ""
        return f"the case's own |actual - expected| <= atol + rtol * |expected|{reason}"
    why = ""
    if m.rule == "factor" and case is not None and case.tolerance_spec:
        why = f" (case tolerance: {case.tolerance_spec.reason})"
    return f"error <= {_g(m.factor)} x achievable {_g(m.achievable)} + floor {_g(m.floor)} = {_g(m.allowed)}{why}"


def _eps(case, metrics: Metrics) -> float:
    if case.epsilon is not None:
        return case.epsilon
    return metrics.epsilon_default.value if metrics.epsilon_default else 0.0


def _fingerprint(case, inputs, y, sem, achievable) -> dict:
    try:
        return fingerprint(inputs.x, y, sem, case.dtype, inputs.gamma, inputs.beta, achievable=achievable)
    except Exception as e:  # noqa: BLE001 - an explanation must never cost the result
        return {"matches": [], "explanation": f"fingerprinting failed: {type(e).__name__}: {e}"}


def expected_error(case, reply) -> tuple[str, str]:
    """(status, message) of a case that expects the call to raise."""
    want = case.expect_spec
    etype = want["raises"]
    msgs = want.get("message")
    msgs = [msgs] if isinstance(msgs, str) else list(msgs or ())
    if reply.status == "ok":
        return "diverge", f"expected {etype}, but the call returned an output"
    said = reply.message or ""
    types = (reply.info or {}).get("exception_types") or [said.split(":", 1)[0]]
    if etype not in types:
        return "diverge", f"raised {said}; the case expects {etype}"
    if msgs and not any(t.lower() in said.lower() for t in msgs):
        alts = " or ".join(repr(t) for t in msgs)
        return "diverge", f"raised {said}; the message lacks {alts}"
    return "agree", said


def _content(d: dict) -> str:
    """A case's or claim's record without its location: what decides whether a recorded cell is still valid."""
    return json.dumps({k: v for k, v in _clean(d).items() if k not in ("file", "line")}, sort_keys=True,
                      default=str)


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
        if isinstance(result, ClaimResult):
            entry = self.expectations.find(result.claim_id, result.adapter, env=self.env, versions=result.versions,
                                           dtype=(result.claim or {}).get("dtype", ""),
                                           device=device_of(result.versions), kind="claim")
            result.outcome = claim_outcome(result.verdict, entry)
        else:
            entry = self.expectations.find(result.case_id, result.adapter, env=self.env, versions=result.versions,
                                           dtype=(result.case or {}).get("dtype", ""),
                                           device=device_of(result.versions))
            result.outcome = outcome(result.status, entry)
        result.expectation = entry.to_dict() | {"file": entry.file, "line": entry.line} if entry else None
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
            from .dispatch import Dispatcher
            cells = [(c, a) for c, a in cells if a in self.specs]
            if cells:
                self.dispatcher = Dispatcher(self, cells).start()

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
        else:
            t0 = time.perf_counter()
            inputs = make_inputs(case)
            reply = self.pool.call(adapter, case, inputs, self.cell_timeout)
        if adapter not in self._announced and reply.versions:
            self._announced.add(adapter)
            if self.writer:
                self.writer.adapter(adapter, reply.versions)
        metrics, status, sem, cmp, training_fp = {}, reply.status, None, None, None
        if case.expect and reply.status in ("ok", "error"):
            status, said = expected_error(case, reply)
            metrics = {"expected_error" if status == "diverge" else "raised": said}
        elif reply.status == "ok":
            eps = case.epsilon
            if eps is None:
                doc = (reply.info or {}).get("epsilon_default")
                metrics["epsilon_default"] = doc
                eps = float(doc["value"])
            sem = case.semantics_with(eps)
            if case.check != "forward":  # backward, running_stats: several named outputs
                status, judged, training_fp = judge_training(case, inputs, reply, sem)
                metrics.update(judged)
            else:
                cmp, _ = judge(reply.y, inputs.x, sem, case.dtype, inputs.gamma, inputs.beta, case.tolerance_spec)
                metrics.update(cmp.metrics())
                metrics["output_dtype"] = str(getattr(reply.y, "dtype", type(reply.y).__name__))
                status = "agree" if cmp.ok else "diverge"
        result = Result(
            case_id=case.id, adapter=adapter, env=self.env, status=status, versions=reply.versions,
            metrics=metrics, message=reply.message, traceback=reply.traceback, snippet=reply.snippet,
            duration=time.perf_counter() - t0, case=case.to_dict(), absent=reply.absent,
        )
        if status == "diverge":
            if training_fp is not None:
                result.fingerprint = Fingerprint.from_dict(training_fp)
            elif cmp is not None and not cmp.shape_mismatch:
                result.fingerprint = Fingerprint.from_dict(_fingerprint(case, inputs, reply.y, sem, cmp.achievable))
            result.message = explain(case, result)
        self._judge(result)
        if self.writer:
            self.writer.write(result)
        return result

    def run_claim(self, claim, adapter: str):
        from .claim_eval import evaluate, to_result

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

    def close(self):
        if self.dispatcher is not None:
            self.dispatcher.close()
            self.dispatcher = None
        self.pool.close()
        if self.writer:
            self.writer.close()
