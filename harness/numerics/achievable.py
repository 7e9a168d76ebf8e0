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

The module also emulates weak forms, for the fingerprint: a one-pass
``E[x²] − E[x]²`` variance (:func:`one_pass`), and :func:`emulate`, one
implementation described by its choices: the dtype statistics are summed in,
the variance formula, a dtype the mean and variance (or 1/sqrt(var + eps)) are
stored in, the dtypes of the normalization and of the affine transform, and
which group's statistics each channel takes.
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
           invert=False, affine_in_dtype=False, accumulate=None, mask=None) -> np.ndarray:
    """``sem`` computed the stable way in ``dtype`` (statistics in the accumulation dtype).

    ``summation``: "pairwise" (numpy's reduction) or "sequential" (a running
    sum, as a plain loop writes it); ``invert``: multiply by 1/sqrt(var+eps)
    instead of dividing; ``affine_in_dtype``: round the normalized value to
    ``dtype`` and apply gamma/beta in ``dtype``; ``accumulate``: the dtype of
    the statistics (default: :func:`accumulation_dtype`); ``mask`` (True where an element counts,
    broadcastable to x's shape): statistics over the unmasked elements of each row, applied to every
    element. Returns float64 values that are exactly representable in ``dtype``.
    """
    out_dt = np_dtype(dtype)
    dt = np_dtype(accumulate or accumulation_dtype(dtype))
    flat, back = rows(np.asarray(x).astype(dt), sem)
    m = flat.shape[-1]
    valid = None if mask is None else rows(np.broadcast_to(np.asarray(mask, bool), np.shape(x)), sem)[0]
    with np.errstate(all="ignore"):
        def total(a):
            if valid is not None:
                a = np.where(valid, a, dt.type(0))
            if summation == "sequential":
                return np.cumsum(a, axis=-1, dtype=dt)[..., -1:]
            return np.sum(a, axis=-1, keepdims=True, dtype=dt)

        n = m if valid is None else np.sum(valid, axis=-1, keepdims=True).astype(np.float64)
        if sem.center:
            mean = total(flat) / np.asarray(n, dt) if summation == "pairwise" else \
                total(flat) * np.asarray(1.0 / n, dt)
            num = flat - mean
        else:
            num = flat
        s = _pow2_scale(num if valid is None else np.where(valid, num, 0), dt)
        d = num / s
        var = total(d * d) / np.asarray(np.maximum(n - sem.ddof, 1), dt)
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


def sensitivity(x, sem: Semantics, dtype: str, gamma=None, mask=None) -> float:
    """The change of the output when every input moves by one rounding of the
    accumulation dtype: u * max |x| / sqrt(var + eps) * max |gamma|. A backward-stable
    implementation is exact for inputs perturbed that much, so it may be off by this.
    With ``mask``: the variance of the unmasked elements, rows without one left out."""
    x64 = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        flat, _ = rows(x64, sem)
        valid = None if mask is None else rows(np.broadcast_to(np.asarray(mask, bool), x64.shape), sem)[0]
        if valid is not None:
            n = np.sum(valid, axis=-1, keepdims=True)
            mean = np.sum(np.where(valid, flat, 0.0), axis=-1, keepdims=True) / n if sem.center else 0.0
            var = np.sum(np.where(valid, (flat - mean) ** 2, 0.0), axis=-1, keepdims=True) / n
            ratio = np.abs(flat) / np.sqrt(var + sem.eps)
            ratio = ratio[np.isfinite(ratio)]
            scale = np.max(ratio) if ratio.size else 0.0
        elif sem.center:
            var = flat.var(axis=-1, keepdims=True)
        else:
            var = (flat * flat).mean(axis=-1, keepdims=True)
        if valid is None:
            scale = np.max(np.abs(flat) / np.sqrt(var + sem.eps)) if flat.size else 0.0
    g = float(np.max(np.abs(np.asarray(gamma, np.float64)))) if gamma is not None and np.size(gamma) else 1.0
    u = UNIT_ROUNDOFF[accumulation_dtype(dtype)]
    out = u * float(scale) * g
    return out if np.isfinite(out) else 0.0


def achievable_error(x, ref, sem: Semantics, dtype: str, gamma=None, beta=None, mask=None) -> float:
    """The largest error stable implementations in ``dtype`` have against the
    float64 reference output ``ref`` (elements where ``ref`` is not finite are
    left out): the worst of the emulated stable implementations, and at least
    the output's sensitivity to one rounding of every input (:func:`sensitivity`).
    ``mask``: masked statistics (:mod:`harness.numerics.masked`)."""
    ref = np.asarray(ref, np.float64)
    fin = np.isfinite(ref)
    worst = sensitivity(x, sem, dtype, gamma, mask)
    for kw in stable_variants(dtype):
        y = stable(x, sem, dtype, gamma, beta, mask=mask, **kw)
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


def _pairwise_sum(a: np.ndarray, dt) -> np.ndarray:
    """Sum over the last axis (kept) by halving, every partial sum rounded to ``dt``. numpy's own
    reduction of a half-precision array adds in float32 and rounds only the result; this one rounds
    each addition, as a sum held in the half-precision type does."""
    n = a.shape[-1]
    width = 1 << max(n - 1, 0).bit_length()
    a = np.concatenate([a.astype(dt), np.zeros(a.shape[:-1] + (width - n,), dt)], axis=-1)
    while a.shape[-1] > 1:
        a = (a[..., 0::2] + a[..., 1::2]).astype(dt)
    return a


