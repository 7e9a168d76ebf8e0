"""Running statistics of batch norm (``check: running_stats``): the definition,
its float64 reference, and what stable implementations reach in the case dtype.

The definition (one for every framework; adapters translate it into their
API's convention):

    running_mean = 0, running_var = 1 before the first step
    for every training batch b:   (statistics over every axis but the channel)
        running_mean = (1 - momentum) * running_mean + momentum * mean(b)
        running_var  = (1 - momentum) * running_var  + momentum * var(b)   (biased, 1/n)
    y = (x - running_mean) / sqrt(running_var + eps) * gamma + beta        (inference mode)

``momentum`` is the weight of the new batch (PyTorch's convention; Keras and
Flax write ``1 - momentum``). ``momentum: null`` is the cumulative moving
average (PyTorch's ``momentum=None``): step k (counting from 1) weighs the new
batch by 1/k, so after K steps each running statistic is the plain average of
the K batches' statistics (the start values get weight 0 at the first step).

Instance norm (statistics per instance and channel) has running statistics
per channel: each step's batch statistic of a channel is the average over the
instances of the batch of their own statistics (the mean of their means, the
mean of their biased variances), then the same momentum update. The inference
output normalizes every instance with the running statistics of its channel,
as batch norm does.

Inference with given running statistics (``check: inference``) is
:func:`inference` on the given mean and variance; :func:`inference_achievable`
says what stable implementations reach in the case dtype. :class:`Update` names the members of the family
a framework may implement instead (an unbiased running variance, momentum as
the weight of the old value), so that the fingerprint can say which one a
framework's numbers fit.

The reference is exact to a few ulps for every finite batch: the batch means
and variances come from the exact deviations of
:func:`harness.numerics.reference.deviations`; the recurrence runs in
double-double arithmetic on mantissas with the powers of two kept apart (no
overflow, no underflow, no cancellation lost between batches of opposite
means); the inference output uses the running statistics as computed, not
their float64 roundings (``x - running_mean`` keeps its digits near the mean,
and a running variance beyond the float64 range still has a square root
within it). Bounds (``u = 2**-53``): running mean within one rounding plus
2**-74 of the batches' spread and 2**-100 of their means; running variance
within 7.5 u; ``y`` within 7.5 u plus the running mean's error over
``sqrt(var + eps)``, then the affine transform as in
:func:`harness.numerics.reference.apply_affine`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from harness.ops.dtypes import np_dtype
from harness.ops.layouts import Layout
from harness.ops.semantics import Semantics

from .achievable import UNIT_ROUNDOFF, accumulation_dtype, raise_to_errors
from .backward import affine_broadcast
from .reference import acc_sum, apply_affine, deviations, scale2

#: output names of a running-statistics cell: the inference output travels as the reply's ``y``
NAMES = ("y", "running_mean", "running_var")


@dataclass(frozen=True)
class Update:
    """One running-statistics update rule: ``momentum`` as the case gives it (None: the cumulative
    moving average, step k weighing the new batch by 1/k); ``ddof`` of the batch variance the running
    variance is updated with; ``old_weight``: momentum weights the old value instead of the new batch."""

    momentum: float | None
    ddof: int = 0
    old_weight: bool = False

    @property
    def cumulative(self) -> bool:
        return self.momentum is None

    @property
    def new_weight(self) -> float | None:
        """The weight of the new batch at every step (None for the cumulative average: see :meth:`weight`)."""
        if self.momentum is None:
            return None
        return 1.0 - self.momentum if self.old_weight else self.momentum

    def weight(self, k: int) -> float:
        """The weight of the new batch at step ``k`` (0 for the first step), rounded to float64."""
        return 1.0 / (k + 1) if self.momentum is None else self.new_weight

    def weight_dd(self, k: int):
        """((w_hi, w_lo), (1 - w)_hi, (1 - w)_lo)): the weight of step ``k`` and of the old value as
        double-double numbers: 1/(k+1) and k/(k+1) within about u**2 for the cumulative average, the
        given weight exactly otherwise."""
        if self.momentum is None:
            n = float(k + 1)
            return _dd_quotient(1.0, n), _dd_quotient(float(k), n)
        w = self.new_weight
        return (w, 0.0), _two_sum(1.0, -w)


def from_case(case) -> Update:
    """The update rule a case means: its momentum as the weight of the new batch, the biased variance."""
    return Update(None if case.cumulative else float(case.momentum))


def per_instance(sem: Semantics) -> bool:
    """Whether the op's statistics are per instance (instance norm): axes beside the affine (channel)
    axes keep their own statistics, which the running statistics average."""
    lay = Layout(sem.layout)
    return any(a not in sem.stat_axes and a not in sem.affine_axes for a in lay.axes)


def channel_semantics(sem: Semantics) -> Semantics:
    """Statistics over every axis but the affine (channel) ones: the running statistics' reduction."""
    lay = Layout(sem.layout)
    return replace(sem, stat_axes=tuple(a for a in lay.axes if a not in sem.affine_axes), groups=None)


