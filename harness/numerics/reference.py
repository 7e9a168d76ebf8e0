"""Float64 reference semantics.

One rule covers every operator: *normalize x over a set of named axes, then
apply an affine transform over another set of named axes.* The channel axis
may be split into (groups, channels-per-group); reducing over the channel axis
then means reducing over the channels of one group.

    y = (x - mean) / sqrt(var + eps) * gamma + beta        (centred)
    y = x / sqrt(mean(x**2) + eps) * gamma                 (RMS, not centred)

``var`` is the biased (1/m) variance unless ``ddof`` says otherwise, and
``eps`` sits inside the square root unless ``eps_outside`` says otherwise.

The reference is written to be more exact than any float64 implementation
can be, because float64 cells are judged against it too: the mean is the
float64 mean corrected by the mean of the residuals (so a mean of 1e4 costs
the deviations no digits), and the deviations are scaled by a power of two
before squaring (exact), so squares never overflow. A row
whose values are all equal normalizes to exactly zero (then beta). The
variants exist so that a divergence can be explained by the member of the
family that reproduces it; the operators themselves use the defaults.
"""
from __future__ import annotations

import numpy as np

from harness.ops.layouts import Layout
from harness.ops.semantics import Semantics


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


def normalize(x, sem: Semantics, gamma=None, beta=None) -> np.ndarray:
    """Apply ``sem`` to ``x`` (any float dtype; computed in float64)."""
    x = np.asarray(x, dtype=np.float64)
    lay = Layout(sem.layout)
    if x.ndim != lay.rank:
        raise ValueError(f"input rank {x.ndim} does not match layout {sem.layout}")
    xs, dims = _grouped(x, lay, sem.groups)
    red = tuple(sorted(dims[a] for a in sem.stat_axes))
    with np.errstate(all="ignore"):
        m = int(np.prod([xs.shape[d] for d in red])) if red else 1
        if sem.center:
            # corrected two-pass mean: the float64 mean plus the mean of the
            # residuals, so that large means do not cost the deviations digits
            m1 = xs.mean(axis=red, keepdims=True)
            r1 = xs - m1
            num = r1 - r1.mean(axis=red, keepdims=True)
            # a constant row has no deviation at all, whatever the rounding of its mean
            hi = xs.max(axis=red, keepdims=True)
            num = np.where((hi == xs.min(axis=red, keepdims=True)) & np.isfinite(hi), 0.0, num)
        else:
            num = xs
        # scale by a power of two (exact) so that squares never overflow
        mx = np.max(np.abs(num), axis=red, keepdims=True)
        _, e = np.frexp(np.where(np.isfinite(mx) & (mx > 0), mx, 1.0))
        s = np.ldexp(1.0, e)
        d = num / s
        var = (d * d).sum(axis=red, keepdims=True) / (m - sem.ddof if sem.center else m)
        den = np.sqrt(var) + sem.eps / s if sem.eps_outside else np.sqrt(var + sem.eps / (s * s))
        y = (d / den).reshape(x.shape)
    return apply_affine(y, sem, gamma, beta)


def apply_affine(y, sem: Semantics, gamma=None, beta=None) -> np.ndarray:
    """``y * gamma + beta`` with gamma/beta spanning ``sem.affine_axes`` (beta only when ``sem.bias``)."""
    lay = Layout(sem.layout)
    bshape = tuple(y.shape[i] if a in sem.affine_axes else 1 for i, a in enumerate(lay.axes))
    if gamma is not None:
        y = y * np.asarray(gamma, np.float64).reshape(bshape)
    if beta is not None and sem.bias:
        y = y + np.asarray(beta, np.float64).reshape(bshape)
    return y
