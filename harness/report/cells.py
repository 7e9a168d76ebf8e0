"""One cell of the report: its word, number and sort value, and the words behind them that the drill-down
and the details share: the error as a multiple of the allowed error, whether the recorded max ULP figure
measures precision, what a cell expected to raise raised, and the figures of every named output.

A measured cell's number is its error over the error it was allowed (``0.03×`` agrees, ``4.2e8×``
diverges: at most ``1×`` agrees); a record without the allowed error (an older results file) shows the
absolute error, marked ``abs``. A cell whose case expects the call to raise says what happened instead.
"""
from __future__ import annotations

import math

from harness.results.parts import Metrics
from harness.results.record import Result
from harness.text import strip_escapes

#: significand bits and smallest normal exponent of each dtype
_FLOAT_BITS = {"float64": (52, -1022), "float32": (23, -126), "float16": (10, -14), "bfloat16": (7, -126)}
#: the unit of a measured cell's number: a multiple of the allowed error, or the absolute error
TIMES, ABS = "×", "abs"
#: sort values (larger is worse): measured cells sort by their ratio, below these
SORT_NONFINITE, SORT_RAISE, SORT_ERROR, SORT_CRASH = 1e299, 1e300, 1e305, 1e306
_RATIO_CAP = 1e298  # the largest sort value of a finite ratio
_NOT_RAISED = ", but the call returned an output"
_WRONG_TYPE = "; the case expects "
_WRONG_MESSAGE = "; the message lacks "


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
    __slots__ = ("number", "result", "status", "text", "ulp_ok", "value", "word")

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


def short(v: float) -> str:
    """A positive figure in two significant digits, exponents without padding: 0.031, 4.2, 120, 4.2e8, 3e-5."""
    if v == 0:
        return "0"
    if 1e-3 <= v < 1e4:
        return f"{v:.0f}" if v >= 10 else f"{v:.2g}"
    mant, _, exp = f"{v:.1e}".partition("e")
    return f"{mant.rstrip('0').rstrip('.')}e{int(exp)}"


def ratio_text(v: float, diverges: bool = False) -> str:
    """A ratio to the allowed error with its unit. A diverging cell never reads as within its bound
    ("1×" for 1.004): it gets the digits that show it is above, or ">1×"."""
    t = short(v)
    if diverges and v <= 1e4 and float(t) <= 1:
        t = f"{v:.6g}" if v > 1 else ">1"
        if t != ">1" and float(t) <= 1:
            t = ">1"
    return t + TIMES


def abs_text(v: float) -> str:
    """An absolute error with its unit (records that did not record the allowed error)."""
    return f"{short(v)} {ABS}"


def error_ratio(m: Metrics, case: dict | None = None) -> float | None:
    """The error over the error the cell was allowed: max_abs / allowed, or, under a case's own
    elementwise tolerance (atol + rtol·|expected|), over that bound at the largest difference. None when
    the record does not say (no allowed error: an older results file)."""
    a, allowed = m.max_abs, m.allowed
    if a is None or allowed is None:
        return None
    if a.__class__ is not float:
        a = as_number(a)
    if m.rule == "atol/rtol":
        tol = (case or {}).get("tolerance")
        if isinstance(tol, dict):
            bound = as_number(tol.get("atol") or 0.0) + as_number(tol.get("rtol") or 0.0) * abs(
                as_number(m.worst_expected if m.worst_expected is not None else 0.0))
            if math.isfinite(bound):
                allowed = bound
    if allowed.__class__ is not float:
        allowed = as_number(allowed)
    if not allowed > 0:  # nothing allowed (or not a number): only no error at all has a ratio
        return 0.0 if a == 0 else None
    return None if math.isnan(a) else a / allowed


def expected_text(case: dict | None) -> str:
    """What a case that expects the call to raise expects, in words ('' when it expects nothing)."""
    want = (case or {}).get("expect")
    if not isinstance(want, dict) or not want.get("raises"):
        return ""
    text = str(want["raises"])
    msgs = want.get("message")
    msgs = [msgs] if isinstance(msgs, str) else [str(x) for x in msgs] if isinstance(msgs, (list, tuple)) else []
    if msgs:
        text += " with a message containing " + " or ".join(repr(x) for x in msgs)
    return text


