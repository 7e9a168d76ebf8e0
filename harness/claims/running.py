"""Measuring running-statistics claims (a left side with ``check: running_stats``
and ``expect: {semantics: running_stats, running_var: ..., momentum_argument: ...}``).

The side runs as a running-statistics cell on the claim's input: the adapter
trains its batch norm for ``steps`` steps with ``momentum`` (the weight of
the new batch, passed in the API's own convention) and returns the running
statistics. The claim holds on that input when the outputs it speaks of agree
with the reference under the verdict rule: the running mean when it names
``momentum_argument`` (the mean does not depend on the variance estimator),
the running variance updated with the biased or unbiased batch variance when
it names ``running_var``. ``momentum_argument`` is also checked against the
convention the adapter says it passes the momentum in.
"""
from __future__ import annotations

from dataclasses import replace

from harness import ops
from harness.cases.inputs import make_inputs
from harness.fingerprint.training import fingerprint_running_stats
from harness.numerics import running
from harness.numerics.verdict import judge_outputs

from .sides import side_case
from .trial import Trial

_WORDS = {"new_batch": "the weight of the new batch", "old_value": "the weight of the old value"}


def running_case(claim, side: dict, input_name: str):
    base = side_case(claim, {k: v for k, v in side.items() if k not in ("check", "momentum", "steps")},
                     input_name, frozenset(), "L")
    defaults = ops.CHECK_PARAMS["running_stats"]
    return replace(base, id=base.id + "-running", check="running_stats",
                   momentum=float(side.get("momentum", defaults["momentum"])),
                   steps=int(side.get("steps", defaults["steps"])))


def trial(claim, pool, adapter: str, input_name: str, timeout: float):
    """(Trial or None, reply) for one input, as :func:`harness.claims.trial.forward_trial` returns."""
    case = running_case(claim, dict(claim.left), input_name)
    inputs = make_inputs(case)
    reply = pool.call(adapter, case, inputs, timeout)
    if reply.status != "ok":
        return None, reply
    exp = dict(claim.expect)
    passed = (reply.info or {}).get("momentum_argument")
    want = exp.get("momentum_argument")
    if want and passed and passed != want:
        return Trial(input_name, (), False, 0.0,
                     f"the adapter passes momentum as {_WORDS[passed]}; the quote makes it {_WORDS[want]}"), reply
    update = running.Update(case.momentum, ddof=1 if exp.get("running_var") == "unbiased" else 0)
    sem = case.semantics
    refs = running.reference(inputs.x, inputs.batches, sem, update, inputs.gamma, inputs.beta)
    ach = running.achievable_errors(inputs.x, inputs.batches, refs, sem, case.dtype, update, inputs.gamma,
                                     inputs.beta)
    names = (["running_mean"] if want else []) + (["running_var"] if exp.get("running_var") else [])
    actual = {"y": reply.y, **reply.arrays}
    comps = judge_outputs(actual, {k: refs[k] for k in names}, ach, case.dtype)
    ok = all(c.ok for c in comps.values())
    note = ""
    if not ok:
        note = fingerprint_running_stats(inputs.x, actual, sem, case.dtype, update, inputs.batches, inputs.gamma,
                                         inputs.beta, comps, refs).get("explanation", "")
    return Trial(input_name, (), ok, max(c.max_abs for c in comps.values()), note), reply