def _instance_rows(b: np.ndarray, sem: Semantics) -> np.ndarray:
    """``b`` as (channels, instances, n): the values of each instance's statistics, per channel (one
    instance per channel for batch norm)."""
    lay = Layout(sem.layout)
    b = np.asarray(b)
    ch = [lay.index(a) for a in lay.axes if a in sem.affine_axes]
    inst = [lay.index(a) for a in lay.axes if a not in sem.affine_axes and a not in sem.stat_axes]
    red = [lay.index(a) for a in lay.axes if a in sem.stat_axes]
    moved = np.transpose(b, ch + inst + red)
    c = int(np.prod([b.shape[i] for i in ch]))
    i = int(np.prod([b.shape[i] for i in inst]))
    return moved.reshape(c, i, -1)


def _channel_rows(b: np.ndarray, sem: Semantics):
    """(C, n): every value of each channel, over all its instances."""
    r = _instance_rows(b, sem)
    return r.reshape(r.shape[0], -1)


def _dd_quotient(a: float, n: float):
    """a / n as a double-double (hi, lo), within about u**2 of it (a, n integers below 2**53)."""
    q = a / n
    p, e = _two_prod(q, n)
    return q, ((a - p) - e) / n


# double-double arithmetic (Dekker, Knuth) for the running averages: an unevaluated sum hi + lo
# carries about 106 bits; every input is scaled to at most 1 in magnitude first, so that the
# splitting below cannot overflow

def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _two_prod(a, b):
    p = a * b
    ca, cb = 134217729.0 * a, 134217729.0 * b
    ah, bh = ca - (ca - a), cb - (cb - b)
    al, bl = a - ah, b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _dd_mul(ah, al, bh, bl):
    p, e = _two_prod(ah, bh)
    return _two_sum(p, e + (ah * bl + al * bh))


def _dd_add(ah, al, bh, bl):
    s, e = _two_sum(ah, bh)
    return _two_sum(s, e + (al + bl))


def _mean_dd(b, sem: Semantics, ddof=0):
    """Per channel of one batch: the mean as an unevaluated sum hi + lo (within 2**-74 of the batch's
    spread of the exact mean), and the variance with ``ddof`` (divisor at least 1; within 6.5 u) as
    ``v * 2**e``, so that a variance beyond the float64 range keeps its value."""
    flat = _channel_rows(np.asarray(b, np.float64), sem)
    n = flat.shape[-1]
    work = []  # scratch arrays: fresh large arrays cost more than the sums
    dev = deviations(flat, True, work)
    with np.errstate(all="ignore"):
        hi, lo = _two_sum(dev.mean, dev.mean_lo)
        dd = np.multiply(dev.d, dev.d, out=work.pop() if work else None)
        q, _ = acc_sum(dd, np.max(dd, axis=-1, keepdims=True), overwrite=True, work=work)
        k = dev.k[:, 0]
        return scale2(hi[:, 0], -k), scale2(lo[:, 0], -k), q[:, 0] / max(n - ddof, 1), -2 * k


def _instance_var(b, sem: Semantics, ddof=0):
    """Per channel, the average over its instances of their variances (with ``ddof``), as ``v * 2**e``:
    each within 6.5 u (:func:`_mean_dd`), their sum correctly rounded (``math.fsum``), then divided by
    the number of instances: within 8.5 u."""
    rows3 = np.asarray(_instance_rows(np.asarray(b, np.float64), sem))
    c, i, n = rows3.shape
    dev = deviations(rows3.reshape(c * i, n), True)
    with np.errstate(all="ignore"):
        q, _ = acc_sum(dev.d * dev.d, None)
        v = (q[:, 0] / max(n - ddof, 1)).reshape(c, i)
        e = (-2 * dev.k[:, 0]).reshape(c, i)
        mant, ex = np.frexp(v)
        top = np.max(np.where(v > 0, ex + e, np.iinfo(np.int32).min), axis=1)
        top = np.where(top == np.iinfo(np.int32).min, 0, top)
        parts = scale2(mant, ex + e - top[:, None])
        out = np.array([math.fsum(row) for row in parts]) / i
    return out, top


