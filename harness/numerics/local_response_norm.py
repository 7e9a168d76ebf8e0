"""Local response normalization across channels in float64: the reference, stable implementations in a
dtype, and plain emulations.

The definition (``local_response_norm`` in :mod:`harness.ops.registry`), for channel ``c`` of ``C``
(the case's keys ``size`` n, ``alpha``, ``beta``, ``k``):

    y[c] = x[c] / (k + alpha' * sum(x[i]**2 for i in window(c))) ** beta

with two convention parameters: ``alpha`` (``per_size``, the definition: ``alpha' = alpha / n`` as
PyTorch and ONNX compute it; ``whole``: ``alpha' = alpha``, TensorFlow's) and ``window`` (channels
``c - before .. c + after``, clipped to ``0 .. C-1``): ``onnx`` (the definition: ``before =
floor((n-1)/2)``, ``after = ceil((n-1)/2)``, as the ONNX specification writes it), ``torch``
(``before = n//2``, ``after = (n-1)//2``: PyTorch pads n//2 channels before and (n-1)//2 after),
``docs`` (``n//2`` on each side, the formula of PyTorch's docstring) and ``radius`` (``n`` on each side:
TensorFlow's ``depth_radius`` given the size). For an odd size ``onnx`` and ``torch`` agree.

:func:`reference` is exact to a few ulps for every finite input. How: each window is scaled by the power
of two that puts its largest magnitude in [1/2, 1) (exact); its squares are split error-free (Dekker)
and summed accurately (:func:`harness.numerics.reference.acc_sum`); ``t = k + alpha' * S`` is formed in
the scaled units where the scale would leave the float64 range, as ``t = r * 2**E``; ``t**beta`` is
``rm**beta * 2**(beta * (E + re))`` with ``r = rm * 2**re``, the exponent split exactly (rational
arithmetic) into an integer and a fraction below 1; the quotient is formed from x's mantissa and the
power of two applied last. Error bound (``u = 2**-53``, ``k, alpha >= 0``): ``t`` is within ``4.1 u`` of
its exact value (squares and sum 1.01 u, ``alpha / n``, the product and the sum one rounding each),
``t**beta`` within ``(4.1 beta + 2.5) u`` (pow and exp2 one ulp each, the fraction's rounding), the
quotient adds one rounding: ``|y - exact| <= (4.1 beta + 4) u |exact|``, plus one ulp of the subnormal
range where the result is subnormal. Where ``t`` is 0 (k = 0 and a window of zeros, x among them) the
definition has no value: NaN. tests/unit/numerics/test_families.py checks it against exact arithmetic.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from harness.ops.definition import Formula
from harness.ops.dtypes import np_dtype
from harness.ops.layouts import Layout

from .achievable import UNIT_ROUNDOFF, accumulation_dtype
from .l2_normalize import two_square
from .reference import acc_sum, scale2


def window(f: Formula, n: int | None = None) -> tuple[int, int]:
    """(channels before c, channels after c) of ``f``'s window convention."""
    n = int(f.arg("size")) if n is None else n
    w = f.convention("window")
    if w == "onnx":
        return (n - 1) // 2, n // 2
    if w == "torch":
        return n // 2, (n - 1) // 2
    if w == "docs":
        return n // 2, n // 2
    if w == "symmetric":
        return (n - 1) // 2, (n - 1) // 2
    if w == "radius":
        return n, n
    raise ValueError(f"unknown window convention {w!r}")


def scale_of(f: Formula) -> float:
    """alpha': alpha / size or alpha (float64)."""
    alpha = float(f.arg("alpha"))
    return alpha / int(f.arg("size")) if f.convention("alpha") == "per_size" else alpha


def _channels_last(x, f: Formula):
    lay = Layout(f.layout)
    c = lay.index(lay.channel)
    moved = np.moveaxis(np.asarray(x), c, -1)
    return moved, (lambda a: np.moveaxis(a, -1, c))


def windows(a: np.ndarray, before: int, after: int) -> np.ndarray:
    """(..., C, before + 1 + after): each channel's window along the last axis, zeros outside 0..C-1."""
    C = a.shape[-1]
    pad = np.zeros(a.shape[:-1] + (before,), a.dtype), a, np.zeros(a.shape[:-1] + (after,), a.dtype)
    p = np.concatenate(pad, axis=-1)
    return np.stack([p[..., i:i + C] for i in range(before + after + 1)], axis=-1)


def _pow2_frac(beta: float, n: int) -> tuple[int, float]:
    """``beta * n == I + f`` with ``I`` an integer and ``0 <= f < 1``, exactly; returns (I, 2**f)."""
    z = Fraction(beta) * n
    i = math.floor(z)
    return i, float(np.exp2(float(z - i)))


