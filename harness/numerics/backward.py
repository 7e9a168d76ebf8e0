"""Float64 reference gradients (``check: backward``).

For one member of the semantics family (:class:`harness.ops.semantics.Semantics`)
and an upstream gradient ``dy`` of the output, the gradients a correct
implementation returns, written analytically:

    g  = dy * gamma                                  (dy when there is no gamma)
    d  = x - mean(x)  (centred)     d = x  (RMS, not centred)
    v  = sum(d**2) / n              n = m - ddof (centred), m (RMS)
    s  = sqrt(v + eps)              (sqrt(v) + eps when eps sits outside)
    dx = (g - mean(g)) / s - d * sum(g * d) / (n * s**2 * ds/dv * 2)   (no mean(g) for RMS)
    dgamma = sum(dy * xhat) over every axis but the affine axes,   xhat = d / s
    dbeta  = sum(dy)        over every axis but the affine axes

Rows (the sets of values one statistic spans) are formed the way the forward
reference forms them: the channel axis split into groups, the statistics axes
of the semantics (any layout, any axes), the parameters spanning their own
axes (decoupled from the statistics axes when the semantics says so). The
mean is the float64 mean corrected by the mean of the residuals, as in the
forward reference. tests/unit/test_reference_grad.py checks every op of the
registry against central finite differences of the forward reference.
"""
from __future__ import annotations

import numpy as np

from harness.ops.layouts import Layout
from harness.ops.semantics import Semantics

from .reference import rows

#: output names of a backward cell: dx travels as the reply's ``y``
NAMES = ("dx", "dgamma", "dbeta")


def affine_broadcast(p, sem: Semantics, shape) -> np.ndarray:
    """gamma or beta (sizes of the affine axes, layout order) broadcast to ``shape``."""
    lay = Layout(sem.layout)
    bshape = tuple(shape[i] if a in sem.affine_axes else 1 for i, a in enumerate(lay.axes))
    return np.broadcast_to(np.asarray(p, np.float64).reshape(bshape), shape)


def reduce_to_params(a: np.ndarray, sem: Semantics) -> np.ndarray:
    """Sum ``a`` over every axis but the affine axes: the shape of gamma/beta."""
    lay = Layout(sem.layout)
    other = tuple(i for i, ax in enumerate(lay.axes) if ax not in sem.affine_axes)
    return a.sum(axis=other)


def row_stats(x: np.ndarray, sem: Semantics):
    """Per row: (d, n, s, dsdv) with d the centred (or raw) values, n the
    variance divisor, s the denominator and dsdv its derivative by the variance."""
    flat, back = rows(x, sem)
    m = flat.shape[-1]
    with np.errstate(all="ignore"):
        if sem.center:
            m1 = flat.mean(axis=-1, keepdims=True)
            r = flat - m1
            d = r - r.mean(axis=-1, keepdims=True)
            n = max(m - sem.ddof, 1)
        else:
            d, n = flat, m
        v = (d * d).sum(axis=-1, keepdims=True) / n
        if sem.eps_outside:
            sv = np.sqrt(v)
            s = sv + sem.eps
            dsdv = np.where(sv > 0, 0.5 / np.where(sv > 0, sv, 1.0), 0.0)
        else:
            s = np.sqrt(v + sem.eps)
            dsdv = 0.5 / s
    return d, n, s, dsdv, back


def grads(x, sem: Semantics, dy, gamma=None, beta=None) -> dict[str, np.ndarray]:
    """The float64 gradients of ``sum(y * dy)`` for ``y = normalize(x, sem, gamma, beta)``:
    ``dx`` always, ``dgamma`` when there is a gamma, ``dbeta`` when there is a beta and
    the semantics has a bias."""
    x = np.asarray(x, np.float64)
    dy = np.asarray(dy, np.float64)
    g = dy * affine_broadcast(gamma, sem, x.shape) if gamma is not None else dy
    d, n, s, dsdv, back = row_stats(x, sem)
    gf, _ = rows(g, sem)
    with np.errstate(all="ignore"):
        gd = (gf * d).sum(axis=-1, keepdims=True)
        dx = gf / s - d * gd * (2.0 * dsdv) / (n * s * s)
        if sem.center:
            dx = dx - gf.mean(axis=-1, keepdims=True) / s
        out = {"dx": back(dx)}
        if gamma is not None:
            out["dgamma"] = reduce_to_params(dy * back(d / s), sem)
    if beta is not None and sem.bias:
        out["dbeta"] = reduce_to_params(dy, sem)
    return out