def _batch_dd(b, sem: Semantics, ddof=0):
    """:func:`_mean_dd` of the running statistics' batch statistics: for per-instance statistics the mean
    over every value of the channel (the mean of the instances' means) and the average of the
    instances' variances."""
    if not per_instance(sem):
        return _mean_dd(b, sem, ddof)
    hi, lo, _, _ = _mean_dd(b, channel_semantics(sem), 0)
    v, e = _instance_var(b, sem, ddof)
    return hi, lo, v, e


def batch_stats(b, sem: Semantics, ddof=0):
    """float64 per-channel mean and variance (with ``ddof``; divisor at least 1) of one batch:
    the mean within one rounding and 2**-74 of the batch's spread of the exact mean, the
    variance within 6.5 u of the exact one (8.5 u for the average of per-instance variances),
    for every finite batch."""
    hi, lo, v, e = _batch_dd(b, sem, ddof)
    return hi + lo, scale2(v, e)


def _normalized(hi, lo, j):
    """(hi, lo, j) with |hi| in [1/2, 1) (or 0): the same value (hi + lo) * 2**j."""
    _, e = np.frexp(hi)
    return scale2(hi, -e), scale2(lo, -e), j + e


def _average(start: float, his, los, exps, update: Update):
    """``r = start``, then for each value ``(hi + lo) * 2**exp`` in turn ``r = (1 - w) r + w value`` (w the
    update's weight of that step), per channel, in double-double arithmetic on mantissas (at most 1 in
    magnitude, so that the splitting of :func:`_two_prod` cannot overflow) with the powers of two kept
    apart: within about 4 u**2 of the larger term per step, whatever the magnitudes (plus about u**2 of
    each term for the cumulative average's weights 1/k, themselves double-double). Returns ``(hi, lo,
    j)``: r == (hi + lo) * 2**j."""
    with np.errstate(all="ignore"):
        shape = np.shape(his[0])
        r = _normalized(np.full(shape, float(start)), np.zeros(shape), np.zeros(shape, np.int64))
        for k, (hi, lo, e) in enumerate(zip(his, los, exps)):
            w, om = update.weight_dd(k)
            v = _normalized(hi, lo, np.asarray(e, np.int64))
            a = _dd_mul(om[0], om[1], r[0], r[1])  # (1 - w) r, in r's scale
            b = _dd_mul(w[0], w[1], v[0], v[1])  # w v, in v's scale
            ea = np.where(a[0] != 0, np.frexp(a[0])[1] + r[2], np.iinfo(np.int32).min)
            eb = np.where(b[0] != 0, np.frexp(b[0])[1] + v[2], np.iinfo(np.int32).min)
            top = np.maximum(ea, eb)
            top = np.where(top == np.iinfo(np.int32).min, 0, top)
            s = _dd_add(scale2(a[0], r[2] - top), scale2(a[1], r[2] - top),
                        scale2(b[0], v[2] - top), scale2(b[1], v[2] - top))
            r = _normalized(s[0], s[1], top)
        return r


def _running_dd(batches, sem: Semantics, update: Update):
    stats = [_batch_dd(b, sem, update.ddof) for b in batches]
    zero = [np.zeros_like(s[0], dtype=np.int64) for s in stats]
    rm = _average(0.0, [s[0] for s in stats], [s[1] for s in stats], zero, update)
    rv = _average(1.0, [s[2] for s in stats], [np.zeros_like(s[2]) for s in stats], [s[3] for s in stats], update)
    return rm, rv


def _value(hi, lo, j):
    return scale2(hi + lo, j)


def running_stats(batches, sem: Semantics, update: Update):
    """float64 (running_mean, running_var) after training on ``batches``: the running mean
    within one rounding of the exact recurrence, plus 2**-74 of the batches' spread and 2**-100
    of their means; the running variance within 7.5 u (a weighted mean of batch variances, each
    within 6.5 u); infinite where beyond the float64 range."""
    rm, rv = _running_dd(batches, sem, update)
    return _value(*rm), _value(*rv)


