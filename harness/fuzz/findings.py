"""What ``normconf fuzz`` reports: which cells are findings, a finding's kind, and a finding.

A cell that diverges, errors, crashes or times out and that no expectation covers is a finding
(:func:`is_finding`); findings of one adapter with the same explanation, numbers and axis sets masked,
are one kind (:func:`kind`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from harness.repro.shrink import Shrunk, explanation, masked

FINDING_STATUSES = ("diverge", "error", "crash", "timeout")
NOT_JUDGED = ("unsupported", "skipped")


def is_finding(result) -> bool:
    """A divergence, error, crash or timeout that no expectation covers."""
    return result.status in FINDING_STATUSES and result.outcome == "unexpected"


#: clauses of an explanation that do not decide its kind: which axes (the layout's letters differ from case to
#: case), an epsilon held in float32, how far the finite outputs are off
_DETAIL = ("normalized over ", "the case expects ", "epsilon rounded to float", "the finite outputs differ")
_CLOSEST = "no member of the family reproduces the output; closest: "


def kind(result) -> str:
    """The explanation a finding is deduplicated by: the fingerprint's words with numbers, parenthesised
    remarks and axis sets masked, "closest:" read as a match, and only the clauses that say what differs
    besides the axes ("epsilon added outside the square root", "one-pass variance ..."); an explanation
    that differs only in its axes is "normalized over other axes or groups"."""
    if result.status == "error":
        return f"error: {explanation(result)}"
    if result.status != "diverge":
        return f"{result.status}: {masked((result.message or '').split(chr(10))[0])}"
    text = re.sub(r"\{[^{}]*\}", "{...}", masked(explanation(result))).replace(_CLOSEST, "")
    clauses = [c.strip() for c in text.split(";") if c.strip()]
    kept = sorted({c for c in clauses if not c.startswith(_DETAIL)})
    return "; ".join(kept) or ("normalized over other axes or groups" if clauses else "diverge")


@dataclass
class Finding:
    adapter: str
    case: object  # the drawn case
    result: object  # its Result
    cell: int  # the adapter's judged cell that found it (1-based)
    occurrences: int = 1
    shrunk: Shrunk | None = None

    @property
    def final_case(self):
        return self.shrunk.case if self.shrunk and self.shrunk.result.status == self.result.status else self.case

    @property
    def final_result(self):
        return self.shrunk.result if self.final_case is not self.case else self.result

    def key(self, final=False) -> tuple:
        r, c = (self.final_result, self.final_case) if final else (self.result, self.case)
        return (self.adapter, r.status, kind(r))
