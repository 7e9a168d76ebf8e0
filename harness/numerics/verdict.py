"""The verdict rule and error metrics.

A cell's *error* is the largest ``|actual - expected|`` over its output, where
``expected`` is the float64 reference computed from the dtype-rounded inputs.
Its *achievable error* is the largest error that numerically stable
implementations in the case's dtype reach on the same input
(:mod:`harness.numerics`). The cell agrees when

    error <= FACTOR * achievable + FLOOR[dtype]

and its output has NaN or an infinity exactly where the reference has the same
(NaN or an infinity where the reference is finite, or the reverse, always
diverges). README explains why FACTOR is what it is. A case may set its own
``tolerance``: a ``factor`` replacing FACTOR, or ``atol``/``rtol`` for the
elementwise rule ``|actual - expected| <= atol + rtol * |expected|``.

Metrics recorded for every cell: the error (max abs), the achievable error,
their ratio, the allowed error, the max relative error (over elements whose
reference magnitude is at least the floor), the max ULP distance in the case
dtype (measured in the dtype's spacing at the expected value, over elements
not near zero), NaN/inf counts and where the largest difference sits.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from harness.ops.definition import Formula
from harness.ops.dtypes import np_dtype
from harness.ops.semantics import Semantics

from . import families
from .achievable import achievable_error
from .masked import normalize_masked
from .reference import normalize

#: an error this many times the achievable error is an algorithmic difference, not rounding
FACTOR = 8.0
#: dtype -> the smallest error ever called a divergence: 4 units in the last place at 1.0
FLOOR = {
    "float64": 4 * 2.0 ** -52,
    "float32": 4 * 2.0 ** -23,
    "float16": 4 * 2.0 ** -10,
    "bfloat16": 4 * 2.0 ** -7,
}



@dataclass
class Comparison:
    ok: bool
    max_abs: float
    max_rel: float
    max_ulp: float | None
    n: int
    n_bad: int
    achievable: float = 0.0
    allowed: float = 0.0
    ratio: float | None = None
    factor: float = FACTOR
    floor: float = 0.0
    rule: str = "achievable"  # achievable | factor | atol/rtol
    n_nan: int = 0
    n_inf: int = 0
    n_ref_nonfinite: int = 0
    nonfinite: str | None = None  # "3 of 60 outputs are NaN", when outputs are not finite where the reference is
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


#: dtype -> bits of precision (significand bits including the implicit one)
_PRECISION = {"float64": 53, "float32": 24, "float16": 11, "bfloat16": 8}


def ulp_spacing_error(actual64: np.ndarray, expected64: np.ndarray, dtype: str) -> float | None:
    """Largest ``|actual - expected|`` in units of ``dtype``'s spacing at the
    expected value (an ULP there), over elements not near zero (``|expected|``
    at least 1/1024 of the largest); None when there are none."""
    fin = np.isfinite(expected64) & np.isfinite(actual64)
    if not fin.any():
        return None
    e, a = expected64[fin], actual64[fin]
    mag = np.abs(e)
    top = float(mag.max())
    if top == 0:
        return None
    big = mag >= top / 1024
    _, k = np.frexp(mag[big])  # |e| = f * 2**k with f in [0.5, 1)
    spacing = np.ldexp(1.0, k - _PRECISION[dtype])
    return float(np.max(np.abs(a[big] - e[big]) / spacing))


def _count(mask) -> int:
    return int(np.count_nonzero(mask))


def nonfinite_text(a: np.ndarray, e: np.ndarray) -> str | None:
    """'N of M outputs are NaN' (and/or inf) where the reference is finite; the
    reverse when the reference is not finite and the output is."""
    fin_e = np.isfinite(e)
    n = e.size
    parts = []
    nan = _count(np.isnan(a) & fin_e)
    inf = _count(np.isinf(a) & fin_e)
    if nan:
        parts.append(f"{nan} of {n} outputs are NaN")
    if inf:
        parts.append(f"{inf} of {n} outputs are inf")
    rev = _count(~fin_e & np.isfinite(a))
    if rev:
        parts.append(f"{rev} of {n} outputs are finite where the reference is not")
    return "; ".join(parts) or None


def compare(actual, expected, dtype: str, *, achievable: float = 0.0, tolerance=None,
            factor: float | None = None) -> Comparison:
    """Judge ``actual`` against the float64 ``expected`` given the ``achievable`` error; ``tolerance`` is a
    case's own tolerance (``factor``, or ``atol`` and ``rtol``: :class:`harness.cases.model.Tolerance`)."""
    floor = FLOOR[dtype]
    factor = FACTOR if factor is None else factor
    rule = "achievable"
    if tolerance is not None and tolerance.factor is not None:
        factor, rule = float(tolerance.factor), "factor"
    e = np.asarray(expected, np.float64)
    a_raw = np.asarray(actual)
    achievable = float(achievable) if achievable is not None and math.isfinite(achievable) else 0.0
    allowed = factor * achievable + floor
    if a_raw.shape != e.shape:
        return Comparison(False, math.inf, math.inf, None, int(e.size), int(e.size), achievable, allowed, None,
                          factor, floor, rule,
                          shape_mismatch=f"output shape {list(a_raw.shape)} != expected {list(e.shape)}")
    a = a_raw.astype(np.float64)
    n = int(e.size)
    if n == 0:
        return Comparison(True, 0.0, 0.0, None, 0, 0, achievable, allowed, None, factor, floor, rule)
    with np.errstate(all="ignore"):
        diff = np.abs(a - e)
        same_special = (np.isnan(a) & np.isnan(e)) | (np.isinf(a) & np.isinf(e) & (np.sign(a) == np.sign(e)))
        diff = np.where(same_special, 0.0, diff)
        diff = np.where(np.isnan(diff), np.inf, diff)  # NaN on one side only
        if tolerance is not None and tolerance.factor is None:
            rule = "atol/rtol"
            bound = (tolerance.atol or 0.0) + (tolerance.rtol or 0.0) * np.abs(np.where(np.isfinite(e), e, 0.0))
            bad = diff > bound
        else:
            bad = diff > allowed
        bad &= ~same_special
        big = np.abs(e) >= floor
        rel = np.where(big & np.isfinite(e), diff / np.where(big, np.abs(e), 1.0), 0.0)
    worst = int(np.argmax(diff))
    idx = [int(i) for i in np.unravel_index(worst, e.shape)]
    max_abs = float(diff.max())
    ratio = max_abs / achievable if achievable > 0 else (0.0 if max_abs == 0 else None)
    return Comparison(
        ok=not bool(bad.any()),
        max_abs=max_abs, max_rel=float(rel.max()), max_ulp=ulp_spacing_error(a, e, dtype), n=n,
        n_bad=int(bad.sum()), achievable=achievable, allowed=allowed, ratio=ratio, factor=factor, floor=floor,
        rule=rule, n_nan=_count(np.isnan(a)), n_inf=_count(np.isinf(a)), n_ref_nonfinite=_count(~np.isfinite(e)),
        nonfinite=nonfinite_text(a, e),
        worst_index=idx, worst_expected=_f(e.flat[worst]), worst_actual=_f(a.flat[worst]),
    )