def _along_channel(p, sem: Semantics, shape):
    """Per-channel values broadcast to ``shape`` as :func:`affine_broadcast` does, keeping their dtype."""
    lay = Layout(sem.layout)
    bshape = tuple(shape[i] if a in sem.affine_axes else 1 for i, a in enumerate(lay.axes))
    return np.broadcast_to(np.asarray(p).reshape(bshape), shape)


def _inference(x, rm, rv, sem: Semantics, gamma=None, beta=None) -> np.ndarray:
    """``(x - mean) / sqrt(var + eps)`` then the affine transform, with mean and var given as
    ``(hi, lo, j)``: ``(hi + lo) * 2**j``. The difference is formed error-free where it fits and in
    halves where it does not; the denominator as a mantissa and a power of two (a running variance
    beyond the float64 range still has a square root within it)."""
    x = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        mh, ml = scale2(rm[0], rm[2]), scale2(rm[1], rm[2])
        hi, lo = affine_broadcast(mh, sem, x.shape), affine_broadcast(ml, sem, x.shape)
        s, diff = _two_sum(x, -hi)
        half = ~np.isfinite(s)
        np.subtract(diff, lo, out=diff)
        np.add(s, diff, out=diff)
        if half.any():  # x - mean beyond the float64 range: in halves
            s2, e2 = _two_sum(x * 0.5, hi * -0.5)
            diff = np.where(half, s2 + (e2 - lo * 0.5), diff)
        # sqrt(var + eps) = sqrt(r + eps * 4**-h) * 2**h, var = r * 4**h, r within [0, 2]
        vh, vl, j = rv
        h = j // 2
        r = scale2(vh + vl, j - 2 * h)
        t = scale2(sem.eps, -2 * h)
        alone = ~(t <= 2.0 ** 600) | (r == 0)  # var negligible (or 0): sqrt(eps)
        root = np.sqrt(np.where(alone, sem.eps, r + t))
        shift = np.where(alone, 0, h)
        den = scale2(root, shift)
        if not half.any() and np.all((den >= 2.0 ** -1000) & (den <= 2.0 ** 1000)):
            # the usual case: the denominator as computed, and a quotient float64 holds with all its
            # digits (none beyond the range or below 2**-1000, where gamma could scale them back)
            y = diff / affine_broadcast(den, sem, x.shape)
            if gamma is None or not (np.isinf(y).any() or np.any((y < 2.0 ** -1000) & (y > -(2.0 ** -1000))
                                                                 & (diff != 0))):
                return apply_affine(y, sem, gamma, beta)
        dmant, dexp = np.frexp(diff)
        smant, sexp = np.frexp(root)
        smant, sexp = affine_broadcast(smant, sem, x.shape), _along_channel(sexp + shift, sem, x.shape)
        # a mantissa and a power of two: gamma scales the digits of an output below the normal range
        return apply_affine(dmant / smant, sem, gamma, beta, exp=dexp + half - sexp)


def inference(x, rm, rv, sem: Semantics, gamma=None, beta=None) -> np.ndarray:
    """float64 inference-mode batch norm of ``x`` with the given running statistics: within
    5 u of ``(x - rm) / sqrt(rv + eps)`` of the given float64 values (then the affine transform),
    without overflow on the way."""
    rm = np.asarray(rm, np.float64)
    vm, ve = np.frexp(np.asarray(rv, np.float64))
    return _inference(x, (rm, np.zeros_like(rm), 0), (vm, np.zeros_like(vm), ve), sem, gamma, beta)


def reference(x, batches, sem: Semantics, update: Update, gamma=None, beta=None) -> dict[str, np.ndarray]:
    """The float64 outputs of a running-statistics cell under ``update``. The inference output uses
    the running statistics as computed (double-double, and scaled), not their float64 roundings: ``x -
    running_mean`` keeps its digits where x is close to it, and a running variance beyond the float64
    range still gives a finite output."""
    rm, rv = _running_dd(batches, sem, update)
    return {"y": _inference(x, rm, rv, sem, gamma, beta), "running_mean": _value(*rm), "running_var": _value(*rv)}


