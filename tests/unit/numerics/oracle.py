"""Exact oracles for the float64 references: the definitions in rational arithmetic.

Means, variances, sums and products are ``fractions.Fraction`` (exact); a square root and the divisions
by it are ``decimal`` at 100 significant digits (a relative error of 1e-99, far below a float64 ulp);
a result is compared with the float64 value as an exact difference of decimals. Arrays are numpy object
arrays of Fractions, arranged into rows by the package's ``rows`` (an arrangement, pinned by the
hand-computed cases of test_reference.py).
"""
from __future__ import annotations

import math
from decimal import Context, Decimal, localcontext
from fractions import Fraction

import numpy as np

from harness.numerics.backward import affine_broadcast
from harness.numerics.reference import rows
from harness.ops.layouts import Layout

CTX = Context(prec=100, Emin=-10 ** 6, Emax=10 ** 6)
U = Fraction(1, 2 ** 53)
TINY = Fraction(1, 2 ** 1074)  # the smallest subnormal
#: values at or beyond this round to infinity
OVER = Fraction(2 ** 1024 - 2 ** 970)


def frac(a) -> np.ndarray:
    """float array -> object array of exact Fractions."""
    a = np.asarray(a, np.float64)
    out = np.empty(a.shape, object)
    for i in np.ndindex(a.shape):
        out[i] = Fraction(float(a[i]))
    return out


def dec(v) -> Decimal:
    """A Fraction (or Decimal) as a 100-digit Decimal."""
    if isinstance(v, Decimal):
        return v
    return CTX.divide(Decimal(v.numerator), Decimal(v.denominator))


def sqrt(v: Fraction) -> Decimal:
    return CTX.sqrt(dec(v))


def ulp(v) -> Fraction:
    """The spacing of float64 at |v| (2**-1074 in the subnormal range): 2**(floor(log2 |v|) - 52)."""
    v = abs(Fraction(v))
    if v < Fraction(2) ** -1022:
        return TINY
    e = v.numerator.bit_length() - v.denominator.bit_length()  # floor(log2 v) or one above
    if Fraction(2) ** e > v:
        e -= 1
    return Fraction(2) ** (e - 52)


def ulps(got: float, exact) -> float:
    """|got - exact| in ulps of the exact value (0 when both are NaN or the same infinity)."""
    if exact is None:
        return 0.0 if math.isnan(got) else math.inf
    ex = Fraction(exact) if not isinstance(exact, Fraction) else exact
    if math.isinf(got):
        return 0.0 if abs(ex) >= OVER and (got > 0) == (ex > 0) else math.inf
    if math.isnan(got):
        return math.inf
    return float(abs(Fraction(got) - ex) / ulp(ex))


def within(got: float, exact, bound) -> bool:
    """|got - exact| <= bound (Fractions or Decimals); an exact value beyond the float64 range must be
    the infinity of its sign (or within the bound of the largest float); None means NaN. A bound
    itself beyond the float64 range (a gradient whose terms overflow) allows any value."""
    if exact is None:
        return math.isnan(got)
    ex = Fraction(exact)
    b = Fraction(bound)
    if math.isnan(got):
        return False
    if b >= OVER:  # an error bound beyond the float64 range allows any value
        return True
    if math.isinf(got):
        return (got > 0) == (ex > 0) and abs(ex) + b >= OVER
    return abs(Fraction(got) - ex) <= b


# --- the definitions -----------------------------------------------------------------------------------

def row_parts(x, sem):
    """Per row of ``x`` (float array): (d, n, s, sigma) exact, d the deviations (x itself for RMS), n the
    divisor, s the denominator (Decimal), sigma = sqrt(var) (Decimal); None for s where the definition
    gives no value. Also the ``back`` arrangement."""
    fx = frac(x)
    flat, back = rows(fx, sem)
    out = []
    for idx in np.ndindex(flat.shape[:-1]):
        r = list(flat[idx])
        m = len(r)
        n = m - sem.ddof if sem.center else m
        if sem.center:
            mean = sum(r, Fraction(0)) / m
            d = [v - mean for v in r]
        else:
            d = r
        if n <= 0:
            out.append((idx, d, n, None, None))
            continue
        var = sum((v * v for v in d), Fraction(0)) / n
        eps = Fraction(sem.eps)
        with localcontext(CTX):
            sigma = sqrt(var)
            s = sigma + dec(eps) if sem.eps_outside else sqrt(var + eps)
        out.append((idx, d, n, (None if s == 0 else s), sigma))
    return out, flat.shape, back