def emulate(x, sem: Semantics, dtype: str, gamma=None, beta=None, *, stats: str | None = None,
            variance: str = "two-pass", summation: str = "pairwise", store: str | None = None,
            store_invstd: bool = False, about_stored_mean: bool = False, normalize_in: str | None = None,
            affine_in: str | None = None, invert: bool = True, tiled_groups: bool = False) -> np.ndarray:
    """``sem`` computed as a plain implementation with these choices computes it (no scaling against
    overflow: a sum that overflows its dtype gives inf or NaN, as it does there).

    ``stats``: the dtype the sums and the statistics are computed in (default
    :func:`accumulation_dtype`); ``variance``: "two-pass" (the mean of the squared deviations) or
    "one-pass" (E[x²] − E[x]², clipped at 0); ``summation``: "pairwise" (numpy's reduction; halving
    for a half-precision ``stats``) or "sequential" (a running sum), every partial sum rounded to
    ``stats``.

    ``store``: a dtype the statistics are rounded to once computed, as an implementation that keeps
    them in tensors of the input's dtype does: the mean and the variance; with ``store_invstd`` the
    mean and 1/sqrt(var + eps) (an implementation that saves the inverse standard deviation); with
    ``about_stored_mean`` the second pass takes the deviations from the stored mean; with a one-pass
    variance the mean and the mean of the squares (each square rounded to ``store``), their
    difference taken in ``normalize_in``.

    ``normalize_in``: the dtype of ``(x - mean) / sqrt(var + eps)`` (default ``stats``), by a
    multiplication with the inverse (``invert``) or a division; ``affine_in``: the dtype gamma and
    beta are applied in (default ``normalize_in``); ``tiled_groups``: channel ``c`` takes the
    statistics of group ``c mod G`` (the group statistics tiled over the channels instead of each
    repeated over its own group's channels). Returns float64 values exactly representable in ``dtype``.
    """
    out_dt = np_dtype(dtype)
    sdt = np_dtype(stats or accumulation_dtype(dtype))
    ndt = np_dtype(normalize_in) if normalize_in else sdt
    adt = np_dtype(affine_in) if affine_in else ndt
    st = np_dtype(store) if store else None
    flat, back = rows(np.asarray(x).astype(sdt), sem)
    m = flat.shape[-1]
    with np.errstate(all="ignore"):
        def mean_of(a):
            if summation == "sequential":
                s = np.cumsum(a, axis=-1, dtype=sdt)[..., -1:]
            elif sdt.itemsize < 4:
                s = _pairwise_sum(a, sdt)
            else:
                s = np.sum(a, axis=-1, keepdims=True, dtype=sdt)
            return s / sdt.type(m)

        inv = None
        if not sem.center:
            mean = None
            var = mean_of(flat * flat)
        elif variance == "one-pass":
            mean = mean_of(flat)
            if st is not None:
                mean = mean.astype(st)
                msq = mean_of((flat * flat).astype(st).astype(sdt)).astype(st).astype(ndt)
                var = np.maximum(msq - mean.astype(ndt) * mean.astype(ndt), ndt.type(0))
            else:
                var = np.maximum(mean_of(flat * flat) - mean * mean, sdt.type(0))
            if sem.ddof:
                var = var * var.dtype.type(m / max(m - sem.ddof, 1))
        else:
            mean = mean_of(flat)
            if st is not None and about_stored_mean:
                mean = mean.astype(st).astype(sdt)
            dev = flat - mean
            var = mean_of(dev * dev) * sdt.type(m / max(m - sem.ddof, 1))
        if store_invstd:
            vt = var.dtype.type
            inv = vt(1) / (np.sqrt(var) + vt(sem.eps) if sem.eps_outside else np.sqrt(var + vt(sem.eps)))
        if st is not None:
            mean = None if mean is None else mean.astype(st)
            if inv is not None:
                inv = inv.astype(st)
            elif variance != "one-pass":
                var = var.astype(st)
        lay = Layout(sem.layout)

        def spread(a):  # per-row statistics back in x's shape and channel order, in ndt
            a = back(np.broadcast_to(a, flat.shape))
            if tiled_groups and sem.groups:
                ch = lay.index(lay.channel)
                size = a.shape[ch] // sem.groups
                a = np.take(a, [(c % sem.groups) * size for c in range(a.shape[ch])], axis=ch)
            return a.astype(ndt)

        xn = np.asarray(x).astype(ndt)
        num = xn if mean is None else xn - spread(mean)
        if inv is not None:
            y = num * spread(inv)
        else:
            v, e = spread(var), ndt.type(sem.eps)
            den = np.sqrt(v) + e if sem.eps_outside else np.sqrt(v + e)
            y = num * (ndt.type(1) / den) if invert else num / den
        g = None if gamma is None else np.asarray(gamma).astype(adt)
        b = None if beta is None else np.asarray(beta).astype(adt)
        y = _affine_rounded(y.astype(adt), sem, g, b, adt)
    return y.astype(out_dt).astype(np.float64)


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
