"""One cell of the report: its word, number and sort value, and whether its ULP figure measures precision."""
from __future__ import annotations

import math

from harness.results.parts import Metrics
from harness.results.record import Result

#: significand bits and smallest normal exponent of each dtype
_FLOAT_BITS = {"float64": (52, -1022), "float32": (23, -126), "float16": (10, -14), "bfloat16": (7, -126)}


def spacing(x: float, dtype: str) -> float:
    """The distance from |x| to the next larger number of ``dtype`` (one ULP at x)."""
    mant, emin = _FLOAT_BITS.get(dtype, _FLOAT_BITS["float64"])
    x = abs(x)
    e = max(math.frexp(x)[1] - 1, emin) if x > 0 and math.isfinite(x) else emin
    return 2.0 ** (e - mant)


def ulp_meaningful(m: Metrics, dtype: str) -> bool:
    """Whether the recorded max ULP distance measures precision.

    ULP distance counts representable numbers between two values. Between
    values on either side of zero, or very close to it, that count is
    astronomically large for a harmless difference (0 vs -1e-17 in float64
    is about 4e18 ULP). An element whose expected magnitude is at least the
    absolute tolerance has at most ``2 * max_abs / spacing(atol)`` ULP; a
    larger recorded maximum can only come from an element near zero, so it is
    not reported."""
    u, a = m.max_ulp, m.max_abs
    if u.__class__ is not float:
        u = as_number(u)
    if a.__class__ is not float:
        a = as_number(a)
    if not (math.isfinite(u) and math.isfinite(a)):
        return False  # records that measure ULP only away from zero leave it out (None) there
    if u <= 1:
        return True
    near = m.floor  # the per-dtype floor
    sp = _SPACING.get((near, dtype))
    if sp is not None:
        return u <= 2 * a / sp + 1
    near = as_number(near)
    if not (math.isfinite(near) and near > 0):
        return True
    if sp is None:
        sp = _SPACING[(near, dtype)] = spacing(near, dtype)
    return u <= 2 * a / sp + 1


_SPACING: dict[tuple[float, str], float] = {}


class Cell:
    """One (case, column) cell: its result (None when there is none), a word and a number for the
    page, a sort value (larger is worse) and whether the recorded max ULP measures precision (see
    ulp_meaningful). ``status`` and ``text`` are computed once: the report reads them per cell."""
    __slots__ = ("result", "word", "number", "value", "ulp_ok", "status", "text")

    def __init__(self, result: Result | None, word: str, number: str, value: float, ulp_ok: bool = True):
        self.result = result
        self.word = word
        self.number = number
        self.value = value
        self.ulp_ok = ulp_ok
        self.status = result.status if result is not None else "missing"
        self.text = f"{word} {number}" if number else word

    def __repr__(self):
        return f"Cell({self.status!r}, {self.text!r})"


def as_number(v):
    """A metric as a float ("inf"/"nan" are how results files spell them); nan if it is not a number."""
    try:
        return float(v) if v is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def cell_text(r: Result | None, ulp_ok: bool | None = None) -> tuple[str, str, float]:
    """A word and a number for every cell (never colour alone), and a sort value."""
    if r is None:
        return "missing", "", -2.0
    m = r.metrics
    if r.status == "agree":
        u = m.max_ulp if m.max_ulp is not None else 0
        if u.__class__ is not float:
            u = as_number(u)
        if ulp_ok is None:
            ulp_ok = m.max_abs is None or ulp_meaningful(m, str((r.case or {}).get("dtype", "")))
        if not ulp_ok:
            a = as_number(m.max_abs)
            return "agree", f"Δ {a:.2g}", 0.0
        return "agree", f"{u:.0f} ulp", u
    if r.status == "diverge":
        if m.shape_mismatch:
            return "diverge", "shape", math.inf
        v = as_number(m.max_abs)
        return "diverge", (f"{v:.3g}" if math.isfinite(v) else str(v)), 1e300 if not math.isfinite(v) else 1e12 + v
    if r.status == "error":
        return "error", (r.message.split(":", 1)[0][:40] if r.message else ""), 1e305
    if r.status == "unsupported":
        return "n/a", "", -1.0
    return r.status, "", 1e306
