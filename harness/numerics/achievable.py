"""What a numerically stable implementation reaches in a case's own dtype.

The float64 reference says what an operator means. This module says how close
a *good* implementation can get in the case's dtype on the same input: the
expected semantics computed with a two-pass (centred) variance, with float32
accumulation for float16/bfloat16 inputs (what frameworks document for half
precision), the output rounded to the case dtype. Several such stable
implementations differ in summation order, in dividing by the standard
deviation or multiplying by its inverse, and (half precision) in applying the
affine transform in the case dtype; the *achievable error* of a cell is the
largest error any of them has against the reference. Conditioning is thereby
measured, not guessed: at mean 1e4 and spread 1e-2 every float32 algorithm
loses about 0.1, at mean 0 and spread 1 about 1e-7.

Every stable member scales the deviations by a power of two before squaring
(exact), so inputs whose squares overflow the dtype still give the finite
result a careful implementation returns.

The module also emulates the two classic weak forms, for the fingerprint's
variance probe: a one-pass ``E[x²] − E[x]²`` variance.
"""
from __future__ import annotations

import numpy as np

from harness.ops.dtypes import np_dtype
from harness.ops.layouts import Layout
from harness.ops.semantics import Semantics

from .reference import apply_affine, rows

HALF = ("float16", "bfloat16")


def accumulation_dtype(dtype: str) -> str:
    """The dtype statistics are accumulated in: float32 for half precision, else the dtype itself."""
    return "float32" if dtype in HALF else dtype


def _pow2_scale(a: np.ndarray, dt) -> np.ndarray:
    """Per row (last axis) the power of two at or above max |a| (1 where the row is 0 or not finite)."""
    with np.errstate(all="ignore"):
        mx = np.max(np.abs(a.astype(np.float64)), axis=-1, keepdims=True)
        _, e = np.frexp(np.where(np.isfinite(mx) & (mx > 0), mx, 1.0))
    return np.ldexp(np.ones_like(mx), e).astype(dt)


def stable(x, sem: Semantics, dtype: str, gamma=None, beta=None, *, summation="pairwise",
           invert=False, affine_in_dtype=False, accumulate=None) -> np.ndarray:
    """``sem`` computed the stable way in ``dtype`` (statistics in the accumulation dtype).

    ``summation``: "pairwise" (numpy's reduction) or "sequential" (a running
    sum, as a plain loop writes it); ``invert``: multiply by 1/sqrt(var+eps)
    instead of dividing; ``affine_in_dtype``: round the normalized value to
    ``dtype`` and apply gamma/beta in ``dtype``; ``accumulate``: the dtype of
    the statistics (default: :func:`accumulation_dtype`). Returns float64
    values that are exactly representable in ``dtype``.
    """
    out_dt = np_dtype(dtype)
    dt = np_dtype(accumulate or accumulation_dtype(dtype))
    flat, back = rows(np.asarray(x).astype(dt), sem)
    m = flat.shape[-1]
    with np.errstate(all="ignore"):
        def total(a):
            if summation == "sequential":
                return np.cumsum(a, axis=-1, dtype=dt)[..., -1:]
            return np.sum(a, axis=-1, keepdims=True, dtype=dt)

        if sem.center:
            mean = total(flat) / dt.type(m) if summation == "pairwise" else total(flat) * dt.type(1.0 / m)
            num = flat - mean
        else:
            num = flat
        s = _pow2_scale(num, dt)
        d = num / s
        var = total(d * d) / dt.type(max(m - sem.ddof, 1))
        eps = dt.type(sem.eps) / (s * s)
        if sem.eps_outside:
            den = np.sqrt(var) + dt.type(sem.eps) / s
        else:
            den = np.sqrt(var + eps)
        y = d * (dt.type(1) / den) if invert else d / den
        y = back(y)
        if gamma is None and beta is None:
            return y.astype(out_dt).astype(np.float64)
        if affine_in_dtype:
            yd = y.astype(out_dt)
            g = None if gamma is None else np.asarray(gamma).astype(out_dt)
            b = None if beta is None else np.asarray(beta).astype(out_dt)
            return _affine_rounded(yd, sem, g, b, out_dt)
        g = None if gamma is None else np.asarray(gamma).astype(dt)
        b = None if beta is None else np.asarray(beta).astype(dt)
        return _affine_rounded(y, sem, g, b, dt).astype(out_dt).astype(np.float64)


