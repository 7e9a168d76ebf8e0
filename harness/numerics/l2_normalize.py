"""L2 normalization in float64: the reference, stable implementations in a dtype, and plain emulations.

The definition (``l2_normalize`` in :mod:`harness.ops.registry`), per row (the values along the case's
``axes``), with the convention parameter ``clamp``:

* ``norm`` (the definition; PyTorch ``F.normalize``, Keras 3): ``y = x / max(||x||, eps)``;
* ``squared_norm`` (TensorFlow ``tf.math.l2_normalize``, tf.keras): ``y = x / sqrt(max(sum(x**2), eps))``;
* ``none`` (ONNX ``LpNormalization``, p=2): ``y = x / ||x||``, and 0 where the norm is 0.

A row of zeros is 0 in every convention (with ``eps = 0`` too: the limit of ``0 / max(0, eps)`` as eps
goes to 0, which is what ONNX specifies).

:func:`reference` is exact to a few ulps for every finite input. How: each row is scaled by the power of
two that puts its largest magnitude in [1/2, 1) (exact, so squares neither overflow nor underflow);
each square is split error-free into two floats (Dekker's product) and the sum of all of them is
accurate to about one rounding (:func:`harness.numerics.reference.acc_sum`); the norm is its square
root; epsilon is compared with the norm (or the squared norm) in the scaled units, exactly; the quotient
is formed from each value's mantissa and the power of two applied last. Error bound (``u = 2**-53``):
the norm is within ``1.01 u`` of the exact norm, the square root of epsilon within ``0.5 u``, the
quotient adds one rounding: ``|y - exact| <= 2.1 u |exact|``, plus one ulp of the subnormal range where
the result is subnormal. tests/unit/numerics/test_families.py checks it against exact arithmetic.
"""
from __future__ import annotations

import numpy as np

from harness.ops.definition import Formula
from harness.ops.dtypes import np_dtype
from harness.ops.semantics import Semantics

from .achievable import UNIT_ROUNDOFF, accumulation_dtype
from .reference import acc_sum, rows, scale2

_SPLIT = 134217729.0  # 2**27 + 1


def _rows(x, f: Formula):
    return rows(np.asarray(x, np.float64), Semantics(f.layout, tuple(f.axes), ()))


def two_square(a):
    """``a**2 == h + l`` exactly (Dekker), for |a| < 2**995 and squares above the subnormal range."""
    h = a * a
    c = _SPLIT * a
    hi = c - (c - a)
    lo = a - hi
    return h, ((hi * hi - h) + 2 * hi * lo) + lo * lo


