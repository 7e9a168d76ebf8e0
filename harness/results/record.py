"""Result records: a cell's :class:`Result` and a claim's :class:`ClaimResult`, and their vocabularies.

A results file is JSON Lines: one ``header`` record first (provenance), then
one ``result`` record per cell, written and flushed as each cell finishes, so
an interrupted run keeps everything it computed. A cell's case (its id, op,
shape, dtype, ... as the case file gave them) is written once, in a ``case``
record before the first result that refers to it by ``case_id``.

The writer never truncates a file it did not create: an existing results file
is moved aside (``<name>.jsonl.<UTC time>.bak``) unless the run resumes it, in
which case new records are appended after a second header.

Every header carries the results schema version (:mod:`harness.results.parts`): a
reader skips the records of a file written with a newer version, saying so in
one line, and upgrades the records of an older one as it reads them.

Writing is :mod:`harness.results.write`; reading and merging files
:mod:`harness.results.read`; checking records :mod:`harness.results.validate`.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from .parts import ABSENT, Fingerprint, Metrics

#: how a cell or claim ended given the run's expectations ("" when not judged)
#: a record's outcome against the expectations: "fixed" is the unexpected pass of a cell or claim
#: whose entry expected it to diverge, fail or error (its ``expectation`` then holds ``fixed_in``,
#: the package versions it passed with)
OUTCOMES = ("", "expected", "unexpected", "fixed")
STATUSES = ("agree", "diverge", "error", "crash", "timeout", "unsupported", "skipped")

@dataclass
class Result:
    case_id: str
    adapter: str
    env: str
    status: str
    versions: dict[str, str] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=Metrics)
    fingerprint: Fingerprint | None = None
    message: str = ""
    traceback: str = ""
    snippet: str = ""
    duration: float = 0.0
    case: dict[str, Any] = field(default_factory=dict)
    time: str = ""
    #: expected | unexpected (given the expectations of the run); "" when not judged
    outcome: str = ""
    #: the matching expectation entry (id, adapter, status, reason, url, file, line), if any
    expectation: dict[str, Any] | None = None
    #: NOT_INSTALLED or NOT_AVAILABLE when the column's framework is not in this environment
    #: at all (the report hides such columns); "" otherwise
    absent: str = ""
    kind: str = "result"

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")
        if self.absent not in ABSENT:
            raise ValueError(f"unknown absent {self.absent!r}")
        if self.metrics.__class__ is not Metrics:
            self.metrics = Metrics.from_dict(self.metrics)
        if self.fingerprint is not None and self.fingerprint.__class__ is not Fingerprint:
            self.fingerprint = Fingerprint.from_dict(self.fingerprint)
        if not self.time:
            self.time = utc_now()

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.env, self.adapter, self.case_id)

    @property
    def explanation(self) -> str:
        return self.fingerprint.explanation if self.fingerprint is not None else ""

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["metrics"] = self.metrics.to_dict()
        d["fingerprint"] = None if self.fingerprint is None else self.fingerprint.to_dict()
        return d

    def to_json(self, with_case: bool = True) -> str:
        """The record as one JSON line; without ``with_case`` it leaves out the case, which a
        ``case`` record before it in the same file carries (see Writer)."""
        d = self.to_dict()
        if not with_case:
            del d["case"]
        return json.dumps(clean(d), sort_keys=False, allow_nan=False)

    @classmethod
    def from_dict(cls, d: dict) -> "Result":
        return cls(**{k: v for k, v in d.items() if k in RESULT_FIELDS})


RESULT_FIELDS = frozenset(Result.__dataclass_fields__)

#: "stale": the claim's quote no longer appears where it lives in the installed framework
VERDICTS = ("holds", "fails", "holds only when", "stale", "error", "unsupported")


@dataclass
class ClaimResult:
    """The measured verdict of one documentation claim with one adapter."""

    claim_id: str
    adapter: str
    env: str
    verdict: str
    condition: str = ""
    max_diff: float = 0.0
    explanation: str = ""
    per_input: dict[str, str] = field(default_factory=dict)
    trials: list[dict] = field(default_factory=list)
    error: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    claim: dict[str, Any] = field(default_factory=dict)
    duration: float = 0.0
    time: str = ""
    outcome: str = ""
    expectation: dict[str, Any] | None = None
    absent: str = ""  # as Result.absent
    kind: str = "claim"

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")
        if self.absent not in ABSENT:
            raise ValueError(f"unknown absent {self.absent!r}")
        if not self.time:
            self.time = utc_now()

    def to_json(self) -> str:
        return json.dumps(clean(asdict(self)), allow_nan=False)

    @classmethod
    def from_dict(cls, d: dict) -> "ClaimResult":
        return cls(**{k: v for k, v in d.items() if k in _CLAIM_FIELDS})


_CLAIM_FIELDS = frozenset(ClaimResult.__dataclass_fields__)


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(s: str) -> str:
    """``s`` with each lone surrogate (a file name or an argument decoded with ``surrogateescape``, an
    exception's text) as U+FFFD: a JSON reader refuses the escape of a lone surrogate, and the writer
    and the reader must agree on every line."""
    return _SURROGATE.sub("\ufffd", s) if _SURROGATE.search(s) else s


def clean(o):
    """JSON has no NaN/Infinity: write them as strings; and no lone surrogates (see :func:`clean_text`)."""
    if isinstance(o, float) and not math.isfinite(o):
        return "nan" if math.isnan(o) else ("inf" if o > 0 else "-inf")
    if isinstance(o, str):
        return clean_text(o)
    if isinstance(o, dict):
        return {clean_text(k) if isinstance(k, str) else k: clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [clean(v) for v in o]
    return o


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def verdict_text(r: ClaimResult) -> str:
    if r.verdict == "holds only when":
        return f"holds only when {r.condition}"
    if r.verdict in ("error", "unsupported"):
        # an error's text may already start with the status it came from ("error: ...", "crash: ...")
        return r.error if r.error.startswith(f"{r.verdict}:") else f"{r.verdict}: {r.error}"
    if r.verdict == "stale":
        return f"stale: {r.explanation.split(';')[0]}"
    return r.verdict