def xhat(x, sem) -> np.ndarray:
    """The exact normalized values (object array in x's shape: Decimal, or None for NaN)."""
    parts, shape, back = row_parts(x, sem)
    y = np.empty(shape, object)
    with localcontext(CTX):
        for idx, d, _, s, _ in parts:
            for j, v in enumerate(d):
                y[idx + (j,)] = None if s is None else dec(v) / s
    return back(y)


def forward(x, sem, gamma=None, beta=None):
    """The exact output (Decimal or None), and the exact ``xhat * gamma`` (for the affine bound)."""
    return _affine(xhat(x, sem), sem, gamma, beta)


def grads(x, sem, dy, gamma=None, beta=None):
    """The exact gradients of sum(y * dy) (dict of object arrays: Decimal or None) and, for dx, the bound
    of the reference's error per element: 32 u (|g| + mean|g| + |z| mean|g xhat|) / s + m 2**-1070 max|g| / s."""
    parts, shape, back = row_parts(x, sem)
    fdy = frac(dy)
    g = fdy if gamma is None else fdy * frac(affine_broadcast(np.asarray(gamma, np.float64), sem, fdy.shape))
    gflat, _ = rows(g, sem)
    dx = np.empty(shape, object)
    scale = np.empty(shape, object)
    xh = np.empty(shape, object)
    with localcontext(CTX):
        for idx, d, n, s, sigma in parts:
            gr = list(gflat[idx])
            m = len(gr)
            if s is None:
                for j in range(m):
                    dx[idx + (j,)] = scale[idx + (j,)] = xh[idx + (j,)] = None
                continue
            gbar = sum(gr, Fraction(0)) / m if sem.center else Fraction(0)
            gabs = sum((abs(v) for v in gr), Fraction(0)) / m if sem.center else Fraction(0)
            gd = sum((a * b for a, b in zip(gr, d)), Fraction(0))  # sum(g * d) = s * sum(g * xhat)
            agd = sum((abs(a * b) for a, b in zip(gr, d)), Fraction(0))
            gmax = max(abs(v) for v in gr)
            for j in range(m):
                z = dec(d[j]) / s if not sem.eps_outside else (dec(d[j]) / sigma if sigma != 0 else Decimal(0))
                xh[idx + (j,)] = dec(d[j]) / s
                dx[idx + (j,)] = (dec(gr[j] - gbar) - z * dec(gd) / (s * n)) / s
                # the terms' scale times 32 u, and what values below the normal range in units of the
                # row's largest g may lose
                scale[idx + (j,)] = ((dec(abs(gr[j]) + gabs) + abs(z) * dec(agd) / (s * n)) * dec(32 * U)
                                     + m * dec(gmax) * Decimal(2) ** -1070) / s
    out = {"dx": back(dx)}
    xh = back(xh)
    lay = Layout(sem.layout)
    other = tuple(i for i, a in enumerate(lay.axes) if a not in sem.affine_axes)
    if gamma is not None:
        terms = np.empty(xh.shape, object)
        aterms = np.empty(xh.shape, object)
        with localcontext(CTX):
            for i in np.ndindex(xh.shape):
                terms[i] = None if xh[i] is None else dec(fdy[i]) * xh[i]
                aterms[i] = None if xh[i] is None else abs(terms[i])
            out["dgamma"] = _sum_params(terms, other)
            out["dgamma_scale"] = _sum_params(aterms, other)
    if beta is not None and sem.bias:
        out["dbeta"] = fdy.sum(axis=other) if other else fdy
        out["dbeta_max"] = np.abs(fdy).max(axis=other) if other else np.abs(fdy)
    return out, back(scale)


def _sum_params(a, other):
    """Sum an object array over ``other`` (None anywhere makes None)."""
    if not other:
        return a
    moved = np.moveaxis(a, other, tuple(range(a.ndim - len(other), a.ndim)))
    flat = moved.reshape(moved.shape[:a.ndim - len(other)] + (-1,))
    out = np.empty(flat.shape[:-1], object)
    with localcontext(CTX):
        for i in np.ndindex(out.shape):
            vals = list(flat[i])
            out[i] = None if any(v is None for v in vals) else sum(vals, Decimal(0))
    return out


def instances(a, sem) -> list:
    """Per channel (affine axis), the list of its instances' rows: the values each statistic of the op is
    taken over (one instance per channel for batch norm; one per sample and channel for instance norm)."""
    lay = Layout(sem.layout)
    ch = [lay.index(x) for x in lay.axes if x in sem.affine_axes]
    inst = [lay.index(x) for x in lay.axes if x not in sem.affine_axes and x not in sem.stat_axes]
    red = [lay.index(x) for x in lay.axes if x in sem.stat_axes]
    moved = np.transpose(a, ch + inst + red)
    c = math.prod(a.shape[i] for i in ch)
    i = math.prod(a.shape[i] for i in inst)
    m = moved.reshape(c, i, -1)
    return [[list(m[ci, ii]) for ii in range(i)] for ci in range(c)]


