"""A claim's sides as cases: the claim's input (layout and sizes) with the side's op and parameters,
under the variants being tried, and the semantics the claim expects of a side. A side that cannot
be built on an input (axes not in its layout, no spatial axis to fold) is ``NotApplicable``.
"""
from __future__ import annotations

import math

from harness import ops
from harness.cases.model import Case
from harness.ops.layouts import Layout

from .load import SEED, Claim


def _resolve_axes(spec, lay: Layout):
    if spec is None or spec == "last":
        return None
    if spec == "all":
        return "".join(lay.non_batch)
    if any(a not in lay.axes for a in spec):
        raise NotApplicable(f"axes {spec} are not in layout {lay.name}")
    return "".join(lay.ordered(spec))


def _group_axes(spec, lay: Layout):
    """Group norm statistics axes: the channels of a group always among them."""
    ax = _resolve_axes(spec, lay)
    return None if ax is None else "".join(lay.ordered(set(ax) | {lay.channel}))


def _affine_axes(spec, lay: Layout):
    if spec is None:
        return None
    if spec == "channel":
        return lay.channel
    return _resolve_axes(spec, lay)


class NotApplicable(Exception):
    pass


def side_case(claim: Claim, side: dict, input_name: str, variants: frozenset, tag: str) -> Case:
    layout, sizes, _ = claim.input_table[input_name]
    sizes = dict(sizes)
    if "fold-spatial" in variants:
        lay = Layout(layout)
        if not lay.spatial:
            raise NotApplicable("no spatial axis to fold")
        folded = sizes[lay.batch] * math.prod(sizes[a] for a in lay.spatial)
        layout, sizes = "BF", {"B": folded, "F": sizes[lay.channel]}
    lay = Layout(layout)
    op = ops.get(side["op"])
    axes = side.get("axes")
    if "aligned-axes" in variants and op.axes_set_statistics:
        axes = "all"
    groups = side.get("groups")
    if groups == "C":
        groups = sizes[lay.channel]
    if op.needs_spatial and not lay.spatial:
        raise NotApplicable(f"{op.title} needs a spatial axis")
    eps = side.get("epsilon", claim.epsilon)
    if "pinned-epsilon" in variants:
        eps = claim.epsilon
    if op.definition is not None:  # the op's own keys; no gamma or beta, an epsilon only where it takes one
        return Case.from_dict({
            "id": f"claim-{claim.id}-{input_name}-{tag}", "description": claim.api, "source": claim.source,
            "op": op.name, "layout": layout, "shape": sizes, "dtype": claim.dtype,
            "epsilon": eps if op.takes_epsilon else None, "affine": "none", "seed": SEED,
            "input": claim.input_spec, "options": dict(side.get("options") or ()),
            "axes": _resolve_axes(axes, lay) if "axes" in op.params else None,
            **{k: side[k] for k in op.own_keys if k in side},
            "file": claim.file, "line": claim.line, "tags": ["claim"],
        })
    return Case.from_dict({
        "id": f"claim-{claim.id}-{input_name}-{tag}", "description": claim.api, "source": claim.source,
        "op": op.name, "layout": layout, "shape": sizes, "dtype": claim.dtype, "epsilon": eps,
        "affine": "ones" if "initial-params" in variants else claim.affine, "seed": SEED,
        "input": claim.input_spec, "options": dict(side.get("options") or ()),
        "groups": groups if "groups" in op.params else None,
        "axes": (_group_axes if op.grouped else _resolve_axes)(axes, lay) if "axes" in op.params else None,
        "affine_axes": _affine_axes(side.get("affine_axes"), lay) if "affine_axes" in op.params else None,
        "file": claim.file, "line": claim.line, "tags": ["claim"],
    })


def expected_semantics(claim: Claim, case: Case, variants=frozenset()):
    """What the claim says the (left) side ``case`` computes: a ``Semantics``, or for an op with its own
    definition the :class:`~harness.ops.definition.Formula` of that definition (or of the conventions the
    expect names) with the side's values of the op's keys, axes and epsilon unless the expect gives its own."""
    exp = dict(claim.expect)
    if case.spec.definition is not None:
        return _expected_formula(exp, case, variants)
    if exp["semantics"] != "op":
        return ops.NAMED_SEMANTICS[exp["semantics"]][1](case.layout, case.epsilon)
    lay = Layout(case.layout)
    op = ops.get(exp.get("op", case.op))
    groups = exp.get("groups")
    if groups == "C":
        groups = case.size[lay.channel]
    axes = exp.get("axes")
    if "aligned-axes" in variants and op.axes_set_statistics:
        axes = "all"
    resolve = _group_axes if op.grouped else _resolve_axes
    try:
        return op.semantics(case.layout, axes=resolve(axes, lay), groups=groups, eps=case.epsilon)
    except ValueError as e:  # e.g. instance norm on a folded (rank-2) input
        raise NotApplicable(str(e)) from None


def _expected_formula(exp: dict, case: Case, variants):
    op = case.spec
    lay = Layout(case.layout)
    axes = case.axes
    if "axes" in exp:
        axes = _resolve_axes("all" if "aligned-axes" in variants and op.axes_set_statistics else exp["axes"], lay)
    args = tuple((k, exp.get(k, case.arg(k))) for k in op.own_keys if exp.get(k, case.arg(k)) is not None)
    try:
        f = op.formula(case.layout, args=args, axes=axes, eps=case.epsilon)
    except ValueError as e:
        raise NotApplicable(str(e)) from None
    return f.with_(**dict(exp.get("conventions") or ()))
