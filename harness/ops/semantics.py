"""Named semantics: what a normalization computes, as a reduction over named axes.

A :class:`Semantics` names the axes the statistics reduce over, the axes the affine parameters span, the
channel groups, whether the values are centred (RMS norm is not), epsilon and where it sits, and the
variance divisor. Every operator's definition is one of them (:meth:`harness.ops.registry.Op.semantics`);
:mod:`harness.numerics.reference` computes it in float64 and :mod:`harness.fingerprint` searches its
neighbours.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from .layouts import Layout


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

    def __post_init__(self):
        lay = Layout(self.layout)
        for key in ("stat_axes", "affine_axes"):
            bad = [a for a in getattr(self, key) if a not in lay.axes]
            if bad:
                raise ValueError(f"{key} names {', '.join(bad)}, not an axis of layout {self.layout}")

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
        parts.append(f"{self._eps_words()} {'outside' if self.eps_outside else 'inside'} the sqrt")
        if self.center:
            parts.append("biased variance" if self.ddof == 0 else f"variance with ddof={self.ddof}")
        aff = ",".join(lay.ordered(self.affine_axes))
        parts.append(f"affine over {{{aff}}}" if aff else "no affine")
        return ", ".join(parts)

    def _eps_words(self) -> str:
        return f"eps={self.eps:g}"


@dataclass(frozen=True)
class DefaultEpsilon(Semantics):
    """The semantics of an ``epsilon: default`` case before a framework names its documented default:
    computed with eps 0, described as each framework's documented default (a cell's record holds its own)."""

    def _eps_words(self) -> str:
        return "eps=each framework's documented default"


def param_shape(sem: Semantics, sizes: dict[str, int]) -> tuple[int, ...]:
    """Shape of gamma/beta: the sizes of the affine axes, in layout order."""
    lay = Layout(sem.layout)
    return tuple(int(sizes[a]) for a in lay.ordered(sem.affine_axes))
