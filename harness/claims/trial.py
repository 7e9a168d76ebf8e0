"""One input of a claim: the :class:`Trial` (does it hold there, by how much, why not) and the
:class:`Verdict` over all inputs, and the trial of a forward claim (:func:`forward_trial`).

Both sides run as cases through a worker (:func:`call`). An ``equal`` claim holds on an input when the two
outputs agree within what stable implementations of both sides reach; a ``reference`` claim when the
left output agrees with the claimed semantics under the verdict rule.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.cases.inputs import make_inputs
from harness.fingerprint.forward import fingerprint
from harness.numerics import families
from harness.numerics.achievable import achievable_error
from harness.numerics.reference import normalize
from harness.numerics.verdict import compare, judge
from harness.ops.definition import Formula
from harness.ops.layouts import Layout

from .sides import expected_semantics, side_case


@dataclass
class Trial:
    input: str
    variants: tuple[str, ...]
    holds: bool
    max_diff: float
    note: str = ""


@dataclass
class Verdict:
    verdict: str  # holds | fails | holds only when
    condition: str = ""
    max_diff: float = 0.0
    explanation: str = ""
    trials: list[Trial] = field(default_factory=list)
    per_input: dict[str, str] = field(default_factory=dict)
    error: str = ""
    absent: str = ""  # why the framework is not in this environment at all (unsupported verdicts)


def call(pool, adapter, case, timeout):
    inputs = make_inputs(case)
    reply = pool.call(adapter, case, inputs, timeout)
    return inputs, reply


def axes_words(sem) -> str:
    lay = Layout(sem.layout)
    words = "{" + ",".join(lay.ordered(sem.stat_axes)) + "}"
    return words + (f" in {sem.groups} channel groups" if sem.groups and sem.groups > 1 else "")


def forward_trial(claim, pool, adapter, input_name, variants, timeout):
    """One input of a forward claim with these variants applied to both sides: (Trial, the right side's
    reply), or (None, the reply of the side whose call did not return an output)."""
    vs = frozenset(variants)
    left = side_case(claim, dict(claim.left), input_name, vs, "L" + "-".join(sorted(vs)))
    li, lr = call(pool, adapter, left, timeout)
    if lr.status != "ok":
        return None, lr
    if claim.relation == "reference":
        # the claim is about the statistics: apply the expected formula with the left call's own parameters
        # (an op with its own definition: the formula of the definition or of the conventions claimed)
        sem = expected_semantics(claim, left, vs)
        if not isinstance(sem, Formula):
            sem = sem.with_(affine_axes=left.semantics.affine_axes)
        c, _ = judge(lr.y, li.x, sem, claim.dtype, li.gamma, li.beta)
        expl = ""
        if not c.ok:
            fp = fingerprint(li.x, lr.y, sem, claim.dtype, li.gamma, li.beta, achievable=c.achievable)
            expl = fp.get("explanation", "")
            if isinstance(sem, Formula):  # the fingerprint speaks of a case; here the claim states the formula
                expl = expl.replace("; the case expects ", "; the claim states ")
        return Trial(input_name, tuple(sorted(vs)), c.ok, c.max_abs, expl), lr
    right = side_case(claim, dict(claim.right), input_name, vs, "R" + "-".join(sorted(vs)))
    ri, rr = call(pool, adapter, right, timeout)
    if rr.status != "ok":
        return None, rr
    # equal within what stable implementations of both sides reach on these inputs
    ach = sum(_achievable(i, k.semantics, claim.dtype) for i, k in ((li, left), (ri, right)))
    c = compare(lr.y, np.asarray(rr.y, np.float64), claim.dtype, achievable=ach)
    expl = ""
    if not c.ok and (isinstance(left.semantics, Formula) or isinstance(right.semantics, Formula)):
        expl = _formula_difference(li, lr, left.semantics, right.semantics, claim.dtype)
    elif not c.ok:
        ls, rs = left.semantics, right.semantics
        parts = []
        if set(ls.stat_axes) != set(rs.stat_axes) or (ls.groups or 1) != (rs.groups or 1):
            parts.append(f"left normalizes over {axes_words(ls)}, right over {axes_words(rs)}")
        if li.gamma is not None and ri.gamma is not None and li.gamma.shape != ri.gamma.shape:
            parts.append(f"affine parameters have shape {list(li.gamma.shape)} on the left and "
                         f"{list(ri.gamma.shape)} on the right")
        if ls.eps != rs.eps:
            parts.append(f"epsilon {ls.eps:g} vs {rs.eps:g}")
        if not parts:
            fp = fingerprint(li.x, lr.y, rs, claim.dtype, ri.gamma, ri.beta)
            parts.append(fp.get("explanation", ""))
        expl = "; ".join(p for p in parts if p)
    return Trial(input_name, tuple(sorted(vs)), c.ok, c.max_abs, expl), rr


def _achievable(inputs, sem, dtype: str) -> float:
    """What stable implementations of one side reach on its input."""
    if isinstance(sem, Formula):
        return families.achievable_error(inputs.x, families.reference(inputs.x, sem), sem, dtype)
    return achievable_error(inputs.x, normalize(inputs.x, sem, inputs.gamma, inputs.beta), sem, dtype,
                            inputs.gamma, inputs.beta)


def _formula_difference(li, lr, ls, rs, dtype: str) -> str:
    """Why two sides differ where one has its own definition: what each computes, or, where both state the
    same formula, which convention the left output fits."""
    if isinstance(ls, Formula) and isinstance(rs, Formula) and ls == rs:
        return fingerprint(li.x, lr.y, rs, dtype).get("explanation", "")
    return f"left computes {ls.describe()}; right computes {rs.describe()}"
