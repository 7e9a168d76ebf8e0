"""The numerics of operators with their own definition (:mod:`harness.ops.definition`).

An operator's :class:`~harness.ops.definition.Definition` names a module of this package
(``harness.numerics.<module>``); that module holds ``reference(x, formula)`` (float64, exact to a few
ulps), ``achievable_error(x, ref, formula, dtype)`` and ``emulate(x, formula, dtype, stats=None)``.
This module finds it; the verdict and the fingerprint ask it.
"""
from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np

from harness.ops.definition import Formula


def family(f: Formula) -> ModuleType:
    """The numerics module that computes ``f``'s operator."""
    name = f.definition.module
    if not name.isidentifier():
        raise ValueError(f"{f.op}: definition module {name!r} is not a module name")
    return importlib.import_module(f"{__package__}.{name}")


def reference(x, f: Formula) -> np.ndarray:
    return family(f).reference(x, f)


def achievable_error(x, ref, f: Formula, dtype: str) -> float:
    return float(family(f).achievable_error(x, ref, f, dtype))


def forms(f: Formula) -> dict[str, str]:
    """The forms the family's plain implementations take (name -> words)."""
    return dict(getattr(family(f), "FORMS", {"plain": ""}))


def emulate(x, f: Formula, dtype: str, stats: str | None = None, form: str | None = None) -> np.ndarray:
    """A plain implementation of ``f`` computed in ``stats`` (default the accumulation dtype)."""
    mod = family(f)
    return mod.emulate(x, f, dtype, stats) if form is None else mod.emulate(x, f, dtype, stats, form)


def emulation_words(f: Formula, stats: str, form: str | None) -> str:
    """What rounds when ``f`` is computed in ``stats`` that way ("" when the family says nothing)."""
    words = getattr(family(f), "emulation_words", None)
    return words(f, stats, form) if words else ""