def reference(x, f: Formula) -> np.ndarray:
    """``f`` applied to ``x`` in float64 (module docstring: definition and error bound)."""
    flat, back = _rows(x, f)
    clamp = f.convention("clamp")
    eps = 0.0 if f.eps is None or clamp == "none" else float(f.eps)
    with np.errstate(all="ignore"):
        amax = np.max(np.abs(flat), axis=-1, keepdims=True) if flat.shape[-1] else np.zeros(flat.shape[:-1] + (1,))
        ok = np.isfinite(amax) & (amax > 0)
        _, e = np.frexp(np.where(ok, amax, 1.0))
        xs = scale2(flat, -e)
        h, lo = two_square(xs)
        s, _ = acc_sum(np.concatenate([h, lo], axis=-1))  # the scaled squared norm, in [1/4, m]
        norm = np.sqrt(s)
        # den = dm * 2**de: the norm (scaled back) or the clamp
        dm, de = norm, e
        if eps > 0:
            em, ee = np.frexp(eps)
            if clamp == "norm":
                use = scale2(np.full_like(norm, eps), -e) > norm
                dm, de = np.where(use, em, norm), np.where(use, ee, e)
            else:
                use = scale2(np.full_like(s, eps), -2 * e) > s
                rm, re = np.frexp(np.sqrt(np.ldexp(em, ee % 2)))  # sqrt(eps) = sqrt(em * 2**(ee%2)) * 2**(ee//2)
                dm, de = np.where(use, rm, norm), np.where(use, re + ee // 2, e)
        xm, xe = np.frexp(flat)
        y = scale2(xm / dm, xe - de)
        y = np.where(ok, y, np.where(amax == 0, 0.0, flat / np.sqrt(np.sum(flat * flat, axis=-1, keepdims=True))))
    return back(y)


# --- what an implementation in a dtype reaches --------------------------------------------------------

def _round(a, dt):
    return np.asarray(a, np.float64).astype(dt).astype(np.float64)


def stable(x, f: Formula, dtype: str, *, summation="pairwise", invert=False) -> np.ndarray:
    """``f`` computed the stable way in ``dtype``: each row scaled by a power of two, the squares summed in
    the accumulation dtype (float32 for half precision), epsilon compared in the scaled units, the
    output rounded to ``dtype``."""
    dt = np_dtype(accumulation_dtype(dtype))
    with np.errstate(all="ignore"):
        flat, back = _rows(np.asarray(x, np.float64).astype(dt), f)
    clamp = f.convention("clamp")
    eps = 0.0 if f.eps is None or clamp == "none" else float(f.eps)
    with np.errstate(all="ignore"):
        amax = np.max(np.abs(flat.astype(np.float64)), axis=-1, keepdims=True)
        ok = np.isfinite(amax) & (amax > 0)
        _, e = np.frexp(np.where(ok, amax, 1.0))
        sc = np.ldexp(np.ones_like(amax), e).astype(dt)
        xs = flat / sc
        sq = xs * xs
        s = np.cumsum(sq, axis=-1, dtype=dt)[..., -1:] if summation == "sequential" else np.sum(sq, -1, dt, keepdims=True)
        norm = np.sqrt(s)
        eps_s = (np.float64(eps) / sc.astype(np.float64)).astype(dt)
        if clamp == "norm":
            den = np.maximum(norm, eps_s)
        elif clamp == "squared_norm":
            den = np.sqrt(np.maximum(s, (np.float64(eps) / sc.astype(np.float64) ** 2).astype(dt)))
        else:
            den = norm
        y = xs * (dt.type(1) / den) if invert else xs / den
        y = np.where(ok, y, 0.0)
    return _round(back(y), np_dtype(dtype))


def achievable_error(x, ref, f: Formula, dtype: str) -> float:
    """The largest error of the stable implementations against ``ref`` (where it is finite), and at least
    the output's sensitivity to one rounding of every input: ``2 u max|y|``."""
    ref = np.asarray(ref, np.float64)
    fin = np.isfinite(ref)
    u = UNIT_ROUNDOFF[accumulation_dtype(dtype)]
    worst = 2 * u * float(np.max(np.abs(ref[fin]))) if fin.any() else 0.0
    for kw in ({"summation": "pairwise"}, {"summation": "sequential", "invert": True}):
        y = stable(x, f, dtype, **kw)
        with np.errstate(all="ignore"):
            err = np.abs(y - ref)[fin]
        if err.size:
            worst = max(worst, float(np.max(np.where(np.isnan(err), np.inf, err))))
    return worst


#: the forms a plain implementation takes (:func:`emulate`), with words
FORMS = {"divide": "x divided by the clamped norm",
         "inverse": "x times the clamped inverse norm (min(rsqrt(sum(x**2)), 1/eps) where eps clamps the norm)"}


def emulate(x, f: Formula, dtype: str, stats: str | None = None, form: str = "divide") -> np.ndarray:
    """``f`` as a plain implementation computes it: the squares summed in ``stats`` (default the
    accumulation dtype) without scaling, epsilon rounded to that dtype, then ``form``: ``divide``
    (``x / max(norm, eps)``, ``x / sqrt(max(sum, eps))``) or ``inverse`` (``x * min(rsqrt(sum), 1/eps)``
    as Keras 3's keras.ops.normalize, ``x * rsqrt(max(sum, eps))`` as TensorFlow), the output rounded to
    ``dtype``. A zero row gives what that arithmetic gives (0 * inf is NaN)."""
    dt = np_dtype(stats or accumulation_dtype(dtype))
    with np.errstate(all="ignore"):
        flat, back = _rows(np.asarray(x, np.float64).astype(dt), f)
    clamp = f.convention("clamp")
    with np.errstate(all="ignore"):
        s = np.sum(flat * flat, axis=-1, keepdims=True, dtype=dt).astype(dt)
        eps = dt.type(0.0 if f.eps is None else f.eps)
        if clamp == "norm" and form == "inverse":
            y = flat * np.minimum(dt.type(1) / np.sqrt(s), dt.type(1.0 / f.eps if f.eps else np.inf))
        elif clamp == "norm":
            y = flat / np.maximum(np.sqrt(s), eps)
        elif clamp == "squared_norm" and form == "inverse":
            y = flat * (dt.type(1) / np.sqrt(np.maximum(s, eps)))
        elif clamp == "squared_norm":
            y = flat / np.sqrt(np.maximum(s, eps))
        else:
            y = np.where(s == 0, dt.type(0), flat / np.sqrt(s))
    return _round(back(y.astype(dt)), np_dtype(dtype))


def emulation_words(f: Formula, stats: str, form: str) -> str:
    """What rounds in an emulation: epsilon (or 1/epsilon) leaving ``stats``'s range."""
    if not f.eps or f.convention("clamp") == "none":
        return ""
    dt = np_dtype(stats)
    with np.errstate(all="ignore"):
        if form == "inverse" and f.convention("clamp") == "norm":
            inv = float(np.float64(1.0 / f.eps).astype(dt))
            return f"1/epsilon = {1.0 / f.eps:g} overflows {stats}" if np.isinf(inv) else ""
        r = float(np.float64(f.eps).astype(dt))
    return f"epsilon {f.eps:g} rounds to 0 in {stats}" if r == 0 else ""
