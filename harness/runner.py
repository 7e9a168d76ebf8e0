"""Runs one cell (case x adapter): inputs -> reference and adapter -> compare -> Result."""
from __future__ import annotations

import time

from .adapters import registry
from .cases import params_text
from .compare import compare
from .inputs import make_inputs
from .layouts import Layout
from .reference import normalize
from .results import Result, Writer
from .semantics import fingerprint
from .workers import DEFAULT_CELL_TIMEOUT, DEFAULT_STARTUP_TIMEOUT, WorkerPool


def explain(case, result: Result) -> str:
    """A multi-line, human message for a cell that did not agree."""
    m = result.metrics
    lines = [f"{result.status}: {case.id} [{result.adapter}] ({params_text(case.to_dict())})"]
    if result.status == "diverge":
        if m.get("shape_mismatch"):
            lines.append(f"  {m['shape_mismatch']}")
        else:
            lay = Layout(case.layout)
            where = ", ".join(f"{a}={i}" for a, i in zip(lay.axes, m["worst_index"]))
            lines.append(f"  max abs error {m['max_abs']:.3g}, max rel error {m['max_rel']:.3g}, "
                         f"max {m['max_ulp']:.0f} ulp; {m['n_bad']} of {m['n']} elements outside tolerance")
            lines.append(f"  tolerance: |actual - expected| <= {m['atol']:g} + {m['rtol']:g} * |expected|")
            lines.append(f"  largest difference at [{where}]: expected {m['worst_expected']!r}, "
                         f"got {m['worst_actual']!r}")
        if m.get("output_dtype") and m["output_dtype"] != case.dtype:
            lines.append(f"  output dtype {m['output_dtype']} (case dtype {case.dtype})")
        lines.append(f"  reference: {case.semantics.describe()}")
        if result.fingerprint and result.fingerprint.get("explanation"):
            lines.append(f"  explanation: {result.fingerprint['explanation']}")
    elif result.message:
        lines.append(f"  {result.message}")
    if result.snippet:
        lines.append("  call:")
        lines += ["    " + s for s in result.snippet.splitlines()]
    lines.append(f"  case: {case.file}:{case.line}")
    return "\n".join(lines)


def _fingerprint(case, inputs, y) -> dict:
    try:
        return fingerprint(inputs.x, y, case.semantics, case.dtype, inputs.gamma, inputs.beta)
    except Exception as e:  # noqa: BLE001 - an explanation must never cost the result
        return {"matches": [], "explanation": f"fingerprinting failed: {type(e).__name__}: {e}"}


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
        metrics, status = {}, reply.status
        if reply.status == "ok":
            expected = normalize(inputs.x, case.semantics, inputs.gamma, inputs.beta)
            cmp = compare(reply.y, expected, case.dtype)
            metrics = cmp.metrics()
            metrics["output_dtype"] = str(getattr(reply.y, "dtype", type(reply.y).__name__))
            status = "agree" if cmp.ok else "diverge"
        result = Result(
            case_id=case.id, adapter=adapter, env=self.env, status=status, versions=reply.versions,
            metrics=metrics, message=reply.message, traceback=reply.traceback, snippet=reply.snippet,
            duration=time.perf_counter() - t0, case=case.to_dict(),
        )
        if status == "diverge":
            result.fingerprint = _fingerprint(case, inputs, reply.y)
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
