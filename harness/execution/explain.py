"""A cell that did not agree, in words: the message a run prints and records for it.

:func:`explain` names the status, the case and adapter, the error against the allowed error and the rule
(:func:`rule_text`), the worst element, the epsilon used, the reference semantics, what a training-time
check computes, the fingerprint's explanation and the adapter's call.
"""
from __future__ import annotations

from harness.cases.model import params_text
from harness.ops.layouts import Layout
from harness.results.parts import Metrics
from harness.results.record import Result


def output_words(m) -> list[str]:
    """Lines for ``explain`` from a record's Metrics: the worst output and every output's
    error against its allowed error."""
    if not m.outputs:
        return []
    parts = [f"{k} {'agrees' if v.ok else 'DIVERGES'} ({_g(v.max_abs)} vs allowed {_g(v.allowed)})"
             for k, v in m.outputs.items()]
    return [f"  worst output: {m.output}; " + ", ".join(parts)]


def check_words(case) -> list[str]:
    """What a training-time check computes, for ``explain``."""
    if case.check == "backward":
        return ["  check: gradients of sum(y * dy) by x, gamma and beta (dy seeded, the shape of x)"]
    if case.check == "running_stats":
        m = case.momentum
        rule = ("new = (1 - 1/k)*old + (1/k)*batch at step k (momentum None: the cumulative average)"
                if case.cumulative else f"new = {1 - m:g}*old + {m:g}*batch (momentum {m:g} weights the new batch)")
        per = " (per channel, the average of its instances' statistics)" if case.op == "instance_norm" else ""
        return [f"  check: {case.steps} training steps from running mean 0 and variance 1, "
                f"{rule}, running variance updated with the biased batch variance{per}; y is the inference-mode "
                "output on x"]
    if case.check == "inference":
        st = case.statistics_spec
        return [f"  check: inference with the given running statistics (mean {st['mean']}, var {st['var']}): "
                "y = (x - mean) / sqrt(var + eps) * gamma + beta"]
    return []


def _g(v) -> str:
    return f"{v:.3g}" if isinstance(v, (int, float)) else str(v)


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
    """The epsilon the cell was judged with: the case's, or the documented default the adapter reported."""
    if case.epsilon is not None:
        return case.epsilon
    return metrics.epsilon_default.value if metrics.epsilon_default else 0.0
