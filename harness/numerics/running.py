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
Flax write ``1 - momentum``). :class:`Update` names the members of the family
a framework may implement instead (an unbiased running variance, momentum as
the weight of the old value), so that the fingerprint can say which one a
framework's numbers fit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.ops.dtypes import np_dtype
from harness.ops.semantics import Semantics

from .achievable import UNIT_ROUNDOFF, accumulation_dtype, raise_to_errors
from .backward import affine_broadcast
from .reference import rows

#: output names of a running-statistics cell: the inference output travels as the reply's ``y``
NAMES = ("y", "running_mean", "running_var")


@dataclass(frozen=True)
class Update:
    """One running-statistics update rule: ``momentum`` as the case gives it;
    ``ddof`` of the batch variance the running variance is updated with;
    ``old_weight``: momentum weights the old value instead of the new batch."""

    momentum: float
    ddof: int = 0
    old_weight: bool = False

    @property
    def new_weight(self) -> float:
        return 1.0 - self.momentum if self.old_weight else self.momentum


def _channel_rows(b: np.ndarray, sem: Semantics):
    flat, _ = rows(np.asarray(b), sem)
    return flat.reshape(flat.shape[0], -1)  # (C, n)


def batch_stats(b, sem: Semantics, ddof=0):
    """float64 per-channel mean and variance (with ``ddof``) of one batch, the mean corrected
    by the mean of its residuals."""
    rows = _channel_rows(np.asarray(b, np.float64), sem)
    n = rows.shape[-1]
    m1 = rows.mean(axis=-1)
    r = rows - m1[:, None]
    mean = m1 + r.mean(axis=-1)
    d = rows - mean[:, None]
    return mean, (d * d).sum(axis=-1) / max(n - ddof, 1)


def running_stats(batches, sem: Semantics, update: Update):
    """float64 (running_mean, running_var) after training on ``batches``."""
    C = _channel_rows(np.asarray(batches[0]), sem).shape[0]
    rm, rv = np.zeros(C), np.ones(C)
    w = update.new_weight
    for b in batches:
        mean, var = batch_stats(b, sem, update.ddof)
        rm = (1 - w) * rm + w * mean
        rv = (1 - w) * rv + w * var
    return rm, rv


def inference(x, rm, rv, sem: Semantics, gamma=None, beta=None) -> np.ndarray:
    """float64 inference-mode batch norm of ``x`` with the given running statistics."""
    x = np.asarray(x, np.float64)
    mean = affine_broadcast(rm, sem, x.shape)
    var = affine_broadcast(rv, sem, x.shape)
    y = (x - mean) / np.sqrt(var + sem.eps)
    if gamma is not None:
        y = y * affine_broadcast(gamma, sem, x.shape)
    if beta is not None:
        y = y + affine_broadcast(beta, sem, x.shape)
    return y


def reference(x, batches, sem: Semantics, update: Update, gamma=None, beta=None) -> dict[str, np.ndarray]:
    """The float64 outputs of a running-statistics cell under ``update``."""
    rm, rv = running_stats(batches, sem, update)
    return {"y": inference(x, rm, rv, sem, gamma, beta), "running_mean": rm, "running_var": rv}


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
    w = dt.type(update.new_weight)
    mom = dt.type(1.0 - update.new_weight)
    rows0 = _channel_rows(np.asarray(batches[0]).astype(dt), sem)
    rm, rv = np.zeros(rows0.shape[0], dt), np.ones(rows0.shape[0], dt)
    with np.errstate(all="ignore"):
        for b in batches:
            rows = _channel_rows(np.asarray(b).astype(dt), sem)
            n = rows.shape[-1]
            mean = np.sum(rows, axis=-1, dtype=dt) / dt.type(n)
            d = rows - mean[:, None]
            var = np.sum(d * d, axis=-1, dtype=dt) / dt.type(max(n - update.ddof, 1))
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
    dmax = max(float(np.max(np.abs(_channel_rows(np.asarray(b, np.float64), sem)
                                   - batch_stats(b, sem)[0][:, None]))) for b in batches)
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
    return int(_channel_rows(np.asarray(batches[0]), sem).shape[-1])