def stable(x, batches, sem: Semantics, dtype: str, update: Update, gamma=None, beta=None, *,
           form="lerp", fold=False) -> dict[str, np.ndarray]:
    """The cell computed the stable way in ``dtype``: two-pass batch statistics in the
    accumulation dtype, the update written as ``(1-w)*old + w*new`` ("lerp"), as
    ``old*mom + new*(1-mom)`` with ``mom = 1-w`` rounded first ("keras"), or as
    ``old - (old-new)*w`` ("delta"); inference as ``(x-mean)/sqrt(var+eps)*gamma+beta`` or,
    with ``fold``, as ``x*inv + (beta - mean*inv)`` with ``inv = gamma/sqrt(var+eps)``
    (the form of TensorFlow's nn.batch_normalization)."""
    out_dt = np_dtype(dtype)
    dt = np_dtype(accumulation_dtype(dtype))
    rows0 = _instance_rows(np.asarray(batches[0]).astype(dt), sem)
    rm, rv = np.zeros(rows0.shape[0], dt), np.ones(rows0.shape[0], dt)
    with np.errstate(all="ignore"):
        for k, b in enumerate(batches):
            w = dt.type(update.weight(k))
            mom = dt.type(1.0 - update.weight(k))
            rows = _instance_rows(np.asarray(b).astype(dt), sem)  # (C, instances, n)
            n, inst = rows.shape[-1], rows.shape[1]
            means = np.sum(rows, axis=-1, dtype=dt) / dt.type(n)
            d = rows - means[..., None]
            var = np.sum(np.sum(d * d, axis=-1, dtype=dt) / dt.type(max(n - update.ddof, 1)), axis=1,
                         dtype=dt) / dt.type(inst)
            mean = np.sum(means, axis=1, dtype=dt) / dt.type(inst)
            if form == "keras":
                rm, rv = rm * mom + mean * (dt.type(1) - mom), rv * mom + var * (dt.type(1) - mom)
            elif form == "delta":
                rm, rv = rm - (rm - mean) * w, rv - (rv - var) * w
            else:
                rm, rv = (dt.type(1) - w) * rm + w * mean, (dt.type(1) - w) * rv + w * var
        xs = np.asarray(x).astype(dt)
        mean = affine_broadcast(rm, sem, xs.shape).astype(dt)
        inv = dt.type(1) / np.sqrt(affine_broadcast(rv, sem, xs.shape).astype(dt) + dt.type(sem.eps))
        g = affine_broadcast(gamma, sem, xs.shape).astype(dt) if gamma is not None else dt.type(1)
        b_ = affine_broadcast(beta, sem, xs.shape).astype(dt) if beta is not None else dt.type(0)
        if fold:
            k = inv * g
            y = xs * k + (b_ - mean * k)
        else:
            y = (xs - mean) * inv * g + b_
    return {k: np.asarray(v).astype(out_dt).astype(np.float64)
            for k, v in (("y", y), ("running_mean", rm), ("running_var", rv))}


def sensitivity(x, batches, sem: Semantics, dtype: str, refs: dict, gamma=None) -> dict[str, float]:
    """First-order change of each output when every input moves by one rounding of the
    accumulation dtype: the running mean by u * max |b|, the running variance by
    u * 2 max |b| max |b - mean|, y by u * (max |x| + max |running_mean|) / sqrt(running_var + eps)
    * max |gamma|."""
    u = UNIT_ROUNDOFF[accumulation_dtype(dtype)]
    bmax = max(float(np.max(np.abs(np.asarray(b, np.float64)))) for b in batches)
    dmax = 0.0
    for b in batches:
        r = _instance_rows(np.asarray(b, np.float64), sem)
        dmax = max(dmax, float(np.max(np.abs(r - np.mean(r, axis=-1, keepdims=True)))))
    gmax = float(np.max(np.abs(np.asarray(gamma, np.float64)))) if gamma is not None else 1.0
    with np.errstate(all="ignore"):
        den = float(np.min(np.sqrt(np.asarray(refs["running_var"]) + sem.eps)))
        ysens = (float(np.max(np.abs(np.asarray(x, np.float64)))) + float(np.max(np.abs(refs["running_mean"])))) \
            / den * gmax
    out = {"running_mean": u * bmax, "running_var": u * 2 * bmax * dmax, "y": u * ysens}
    return {k: (v if np.isfinite(v) else 0.0) for k, v in out.items()}


