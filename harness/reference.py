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
before squaring (exact), so squares never overflow. The
variants exist so that a divergence can be explained by the member of the
family that reproduces it; the operators themselves use the defaults.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .layouts import Layout

OPS = ("batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm")


@dataclass(frozen=True)
class Semantics:
    """One member of the family of normalization semantics."""

    layout: str
    stat_axes: tuple[str, ...]
    affine_axes: tuple[str, ...]
    groups: int | None = None
    center: bool = True
    eps: float = 1e-5
    eps_outside: bool = False
    ddof: int = 0
    bias: bool = True

    def with_(self, **kw) -> "Semantics":
        return replace(self, **kw)

    def describe(self) -> str:
        lay = Layout(self.layout)
        stat = ",".join(lay.ordered(self.stat_axes))
        parts = [
            ("centred" if self.center else "RMS (not centred)"),
            f"statistics over {{{stat}}}",
        ]
        if self.groups is not None:
            parts.append(f"channel {lay.channel} split into {self.groups} groups")
        parts.append(f"eps={self.eps:g} {'outside' if self.eps_outside else 'inside'} the sqrt")
        if self.center:
            parts.append("biased variance" if self.ddof == 0 else f"variance with ddof={self.ddof}")
        aff = ",".join(lay.ordered(self.affine_axes))
        parts.append(f"affine over {{{aff}}}" if aff else "no affine")
        return ", ".join(parts)


def op_semantics(op: str, layout: str, *, axes=None, groups=None, eps=1e-5, affine_axes=None) -> Semantics:
    """The semantics an operator is defined to have (DESIGN.md table). For
    layer_norm and rms_norm the affine transform spans the reduced axes unless
    ``affine_axes`` names others (Flax's ``feature_axes``). For group_norm,
    ``axes`` names the axes the statistics span (the group's channels always)."""
    lay = Layout(layout)
    if op == "batch_norm":
        stat = tuple(a for a in lay.axes if a != lay.channel)
        return Semantics(layout, stat, (lay.channel,), eps=eps)
    if op == "layer_norm":
        ax = lay.ordered(axes or lay.axes[-1:])
        return Semantics(layout, ax, lay.ordered(affine_axes) if affine_axes else ax, eps=eps)
    if op == "group_norm":
        if groups is None:
            raise ValueError("group_norm needs groups")
        # statistics over the channels of a group and, by default, every spatial axis;
        # ``axes`` names them explicitly (Flax's reduction_axes), the channel always among them
        stat = lay.ordered(set(axes) | {lay.channel}) if axes else (lay.channel,) + lay.spatial
        return Semantics(layout, stat, (lay.channel,), groups=groups, eps=eps)
    if op == "instance_norm":
        if not lay.spatial:
            raise ValueError(f"instance_norm needs a spatial axis; layout {layout} has none")
        return Semantics(layout, lay.spatial, (lay.channel,), eps=eps)
    if op == "rms_norm":
        ax = lay.ordered(axes or lay.axes[-1:])
        return Semantics(layout, ax, lay.ordered(affine_axes) if affine_axes else ax, center=False, eps=eps,
                         bias=False)
    raise ValueError(f"unknown op {op!r}; known: {', '.join(OPS)}")


def paper_layer_norm(layout: str, eps=1e-5) -> Semantics:
    """Layer Norm as the Group Normalization paper defines it (Eq. 4 and 6):
    statistics over every non-batch axis, a per-channel affine transform."""
    lay = Layout(layout)
    return Semantics(layout, lay.non_batch, (lay.channel,), eps=eps)


def param_shape(sem: Semantics, sizes: dict[str, int]) -> tuple[int, ...]:
    """Shape of gamma/beta: the sizes of the affine axes, in layout order."""
    lay = Layout(sem.layout)
    return tuple(int(sizes[a]) for a in lay.ordered(sem.affine_axes))


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


# --- the seed question's definitions on [B, T, F], written out literally -----
# These restate the general rule for one layout so that tests can pin the rule
# against independent formulas.

def seed_batch_norm(x, eps):
    m = x.mean(axis=(0, 1), keepdims=True)
    v = ((x - m) ** 2).mean(axis=(0, 1), keepdims=True)
    return (x - m) / np.sqrt(v + eps)


def seed_layer_norm(x, eps):
    m = x.mean(axis=2, keepdims=True)
    v = ((x - m) ** 2).mean(axis=2, keepdims=True)
    return (x - m) / np.sqrt(v + eps)


def seed_group_norm(x, groups, eps):
    B, T, F = x.shape
    xg = x.reshape(B, T, groups, F // groups)
    m = xg.mean(axis=(1, 3), keepdims=True)
    v = ((xg - m) ** 2).mean(axis=(1, 3), keepdims=True)
    return ((xg - m) / np.sqrt(v + eps)).reshape(B, T, F)


def seed_paper_layer_norm(x, eps):
    m = x.mean(axis=(1, 2), keepdims=True)
    v = ((x - m) ** 2).mean(axis=(1, 2), keepdims=True)
    return (x - m) / np.sqrt(v + eps)
