"""Masked statistics: the float64 reference when a mask says which positions count.

Definition. Each statistics row (the values one statistic spans: :func:`~harness.numerics.reference.rows`)
has its unmasked elements V, n of them. The row's mean and variance are those of V alone (divisor
``n - ddof``; RMS: the mean square of V), and every element of the row, masked ones included, is
normalized with them:

    y = (x - mean(V)) / sqrt(var(V) + eps) * gamma + beta        (centred)
    y = x / sqrt(mean(V**2) + eps) * gamma                       (RMS)

A row without an unmasked element has no statistics (``0 / 0``): every element of it is NaN, as is a
row whose divisor ``n - ddof`` is not positive. A mask marks positions, so it is the same for every
channel; the functions here take it broadcast to x's shape.

How, and the error bound (``u = 2**-53``). Rows with the same n are stacked and their unmasked
elements go through :func:`~harness.numerics.reference.standardize` (the reference's own rows: the
same bound of 7 u, the same scaling, exact fallbacks and constant-row rules). A masked element's
deviation from that mean is formed from the row's mean as an unevaluated sum (``mean + mean_lo``,
scaled by the row's power of two): ``t = x - mean`` with its rounding error ``e`` (TwoSum), then
``d = t + (e - mean_lo)``. Where the mean's error (at most 2**-74 of the row's largest unmasked
deviation, taken here as 2**-70) and the rounding of ``e - mean_lo`` are not provably below ``u/8``
of ``|d|``, or where the element does not scale exactly (far outside the row's range), the
deviation is computed in exact integer arithmetic instead and rounded once. So each masked
deviation is within 1.125 u of the exact one, as an unmasked one is, and the same division by the
row's denominator gives the same bound: within ``7 u |xhat|`` (plus one ulp of the subnormal range),
with the affine transform the reference's ``8 u |xhat * gamma| + u |y|``. Every normalized value
is formed as a mantissa and a power of two (:func:`~harness.numerics.reference.split_xhat`), so a
value below the normal range keeps its digits for gamma. tests/unit/numerics/test_masked.py checks
this against exact rational arithmetic.
"""
from __future__ import annotations

import numpy as np

from harness.ops.layouts import Layout
from harness.ops.semantics import Semantics

from .reference import U, apply_affine, rows, scale2, split_xhat, standardize

#: what the mean (``mean + mean_lo``) may be off by, as a fraction of the row's largest deviation
_MEAN_ERR = 2.0 ** -70


