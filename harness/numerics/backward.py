"""Float64 reference gradients (``check: backward``).

For one member of the semantics family (:class:`harness.ops.semantics.Semantics`)
and an upstream gradient ``dy`` of the output, the gradients a correct
implementation returns, written analytically:

    g  = dy * gamma                                  (dy when there is no gamma)
    d  = x - mean(x)  (centred)     d = x  (RMS, not centred)
    v  = sum(d**2) / n              n = m - ddof (centred), m (RMS)
    s  = sqrt(v + eps)              (sqrt(v) + eps when eps sits outside)
    xhat = d / s                    z = xhat   (z = d / sqrt(v) when eps sits outside)
    dx = (g - mean(g) - z * sum(g * xhat) / n) / s              (no mean(g) for RMS)
    dgamma = sum(dy * xhat) over every axis but the affine axes
    dbeta  = sum(dy)        over every axis but the affine axes

Rows (the sets of values one statistic spans) are formed the way the forward
reference forms them: the channel axis split into groups, the statistics axes
of the semantics (any layout, any axes), the parameters spanning their own
axes (decoupled from the statistics axes when the semantics says so).
``xhat``, ``z`` and ``1 / s`` come from :func:`harness.numerics.reference.standardize`
(exact deviations, scaled rows; see there), ``g`` is formed as a mantissa
and a per-row power of two (``dy * gamma`` never overflows on the way), and
every sum is :func:`harness.numerics.reference.acc_sum`, so no intermediate
overflows or underflows for any finite input; a gradient that is itself
beyond the float64 range is infinite.

Error bounds (``u = 2**-53``), for every finite input:

* ``dbeta`` is within ``1.0001 u |dbeta| + 2**-74 max|dy|`` of the exact sum;
* ``dgamma`` within ``10 u sum|dy * xhat|`` (each term carries the 7 u of
  ``xhat`` and its own rounding; the sum cancels);
* ``dx`` within ``32 u (|g| + mean|g| + |z| mean|g * xhat|) / s``, element
  by element, plus ``m 2**-1070 max|g| / s`` (what values below the normal
  range, in units of the row's largest ``g``, may lose). ``dx`` is a
  difference of these terms, and the definition itself cancels them (a row's
  ``dx`` sums to zero and is orthogonal to ``xhat``; ``mean(g)`` cancels what
  the row's ``g`` share): an element whose terms nearly cancel is small
  against them, so no evaluation that rounds ``g = dy * gamma`` or ``xhat``
  even once can promise it a few ulps of its own. The bound is that of the
  terms; where they do not cancel it is a few ulps.

With ``eps == 0`` a row whose forward output is undefined (a constant row,
an all-zero RMS row; every row when ``m - ddof <= 0``) has NaN gradients.
tests/unit/numerics/test_backward.py checks every op of the registry against
central finite differences of the forward reference, tests/unit/numerics/test_exact.py
against exact rational arithmetic.
"""
from __future__ import annotations

import numpy as np

from harness.ops.layouts import Layout
from harness.ops.semantics import Semantics

from .reference import acc_sum, rows, scale2, split_xhat, standardize, tiny

#: output names of a backward cell: dx travels as the reply's ``y``
NAMES = ("dx", "dgamma", "dbeta")


def affine_broadcast(p, sem: Semantics, shape) -> np.ndarray:
    """gamma or beta (sizes of the affine axes, layout order) broadcast to ``shape``."""
    lay = Layout(sem.layout)
    bshape = tuple(shape[i] if a in sem.affine_axes else 1 for i, a in enumerate(lay.axes))
    return np.broadcast_to(np.asarray(p, np.float64).reshape(bshape), shape)


def _param_rows(a: np.ndarray, sem: Semantics) -> np.ndarray:
    """``a`` with the affine axes first and every other axis flattened last: (params..., rest)."""
    lay = Layout(sem.layout)
    keep = [i for i, ax in enumerate(lay.axes) if ax in sem.affine_axes]
    moved = np.transpose(a, keep + [i for i in range(a.ndim) if i not in keep])
    return moved.reshape(moved.shape[:len(keep)] + (-1,))


def reduce_to_params(a: np.ndarray, sem: Semantics) -> np.ndarray:
    """Sum ``a`` over every axis but the affine axes: the shape of gamma/beta."""
    lay = Layout(sem.layout)
    other = tuple(i for i, ax in enumerate(lay.axes) if ax not in sem.affine_axes)
    return a.sum(axis=other)


def _split(a):
    """``a`` as a mantissa in [1/2, 1) (0 for 0) and an integer exponent: ``a == mant * 2**exp``."""
    mant, exp = np.frexp(a)
    return mant, exp.astype(np.int64)


def _row_exponent(mant, exp):
    """Per row (last axis, keepdims) the largest exponent of a nonzero element (0 for an all-zero row)."""
    low = np.iinfo(np.int64).min
    top = np.max(np.where(mant != 0, exp, low), axis=-1, keepdims=True)
    return np.where(top == low, 0, top)


def _scaled_rows(mant, exp):
    """Rows given as mantissas (magnitudes in [1/4, 1) or 0) and exponents, scaled per row:
    (values, E) with the row == values * 2**E, the largest magnitude in [1/4, 1); elements
    2**-1070 below it may round."""
    top = _row_exponent(mant, exp)
    return scale2(mant, exp - top), top


