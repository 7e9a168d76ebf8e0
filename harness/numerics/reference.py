"""Float64 reference semantics.

One rule covers every operator: *normalize x over a set of named axes, then
apply an affine transform over another set of named axes.* The channel axis
may be split into (groups, channels-per-group); reducing over the channel axis
then means reducing over the channels of one group.

    y = (x - mean) / sqrt(var + eps) * gamma + beta        (centred)
    y = x / sqrt(mean(x**2) + eps) * gamma                 (RMS, not centred)

``var`` is the biased (1/m) variance unless ``ddof`` says otherwise (divisor
``m - ddof``), and ``eps`` sits inside the square root unless ``eps_outside``
says otherwise (``(x - mean) / (sqrt(var) + eps)``).

The reference is the definition evaluated on the float64 inputs as exactly as
float64 results allow, for every finite input: values near the float64
maximum, tiny and subnormal values, rows mixing them, constant rows, rows of
one element. How:

* a row (the values one statistic spans) whose largest magnitude is outside
  [2**-400, 2**400] is scaled by a power of two (exact) to about 2**100, so
  that sums and squares neither overflow nor fall into the subnormal range;
  epsilon is scaled with it (``eps * 4**k``; where that leaves the float64
  range, the variance is negligible and the quotient is formed as
  ``d / sqrt(eps)`` and scaled back);
* the deviations from the mean are within 1.125 u of the exact ones: the mean
  is the float64 mean plus a correction summed error-free (:func:`acc_sum`);
  a row with a deviation too close to zero for that to be proven is
  recomputed in exact integer arithmetic (rare: a value within about 2**-48
  of a large mean);
* sums are accurate to one rounding (:func:`acc_sum`), whatever the
  cancellation;
* gamma multiplies the digits of a normalized value that is below the normal
  range (:func:`split_xhat`), and where ``xhat * gamma`` alone overflows, both
  terms of ``xhat * gamma + beta`` are halved first.

Error bound (``u = 2**-53``): the normalized value ``xhat`` (gamma 1, beta 0)
is within ``7 u |xhat|`` of the exact value, i.e. at most 7 ulps, plus one
ulp of the subnormal range where the result is subnormal. The deviation's
1.125 u enters twice (once through the variance); the square, the sum, the
division by ``m - ddof``, adding epsilon, the square root and the final
division add one rounding each (6.25 u; 6.75 u with epsilon outside the
square root). The affine transform adds one rounding for ``* gamma`` and one
for ``+ beta``: within ``8 u |xhat * gamma| + u |y|``; a sum ``xhat * gamma +
beta`` that cancels is therefore exact to the scale of ``xhat * gamma``, not
to its own ulps. tests/unit/numerics/test_exact.py checks these bounds against
exact rational arithmetic across the float64 range.

Cases the definition leaves without a value: with ``eps == 0`` a constant row
(centred) or an all-zero row (RMS) is ``0 / 0`` and gives NaN, as does every
row when ``m - ddof <= 0``; with ``eps > 0`` a constant row normalizes to
exactly 0 (then beta). Results beyond the float64 range (a huge gamma) are
infinite.

The variants exist so that a divergence can be explained by the member of the
family that reproduces it; the operators themselves use the defaults.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from harness.ops.layouts import Layout
from harness.ops.semantics import Semantics

#: the unit roundoff of float64
U = 2.0 ** -53
#: a row far from 1 is scaled by a power of two so that its largest magnitude is in [2**(_HEAD-1), 2**_HEAD)
_HEAD = 100
#: an epsilon term above this (in scaled units) makes the variance negligible (< 2**-370 of it)
_BIG = 2.0 ** 600
#: acc_sum stops extracting when what is left cannot move the sum by more than this (x the largest term)
_TOL = 2.0 ** -75
#: acc_sum sums at most this many values (in at most 64 rows) with math.fsum, row by row, instead of arrays
_SMALL = 4096


def _grouped(x: np.ndarray, lay: Layout, groups: int | None):
    """Split the channel axis into (groups, channels-per-group) and return the
    reshaped array plus a map from axis name to the dimension holding it (the
    channel name maps to the channels-per-group dimension)."""
    dims = {a: i for i, a in enumerate(lay.axes)}
    if groups is None:
        return x, dims
    c = lay.index(lay.channel)
    C = x.shape[c]
    if groups <= 0 or C % groups:
        raise ValueError(f"groups={groups} does not divide channels={C}")
    xs = x.reshape(x.shape[:c] + (groups, C // groups) + x.shape[c + 1:])
    dims = {a: (i if i < c else i + 1) for i, a in enumerate(lay.axes)}
    return xs, dims


def rows(x: np.ndarray, sem: Semantics):
    """``x`` with the channel split into groups and the reduced dimensions moved
    last and flattened: (kept..., m), one row per set of statistics. Returns the
    array and a function that undoes the arrangement for an array of the same
    (kept..., m) shape."""
    lay = Layout(sem.layout)
    shape = x.shape
    xs, dims = _grouped(x, lay, sem.groups or None)
    red = sorted(dims[a] for a in sem.stat_axes)
    keep = [d for d in range(xs.ndim) if d not in red]
    perm = keep + red
    moved = np.transpose(xs, perm)
    kept_shape = moved.shape[:len(keep)]
    flat = moved.reshape(kept_shape + (-1,))
    inv = np.argsort(perm)
    gshape = xs.shape

    def back(a):
        return np.transpose(a.reshape(moved.shape), inv).reshape(gshape).reshape(shape)

    return flat, back


# --- error-free building blocks -------------------------------------------------------------------------

def _gamma(n: int) -> float:
    """The classic bound n*u / (1 - n*u) on the relative error of a sum of n + 1 terms in any order."""
    return n * U / (1 - n * U)


def _two_sum_err(a, b, s):
    """The rounding error of ``s = fl(a + b)``: ``a + b == s + err`` exactly (Knuth's TwoSum)."""
    bb = s - a
    return (a - (s - bb)) + (b - bb)


def scale2(a, k, out=None):
    """``a * 2**k`` with ``k`` an integer array broadcasting against ``a`` (into ``out`` when given):
    exact unless the result is subnormal (then a value below 2**-1022 rounds, once per step of
    2**1000) or beyond the float64 range."""
    k = np.asarray(k).astype(np.int64)
    if not np.any(k):
        if out is None:
            return np.asarray(a, np.float64)
        np.copyto(out, a)
        return out
    steps = max(1, -(-int(np.max(np.abs(k))) // 1000))
    with np.errstate(all="ignore"):
        res = np.asarray(a, np.float64)
        for i in range(steps):
            part = k // (steps - i)  # the same sign as k, at most 1000 in magnitude
            res = np.multiply(res, np.ldexp(1.0, part), out=out)
            k = k - part
    return res


def row_scale(amax):
    """Per row, the exponent k that puts the row's largest magnitude ``amax`` into [2**99, 2**100)
    when it lies outside [2**-400, 2**400] (so that sums and squares stay far from overflow and
    underflow), else 0; 0 also where amax is 0 or not finite."""
    ok = np.isfinite(amax) & (amax > 0)
    _, e = np.frexp(np.where(ok, amax, 1.0))
    return np.where(ok & ((amax > 2.0 ** 400) | (amax < 2.0 ** -400)), _HEAD - e, 0)


def acc_sum(a, amax=None, *, overwrite=False, work=None):
    """The sum of ``a`` over its last axis, accurately: returns ``(s, err)`` (keepdims) with
    ``|s - sum(a)| <= err`` and ``err <= 1.0001 u |s| + 2**-74 max|a|``, whatever the order of
    magnitudes and the cancellation, without intermediate overflow (a sum beyond the float64
    range is infinite). ``amax``: max|a| per row (keepdims) when the caller has it;
    ``overwrite``: ``a`` may be used as scratch space; ``work``: a list of contiguous float64
    arrays to use as scratch space (those of ``a``'s size), which gets back every scratch
    array used (fresh large arrays cost more than the arithmetic on them).

    As in Rump, Ogita and Oishi's AccSum, the part of every value above ``2**-53 sigma``
    (``sigma`` a power of two at least ``2**ceil(log2(m+2))`` times every value left) is split
    off error-free and summed exactly, until what is left cannot move the sum by more than
    ``2**-75 max|a|``; the exact partial sums and the float sum of the rest are added with
    TwoSum (Sum2). Rows whose values exceed 2**900 are scaled down by a power of two first.
    Few values (at most 4096, in at most 64 rows) go to :func:`math.fsum` instead, row by
    row (correctly rounded), where no partial sum can overflow."""
    a = np.asarray(a, np.float64)
    m = a.shape[-1]
    with np.errstate(all="ignore"):
        if m == 0:
            z = np.zeros(a.shape[:-1] + (1,))
            return z, z
        if amax is None:
            amax = _max_abs(a)
        if a.size <= _SMALL and a.size <= 64 * m and np.all(amax * m < 2.0 ** 1020):  # and no partial sum overflows
            # few values: Python's math.fsum, correctly rounded, costs less than the arrays below
            s = np.array([math.fsum(r) for r in a.reshape(-1, m).tolist()]).reshape(amax.shape)
            return s, U * np.abs(s) + 2.0 ** -1074
        fin = np.isfinite(amax)
        e = np.where(fin & (amax > 2.0 ** 900), np.frexp(np.where(fin, amax, 1.0))[1], 0)
        work = [] if work is None else work

        def scratch():  # an array of a's shape: from work (any shape of the same size) or new
            for i, w in enumerate(work):
                if w.size == a.size:
                    return work.pop(i).reshape(a.shape)
            return np.empty_like(a)

        used = [scratch()]  # q
        if fin.all() and not e.any():
            p = a if overwrite else scratch()
            if p is not a:
                np.copyto(p, a)
                used.append(p)
        else:
            p = scale2(np.where(fin, a, 0.0), -e)
        q = used[0]
        work.extend(used)  # free for the caller once this returns
        top = np.where(fin, scale2(amax, -e), 0.0)
        big_m = 2.0 ** int(np.ceil(np.log2(m + 2)))
        gm = _gamma(m) * m
        bound = top  # an upper bound of max|p|
        taus = []
        while True:
            live = gm * bound > _TOL * top
            if not live.any():
                break
            lb = np.where(live, bound, 0.0)
            hi, lo = np.max(lb), np.min(np.where(live, bound, np.inf))
            if live.all() and hi <= lo * 2.0 ** 8:
                # rows of about one scale: one sigma for all (a scalar is cheaper to broadcast)
                sigma = np.ldexp(big_m, np.frexp(hi)[1]) if hi > 0 else big_m
            else:
                _, ep = np.frexp(np.where(bound > 0, bound, 1.0))
                # a live row splits off what is above 2**-53 sigma; the others get a sigma so large that
                # nothing is split off
                sigma = np.where(live, np.ldexp(big_m, ep), np.ldexp(1.0, ep + 60))
            q = np.add(sigma, p, out=q)
            np.subtract(q, sigma, out=q)
            np.subtract(p, q, out=p)
            taus.append(np.sum(q, axis=-1, keepdims=True))  # exact: every q is on the grid of 2**-53 sigma
            bound = np.where(live, sigma * 2.0 ** -53, bound)
        rest = np.sum(p, axis=-1, keepdims=True)
        # what is left: its float sum errs by at most gm * max|p|, 0 where the extraction was exact
        err = gm * _max_abs(p)
        terms = taus + [rest]
        s, c, mag = terms[0], 0.0, np.abs(terms[0])
        for t in terms[1:]:
            s2 = s + t
            c = c + _two_sum_err(s, t, s2)
            s = s2
            mag = mag + np.abs(t)
        s = s + c
        lost = np.where(e > 0, 2.0 ** -1070 * m, 0.0)  # what scaling down may lose of values below 2**-1022
        err = (err + U * np.abs(s) + _gamma(len(terms)) ** 2 * mag + lost) * (1 + 4 * U)
        if e.any() or not fin.all():
            s = np.where(fin, scale2(s, e), np.sum(a, axis=-1, keepdims=True))
            err = np.where(fin, scale2(err, e), np.inf)
    return s, err


# --- deviations and standardized values ----------------------------------------------------------------

class Deviations(NamedTuple):
    """Per row (last axis) of ``x``: ``d``, the deviations of ``x * 2**k`` from their mean
    (``x * 2**k`` itself when not centred), each within 1.125 u of its exact value;
    ``k`` (keepdims, int; see :func:`row_scale`); ``mean`` and ``mean_lo``, the scaled mean
    as an unevaluated sum (centred rows; within 2**-74 of the row's largest deviation of
    the exact mean); ``const``, the rows whose deviations are all exactly 0; ``lossy``, the rows
    spanning about the float64 range, whose smallest values the scaling rounded or with a
    deviation below 2**-960 (there ``d`` is exact to the row's scale only, and
    :func:`split_xhat` recomputes each deviation with its own exponent); ``flat``, the rows
    themselves; ``center``, whether ``d`` are deviations from the mean."""

    d: np.ndarray
    k: np.ndarray
    mean: np.ndarray
    mean_lo: np.ndarray
    const: np.ndarray
    lossy: np.ndarray
    flat: np.ndarray
    center: bool


def _row_ints(row):
    """The values of a row as integers, multiples of 2**-1074."""
    out = []
    for v in row.tolist():
        num, den = v.as_integer_ratio()
        out.append(num << (1075 - den.bit_length()))
    return out


def _exact_split(row, k: int, center: bool):
    """The deviations of one row (times 2**k) from its mean (the row itself when not centred), each as
    ``(mant, exp)`` with ``mant`` a correctly rounded float of 53 bits and no limit on ``exp``:
    exact integer arithmetic."""
    ints = _row_ints(row)
    m = len(ints) if center else 1
    total = sum(ints) if center else 0
    mants, exps = [], []
    for v in ints:
        dev = m * v - total  # the deviation times m, in units of 2**-1074
        shift = 60 - (dev.bit_length() - m.bit_length())
        mants.append(((dev << shift) if shift >= 0 else dev) / (m if shift >= 0 else m << -shift))
        exps.append(k - 1074 - shift)
    return mants, exps


def _exact_row(row, k: int):
    """Deviations of one row (scaled by 2**k) from its mean, each correctly rounded, the scaled mean
    as hi + lo, and whether a deviation is below 2**-960 but not 0: exact integer arithmetic on the
    values as multiples of 2**-1074."""
    m = len(row)
    ints = _row_ints(row)
    total = sum(ints)
    up, down = max(k - 1074, 0), max(1074 - k, 0)
    devs = [m * v - total for v in ints]  # the deviations times m, in units of 2**-1074
    d = [(v << up) / (m << down) for v in devs]
    hi = (total << up) / (m << down)
    hnum, hden = hi.as_integer_ratio()
    lo = ((total * hden) << up) - ((hnum * m) << down)
    # a deviation (times 2**k) below 2**-960 but not 0: float64 cannot hold all its digits
    below = any(v and (abs(v) << max(k - 114, 0)) < (m << max(114 - k, 0)) for v in devs)
    return d, hi, lo / ((m * hden) << down), below


def _max_abs(a):
    """max|a| over the last axis (keepdims), without a temporary array."""
    return np.maximum(np.max(a, axis=-1, keepdims=True), -np.min(a, axis=-1, keepdims=True))


_LAST: list = []  # the last small deviations() call: (key, result), its arrays read-only


def deviations(flat, center: bool, work=None) -> Deviations:
    """The deviations of each row of ``flat`` (kept..., m) from its mean, scaled; see :class:`Deviations`.

    The mean is the float64 mean ``mu`` plus a correction ``c``: ``x - mu`` is split
    error-free into ``t + e`` (TwoSum), ``c = (sum(t) + sum(e)) / m`` with ``sum(t)``
    from :func:`acc_sum`, and ``d = t + (e - c)``. Its error is at most one rounding of
    ``d`` plus ``u |e - c|`` plus the error bound of ``c``; where that is not below
    ``u |d| / 8`` for every element of a row (a deviation very close to zero), the row
    is recomputed exactly (:func:`_exact_row`). ``work``: a list that gets the scratch
    arrays of ``flat``'s shape left free, for the caller to reuse.

    The result for the last input of at most 16384 values is remembered (its arrays
    read-only): the fingerprint asks for the same rows under many members of the family
    (epsilons, ddof, where epsilon sits)."""
    flat = np.asarray(flat, np.float64)
    if flat.size > 16384:
        return _deviations(flat, center, work)
    key = (flat.shape, bool(center), flat.tobytes())
    if _LAST and _LAST[0][0] == key:
        return _LAST[0][1]
    dev = _deviations(flat, center, work)
    dev = dev._replace(flat=flat.copy())
    for a in dev:
        if isinstance(a, np.ndarray):
            a.flags.writeable = False
    _LAST[:] = [(key, dev)]
    return dev


def _deviations(flat, center: bool, work=None) -> Deviations:
    """:func:`deviations`, computed."""
    flat = np.asarray(flat, np.float64)
    if flat.ndim == 1:  # one row (every axis reduced); its scratch arrays have another shape
        dev = _deviations(flat[None], center)
        return dev._replace(**{f: getattr(dev, f)[0] for f in dev._fields if f != "center"})
    m = flat.shape[-1]
    with np.errstate(all="ignore"):
        lo, hi = np.min(flat, axis=-1, keepdims=True), np.max(flat, axis=-1, keepdims=True)
        amax = np.maximum(hi, -lo)
        k = row_scale(amax)
        xs = scale2(flat, k)
        zero = np.zeros_like(amax)
        lossy = np.zeros(amax.shape, bool)
        if np.any(k < 0):  # scaled down: did the smallest values round?
            lossy = (k < 0) & np.any(scale2(xs, -k) != flat, axis=-1, keepdims=True)
        if not center:
            return Deviations(xs, k, zero, zero, amax == 0, lossy, flat, False)
        const = lo == hi
        mu = np.sum(xs, axis=-1, keepdims=True) / m
        t = np.subtract(xs, mu)
        work = [] if work is None else work
        st, st_err = acc_sum(t, _max_abs(t), work=work)  # may leave scratch arrays in work
        # e: the error of t = fl(xs - mu) (TwoSum), computed in two scratch arrays
        e, buf = [work.pop() if work else np.empty_like(t) for _ in range(2)]
        np.subtract(t, xs, out=e)
        np.subtract(t, e, out=buf)
        np.subtract(xs, buf, out=buf)
        np.add(mu, e, out=e)
        np.subtract(buf, e, out=e)
        num = st + np.sum(e, axis=-1, keepdims=True)
        c = num / m
        # |c - exact correction|: the bound of sum(t), of the plain sum(e), the rounding of the
        # addition and of the division (0 where all of it is exact)
        bound_c = ((st_err + _gamma(m) * m * _max_abs(e) + U * np.abs(num)) / m + U * np.abs(c)) * (1 + 8 * U)
        small = np.subtract(e, c, out=e)
        d = np.add(t, small, out=t)
        # what d may be off beyond its own rounding: u |small| + bound_c, |small| <= |e| + |c|
        off = (U * (_max_abs(e) + np.abs(c)) + bound_c) * (1 + 4 * U)
        dmin = np.min(np.abs(d, out=buf), axis=-1, keepdims=True)
        check = ~(off <= dmin * (U / 8)) & ~const & np.isfinite(amax)
        if check.any():  # the rows the cheap test does not clear: element by element
            idx = np.nonzero(check[..., 0])
            fine = np.all(U * np.abs(small[idx]) + bound_c[idx] <= np.abs(d[idx]) * (U / 8), axis=-1)
            check[idx] = ~fine[:, None]
        mean, mean_lo = mu, c
        if const.any():
            d[const[..., 0]] = 0.0
            mean = np.where(const, xs[..., :1], mu)
            mean_lo = np.where(const, 0.0, c)
        # a deviation below 2**-960 (of a row spanning about the float64 range) rounds to the subnormal
        # grid: split_xhat recomputes such rows' deviations with their own exponents
        low = dmin < 2.0 ** -960
        if low.any():
            idx = np.nonzero(low[..., 0])
            sub = d[idx]
            lossy[idx] |= np.any((sub != 0) & (np.abs(sub) < 2.0 ** -960), axis=-1)[:, None]
        for idx in zip(*np.nonzero(check[..., 0])):
            d[idx], mean[idx], mean_lo[idx], below = _exact_row(flat[idx], int(k[idx][0]))
            lossy[idx] |= below
        work.extend([e, buf])
    return Deviations(d, k, mean, mean_lo, const, lossy, flat, True)


class Standardized(NamedTuple):
    """Per row: ``xhat = d / s`` (the normalized values), ``z = d / sqrt(var)`` (equal to
    ``xhat`` when epsilon is inside the square root; 0 for a constant row), ``inv`` and
    ``inv_exp`` with ``1 / s == inv * 2**inv_exp`` (``inv`` a normal number), ``n`` the
    variance divisor, the :class:`Deviations` they come from, and ``den``, ``den_exp`` with
    ``xhat == d / den * 2**den_exp`` (see :func:`split_xhat`). NaN where the definition
    gives no value (module docstring)."""

    xhat: np.ndarray
    z: np.ndarray
    inv: np.ndarray
    inv_exp: np.ndarray
    n: int
    dev: Deviations
    den: np.ndarray
    den_exp: np.ndarray


def standardize(flat, sem: Semantics) -> Standardized:
    """``sem`` without its affine transform, on rows (kept..., m); see :class:`Standardized`.

    In scaled units (``d`` of :func:`deviations`, ``v = sum(d**2) / n``), epsilon inside
    the square root: ``xhat = d / sqrt(v + eps * 4**k)``; outside: ``d / (sqrt(v) + eps * 2**k)``.
    Where the epsilon term leaves the float64 range (or dwarfs ``v``), ``v`` is negligible
    and ``xhat = d / sqrt(eps) * 2**-k`` (``d / eps * 2**-k``)."""
    flat = np.asarray(flat, np.float64)
    m = flat.shape[-1]
    work = []
    dev = deviations(flat, sem.center, work)
    d, k, const = dev.d, dev.k, dev.const
    n = m - sem.ddof if sem.center else m
    eps = float(sem.eps)
    with np.errstate(all="ignore"):
        dd = np.multiply(d, d, out=work.pop() if work else None)
        q, _ = acc_sum(dd, np.max(dd, axis=-1, keepdims=True), overwrite=True, work=work)
        v = q / max(n, 1)
        emant, eexp = np.frexp(eps)
        if sem.eps_outside:
            sv = np.sqrt(v)
            w = np.ldexp(eps, k)
            den = sv + w
            z = d / sv
            alone_inv, alone_exp, root = 1.0 / emant, -eexp, eps  # 1/s = 1/eps
            shift = k
        else:
            w = np.ldexp(eps, 2 * k)
            den = np.sqrt(v + w)
            root = np.sqrt(eps)
            alone_inv, alone_exp = 1.0 / root, 0  # 1/s = 1/sqrt(eps)
            shift = k
        big = ~(w <= _BIG)
        xhat = np.divide(d, den, out=dd)
        if big.any():
            xhat = np.where(big, scale2(d / root, -shift), xhat)
        alone = big | const
        inv = np.where(alone, alone_inv, 1.0 / den)
        inv_exp = np.where(alone, alone_exp, k)
        undefined = const & (eps == 0) if n > 0 else np.ones_like(const)
        if const.any() or undefined.any():
            xhat = np.where(undefined, np.nan, np.where(const, 0.0, xhat))
            inv = np.where(undefined, np.nan, inv)
        if sem.eps_outside:
            if const.any() or undefined.any():
                z = np.where(undefined, np.nan, np.where(const, 0.0, z))
        else:
            z = xhat
        den = np.where(big, root, den)
        den_exp = np.where(big, -shift, 0)
        st = Standardized(xhat, z, inv, inv_exp, n, dev, den, den_exp)
        if dev.center and dev.lossy.any():  # deviations below the normal range: their own digits
            exact = scale2(*split_xhat(st))
            xhat = np.where(dev.lossy & ~np.isnan(xhat), exact, xhat)
            st = st._replace(xhat=xhat, z=xhat if not sem.eps_outside else z)
    return st


def split_xhat(st: Standardized):
    """``xhat`` as ``(mant, exp)``, ``xhat == mant * 2**exp`` with ``|mant|`` in [1/2, 1) (0 where the
    deviation is 0, NaN where xhat is NaN), formed without passing through the subnormal range: for an
    affine transform or a gradient of a value too small for float64 to hold with all its digits."""
    with np.errstate(all="ignore"):
        dev = st.dev
        dm, de = np.frexp(dev.d)
        de = de.astype(np.int64)
        zero = dev.d == 0
        if dev.lossy.any():  # rows spanning more than the float64 range: every deviation's own digits
            zero = zero.copy()
            for idx in map(tuple, np.argwhere(dev.lossy[..., 0])):
                mants, exps = _exact_split(dev.flat[idx], int(dev.k[idx][0]), dev.center)
                m2, e2 = np.frexp(np.array(mants))
                dm[idx], de[idx], zero[idx] = m2, np.array(exps) + e2, m2 == 0
        mant, e2 = np.frexp(dm / st.den)
        mant = np.where(np.isnan(st.xhat), np.nan, np.where(zero, 0.0, mant))
        return mant, de + e2 + st.den_exp


def tiny(st: Standardized) -> bool:
    """Whether a normalized value of ``st`` may have lost digits: below 2**-1000 (where float64 starts
    losing them, down to 0) while its deviation is not 0, or in a row spanning more than the float64
    range. Then :func:`split_xhat` keeps them, for a gamma or a dy that scales them back up."""
    if st.dev.lossy.any():
        return True
    x = st.xhat
    with np.errstate(all="ignore"):  # boolean temporaries only: cheap on large arrays
        return bool(np.any((x < 2.0 ** -1000) & (x > -(2.0 ** -1000)) & (st.dev.d != 0)))


def normalize(x, sem: Semantics, gamma=None, beta=None) -> np.ndarray:
    """Apply ``sem`` to ``x`` (any float dtype; computed in float64; see the module's error bound)."""
    x = np.asarray(x, dtype=np.float64)
    lay = Layout(sem.layout)
    if x.ndim != lay.rank:
        raise ValueError(f"input rank {x.ndim} does not match layout {sem.layout}")
    flat, back = rows(x, sem)
    st = standardize(flat, sem)
    if gamma is not None and tiny(st):  # keep the digits of subnormal normalized values for gamma
        mant, exp = split_xhat(st)
        return apply_affine(back(mant), sem, gamma, beta, exp=back(exp))
    return apply_affine(back(st.xhat), sem, gamma, beta)


def apply_affine(y, sem: Semantics, gamma=None, beta=None, *, exp=None) -> np.ndarray:
    """``y * gamma + beta`` with gamma/beta spanning ``sem.affine_axes`` (beta only when ``sem.bias``);
    with ``exp`` (integers), of ``y * 2**exp``, the powers of two applied after multiplying the
    mantissas of y and gamma (so that a normalized value below the normal range, or a gamma there,
    keeps its digits). Where ``y * gamma`` alone overflows, both terms are halved first, so that a
    finite result stays finite."""
    lay = Layout(sem.layout)
    y = np.asarray(y, np.float64)
    bshape = tuple(y.shape[i] if a in sem.affine_axes else 1 for i, a in enumerate(lay.axes))
    with np.errstate(all="ignore"):
        g = None if gamma is None else np.asarray(gamma, np.float64).reshape(bshape)
        if exp is None:
            def times(half=0):
                return y if g is None else y * (g * 2.0 ** -half)
        else:
            gm, ge = (1.0, 0) if g is None else np.frexp(g)

            def times(half=0):
                return scale2(y * gm, exp + ge - half)
        out = times()
        if beta is not None and sem.bias:
            b = np.asarray(beta, np.float64).reshape(bshape)
            p = out
            out = p + b
            if g is not None:
                over = np.isinf(p) & np.isfinite(y) & np.isfinite(g)
                if over.any():
                    out = np.where(over, (times(1) + b * 0.5) * 2.0, out)
    return out