def judge(y, x, sem: Semantics | Formula, dtype: str, gamma=None, beta=None, tolerance=None, mask=None):
    """Compare an output ``y`` for input ``x`` with the float64 reference of
    ``sem`` (an op's own :class:`Formula`: its numerics module's reference), given the
    achievable error on that input. Returns (Comparison, reference output).
    ``mask`` (broadcastable to x's shape, True where an element counts): masked statistics."""
    if isinstance(sem, Formula):
        if mask is not None:
            raise ValueError("an op with its own definition takes no mask")
        ref = families.reference(x, sem)
        ach = families.achievable_error(x, ref, sem, dtype)
        return compare(y, ref, dtype, achievable=ach, tolerance=tolerance), ref
    ref = normalize(x, sem, gamma, beta) if mask is None else normalize_masked(x, sem, mask, gamma, beta)
    ach = achievable_error(x, ref, sem, dtype, gamma, beta, mask=mask)
    return compare(y, ref, dtype, achievable=ach, tolerance=tolerance), ref


#: per-output figures kept in the record
_KEEP = ("max_abs", "achievable", "allowed", "ratio", "max_rel", "max_ulp", "n", "n_bad", "worst_index",
         "worst_expected", "worst_actual", "nonfinite", "shape_mismatch")


def _missing(name: str, dtype: str, ref) -> Comparison:
    n = int(np.size(ref))
    return Comparison(False, math.inf, math.inf, None, n, n, factor=FACTOR, floor=FLOOR[dtype],
                      allowed=FLOOR[dtype], shape_mismatch=f"the adapter returned no {name}")


def judge_outputs(actual: dict, refs: dict, achievable: dict, dtype: str, tolerance=None) -> dict[str, Comparison]:
    out = {}
    for name, ref in refs.items():
        a = actual.get(name)
        out[name] = _missing(name, dtype, ref) if a is None else \
            compare(a, ref, dtype, achievable=achievable.get(name, 0.0), tolerance=tolerance)
    return out


def _badness(c: Comparison) -> float:
    if c.shape_mismatch or c.nonfinite:
        return math.inf
    return c.max_abs / c.allowed if c.allowed > 0 else (math.inf if c.max_abs > 0 else 0.0)


def metrics_of(comparisons: dict[str, Comparison]) -> tuple[bool, dict]:
    """(every output agrees, the record's metrics)."""
    ok = all(c.ok for c in comparisons.values())
    pool = {k: c for k, c in comparisons.items() if not c.ok} or comparisons
    worst = max(pool, key=lambda k: _badness(pool[k]))
    m = comparisons[worst].metrics()
    m["output"] = worst
    m["outputs"] = {k: {f: v for f, v in c.metrics().items() if f in _KEEP} | {"ok": c.ok}
                    for k, c in comparisons.items()}
    return ok, m
