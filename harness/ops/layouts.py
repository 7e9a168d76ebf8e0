"""Named axes.

A layout is a string of one-letter axis names, e.g. ``BTF`` or ``NCHW``. Every
layout has exactly one batch axis (``B`` or ``N``), exactly one channel axis
(``F`` or ``C``) and any number of spatial axes (``T``, ``L``, ``D``, ``H``,
``W``). The semantics of every normalization operator are written in terms of
these names, never in terms of positions.
"""
from __future__ import annotations

from dataclasses import dataclass

BATCH_AXES = frozenset("BN")
CHANNEL_AXES = frozenset("FC")
SPATIAL_AXES = frozenset("TLDHW")

LAYOUTS = ("BF", "BTF", "NCL", "NLC", "NCHW", "NHWC", "NCDHW", "NDHWC")


@dataclass(frozen=True)
class Layout:
    name: str

    def __post_init__(self):
        if self.name not in LAYOUTS:
            raise ValueError(f"unknown layout {self.name!r}; known: {', '.join(LAYOUTS)}")

    @property
    def axes(self) -> tuple[str, ...]:
        return tuple(self.name)

    @property
    def rank(self) -> int:
        return len(self.name)

    @property
    def batch(self) -> str:
        return next(a for a in self.name if a in BATCH_AXES)

    @property
    def channel(self) -> str:
        return next(a for a in self.name if a in CHANNEL_AXES)

    @property
    def spatial(self) -> tuple[str, ...]:
        return tuple(a for a in self.name if a in SPATIAL_AXES)

    @property
    def non_batch(self) -> tuple[str, ...]:
        return tuple(a for a in self.name if a not in BATCH_AXES)

    @property
    def channels_last(self) -> bool:
        return self.name[-1] in CHANNEL_AXES

    def index(self, axis: str) -> int:
        return self.name.index(axis)

    def indices(self, axes) -> tuple[int, ...]:
        return tuple(self.name.index(a) for a in axes)

    def ordered(self, axes) -> tuple[str, ...]:
        """The given axis names in this layout's order."""
        s = set(axes)
        return tuple(a for a in self.name if a in s)

    def shape(self, sizes: dict[str, int]) -> tuple[int, ...]:
        return tuple(int(sizes[a]) for a in self.name)


def permutation(src: str, dst: str) -> tuple[int, ...]:
    """Axes permutation that turns an array in layout ``src`` into layout ``dst``."""
    if sorted(src) != sorted(dst):
        raise ValueError(f"layouts {src} and {dst} do not name the same axes")
    return tuple(src.index(a) for a in dst)


def channels_first(layout: str) -> str:
    """The channels-first spelling of a layout: batch, channel, then the other axes in order."""
    lay = Layout(layout)
    rest = [a for a in lay.name if a not in (lay.batch, lay.channel)]
    return lay.batch + lay.channel + "".join(rest)


def channels_last(layout: str) -> str:
    lay = Layout(layout)
    rest = [a for a in lay.name if a not in (lay.batch, lay.channel)]
    return lay.batch + "".join(rest) + lay.channel
