"""The family of candidate semantics, and fingerprinting.

Every member is "normalize over a subset of the named axes (optionally with
the channel axis split into groups), centred or RMS, epsilon inside or
outside the square root, biased or unbiased variance, with or without the
case's affine transform". Given an input and an output that disagrees with
the expected semantics, :func:`fingerprint` searches the family for the
members that reproduce the output within the case's tolerance and states the
difference in words: "normalized over {T,F}; the case expects {F}".
"""
from __future__ import annotations

import itertools
from dataclasses import asdict

import numpy as np

from .compare import compare
from .inputs import np_dtype
from .layouts import Layout
from .reference import Semantics, apply_affine, normalize

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


def refinements(sem: Semantics, expected: Semantics):
    """Stage 2: numerical variants of a structural match."""
    eps_values = [expected.eps] + [e for e in COMMON_EPSILONS if e != expected.eps]
    for eps in eps_values:
        for outside in (False, True):
            for ddof in ((0, 1) if sem.center else (0,)):
                yield sem.with_(eps=eps, eps_outside=outside, ddof=ddof)


def _key(sem: Semantics):
    lay = Layout(sem.layout)
    return (lay.ordered(sem.stat_axes), sem.groups, sem.center, sem.eps, sem.eps_outside, sem.ddof)


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
    if found.eps != expected.eps:
        parts.append(f"epsilon {found.eps:g} instead of {expected.eps:g}")
    if found.eps_outside != expected.eps_outside:
        parts.append("epsilon added outside the square root" if found.eps_outside else "epsilon inside the sqrt")
    if found.ddof != expected.ddof:
        parts.append("unbiased (n-1) variance" if found.ddof == 1 else "biased variance")
    if found.bias != expected.bias and found.center == expected.center:
        parts.append("no bias added" if not found.bias else "bias added")
    return "; ".join(parts) or "the expected semantics"


def fingerprint(x, y, expected: Semantics, dtype: str, gamma=None, beta=None, *, max_matches=8) -> dict:
    """Members of the family that reproduce ``y`` from ``x`` within the tolerance
    of ``dtype``. Returns a JSON-ready dict with an ``explanation`` in words."""
    x = np.asarray(x)
    y = np.asarray(y)
    lay = Layout(expected.layout)
    channels = x.shape[lay.index(lay.channel)]
    if y.shape != x.shape:
        return {"matches": [], "explanation": f"output shape {list(y.shape)} differs from input shape "
                                              f"{list(x.shape)}; no member of the family changes the shape"}

    def err(sem, with_affine=True):
        try:
            out = normalize(x, sem, gamma if with_affine else None, beta if with_affine else None)
        except ValueError:
            return None
        return compare(y, out, dtype)

    # stage 1: structure; stage 2: numerics around the best structures
    scored = []
    for sem in candidates(expected, channels):
        c = err(sem)
        if c is not None:
            scored.append((c.max_abs, sem, c.ok))
    scored.sort(key=lambda t: t[0])
    seen, matches, best = set(), [], None
    for _, base, _ in scored[:6]:
        for sem in refinements(base, expected):
            k = _key(sem)
            if k in seen:
                continue
            seen.add(k)
            c = err(sem)
            if c is None:
                continue
            if best is None or c.max_abs < best[0]:
                best = (c.max_abs, sem)
            if c.ok:
                matches.append((c.max_abs, sem))
    # A numerical variant (epsilon value or placement, variance estimator) of the
    # expected structure only explains an output it fits clearly better than
    # the expected semantics does; otherwise it is fitting rounding noise.
    try:
        ref = normalize(x, expected, gamma, beta)  # the expected output, used by every check below
    except ValueError:
        ref = None
    c_expected = compare(y, ref, dtype) if ref is not None else None
    if c_expected is not None:
        def structural(sem):
            return (set(sem.stat_axes), sem.groups, sem.center) != (set(expected.stat_axes), expected.groups,
                                                                     expected.center)
        matches = [(e, sem) for e, sem in matches if structural(sem) or e <= c_expected.max_abs / 4]
    affine_ignored = False
    if not matches and gamma is not None:
        c = err(expected, with_affine=False)
        if c is not None and c.ok:
            matches.append((c.max_abs, expected))
            affine_ignored = True
    matches.sort(key=lambda t: (t[0], _key(t[1]) != _key(expected)))
    out = {"matches": [{"semantics": _sem_dict(s), "max_abs": float(e), "describe": s.describe()}
                       for e, s in matches[:max_matches]],
           "n_matches": len(matches)}
    if affine_ignored:
        out["explanation"] = "the output is the expected normalization without the affine transform (gamma/beta ignored)"
    elif matches:
        primary = _simplest(matches, expected)
        out["best"] = _sem_dict(primary)
        expl = difference(primary, expected)
        if len(matches) > 1:
            others = {difference(s, expected) for _, s in matches} - {expl}
            if others:
                expl += f" (also consistent: {'; or '.join(sorted(others)[:3])})"
        out["explanation"] = expl
    else:
        b_err, b_sem = best if best else (float("inf"), expected)
        if c_expected is not None and c_expected.max_abs <= 2 * b_err:
            # nothing fits clearly better than the expected formula: call it numerical
            b_err, b_sem = c_expected.max_abs, expected
        out["closest"] = _sem_dict(b_sem)
        out["closest_max_abs"] = float(b_err)
        lower = _lower_precision(y, ref, dtype) if ref is not None else None
        if _key(b_sem) == _key(expected) and lower:
            out["computed_in"] = lower
            out["explanation"] = (f"the expected semantics at {lower} precision (max abs {b_err:.3g}): the "
                                  f"{dtype} result was computed in {lower}")
        elif _key(b_sem) == _key(expected):
            out["explanation"] = (f"no member of the family reproduces the output; the closest is the expected "
                                  f"semantics itself (max abs {b_err:.3g}): a numerical difference, not a "
                                  f"different formula")
            probe = variance_probe(x, y, ref, expected, dtype, gamma, beta)
            if probe:
                out["variance_probe"] = probe
                if probe["one_pass_like"]:
                    out["explanation"] += (
                        f"; its size matches a one-pass variance E[x²]−E[x]² computed in {dtype} (emulated max abs "
                        f"{probe['one_pass_max_abs']:.3g}), while a two-pass variance in {dtype} stays at "
                        f"{probe['two_pass_max_abs']:.3g}")
        else:
            out["explanation"] = (f"no member of the family reproduces the output; closest: "
                                  f"{difference(b_sem, expected)} (max abs {b_err:.3g})")
    return out