def raise_outcome(r: Result) -> tuple[str, str, str] | None:
    """For a cell whose case expects the call to raise: (short words for the matrix, what was expected,
    what happened): ``raised ValueError`` / ``ValueError, other message`` / ``RuntimeError, not
    ValueError`` / ``did not raise``. None for any other cell."""
    m = r.metrics
    said, wrong = m.raised, m.expected_error
    expected = expected_text(r.case)
    etype = expected.split(" ", 1)[0]
    if said is None and wrong is None:
        if not expected or r.status != "agree":
            return None
        # a record that kept what was raised only as its message
        return f"raised {etype}", expected, strip_escapes(str(r.message or "")) or f"raised {etype}"
    if said is not None:
        said = strip_escapes(str(said))
        return f"raised {_type_of(said) or etype or 'the expected error'}", expected, said
    wrong = strip_escapes(str(wrong))
    if wrong.endswith(_NOT_RAISED):
        return "did not raise", expected or wrong[len("expected "):-len(_NOT_RAISED)], \
            "nothing: the call returned an output"
    body = wrong.removeprefix("raised ")
    i = body.rfind(_WRONG_TYPE)
    if i >= 0:
        said, want = body[:i], body[i + len(_WRONG_TYPE):]
        return f"{_type_of(said) or 'another error'}, not {want[:40]}", expected or want, said
    i = body.rfind(_WRONG_MESSAGE)
    if i >= 0:
        said = body[:i]
        return f"{_type_of(said) or etype or 'raised'}, other message", expected, said
    return "raised another error", expected, body


def _type_of(said: str) -> str:
    """The exception type at the start of 'Type: message' ('' when there is none)."""
    head = said.split(":", 1)[0].strip()
    return head[:40] if head and " " not in head else ""


def cell_text(r: Result | None, ulp_ok: bool | None = None) -> tuple[str, str, float]:
    """A word and a number for every cell (never colour alone), and a sort value (larger is worse).
    ``ulp_ok`` is accepted for callers that know it; the number no longer depends on it."""
    if r is None:
        return "missing", "", -2.0
    st = r.status
    m = r.metrics
    if st == "agree" or st == "diverge":
        a = m.max_abs
        if a is None:
            said = raise_outcome(r)
            if said is not None:
                return st, said[0], (0.0 if st == "agree" else SORT_RAISE)
            if st == "agree":
                return "agree", "", 0.0
            return "diverge", ("shape" if m.shape_mismatch else ""), SORT_RAISE
        diverges = st == "diverge"
        if diverges and m.shape_mismatch:
            return "diverge", "shape", SORT_NONFINITE
        if a.__class__ is not float:
            a = as_number(a)
        if not -_INF < a < _INF:  # inf or nan
            if diverges:
                return "diverge", "non-finite", SORT_NONFINITE
            return "agree", "", 0.0
        allowed = m.allowed
        if allowed.__class__ is float and allowed > 0 and m.rule != "atol/rtol":  # the common record
            v = a / allowed
        else:
            v = error_ratio(m, r.case) if allowed is not None else None
            if v is None or not -_INF < v < _INF:  # an older record: the absolute error
                t = _ABS.get(a)
                if t is None:
                    t = short(a) + " " + ABS
                    if len(_ABS) < 4096:
                        _ABS[a] = t
                return st, t, (1e12 + min(a, _RATIO_CAP) if diverges else 0.0)
        if diverges:
            return "diverge", ratio_text(v, True), min(max(v, 1.0 + 1e-9), _RATIO_CAP)
        t = _SHORT.get(v)
        if t is None:
            t = short(v) + TIMES
            if len(_SHORT) < 4096:
                _SHORT[v] = t
        return "agree", t, v
    if st == "error":
        msg = r.message
        if msg and msg.find("\x1b") >= 0:
            msg = strip_escapes(msg)
        return "error", (msg.split(":", 1)[0][:40] if msg else ""), SORT_ERROR
    if st == "unsupported":
        return "n/a", "", -1.0
    return st, "", SORT_CRASH


_INF = math.inf
#: agreeing ratios and older records' absolute errors repeat (identical outputs): their words, remembered
_SHORT: dict[float, str] = {}
_ABS: dict[float, str] = {}


def output_rows(m: Metrics) -> list[tuple[str, float | None, float | None, str, bool, float | None]]:
    """The figures of every named output of a training-time check: (name, error, allowed, the error as a
    multiple of the allowed with its unit (or the absolute error), agrees, max ULP)."""
    rows = []
    for name, o in (m.outputs or {}).items():
        a = as_number(o.max_abs)
        allowed = as_number(o.allowed)
        if o.shape_mismatch:
            words = "shape"
        elif not math.isfinite(a):
            words = "non-finite" if o.max_abs is not None else ""
        elif math.isfinite(allowed) and allowed > 0:
            words = ratio_text(a / allowed, not o.ok)
        else:
            words = abs_text(a)
        rows.append((str(name), o.max_abs, o.allowed, words, bool(o.ok), o.max_ulp))
    return rows
