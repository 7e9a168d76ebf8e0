"""Tolerance policy and error metrics.

An output element passes when ``|actual - expected| <= atol + rtol * |expected|``
(NaN matches only NaN, an infinity only the same infinity). ``expected`` is the
float64 reference computed from the dtype-rounded inputs. The per-dtype
tolerances below are the whole policy; README explains them.

Metrics reported for every cell: max absolute error, max relative error (over
elements whose reference magnitude is at least ``atol``, so that values near
zero do not dominate), max ULP distance in the case dtype (the reference
rounded to that dtype vs the actual output), and where the largest absolute
difference sits.
"""
from __future__ import annotations

from dataclasses import dataclass, asdict

import numpy as np

from .inputs import np_dtype

#: dtype -> (atol, rtol)
TOLERANCES = {
    "float64": (1e-10, 1e-10),
    "float32": (1e-5, 1e-5),
    "float16": (1e-2, 1e-2),
    "bfloat16": (6e-2, 6e-2),
}


def tolerance(dtype: str) -> tuple[float, float]:
    return TOLERANCES[dtype]


@dataclass
class Comparison:
    ok: bool
    max_abs: float
    max_rel: float
    max_ulp: float
    atol: float
    rtol: float
    n: int
    n_bad: int
    worst_index: list[int] | None = None
    worst_expected: float | None = None
    worst_actual: float | None = None
    shape_mismatch: str | None = None

    def metrics(self) -> dict:
        d = asdict(self)
        d.pop("ok")
        return d


def _ordered_ints(a: np.ndarray) -> np.ndarray:
    """Map floats to integers whose difference is the ULP distance."""
    bits = a.dtype.itemsize * 8
    s = a.view(np.dtype(f"int{bits}")).astype(np.int64)
    mag = (1 << (bits - 1)) - 1
    return np.where(s < 0, -(s & mag), s)


def ulp_distance(actual: np.ndarray, expected64: np.ndarray, dtype: str) -> np.ndarray:
    """Elementwise ULP distance in ``dtype``; NaN where either side is not finite."""
    dt = np_dtype(dtype)
    a = np.asarray(actual).astype(dt)
    e = np.asarray(expected64, np.float64).astype(dt)
    d = np.abs(_ordered_ints(a) - _ordered_ints(e)).astype(np.float64)
    finite = np.isfinite(a.astype(np.float64)) & np.isfinite(e.astype(np.float64))
    return np.where(finite, d, np.nan)


def _f(v):
    return None if v is None else float(v)


def compare(actual, expected, dtype: str, *, atol=None, rtol=None) -> Comparison:
    d_atol, d_rtol = tolerance(dtype)
    atol = d_atol if atol is None else atol
    rtol = d_rtol if rtol is None else rtol
    e = np.asarray(expected, np.float64)
    a_raw = np.asarray(actual)
    if a_raw.shape != e.shape:
        return Comparison(False, float("inf"), float("inf"), float("inf"), atol, rtol, int(e.size), int(e.size),
                          shape_mismatch=f"output shape {list(a_raw.shape)} != expected {list(e.shape)}")
    a = a_raw.astype(np.float64)
    n = int(e.size)
    if n == 0:
        return Comparison(True, 0.0, 0.0, 0.0, atol, rtol, 0, 0)
    with np.errstate(all="ignore"):
        diff = np.abs(a - e)
        same_special = (np.isnan(a) & np.isnan(e)) | (np.isinf(a) & np.isinf(e) & (np.sign(a) == np.sign(e)))
        diff = np.where(same_special, 0.0, diff)
        diff = np.where(np.isnan(diff), np.inf, diff)  # NaN on one side only
        bad = diff > atol + rtol * np.abs(np.where(np.isfinite(e), e, 0.0))
        bad &= ~same_special
        big = np.abs(e) >= atol
        rel = np.where(big & np.isfinite(e), diff / np.where(big, np.abs(e), 1.0), 0.0)
        ulp = ulp_distance(a_raw, e, dtype)
        ulp = np.where(same_special, 0.0, ulp)
        ulp = np.where(np.isnan(ulp), np.inf, ulp)
    worst = int(np.argmax(diff))
    idx = [int(i) for i in np.unravel_index(worst, e.shape)]
    return Comparison(
        ok=not bool(bad.any()),
        max_abs=float(diff.max()),
        max_rel=float(rel.max()),
        max_ulp=float(ulp.max()),
        atol=atol, rtol=rtol, n=n, n_bad=int(bad.sum()),
        worst_index=idx, worst_expected=_f(e.flat[worst]), worst_actual=_f(a.flat[worst]),
    )