def achievable_errors(x, batches, refs: dict, sem: Semantics, dtype: str, update: Update, gamma=None,
                      beta=None) -> dict[str, float]:
    """Per output, the largest error of the stable implementations against ``refs``,
    at least its :func:`sensitivity`."""
    worst = sensitivity(x, batches, sem, dtype, refs, gamma)
    for form in ("lerp", "keras", "delta"):
        for fold in (False, True):
            raise_to_errors(worst, stable(x, batches, sem, dtype, update, gamma, beta, form=form, fold=fold), refs)
    return worst


def values_per_channel(batches, sem: Semantics) -> int:
    """The number of values each batch statistic is taken over (per instance for instance norm)."""
    return int(_instance_rows(np.asarray(batches[0]), sem).shape[-1])


# --- inference with given running statistics (check: inference) --------------------------------------------

def inference_stable(x, mean, var, sem: Semantics, dtype: str, gamma=None, beta=None, *, form="divide",
                     acc: str | None = None):
    """``y`` computed the stable way in the accumulation dtype of ``dtype`` from the given statistics:
    ``(x - mean) / sqrt(var + eps) * gamma + beta`` ("divide"), ``(x - mean) * rsqrt(var + eps) * gamma +
    beta`` ("rsqrt", the reciprocal rounded first) or ``x * k + (beta - mean * k)`` with ``k = gamma *
    rsqrt(var + eps)`` ("fold", the form of tf.nn.batch_normalization and of folded exports). ``acc``:
    compute in that dtype instead (the fingerprint's half-precision forms)."""
    out_dt = np_dtype(dtype)
    dt = np_dtype(acc or accumulation_dtype(dtype))
    xs = np.asarray(x).astype(dt)
    with np.errstate(all="ignore"):
        m = _along_channel(np.asarray(mean).astype(dt), sem, xs.shape)
        v = _along_channel(np.asarray(var).astype(dt), sem, xs.shape)
        g = _along_channel(np.asarray(gamma).astype(dt), sem, xs.shape) if gamma is not None else dt.type(1)
        b_ = _along_channel(np.asarray(beta).astype(dt), sem, xs.shape) \
            if beta is not None and sem.bias else dt.type(0)
        den = np.sqrt(v + dt.type(sem.eps))
        if form == "divide":
            y = (xs - m) / den * g + b_
        else:
            inv = dt.type(1) / den
            if form == "rsqrt":
                y = (xs - m) * inv * g + b_
            else:
                k = inv * g
                y = xs * k + (b_ - m * k)
    return np.asarray(y).astype(out_dt).astype(np.float64)


def inference_sensitivity(x, mean, var, sem: Semantics, dtype: str, gamma=None) -> float:
    """First-order change of ``y`` when x, the mean, the variance and ``var + eps`` each move by one
    rounding of the accumulation dtype: ``u * (|x| + |mean| + |x - mean| / 2 * (1 + var / (var + eps))) /
    sqrt(var + eps) * |gamma|``, the largest over the elements."""
    u = UNIT_ROUNDOFF[accumulation_dtype(dtype)]
    x64 = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        m = _along_channel(np.asarray(mean, np.float64), sem, x64.shape)
        v = _along_channel(np.asarray(var, np.float64), sem, x64.shape)
        g = np.abs(_along_channel(np.asarray(gamma, np.float64), sem, x64.shape)) if gamma is not None else 1.0
        s = v + sem.eps
        sens = (np.abs(x64) + np.abs(m) + 0.5 * np.abs(x64 - m) * (1 + v / s)) / np.sqrt(s) * g
        worst = float(np.max(sens)) if sens.size else 0.0
    return u * worst if np.isfinite(worst) else 0.0


def inference_achievable(x, mean, var, ref, sem: Semantics, dtype: str, gamma=None, beta=None) -> float:
    """The largest error of :func:`inference_stable`'s forms against ``ref``, at least
    :func:`inference_sensitivity`."""
    worst = {"y": inference_sensitivity(x, mean, var, sem, dtype, gamma)}
    for form in ("divide", "rsqrt", "fold"):
        raise_to_errors(worst, {"y": inference_stable(x, mean, var, sem, dtype, gamma, beta, form=form)},
                        {"y": ref})
    return worst["y"]