def normalize_masked(x, sem: Semantics, mask, gamma=None, beta=None) -> np.ndarray:
    """``sem`` applied to ``x`` with statistics over the unmasked elements of each row (``mask``: True
    where an element counts, broadcastable to x's shape); see the module's definition and bound."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != Layout(sem.layout).rank:
        raise ValueError(f"input rank {x.ndim} does not match layout {sem.layout}")
    mant, exp = xhat_parts(x, sem, mask)
    return apply_affine(mant, sem, gamma, beta, exp=exp)


def xhat_parts(x, sem: Semantics, mask):
    """The normalized values of :func:`normalize_masked` (no affine) as ``(mant, exp)`` arrays of x's
    shape, ``xhat == mant * 2**exp`` (NaN mantissas where the definition gives no value)."""
    x = np.asarray(x, dtype=np.float64)
    valid = np.broadcast_to(np.asarray(mask, bool), x.shape)
    flat, back = rows(x, sem)
    vflat, _ = rows(valid, sem)
    lead, m = flat.shape[:-1], flat.shape[-1]
    xr, vr = flat.reshape(-1, m), vflat.reshape(-1, m)
    mant = np.full(xr.shape, np.nan)
    exp = np.zeros(xr.shape, np.int64)
    counts = vr.sum(axis=1)
    for n in np.unique(counts):
        if n == 0:
            continue  # no statistics: NaN
        idx = np.nonzero(counts == n)[0]
        xi, vi = xr[idx], vr[idx]
        st = standardize(xi[vi].reshape(len(idx), int(n)), sem)
        # the deviations' own digits (rows spanning the float64 range included), then the division
        dm, de = split_xhat(st._replace(den=np.ones_like(st.den), den_exp=np.zeros_like(st.den_exp)))
        vm, ve = _divide(dm, de, st, sem)
        rm, re = np.empty(xi.shape), np.zeros(xi.shape, np.int64)
        rm[vi], re[vi] = vm.ravel(), ve.ravel()
        if n < m:
            om, oe = _others(xi[~vi].reshape(len(idx), m - int(n)), st, sem)
            rm[~vi], re[~vi] = om.ravel(), oe.ravel()
        mant[idx], exp[idx] = rm, re
    return back(mant.reshape(lead + (m,))), back(exp.reshape(lead + (m,)))


def _others(o, st, sem: Semantics):
    """The normalized values of the masked elements ``o`` (rows, j) of rows whose unmasked elements
    gave ``st``: ``(mant, exp)``."""
    dev = st.dev
    k = dev.k
    with np.errstate(all="ignore"):
        xs = scale2(o, k)
        ok = np.isfinite(xs) & (scale2(xs, -k) == o)  # scaled exactly
        if dev.center:
            t = xs - dev.mean
            bb = t - xs
            e = (xs - (t - bb)) + (-dev.mean - bb)  # TwoSum: xs - mean == t + e exactly
            d = t + (e - dev.mean_lo)
            dmax = np.max(np.abs(dev.d), axis=-1, keepdims=True)
            off = (U * (np.abs(e) + np.abs(dev.mean_lo)) + _MEAN_ERR * dmax) * (1 + 4 * U)
            ok &= off <= np.abs(d) * (U / 8)
        else:
            d = xs
        dm, de = np.frexp(np.where(ok, d, 0.0))
        de = de.astype(np.int64)
        for r, j in zip(*np.nonzero(~ok & np.isfinite(o))):
            dm[r, j], de[r, j] = _exact_deviation(dev.flat[r], float(o[r, j]), int(k[r, 0]), dev.center)
        bad = ~np.isfinite(o)  # not the reference's domain: what plain arithmetic gives
        if bad.any():
            dm = np.where(bad, d, dm)
            de = np.where(bad, 0, de)
    return _divide(dm, de, st, sem)


def _divide(dm, de, st, sem: Semantics):
    """``(dm * 2**de) / s`` for the deviations of rows whose statistics gave ``st``, as ``(mant, exp)``:
    the mantissas divided (one rounding; no overflow or underflow however large or small the
    denominator), NaN in rows without a value (eps 0 on a constant row, ...)."""
    with np.errstate(all="ignore"):
        # a constant row's denominator is epsilon's alone (its scaled form may have underflowed)
        root = sem.eps if sem.eps_outside else np.sqrt(sem.eps)
        den = np.where(st.dev.const, root, st.den)
        den_exp = np.where(st.dev.const, -st.dev.k, st.den_exp)
        nm, ne = np.frexp(den)
        mant, e2 = np.frexp(dm / nm)
        mant = np.where(np.isnan(st.inv) | np.isnan(dm), np.nan, mant)
    return mant, np.asarray(de, np.int64) + e2.astype(np.int64) - ne.astype(np.int64) + den_exp


def _ints(values):
    """Floats as integers, multiples of 2**-1074."""
    out = []
    for v in values:
        num, den = float(v).as_integer_ratio()
        out.append(num << (1075 - den.bit_length()))
    return out


def _exact_deviation(valid, v: float, k: int, center: bool):
    """``(v - mean(valid)) * 2**k`` (``v * 2**k`` when not centred) as ``(mant, exp)``: ``mant`` in
    [1/2, 1) rounded once from the exact value (0 for an exact 0), no limit on ``exp``."""
    if not center:
        mant, e = np.frexp(v)
        return float(mant), int(e) + k
    ints = _ints(valid)
    n = len(ints)
    dev = n * _ints([v])[0] - sum(ints)  # the deviation times n, in units of 2**-1074
    if dev == 0:
        return 0.0, 0
    shift = 60 - (dev.bit_length() - n.bit_length())
    q = (dev << shift) / n if shift >= 0 else dev / (n << -shift)
    mant, e = np.frexp(q)
    return float(mant), int(e) + k - 1074 - shift