def reference(x, f: Formula) -> np.ndarray:
    """``f`` applied to ``x`` in float64 (module docstring: definition and error bound)."""
    x64, back = _channels_last(np.asarray(x, np.float64), f)
    before, after = window(f)
    k, beta, a = float(f.arg("k")), float(f.arg("beta")), scale_of(f)
    with np.errstate(all="ignore"):
        w = windows(x64, before, after)
        wmax = np.max(np.abs(w), axis=-1, keepdims=True)
        ok = np.isfinite(wmax) & (wmax > 0)
        _, e = np.frexp(np.where(ok, wmax, 1.0))
        ws = scale2(w, -e)
        h, lo = two_square(ws)
        s, _ = acc_sum(np.concatenate([h, lo], axis=-1))  # scaled sum of squares (x 4**-e)
        s, e = s[..., 0], e[..., 0]
        p = a * s
        # t = r * 2**E: directly where a * S stays well inside the float64 range, else in scaled units
        q = scale2(p, 2 * e)
        direct = (np.abs(e) < 200) | (p == 0)
        ks = scale2(np.full_like(p, k), -2 * e)
        r = np.where(direct, k + q, np.where(np.isinf(ks), k, ks + p))
        E = np.where(direct | np.isinf(ks), 0, 2 * e)
        rm, re = np.frexp(r)
        nexp = (E + re).astype(np.int64)
        ints = np.zeros(nexp.shape, np.int64)
        fr = np.ones(nexp.shape)
        for v in np.unique(nexp):
            i, t = _pow2_frac(beta, int(v))
            ints[nexp == v], fr[nexp == v] = i, t
        dm = np.power(rm, beta) * fr  # t**beta = dm * 2**ints
        xm, xe = np.frexp(x64)
        y = scale2(xm / dm, xe - ints)
        y = np.where(r == 0, np.where(x64 == 0, np.nan, x64 / 0.0), y)
        # non-finite inputs: the plain formula
        y = np.where(np.isfinite(wmax[..., 0]), y, x64 / (k + a * np.sum(w * w, axis=-1)) ** beta)
    return back(y)


# --- what an implementation in a dtype reaches --------------------------------------------------------

def _round(a, dt):
    return np.asarray(a, np.float64).astype(dt).astype(np.float64)


#: the forms a plain implementation takes (:func:`emulate`), with words
FORMS = {"divide": "x divided by (k + alpha' * sum)**beta"}


def emulate(x, f: Formula, dtype: str, stats: str | None = None, form: str = "divide", *,
            summation: str = "pairwise", invert: bool = False) -> np.ndarray:
    """``f`` as a plain implementation computes it in ``stats`` (default the accumulation dtype): the
    squares summed over each window (pairwise, or a running sum), ``k + alpha' * sum`` and its power in
    that dtype, x divided by it (or multiplied by its inverse), the output rounded to ``dtype``."""
    dt = np_dtype(stats or accumulation_dtype(dtype))
    with np.errstate(all="ignore"):
        xd, back = _channels_last(np.asarray(x, np.float64).astype(dt), f)
    before, after = window(f)
    with np.errstate(all="ignore"):
        w = windows(xd * xd, before, after)
        s = np.cumsum(w, axis=-1, dtype=dt)[..., -1] if summation == "sequential" else np.sum(w, -1, dt)
        t = dt.type(f.arg("k")) + dt.type(scale_of(f)) * s
        d = np.power(t, dt.type(f.arg("beta")))
        y = xd * (dt.type(1) / d) if invert else xd / d
    return _round(back(y.astype(dt)), np_dtype(dtype))


def achievable_error(x, ref, f: Formula, dtype: str) -> float:
    """The largest error of plain implementations in the accumulation dtype against ``ref`` (over the
    elements where both are finite: where the dtype's squares overflow, a careful implementation scales,
    and only the sensitivity counts), and at least the output's sensitivity to one rounding of every
    input: ``(1 + 2 beta) u max|y|``."""
    ref = np.asarray(ref, np.float64)
    fin = np.isfinite(ref)
    u = UNIT_ROUNDOFF[accumulation_dtype(dtype)]
    worst = (1 + 2 * float(f.arg("beta"))) * u * float(np.max(np.abs(ref[fin]))) if fin.any() else 0.0
    for kw in ({"summation": "pairwise"}, {"summation": "sequential", "invert": True}):
        y = emulate(x, f, dtype, **kw)
        with np.errstate(all="ignore"):
            both = fin & np.isfinite(y)
            err = np.abs(y - ref)[both]
        if err.size:
            worst = max(worst, float(np.max(err)))
    return worst
