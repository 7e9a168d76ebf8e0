"""Numbers at full precision, for issue bodies and for the literal arrays of a script.

* :func:`value`: one number as the shortest text that reads back to the same value in its dtype
  (``repr`` of the float64 for float64, the shortest round-trip text of float32 and float16 values,
  ``ml_dtypes``' for bfloat16); :func:`shown`, the same for prose;
* :func:`array`: a numpy array as an ``np.array([...], dtype=...)`` literal whose every element reads
  back bit-exactly (bfloat16 values written as the float32 values that hold them exactly, which the
  framework then casts);
* :func:`tolerance_text`: the allowed error in words a maintainer reads.
"""
from __future__ import annotations

import math

import ml_dtypes
import numpy as np

#: the numpy type whose shortest round-trip text a value of each dtype is written with
_SHORTEST = {"float64": np.float64, "float32": np.float32, "float16": np.float16, "bfloat16": ml_dtypes.bfloat16}
#: the numpy dtype a script holds an input of each dtype in (bfloat16: float32, which holds it exactly)
HELD_IN = {"float64": "float64", "float32": "float32", "float16": "float16", "bfloat16": "float32"}


def _special(v: float) -> str | None:
    if math.isnan(v):
        return "np.nan"
    if math.isinf(v):
        return "np.inf" if v > 0 else "-np.inf"
    return None


def value(v, dtype: str = "float64") -> str:
    """``v`` rounded to ``dtype``, as the shortest text that reads back to it in ``dtype``; NaN and inf as
    ``np.nan`` / ``np.inf``."""
    with np.errstate(over="ignore"):
        r = _SHORTEST[dtype](float(v))
    sp = _special(float(r))
    if sp:
        return sp
    if dtype == "float64":
        return repr(float(r))
    t = str(r)
    return t if any(c in t for c in ".e") else t + ".0"


def shown(v, dtype: str = "float64") -> str:
    """:func:`value` for prose: NaN and inf as words."""
    t = value(v, dtype)
    return {"np.nan": "NaN", "np.inf": "inf", "-np.inf": "-inf"}.get(t, t)


def _nested(a: np.ndarray, fmt) -> str:
    if a.ndim == 0:
        return fmt(a.item())
    if a.ndim == 1:
        return "[" + ", ".join(fmt(v) for v in a.tolist()) + "]"
    return "[" + ", ".join(_nested(sub, fmt) for sub in a) + "]"


def _wrap(text: str, indent: int, width: int = 100) -> str:
    """Break a long literal after commas so that no line is wider than ``width``."""
    if len(text) + indent <= width:
        return text
    out, line = [], ""
    for tok in text.split(", "):
        piece = tok if not line else ", " + tok
        if line and len(line) + len(piece) + indent > width:
            out.append(line + ",")
            line = tok
        else:
            line += piece
    out.append(line)
    return ("\n" + " " * indent).join(out)


def array(a, dtype: str, name: str = "") -> str:
    """``np.array(<nested list>, dtype=np.<held dtype>)``: every element of ``a`` (values of ``dtype``)
    exactly; ``name = `` prefixed when given. NaN and inf are written as ``np.nan`` and ``np.inf``."""
    a = np.asarray(a)
    held_dtype = HELD_IN[dtype]
    body = _nested(a.astype(np.float64), lambda v: value(v, held_dtype))
    head = f"{name} = " if name else ""
    text = f"{head}np.array({body}, dtype=np.{held_dtype})"
    return _wrap(text, len(head) + 9)


def expected_array(a, name: str = "") -> str:
    """A float64 array (a reference output) as a literal at full precision."""
    a = np.asarray(a, np.float64)
    head = f"{name} = " if name else ""
    return _wrap(f"{head}np.array({_nested(a, lambda v: value(v, 'float64'))})", len(head) + 9)


def tolerance_text(allowed) -> str:
    """The allowed error as a Python expression: a number, or ``atol + rtol * |expected|``."""
    if isinstance(allowed, tuple):
        atol, rtol = allowed
        return f"{value(atol)} + {value(rtol)} * np.abs(expected)"
    return value(allowed)
