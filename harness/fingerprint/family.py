"""The family of candidate semantics a fingerprint searches.

Every member is "normalize over a subset of the named axes (optionally with
the channel axis split into groups), centred or RMS, epsilon inside or
outside the square root, biased or unbiased variance, with or without the
case's affine transform". :func:`candidates` lists the structural members
around an expected semantics, :func:`refinements` the numerical variants of
one of them, and :func:`difference` says in words how a member differs from
the expected semantics: "normalized over {T,F}; the case expects {F}".

:func:`mechanisms` lists how an implementation may compute a member in finite
precision (each a :class:`Mechanism`: words and the keyword sets of
:func:`harness.numerics.achievable.emulate` that emulate it): a one-pass
variance, a first stage (statistics and normalization) in float32 under float64
scale and bias, and for half precision statistics accumulated in float32 and
stored in the dtype, a one-pass variance from moments stored so, or statistics
accumulated in the dtype itself.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from harness.ops.layouts import Layout
from harness.ops.semantics import Semantics

#: epsilon values frameworks use as defaults (tried besides the case's own)
COMMON_EPSILONS = (1e-3, 1e-5, 1e-6, 1e-7, 1.001e-5, 0.0)


def _subsets(axes):
    for r in range(1, len(axes) + 1):
        yield from itertools.combinations(axes, r)


def _divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


def candidates(expected: Semantics, channels: int):
    """Stage 1 of the search: every statistics set, grouping and centring, with
    the expected epsilon, placement and variance estimator."""
    lay = Layout(expected.layout)
    groupings = [None]
    for g in ([expected.groups] if expected.groups else []) + [1, channels] + _divisors(channels):
        if g not in groupings:
            groupings.append(g)
    for stat in _subsets(lay.axes):
        for g in groupings:
            if g is not None and lay.channel not in stat:
                continue  # grouping only matters when the channel axis is reduced
            if g == 1:
                continue  # one group is the same as no grouping
            for center in (True, False):
                yield expected.with_(stat_axes=stat, groups=g, center=center, bias=expected.bias and center)


def float32_epsilons(expected: Semantics) -> list[float]:
    """The case's epsilon rounded to float32, when that changes it: an epsilon held
    in a float32 attribute (ONNX's FLOAT attributes) whatever the input's dtype."""
    e32 = float(np.float32(expected.eps))
    return [e32] if e32 != expected.eps else []


def refinements(sem: Semantics, expected: Semantics):
    """Stage 2: numerical variants of a structural match."""
    eps_values = [expected.eps] + float32_epsilons(expected)
    eps_values += [e for e in COMMON_EPSILONS if e not in eps_values]
    for eps in eps_values:
        for outside in (False, True):
            for ddof in ((0, 1) if sem.center else (0,)):
                yield sem.with_(eps=eps, eps_outside=outside, ddof=ddof)


def _axes(sem: Semantics) -> str:
    lay = Layout(sem.layout)
    return "{" + ",".join(lay.ordered(sem.stat_axes)) + "}"


def difference(found: Semantics, expected: Semantics) -> str:
    """How ``found`` differs from ``expected``, in words."""
    parts = []
    if set(found.stat_axes) != set(expected.stat_axes) or found.groups != expected.groups:
        f = f"normalized over {_axes(found)}" + (f" in {found.groups} channel groups" if found.groups else "")
        e = f"the case expects {_axes(expected)}" + (f" in {expected.groups} groups" if expected.groups else "")
        parts.append(f"{f}; {e}")
    if found.center != expected.center:
        parts.append("not centred (RMS)" if not found.center else "centred (mean subtracted)")
    if found.eps != expected.eps and found.eps in float32_epsilons(expected):
        parts.append(f"epsilon rounded to float32 ({found.eps!r} instead of {expected.eps!r})")
    elif found.eps != expected.eps:
        parts.append(f"epsilon {found.eps:g} instead of {expected.eps:g}")
    if found.eps_outside != expected.eps_outside:
        parts.append("epsilon added outside the square root" if found.eps_outside else "epsilon inside the sqrt")
    if found.ddof != expected.ddof:
        parts.append("unbiased (n-1) variance" if found.ddof == 1 else "biased variance")
    if found.bias != expected.bias and found.center == expected.center:
        parts.append("no bias added" if not found.bias else "bias added")
    return "; ".join(parts) or "the expected semantics"


# --- numerical mechanisms: how an implementation of a member computes it ---------------------------

@dataclass(frozen=True)
class Mechanism:
    """One way of computing a member in finite precision: its ``words``, the
    :func:`harness.numerics.achievable.emulate` keyword sets of its variants (an
    output it reproduces through any variant fits it), the dtype whose rounding
    a fit allows (``precision``: None for the case dtype), and its ``kind``
    (mechanisms of one kind explain the same thing in other ways; see
    :func:`forward.fingerprint`)."""

    name: str
    words: str
    variants: tuple
    precision: str | None = None
    kind: str = ""


def _stored_variant_words(dtype: str, kw: dict) -> str:
    what = "1/sqrt(var + eps)" if kw.get("store_invstd") else "variance"
    extra = "; the variance taken about the rounded mean" if kw.get("about_stored_mean") else ""
    return f"mean and {what} rounded to {dtype}{extra}"


def mechanisms(dtype: str, center: bool) -> list[Mechanism]:
    """The numerical mechanisms tried on an output of ``dtype`` (float16, bfloat16, float32, float64)
    that no member of the family reproduces exactly."""
    acc = "float32" if dtype in ("float16", "bfloat16") else dtype
    out = []
    if center:
        out.append(Mechanism(
            "one-pass", f"one-pass variance E[x²]−E[x]² in {acc}",
            tuple({"stats": acc, "variance": "one-pass", "summation": s} for s in ("pairwise", "sequential")),
            kind="variance"))
    if dtype == "float64":
        first = "first stage computed in float32 (as ONNX's stash_type=1 specifies): statistics and " \
                "normalization in float32, scale and bias in float64"
        for variance in ("two-pass",) + (("one-pass",) if center else ()):
            out.append(Mechanism(
                f"first-stage-float32-{variance}",
                first + (" with a one-pass variance E[x²]−E[x]²" if variance == "one-pass" else ""),
                tuple({"stats": "float32", "variance": variance, "normalize_in": "float32", "affine_in": "float64",
                       "invert": inv} for inv in (False, True)),
                precision="float32", kind="first-stage"))
    if dtype in ("float16", "bfloat16"):
        stored = tuple({"stats": "float32", "store": dtype, "store_invstd": inv, "about_stored_mean": about,
                        "normalize_in": nin} for inv in (False, True) for about in ((False, True) if center else
                                                                                   (False,))
                       for nin in ("float32", dtype))
        out.append(Mechanism(
            "stored", f"statistics accumulated in float32 and stored in {dtype}", stored, kind="half"))
        if center:
            out.append(Mechanism(
                "stored-one-pass", f"one-pass variance E[x²]−E[x]² from moments accumulated in float32 and "
                                   f"stored in {dtype} (mean and mean of squares rounded to {dtype})",
                ({"stats": "float32", "variance": "one-pass", "store": dtype, "normalize_in": dtype},),
                kind="half"))
        out.append(Mechanism(
            "accumulated", f"statistics accumulated in {dtype}",
            tuple({"stats": dtype, "summation": s} for s in ("pairwise", "sequential")), kind="half"))
    return out


def variant_words(mech: Mechanism, dtype: str, kw: dict) -> str:
    """What the variant of ``mech`` that fits adds to its words ('' when nothing)."""
    if mech.name == "stored":
        return _stored_variant_words(dtype, kw)
    if mech.name == "accumulated":
        return f"every partial sum rounded to {dtype}" + (", summed in order" if kw.get("summation") == "sequential"
                                                          else "")
    return ""