_LOWER = {"float64": ("float32",), "float32": ("float16", "bfloat16")}


def _emulate(x, sem: Semantics, dtype: str, one_pass: bool, gamma, beta):
    """The expected semantics computed in ``dtype`` with a one- or two-pass variance."""
    dt = np_dtype(dtype)
    lay = Layout(sem.layout)
    xs = np.asarray(x).astype(dt)
    dims = {a: i for i, a in enumerate(lay.axes)}
    if sem.groups:
        c = lay.index(lay.channel)
        C = xs.shape[c]
        xs = xs.reshape(xs.shape[:c] + (sem.groups, C // sem.groups) + xs.shape[c + 1:])
        dims = {a: (i if i < c else i + 1) for i, a in enumerate(lay.axes)}
    red = tuple(sorted(dims[a] for a in sem.stat_axes))
    with np.errstate(all="ignore"):
        mean = xs.mean(axis=red, keepdims=True, dtype=dt)
        if one_pass:
            var = np.maximum((xs * xs).mean(axis=red, keepdims=True, dtype=dt) - mean * mean, dt.type(0))
        else:
            var = ((xs - mean) ** 2).mean(axis=red, keepdims=True, dtype=dt)
        y = ((xs - mean) / np.sqrt(var + dt.type(sem.eps))).reshape(np.asarray(x).shape).astype(np.float64)
    return apply_affine(y, sem, gamma, beta)


def variance_probe(x, y, ref, expected: Semantics, dtype: str, gamma=None, beta=None):
    """For a centred op in float32/float16: how large the error of a one-pass
    and of a two-pass variance in the case dtype would be, and whether the
    observed error looks like the one-pass kind (at least a tenth of the
    emulated one-pass error, which itself is over 4x the two-pass one). ``ref``
    is the expected output."""
    if not expected.center or dtype not in ("float32", "float16", "bfloat16"):
        return None
    observed = float(np.nanmax(np.abs(np.asarray(y, np.float64) - ref)))
    one = float(np.nanmax(np.abs(_emulate(x, expected, dtype, True, gamma, beta) - ref)))
    two = float(np.nanmax(np.abs(_emulate(x, expected, dtype, False, gamma, beta) - ref)))
    like = one > 4 * two and observed >= one / 10 and observed > 2 * two
    return {"observed_max_abs": observed, "one_pass_max_abs": one, "two_pass_max_abs": two, "one_pass_like": like}


def _lower_precision(y, ref, dtype):
    """The lower precision an output was evidently computed in: every value is
    exactly representable in it and its errors against the expected output
    ``ref`` fit that precision's tolerance."""
    y64 = np.asarray(y, np.float64)
    for lower in _LOWER.get(dtype, ()):
        with np.errstate(all="ignore"):
            representable = np.array_equal(y64.astype(np_dtype(lower)).astype(np.float64), y64, equal_nan=True)
        if representable and compare(y, ref, lower).ok:
            return lower
    return None


def _simplest(matches, expected):
    """Among matches, the one closest to the expected semantics (fewest differences), then the most exact."""
    def n_diff(s):
        return sum([set(s.stat_axes) != set(expected.stat_axes), s.groups != expected.groups,
                    s.center != expected.center, s.eps != expected.eps, s.eps_outside != expected.eps_outside,
                    s.ddof != expected.ddof])
    return min(matches, key=lambda t: (n_diff(t[1]), t[0]))[1]


def _sem_dict(sem: Semantics) -> dict:
    d = asdict(sem)
    d["stat_axes"] = "".join(Layout(sem.layout).ordered(sem.stat_axes))
    d["affine_axes"] = "".join(Layout(sem.layout).ordered(sem.affine_axes))
    return d
