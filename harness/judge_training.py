"""Verdicts of training-time checks: ``backward`` (dx, dgamma, dbeta) and
``running_stats`` (the inference output y, running_mean, running_var).

Each named output is judged by the forward rule (error <= FACTOR x its own
achievable error + floor, NaN/inf only where the reference has them, or the
case's own tolerance); the cell agrees when every output does. The record's
metrics are those of the worst output (the report and ``explain`` read them
as for a forward cell) plus ``output`` (its name) and ``outputs`` (name ->
the figures of each output).
"""
from __future__ import annotations

import math

import numpy as np

from .compare import FACTOR, FLOOR, Comparison, compare
from .numerics_grad import achievable_grad_errors
from .reference_grad import grads
from . import training

#: per-output figures kept in the record
_KEEP = ("max_abs", "achievable", "allowed", "ratio", "max_rel", "max_ulp", "n", "n_bad", "worst_index",
         "worst_expected", "worst_actual", "nonfinite", "shape_mismatch")


def _missing(name: str, dtype: str, ref) -> Comparison:
    n = int(np.size(ref))
    return Comparison(False, math.inf, math.inf, None, n, n, factor=FACTOR, floor=FLOOR[dtype],
                      allowed=FLOOR[dtype], shape_mismatch=f"the adapter returned no {name}")


def judge_outputs(actual: dict, refs: dict, achievable: dict, dtype: str, tolerance=None) -> dict[str, Comparison]:
    out = {}
    for name, ref in refs.items():
        a = actual.get(name)
        out[name] = _missing(name, dtype, ref) if a is None else \
            compare(a, ref, dtype, achievable=achievable.get(name, 0.0), tolerance=tolerance)
    return out


def _badness(c: Comparison) -> float:
    if c.shape_mismatch or c.nonfinite:
        return math.inf
    return c.max_abs / c.allowed if c.allowed > 0 else (math.inf if c.max_abs > 0 else 0.0)


def metrics_of(comparisons: dict[str, Comparison]) -> tuple[bool, dict]:
    """(every output agrees, the record's metrics)."""
    ok = all(c.ok for c in comparisons.values())
    pool = {k: c for k, c in comparisons.items() if not c.ok} or comparisons
    worst = max(pool, key=lambda k: _badness(pool[k]))
    m = comparisons[worst].metrics()
    m["output"] = worst
    m["outputs"] = {k: {f: v for f, v in c.metrics().items() if f in _KEEP} | {"ok": c.ok}
                    for k, c in comparisons.items()}
    return ok, m


def _update(case) -> training.Update:
    return training.Update(float(case.momentum))


def judge_training(case, inputs, reply, sem) -> tuple[str, dict, dict | None]:
    """(status, metrics, fingerprint or None) of an ``ok`` reply to a backward or running_stats cell."""
    from .semantics_training import fingerprint_backward, fingerprint_running_stats

    if case.check == "backward":
        refs = grads(inputs.x, sem, inputs.dy, inputs.gamma, inputs.beta)
        ach = achievable_grad_errors(inputs.x, refs, sem, case.dtype, inputs.dy, inputs.gamma, inputs.beta)
        actual = {"dx": reply.y, **{k: v for k, v in reply.arrays.items() if k != "dx"}}
    elif case.check == "running_stats":
        refs = training.reference(inputs.x, inputs.batches, sem, _update(case), inputs.gamma, inputs.beta)
        ach = training.achievable_errors(inputs.x, inputs.batches, refs, sem, case.dtype, _update(case),
                                         inputs.gamma, inputs.beta)
        actual = {"y": reply.y, **{k: v for k, v in reply.arrays.items() if k != "y"}}
    else:
        raise ValueError(f"no verdict rule for check {case.check!r}")
    comps = judge_outputs(actual, refs, ach, case.dtype, case.tolerance_spec)
    ok, metrics = metrics_of(comps)
    metrics["output_dtype"] = str(getattr(reply.y, "dtype", type(reply.y).__name__))
    if isinstance((reply.info or {}).get("path"), str):
        metrics["path"] = reply.info["path"]  # which implementation the framework chose (tf.keras: fused or not)
    if ok:
        return "agree", metrics, None
    try:
        if case.check == "backward":
            fp = fingerprint_backward(inputs.x, actual, sem, case.dtype, inputs.dy, inputs.gamma, inputs.beta, ach,
                                      comps, refs)
        else:
            fp = fingerprint_running_stats(inputs.x, actual, sem, case.dtype, _update(case), inputs.batches,
                                           inputs.gamma, inputs.beta, comps, refs)
    except Exception as e:  # noqa: BLE001 - an explanation must never cost the result
        fp = {"matches": [], "explanation": f"fingerprinting failed: {type(e).__name__}: {e}"}
    return "diverge", metrics, fp


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
        return [f"  check: {case.steps} training steps from running mean 0 and variance 1, "
                f"new = {1 - m:g}*old + {m:g}*batch (momentum {m:g} weights the new batch), running variance "
                "updated with the biased batch variance; y is the inference-mode output on x"]
    return []


def _g(v) -> str:
    return f"{v:.3g}" if isinstance(v, (int, float)) else str(v)
