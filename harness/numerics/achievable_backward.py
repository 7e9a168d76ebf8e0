"""What a numerically stable backward pass reaches in a case's own dtype.

The forward rule's reasoning (:mod:`harness.numerics`) applied to gradients:
the achievable error of each gradient (``dx``, ``dgamma``, ``dbeta``) is the
largest error that stable implementations of the analytic backward, emulated
in the case dtype (statistics and reductions in float32 for float16/bfloat16),
have against the float64 reference (:mod:`harness.numerics.backward`), and at
least the gradient's sensitivity to one rounding of every input.

The emulated implementations differ where real ones do: pairwise or
sequential sums, dividing by the standard deviation or multiplying by its
inverse, and the two ways the dx formula is written,

    dx = (g - mean(g) - xhat * sum(g * xhat) / n) / s                 ("mean")
    dx = rstd / m * (m * g - sum(g) - xhat * sum(g * xhat) * m / n)   ("sum", PyTorch's kernels)
"""
from __future__ import annotations

import numpy as np

from harness.ops.dtypes import np_dtype
from harness.ops.layouts import Layout
from harness.ops.semantics import Semantics

from .achievable import UNIT_ROUNDOFF, accumulation_dtype, raise_to_errors
from .backward import affine_broadcast, row_stats
from .reference import rows


def _total(a, dt, summation, axis=-1):
    if summation == "sequential":
        a = np.moveaxis(a, axis, -1)
        return np.cumsum(a, axis=-1, dtype=dt)[..., -1:]
    return np.sum(a, axis=axis, keepdims=True, dtype=dt)


def _to_params(a, sem: Semantics, dt, summation):
    """Sum over every axis but the affine axes in ``dt``, pairwise or as a running sum."""
    lay = Layout(sem.layout)
    keep = [i for i, ax in enumerate(lay.axes) if ax in sem.affine_axes]
    other = [i for i in range(a.ndim) if i not in keep]
    moved = np.transpose(a, keep + other)
    flat = moved.reshape(moved.shape[:len(keep)] + (-1,))
    return _total(flat, dt, summation)[..., 0]


def stable_grads(x, sem: Semantics, dtype: str, dy, gamma=None, beta=None, *, summation="pairwise",
                 invert=False, form="mean") -> dict[str, np.ndarray]:
    """The backward of ``sem`` computed the stable way in ``dtype``; float64 values
    exactly representable in ``dtype``."""
    out_dt = np_dtype(dtype)
    dt = np_dtype(accumulation_dtype(dtype))
    xs = np.asarray(x).astype(dt)
    dys = np.asarray(dy).astype(dt)
    with np.errstate(all="ignore"):
        g = (dys * affine_broadcast(gamma, sem, xs.shape).astype(dt)).astype(dt) if gamma is not None else dys
        flat, back = rows(xs, sem)
        gf, _ = rows(g, sem)
        m = flat.shape[-1]
        n = max(m - sem.ddof, 1) if sem.center else m
        if sem.center:
            d = flat - _total(flat, dt, summation) / dt.type(m)
        else:
            d = flat
        var = _total(d * d, dt, summation) / dt.type(n)
        s = np.sqrt(var) + dt.type(sem.eps) if sem.eps_outside else np.sqrt(var + dt.type(sem.eps))
        rstd = dt.type(1) / s
        xhat = d * rstd if invert else d / s
        gx = _total(gf * xhat, dt, summation)
        gsum = _total(gf, dt, summation) if sem.center else dt.type(0)
        if sem.eps_outside:  # the analytic form with ds/dv = 1 / (2 sqrt(v)): rare, one way only
            sv = np.sqrt(var)
            k = np.where(sv > 0, s / np.where(sv > 0, sv, dt.type(1)), dt.type(0))
            dx = (gf - gsum / dt.type(m) - xhat * gx * k / dt.type(n)) / s
        elif form == "sum":
            dx = rstd / dt.type(m) * (dt.type(m) * gf - gsum - xhat * gx * dt.type(m / n))
        else:
            dx = gf - gsum / dt.type(m) - xhat * (gx / dt.type(n))
            dx = dx * rstd if invert else dx / s
        out = {"dx": back(dx)}
        if gamma is not None:
            out["dgamma"] = _to_params(dys * back(xhat), sem, dt, summation)
        if beta is not None and sem.bias:
            out["dbeta"] = _to_params(dys, sem, dt, summation)
        return {k: np.asarray(v).astype(out_dt).astype(np.float64) for k, v in out.items()}


def grad_variants():
    return [dict(summation="pairwise"), dict(summation="sequential", invert=True),
            dict(summation="pairwise", form="sum")]


def grad_sensitivity(x, sem: Semantics, dtype: str, dy, gamma=None) -> dict[str, float]:
    """First-order change of each gradient when every input (x, dy, gamma) moves by
    one rounding of the accumulation dtype. Per row, with G = max |dy * gamma|,
    X = max |x|, H = max |xhat|: dx moves by u * G / s * (3 + 4 * X / s * (1 + H));
    dgamma by u * sum |dy| * (|xhat| + 2 X / s); dbeta by u * sum |dy|."""
    u = UNIT_ROUNDOFF[accumulation_dtype(dtype)]
    x64 = np.asarray(x, np.float64)
    dy64 = np.asarray(dy, np.float64)
    g = dy64 * affine_broadcast(gamma, sem, x64.shape) if gamma is not None else dy64
    d, _, s, _, back = row_stats(x64, sem)
    flat, _ = rows(x64, sem)
    gf, _ = rows(g, sem)
    with np.errstate(all="ignore"):
        xs = np.max(np.abs(flat), axis=-1, keepdims=True) / s
        h = np.max(np.abs(d / s), axis=-1, keepdims=True)
        gmax = np.max(np.abs(gf), axis=-1, keepdims=True) / s
        out = {"dx": u * float(np.max(gmax * (3 + 4 * xs * (1 + h)))) if flat.size else 0.0}
        if gamma is not None:
            per = np.abs(dy64) * back(np.abs(d / s) + 2 * xs + 0 * d)
            out["dgamma"] = u * float(np.max(_to_params(per, sem, np.float64, "pairwise")))
        out["dbeta"] = u * float(np.max(_to_params(np.abs(dy64), sem, np.float64, "pairwise")))
    return {k: (v if np.isfinite(v) else 0.0) for k, v in out.items()}


def achievable_grad_errors(x, refs: dict, sem: Semantics, dtype: str, dy, gamma=None, beta=None) -> dict:
    """Per gradient name, the largest error the stable backward implementations in
    ``dtype`` have against the float64 reference gradients ``refs`` (elements where
    the reference is not finite left out), at least its :func:`grad_sensitivity`."""
    sens = grad_sensitivity(x, sem, dtype, dy, gamma)
    worst = {k: sens.get(k, 0.0) for k in refs}
    for kw in grad_variants():
        raise_to_errors(worst, stable_grads(x, sem, dtype, dy, gamma, beta, **kw), refs)
    return worst
