"""Runs one cell (case x adapter): inputs -> reference, achievable error and adapter -> verdict -> Result."""
from __future__ import annotations

import time

from .adapters import registry
from .cases import params_text
from .inputs import make_inputs
from .layouts import Layout
from .numerics import judge
from .results import Result, Writer
from .semantics import fingerprint
from .workers import DEFAULT_CELL_TIMEOUT, DEFAULT_STARTUP_TIMEOUT, WorkerPool


def explain(case, result: Result) -> str:
    """A multi-line, human message for a cell that did not agree."""
    m = result.metrics
    lines = [f"{result.status}: {case.id} [{result.adapter}] ({params_text(case.to_dict())})"]
    if result.status == "diverge" and m.get("expected_error"):
        lines.append(f"  {m['expected_error']}")
    elif result.status == "diverge":
        if m.get("shape_mismatch"):
            lines.append(f"  {m['shape_mismatch']}")
        else:
            if m.get("nonfinite"):
                lines.append(f"  {m['nonfinite']}")
            lay = Layout(case.layout)
            where = ", ".join(f"{a}={i}" for a, i in zip(lay.axes, m.get("worst_index") or []))
            lines.append(f"  error {_g(m.get('max_abs'))} (max abs), achievable {_g(m.get('achievable'))}, "
                         f"ratio {_g(m.get('ratio'))}; {m.get('n_bad')} of {m.get('n')} elements above the "
                         f"allowed {_g(m.get('allowed'))}")
            lines.append(f"  rule: {rule_text(m, case)}")
            lines.append(f"  largest difference at [{where}]: expected {m.get('worst_expected')!r}, "
                         f"got {m.get('worst_actual')!r}")
        if m.get("output_dtype") and m["output_dtype"] != case.dtype:
            lines.append(f"  output dtype {m['output_dtype']} (case dtype {case.dtype})")
        if m.get("epsilon_default"):
            d = m["epsilon_default"]
            lines.append(f"  epsilon: the documented default {d.get('value')!r} ({d.get('source')})")
        lines.append(f"  reference: {case.semantics_with(_eps(case, m)).describe()}")
        if result.fingerprint and result.fingerprint.get("explanation"):
            lines.append(f"  explanation: {result.fingerprint['explanation']}")
    elif result.message:
        lines.append(f"  {result.message}")
    if result.snippet:
        lines.append("  call:")
        lines += ["    " + s for s in result.snippet.splitlines()]
    lines.append(f"  case: {case.file}:{case.line}")
    return "\n".join(lines)


def _g(v) -> str:
    return f"{v:.3g}" if isinstance(v, (int, float)) else str(v)


def rule_text(m: dict, case=None) -> str:
    """The verdict rule a cell was judged by, in one line."""
    if m.get("rule") == "atol/rtol":
        t = (case.tolerance_spec if case is not None else None)
        reason = f" (case tolerance: {t.reason})" if t else ""
        return f"the case's own |actual - expected| <= atol + rtol * |expected|{reason}"
    why = ""
    if m.get("rule") == "factor" and case is not None and case.tolerance_spec:
        why = f" (case tolerance: {case.tolerance_spec.reason})"
    return (f"error <= {_g(m.get('factor'))} x achievable {_g(m.get('achievable'))} + floor {_g(m.get('floor'))} "
            f"= {_g(m.get('allowed'))}{why}")


def _eps(case, metrics) -> float:
    if case.epsilon is not None:
        return case.epsilon
    return float((metrics.get("epsilon_default") or {}).get("value", 0.0))


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
    return "agree", f"raised {said}"


class Runner:
    def __init__(self, env: str, results_path=None, adapters=None, cell_timeout=DEFAULT_CELL_TIMEOUT,
                 startup_timeout=DEFAULT_STARTUP_TIMEOUT):
        specs = registry()
        if adapters:
            unknown = [a for a in adapters if a not in specs]
            if unknown:
                raise ValueError(f"unknown adapter(s) {', '.join(unknown)}; known: {', '.join(sorted(specs))}")
            specs = {a: specs[a] for a in adapters}
        self.specs = specs
        self.env = env
        self.cell_timeout = cell_timeout
        self.pool = WorkerPool(specs, startup_timeout)
        self.writer = Writer(results_path, env) if results_path else None
        self._announced: set[str] = set()

    @property
    def adapter_names(self) -> list[str]:
        return list(self.specs)

    def run_cell(self, case, adapter: str) -> Result:
        t0 = time.perf_counter()
        inputs = make_inputs(case)
        reply = self.pool.call(adapter, case, inputs, self.cell_timeout)
        if adapter not in self._announced and reply.versions:
            self._announced.add(adapter)
            if self.writer:
                self.writer.adapter(adapter, reply.versions)
        metrics, status, sem, cmp = {}, reply.status, None, None
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
            cmp, _ = judge(reply.y, inputs.x, sem, case.dtype, inputs.gamma, inputs.beta, case.tolerance_spec)
            metrics.update(cmp.metrics())
            metrics["output_dtype"] = str(getattr(reply.y, "dtype", type(reply.y).__name__))
            status = "agree" if cmp.ok else "diverge"
        result = Result(
            case_id=case.id, adapter=adapter, env=self.env, status=status, versions=reply.versions,
            metrics=metrics, message=reply.message, traceback=reply.traceback, snippet=reply.snippet,
            duration=time.perf_counter() - t0, case=case.to_dict(),
        )
        if status == "diverge":
            if cmp is not None and not cmp.shape_mismatch:
                result.fingerprint = _fingerprint(case, inputs, reply.y, sem, cmp.achievable)
            result.message = explain(case, result)
        if self.writer:
            self.writer.write(result)
        return result

    def run_claim(self, claim, adapter: str):
        from .claims import evaluate, to_result

        t0 = time.perf_counter()
        verdict, versions = evaluate(claim, self.pool, adapter, self.cell_timeout)
        result = to_result(claim, adapter, self.env, verdict, versions, time.perf_counter() - t0)
        if self.writer:
            self.writer.write(result)
        return result

    def record_skip(self, case, adapter: str, reason: str) -> Result:
        result = Result(case_id=case.id, adapter=adapter, env=self.env, status="skipped", message=reason,
                        case=case.to_dict())
        if self.writer:
            self.writer.write(result)
        return result

    def close(self):
        self.pool.close()
        if self.writer:
            self.writer.close()