def running(x, batches, sem, momentum: float | None, ddof=0, gamma=None, beta=None):
    """The exact running mean and variance (Fractions) after ``batches``, the inference output (Decimal
    or None) without and with the affine transform, and per channel the sum over batches of the largest
    deviation plus 2**-26 of the mean (times 2**-74: what the running mean may be off by)."""
    rm = rv = None
    scale = None
    for k, b in enumerate(batches):
        # momentum None: the cumulative average, step k weighing the new batch by 1/(k+1)
        w = Fraction(1, k + 1) if momentum is None else Fraction(momentum)
        inst = instances(frac(b), sem)  # per channel, its instances' rows
        flat = [[v for r in rows_ for v in r] for rows_ in inst]
        means = [sum(r, Fraction(0)) / len(r) for r in flat]  # the mean of the instances' means
        var = [sum((sum(((v - sum(r, Fraction(0)) / len(r)) ** 2 for v in r), Fraction(0)) / max(len(r) - ddof, 1)
                    for r in rows_), Fraction(0)) / len(rows_) for rows_ in inst]
        # what a batch's mean may be off by (its spread, 2**-74) and a double-double step (its mean, 2**-100)
        spread = [max(abs(v - mu) for v in r) + abs(mu) / 2 ** 26 for r, mu in zip(flat, means)]
        if rm is None:
            rm, rv, scale = [Fraction(0)] * len(means), [Fraction(1)] * len(means), [Fraction(0)] * len(means)
        rm = [(1 - w) * a + w * b_ for a, b_ in zip(rm, means)]
        rv = [(1 - w) * a + w * b_ for a, b_ in zip(rv, var)]
        scale = [a + b_ for a, b_ in zip(scale, spread)]
    fx = frac(x)
    mean, var = _bcast(rm, sem, fx.shape), _bcast(rv, sem, fx.shape)
    y = np.empty(fx.shape, object)
    eps = Fraction(sem.eps)
    with localcontext(CTX):
        for i in np.ndindex(fx.shape):
            den = sqrt(var[i] + eps)
            y[i] = None if den == 0 else dec(fx[i] - mean[i]) / den
    out = y
    if gamma is not None or beta is not None:
        out, _ = _affine(y, sem, gamma, beta)
    return rm, rv, y, out, scale


def _bcast(values, sem, shape):
    """Per-channel values (a list) broadcast to ``shape`` along the affine axes, as objects."""
    lay = Layout(sem.layout)
    bshape = tuple(shape[i] if a in sem.affine_axes else 1 for i, a in enumerate(lay.axes))
    a = np.empty(len(values), object)
    a[:] = values
    return np.broadcast_to(a.reshape(bshape), shape)


def _affine(y, sem, gamma, beta):
    """``y * gamma + beta`` exactly (Decimal), and ``y * gamma``."""
    yg = y.copy()
    with localcontext(CTX):
        if gamma is not None:
            g = affine_broadcast(np.asarray(gamma, np.float64), sem, y.shape)
            for i in np.ndindex(y.shape):
                yg[i] = None if y[i] is None else y[i] * Decimal(float(g[i]))
        out = yg.copy()
        if beta is not None and sem.bias:
            b = affine_broadcast(np.asarray(beta, np.float64), sem, y.shape)
            for i in np.ndindex(y.shape):
                out[i] = None if yg[i] is None else yg[i] + Decimal(float(b[i]))
    return out, yg


def inference(x, mean, var, sem, gamma=None, beta=None):
    """The exact inference output with given per-channel statistics: ``(x - mean) / sqrt(var + eps)``
    (Decimal, or None where the denominator is 0), and with the affine transform."""
    fx = frac(x)
    m = _bcast(list(frac(mean)), sem, fx.shape)
    v = _bcast(list(frac(var)), sem, fx.shape)
    eps = Fraction(sem.eps)
    y = np.empty(fx.shape, object)
    with localcontext(CTX):
        for i in np.ndindex(fx.shape):
            den = sqrt(v[i] + eps)
            y[i] = None if den == 0 else dec(fx[i] - m[i]) / den
    out = y
    if gamma is not None or beta is not None:
        out, _ = _affine(y, sem, gamma, beta)
    return y, out
