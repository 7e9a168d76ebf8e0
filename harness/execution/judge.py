"""Judging a cell: a worker's reply to a case -> status, metrics and, on a divergence, the fingerprint.

This is the one home of a cell's verdict, for every check:

* a case that expects the call to raise agrees when it raised that exception (and message);
* ``forward``: the output against the float64 reference (with a ``mask``: masked statistics,
  :mod:`harness.numerics.masked`) under the verdict rule
  (:func:`harness.numerics.verdict.judge`: error <= FACTOR x achievable + floor, NaN/inf only where the
  reference has them, or the case's own tolerance);
* ``inference``: the output with the given running statistics against the float64 inference-mode
  reference, by the same rule (its achievable error from stable inference forms in the case dtype);
* ``backward`` (dx, dgamma, dbeta) and ``running_stats`` (the inference output y, running_mean,
  running_var): each named output by the same rule against its own achievable error; the cell agrees when
  every output does. The metrics are those of the worst output (the report and the explanation read them
  as for a forward cell) plus ``output`` (its name) and ``outputs`` (name -> the figures of each output).

An ``epsilon: default`` case is judged with the documented default the adapter reports. The fingerprint
(why the output differs) is worked out only when asked for (:meth:`Judged.fingerprint`), after the cell's
duration is taken.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from harness.cases.inputs import full_mask
from harness.fingerprint.forward import fingerprint
from harness.fingerprint.masked import fingerprint_masked
from harness.fingerprint.training import (
    fingerprint_backward,
    fingerprint_inference,
    fingerprint_running_stats,
)
from harness.numerics import running
from harness.numerics.achievable_backward import achievable_grad_errors
from harness.numerics.backward import grads
from harness.numerics.verdict import compare, judge, judge_outputs, metrics_of
from harness.results.parts import Fingerprint


@dataclass
class Judged:
    """A cell's status and metrics (the record's fields), and how to find why it diverged."""
    status: str
    metrics: dict = field(default_factory=dict)
    why: Callable[[], dict] | None = None  # the fingerprint's search, for a divergence that has one

    def fingerprint(self) -> Fingerprint | None:
        """Why the cell diverged (None when it agrees or nothing can be compared)."""
        if self.status != "diverge" or self.why is None:
            return None
        try:
            found = self.why()
        except Exception as e:  # noqa: BLE001 - an explanation must never cost the result
            found = {"matches": [], "explanation": f"fingerprinting failed: {type(e).__name__}: {e}"}
        return Fingerprint.from_dict(found)


def judge_cell(case, inputs, reply) -> Judged:
    """The verdict of ``reply`` (a worker's :class:`~harness.workers.protocol.Reply`) to ``case`` on ``inputs``."""
    if case.expect and reply.status in ("ok", "error"):
        status, said = expected_error(case, reply)
        return Judged(status, {"expected_error" if status == "diverge" else "raised": said})
    if reply.status != "ok":
        return Judged(reply.status)
    metrics: dict = {}
    eps = case.epsilon
    if eps is None and case.spec.takes_epsilon:
        doc = (reply.info or {}).get("epsilon_default")
        metrics["epsilon_default"] = doc
        eps = float(doc["value"])
    sem = case.semantics_with(eps)
    judged = _forward(case, inputs, reply, sem) if case.check == "forward" else \
        _inference(case, inputs, reply, sem) if case.check == "inference" else _training(case, inputs, reply, sem)
    judged.metrics = metrics | judged.metrics
    return judged


def _forward(case, inputs, reply, sem) -> Judged:
    mask = full_mask(getattr(inputs, "mask", None), case.layout, inputs.x.shape)  # masked statistics
    cmp, _ = judge(reply.y, inputs.x, sem, case.dtype, inputs.gamma, inputs.beta, case.tolerance_spec, mask=mask)
    metrics = cmp.metrics()
    metrics["output_dtype"] = str(getattr(reply.y, "dtype", type(reply.y).__name__))
    why = None
    if not cmp.shape_mismatch and mask is not None:
        def why():
            return fingerprint_masked(inputs.x, reply.y, sem, case.dtype, mask, inputs.gamma, inputs.beta,
                                      achievable=cmp.achievable)
    elif not cmp.shape_mismatch:
        def why():
            return fingerprint(inputs.x, reply.y, sem, case.dtype, inputs.gamma, inputs.beta,
                               achievable=cmp.achievable)
    return Judged("agree" if cmp.ok else "diverge", metrics, why)


def _update(case) -> running.Update:
    return running.from_case(case)


def _inference(case, inputs, reply, sem) -> Judged:
    """Inference with the given running statistics: y against :func:`harness.numerics.running.inference`."""
    mean, var = inputs.running_mean, inputs.running_var
    ref = running.inference(inputs.x, mean, var, sem, inputs.gamma, inputs.beta)
    ach = running.inference_achievable(inputs.x, mean, var, ref, sem, case.dtype, inputs.gamma, inputs.beta)
    cmp = compare(reply.y, ref, case.dtype, achievable=ach, tolerance=case.tolerance_spec)
    metrics = cmp.metrics()
    metrics["output_dtype"] = str(getattr(reply.y, "dtype", type(reply.y).__name__))
    if isinstance((reply.info or {}).get("path"), str):
        metrics["path"] = reply.info["path"]
    why = None
    if not cmp.shape_mismatch:
        def why():
            return fingerprint_inference(inputs.x, reply.y, sem, case.dtype, mean, var, inputs.gamma, inputs.beta,
                                         cmp)
    return Judged("agree" if cmp.ok else "diverge", metrics, why)


def _training(case, inputs, reply, sem) -> Judged:
    """A backward or running_stats cell: every named output judged on its own."""
    if case.check == "backward":
        refs = grads(inputs.x, sem, inputs.dy, inputs.gamma, inputs.beta)
        ach = achievable_grad_errors(inputs.x, refs, sem, case.dtype, inputs.dy, inputs.gamma, inputs.beta)
        actual = {"dx": reply.y, **{k: v for k, v in reply.arrays.items() if k != "dx"}}
    elif case.check == "running_stats":
        refs = running.reference(inputs.x, inputs.batches, sem, _update(case), inputs.gamma, inputs.beta)
        ach = running.achievable_errors(inputs.x, inputs.batches, refs, sem, case.dtype, _update(case),
                                        inputs.gamma, inputs.beta)
        actual = {"y": reply.y, **{k: v for k, v in reply.arrays.items() if k != "y"}}
    else:
        raise ValueError(f"no verdict rule for check {case.check!r}")
    comps = judge_outputs(actual, refs, ach, case.dtype, case.tolerance_spec)
    ok, metrics = metrics_of(comps)
    metrics["output_dtype"] = str(getattr(reply.y, "dtype", type(reply.y).__name__))
    if isinstance((reply.info or {}).get("path"), str):
        metrics["path"] = reply.info["path"]  # which implementation the framework chose (tf.keras: fused or not)

    def why():
        if case.check == "backward":
            return fingerprint_backward(inputs.x, actual, sem, case.dtype, inputs.dy, inputs.gamma, inputs.beta,
                                        ach, comps, refs)
        return fingerprint_running_stats(inputs.x, actual, sem, case.dtype, _update(case), inputs.batches,
                                         inputs.gamma, inputs.beta, comps, refs)
    return Judged("agree" if ok else "diverge", metrics, why)


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
