"""The relation of two columns' cells of one case, from what their records say.

A record holds one cell judged against the float64 reference, never an output, so two cells are
related only through the reference and the fingerprint; no relation here is a measured difference
between the two outputs:

* ``same``: both agree with the reference (so they agree with each other within both allowed errors);
  for an ``expect: raises`` case, both raised as expected;
* ``differ``: one agrees and the other diverges; or both diverge and their fingerprints name
  different alternative semantics (each reproduced by members of the family, none in common), or
  the two records are explained by different declared root causes;
* ``same deviation``: both diverge and a member of the family reproduces both outputs (the same
  named alternative semantics), or both forward outputs are NaN in every element;
* ``both diverge``: both diverge and nothing says how the two outputs relate;
* ``raises on one side``: one cell ended in error, crash or timeout, the other ran;
* ``both raise``: both ended in error, crash or timeout;
* ``only A`` / ``only B``: the other column's API cannot express the case (``unsupported``), it
  was skipped, or it has no record of the case;
* ``neither``: both columns lack it.

``DIFFERING`` are the relations the separating conditions explain against ``ALIKE``.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.cases.model import params_text
from harness.results.record import Result

SAME, SAME_DEVIATION, DIFFER, BOTH_DIVERGE = "same", "same deviation", "differ", "both diverge"
RAISES_ONE, BOTH_RAISE, ONLY_A, ONLY_B, NEITHER = "raises on one side", "both raise", "only A", "only B", "neither"
#: every relation, in the order counts are shown
RELATIONS = (SAME, SAME_DEVIATION, DIFFER, RAISES_ONE, BOTH_DIVERGE, BOTH_RAISE, ONLY_A, ONLY_B, NEITHER)
DIFFERING = (DIFFER, RAISES_ONE, BOTH_DIVERGE)
ALIKE = (SAME, SAME_DEVIATION)

RAISED = ("error", "crash", "timeout")
ABSENT = ("unsupported", "skipped")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _cause_text(cause) -> tuple[str, str]:
    """(id, name) of what a ``cause_of`` callable returned: an object with ``id`` and ``name``, a text, or None."""
    if cause is None:
        return "", ""
    if isinstance(cause, str):
        return cause, cause
    cid = str(getattr(cause, "id", "") or "")
    return cid, str(getattr(cause, "name", "") or cid)


@dataclass
class Side:
    """One column's cell of a case, as far as its record says."""

    column: str
    status: str  # a record status, or "missing"
    error: float | None = None  # the largest absolute error against the reference
    allowed: float | None = None
    ratio: float | None = None
    explanation: str = ""
    message: str = ""  # the first line of an error, or why the cell did not run
    raised: str = ""  # expect: raises cases: what it raised as expected
    expected_error: str = ""  # ... or what went wrong
    cause: str = ""  # the declared root cause's id
    cause_name: str = ""
    #: the alternative semantics that reproduce the output (the fingerprint's matches), as canonical JSON
    matches: tuple[str, ...] = field(default=(), repr=False)
    #: a forward output of this many elements, every one NaN (0: not so)
    all_nan: int = 0
    #: the explanation with its numbers masked
    masked: str = field(default="", repr=False)

    def to_json(self) -> dict:
        out = {"column": self.column, "status": self.status, "error": self.error, "allowed": self.allowed,
               "ratio": self.ratio, "explanation": self.explanation, "message": self.message}
        for k in ("raised", "expected_error", "cause", "cause_name"):
            if getattr(self, k):
                out[k] = getattr(self, k)
        return out


def _number(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def side_of(column: str, r: Result | None, cause_of: Callable | None = None) -> Side:
    if r is None:
        return Side(column, "missing", message="no record of this case")
    m = r.metrics
    msg = r.message.strip().splitlines()[0] if r.message.strip() else ""
    if r.status in ("agree", "diverge") and msg.startswith(("diverge:", "agree:")):
        msg = ""  # the verdict line repeats the case; the figures say it
    cause = cause_of(r) if cause_of is not None and r.status not in ("agree", *ABSENT) else None
    cid, cname = _cause_text(cause)
    matches = ()
    if r.fingerprint is not None:
        matches = tuple(sorted({json.dumps(x.get("semantics"), sort_keys=True, default=str)
                                for x in r.fingerprint.matches if x.get("semantics") is not None}))
    all_nan = m.n if not m.outputs and m.n and m.n_nan == m.n else 0
    return Side(column, r.status, _number(m.max_abs), _number(m.allowed), _number(m.ratio), r.explanation, msg,
                m.raised or "", m.expected_error or "", cid, cname, matches, all_nan,
                _NUMBER.sub("#", r.explanation) if r.status == "diverge" else "")


def relation_of(a: Side, b: Side) -> tuple[str, str]:
    """The relation of two sides (see the module docstring) and a note that says why, where it helps."""
    ra, rb = a.status, b.status
    na, nb = ra in ABSENT or ra == "missing", rb in ABSENT or rb == "missing"
    if na or nb:
        return (NEITHER if na and nb else ONLY_B if na else ONLY_A), ""
    if ra in RAISED or rb in RAISED:
        return (BOTH_RAISE if ra in RAISED and rb in RAISED else RAISES_ONE), ""
    if ra == "agree" and rb == "agree":
        return SAME, ""
    if ra == "agree" or rb == "agree":
        return DIFFER, ("A agrees with the reference, B diverges" if ra == "agree"
                        else "B agrees with the reference, A diverges")
    # both diverge
    common = set(a.matches) & set(b.matches)
    if common:
        return SAME_DEVIATION, "a member of the family reproduces both outputs"
    if a.all_nan and a.all_nan == b.all_nan:
        return SAME_DEVIATION, f"both outputs are NaN in all {a.all_nan} elements"
    if a.matches and b.matches:
        return DIFFER, "the fingerprints name different alternative semantics"
    if a.cause and b.cause and a.cause != b.cause:
        return DIFFER, f"different root causes: {a.cause} and {b.cause}"
    if a.cause and a.cause == b.cause:
        return BOTH_DIVERGE, f"both explained by the root cause {a.cause}; how the outputs relate is not recorded"
    if a.masked and a.masked == b.masked:
        return BOTH_DIVERGE, "the same explanation on both sides; how the outputs relate is not recorded"
    return BOTH_DIVERGE, "how the two outputs relate is not recorded"


@dataclass
class Pair:
    """One case in two columns."""

    case_id: str
    case: dict
    relation: str
    a: Side
    b: Side
    note: str = ""

    @property
    def params(self) -> str:
        return params_text(self.case)

    def to_json(self) -> dict:
        return {"case_id": self.case_id, "relation": self.relation, "params": self.params, "note": self.note,
                "a": self.a.to_json(), "b": self.b.to_json()}


def make_pair(case_id: str, case: dict, a: Side, b: Side) -> Pair:
    rel, note = relation_of(a, b)
    return Pair(case_id, case, rel, a, b, note)