def _scaled(r, owned=False):
    """Rows of plain values scaled per row by a power of two: (values, E) with the row == values *
    2**E, the largest magnitude in [1/2, 1); elements 2**-1070 below it may round. ``owned``: ``r``
    may be scaled in place."""
    with np.errstate(all="ignore"):
        amax = np.maximum(np.max(r, axis=-1, keepdims=True), -np.min(r, axis=-1, keepdims=True))
        top = np.where(amax > 0, np.frexp(amax)[1], 0).astype(np.int64)
        return scale2(r, -top, out=r if owned else None), top


def _exact_product(a, b):
    """``a * b`` when float64 holds it with one rounding (no overflow, nothing below the normal range,
    where the digits would go), else None."""
    with np.errstate(all="ignore"):
        p = a * b
        if np.isinf(p).any() or np.any((p < 2.0 ** -1022) & (p > -(2.0 ** -1022))):
            return None
    return p


def _product_rows(a, b, arrange):
    """``a * b`` (b None: a itself) in the rows ``arrange`` forms, scaled per row: (values, E) with the
    rows of the product == values * 2**E, no overflow or underflow on the way: the plain product where it
    is exact to one rounding, else mantissas and exponents."""
    p = a if b is None else _exact_product(a, b)
    if p is not None:
        r = arrange(p)
        # scale in place an arrangement that is a copy, or a view of the product (never of a itself)
        return _scaled(r, owned=b is not None or not np.shares_memory(r, a))
    am, ae = _split(a)
    bm, be = _split(b)
    return _scaled_rows(arrange(am * bm), arrange(ae + be))  # the product of two mantissas: one rounding


def _sum_to_params(a, b, sem: Semantics, exp=None, work=None) -> np.ndarray:
    """Sum ``a * b * 2**exp`` (in x's shape; b None: 1, exp None: 0) over every axis but the affine
    axes, accurately and without overflow or underflow on the way (``work``: scratch arrays, as
    :func:`harness.numerics.reference.acc_sum` takes them)."""
    if exp is None:
        vals, top = _product_rows(a, b, lambda v: _param_rows(v, sem))
    else:
        am, ae = _split(a)
        bm, be = _split(b)
        vals, top = _scaled_rows(_param_rows(am * bm, sem), _param_rows(ae + be + exp, sem))
    s, _ = acc_sum(vals, overwrite=True, work=work)
    with np.errstate(all="ignore"):
        return scale2(s, top)[..., 0]


def row_stats(x: np.ndarray, sem: Semantics):
    """Per row: (d, n, s, dsdv, back) with d the centred (or raw) values, n the variance
    divisor, s the denominator and dsdv its derivative by the variance, in float64 (d may
    round to 0 and s overflow for rows far outside 1e-150 .. 1e150: for estimates only;
    :func:`grads` does not use them)."""
    flat, back = rows(np.asarray(x, np.float64), sem)
    st = standardize(flat, sem)
    with np.errstate(all="ignore"):
        d = scale2(st.dev.d, -st.dev.k)
        s = scale2(1.0 / st.inv, -st.inv_exp)
        if sem.eps_outside:
            sv = s - sem.eps
            dsdv = np.where(sv > 0, 0.5 / np.where(sv > 0, sv, 1.0), 0.0)
        else:
            dsdv = 0.5 / s
    return d, max(st.n, 1), s, dsdv, back


def grads(x, sem: Semantics, dy, gamma=None, beta=None) -> dict[str, np.ndarray]:
    """The float64 gradients of ``sum(y * dy)`` for ``y = normalize(x, sem, gamma, beta)``:
    ``dx`` always, ``dgamma`` when there is a gamma, ``dbeta`` when there is a beta and
    the semantics has a bias. See the module docstring for the error bounds."""
    x = np.asarray(x, np.float64)
    dy = np.asarray(dy, np.float64)
    flat, back = rows(x, sem)
    st = standardize(flat, sem)
    m = flat.shape[-1]
    with np.errstate(all="ignore"):
        gb = None if gamma is None else affine_broadcast(gamma, sem, x.shape)
        g, top = _product_rows(dy, gb, lambda v: rows(v, sem)[0])  # g * 2**top is dy * gamma, row by row
        work = []  # scratch arrays, reused by every sum below (fresh large arrays cost more than sums)
        gx, _ = acc_sum(np.multiply(g, st.xhat), overwrite=True, work=work)
        zterm = np.multiply(st.z, gx / max(st.n, 1), out=work.pop() if work else None)
        dx = np.subtract(g, acc_sum(g, work=work)[0] / m) if sem.center else g.copy()
        np.subtract(dx, zterm, out=dx)
        imant, iexp = _split(st.inv)  # a mantissa: the product below cannot underflow on the way
        np.multiply(dx, imant, out=dx)
        scale2(dx, top + iexp + st.inv_exp, out=dx)
        undefined = np.isnan(st.inv)
        if undefined.any():
            dx = np.where(undefined, np.nan, dx)
        work.append(zterm)
        out = {"dx": back(dx)}
        if gamma is not None:  # dy * xhat (with xhat's own exponents, where it is tiny)
            if tiny(st):
                xm, xe = split_xhat(st)
                out["dgamma"] = _sum_to_params(dy, back(xm), sem, back(xe), work)
            else:
                out["dgamma"] = _sum_to_params(dy, back(st.xhat), sem, work=work)
        if beta is not None and sem.bias:
            out["dbeta"] = _sum_to_params(dy, None, sem, work=work)
    return out