def _affine_rounded(y, sem, gamma, beta, dt):
    """``y * gamma + beta`` with each operation rounded to ``dt``."""
    lay = Layout(sem.layout)
    bshape = tuple(y.shape[i] if a in sem.affine_axes else 1 for i, a in enumerate(lay.axes))
    with np.errstate(all="ignore"):
        if gamma is not None:
            y = (y * gamma.reshape(bshape)).astype(dt)
        if beta is not None and sem.bias:
            y = (y + beta.reshape(bshape)).astype(dt)
    return np.asarray(y).astype(np.float64)


def stable_variants(dtype: str):
    """The stable implementations whose largest error is the achievable error."""
    out = [dict(summation="pairwise"), dict(summation="sequential", invert=True)]
    if dtype in HALF:
        out.append(dict(summation="pairwise", affine_in_dtype=True))
    return out


#: dtype -> unit roundoff
UNIT_ROUNDOFF = {"float64": 2.0 ** -53, "float32": 2.0 ** -24, "float16": 2.0 ** -11, "bfloat16": 2.0 ** -8}


def sensitivity(x, sem: Semantics, dtype: str, gamma=None) -> float:
    """The change of the output when every input moves by one rounding of the
    accumulation dtype: u * max |x| / sqrt(var + eps) * max |gamma|. A backward-stable
    implementation is exact for inputs perturbed that much, so it may be off by this."""
    x64 = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        flat, _ = rows(x64, sem)
        if sem.center:
            var = flat.var(axis=-1, keepdims=True)
        else:
            var = (flat * flat).mean(axis=-1, keepdims=True)
        scale = np.max(np.abs(flat) / np.sqrt(var + sem.eps)) if flat.size else 0.0
    g = float(np.max(np.abs(np.asarray(gamma, np.float64)))) if gamma is not None and np.size(gamma) else 1.0
    u = UNIT_ROUNDOFF[accumulation_dtype(dtype)]
    out = u * float(scale) * g
    return out if np.isfinite(out) else 0.0


def achievable_error(x, ref, sem: Semantics, dtype: str, gamma=None, beta=None) -> float:
    """The largest error stable implementations in ``dtype`` have against the
    float64 reference output ``ref`` (elements where ``ref`` is not finite are
    left out): the worst of the emulated stable implementations, and at least
    the output's sensitivity to one rounding of every input (:func:`sensitivity`)."""
    ref = np.asarray(ref, np.float64)
    fin = np.isfinite(ref)
    worst = sensitivity(x, sem, dtype, gamma)
    for kw in stable_variants(dtype):
        y = stable(x, sem, dtype, gamma, beta, **kw)
        with np.errstate(all="ignore"):
            err = np.abs(y - ref)[fin]
        if err.size:
            e = float(np.max(np.where(np.isnan(err), np.inf, err)))
            worst = max(worst, e)
    return worst


def one_pass(x, sem: Semantics, dtype: str, gamma=None, beta=None, *, clip=True) -> np.ndarray:
    """``sem`` with the one-pass variance E[x²] − E[x]² in the accumulation dtype,
    clipped at 0 unless ``clip`` is False (then a negative variance gives NaN)."""
    out_dt = np_dtype(dtype)
    dt = np_dtype(accumulation_dtype(dtype))
    flat, back = rows(np.asarray(x).astype(dt), sem)
    with np.errstate(all="ignore"):
        mean = flat.mean(axis=-1, keepdims=True, dtype=dt)
        var = (flat * flat).mean(axis=-1, keepdims=True, dtype=dt) - mean * mean
        if clip:
            var = np.maximum(var, dt.type(0))
        y = back((flat - mean) / np.sqrt(var + dt.type(sem.eps)))
    return apply_affine(y.astype(out_dt).astype(np.float64), sem, gamma, beta)


def squares_overflow(x, dtype: str) -> float | None:
    """The largest |x| when x² overflows the accumulation dtype (None otherwise)."""
    acc = np_dtype(accumulation_dtype(dtype))
    mx = float(np.max(np.abs(np.asarray(x, np.float64)))) if np.size(x) else 0.0
    if np.isfinite(mx) and mx * mx > float(np.finfo(acc).max):
        return mx
    return None



def raise_to_errors(worst: dict, got: dict, refs: dict) -> None:
    """For each named output, raise ``worst[name]`` to the largest error of ``got[name]`` against
    the reference where the reference is finite (a NaN counts as infinitely far)."""
    for k, ref in refs.items():
        ref = np.asarray(ref, np.float64)
        fin = np.isfinite(ref)
        with np.errstate(all="ignore"):
            err = np.abs(got[k] - ref)[fin]
        if err.size:
            worst[k] = max(worst[k], float(np.max(np.where(np.isnan(err), np.inf, err))))
