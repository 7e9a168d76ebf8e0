"""The records of a run grouped by root cause (``normconf expectations causes``, the report, filing).

Every cell that does not agree and every claim that does not hold is judged against the expectations
as they are now; the entry that covers it names its root cause. A record no entry covers (or whose entry
names no cause) is *unclassified*: it is grouped with the others of the same framework, status and
explanation (numbers masked), so that one new mechanism is one group, not one line per cell.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from harness.results.record import ClaimResult, Result

from .causes import Cause
from .entry import COVERS, NOT_PACKAGES
from .outcomes import Expectations

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


@dataclass
class CauseGroup:
    key: str  # the cause's id, or "unclassified: ..." for records no cause explains
    cause: Cause | None
    cells: list[Result] = field(default_factory=list)
    claims: list[ClaimResult] = field(default_factory=list)

    @property
    def records(self) -> list:
        return [*self.cells, *self.claims]

    @property
    def adapters(self) -> list[str]:
        return sorted({r.adapter for r in self.records})

    @property
    def envs(self) -> list[str]:
        return sorted({r.env for r in self.records})

    def versions(self) -> dict[str, list[str]]:
        """package -> the versions the records of this group ran with (local parts kept)."""
        out: dict[str, set[str]] = {}
        for r in self.records:
            for k, v in (r.versions or {}).items():
                if k not in NOT_PACKAGES:
                    out.setdefault(k, set()).add(str(v))
        return {k: sorted(v) for k, v in sorted(out.items())}


def _masked(text: str) -> str:
    return " ".join(_NUMBER.sub("#", text or "").split())[:160]


def _unclassified_key(record, framework: str) -> str:
    if isinstance(record, ClaimResult):
        what = f"claim verdict {record.verdict}"
        why = record.explanation or record.error or ""
    else:
        what = record.status
        why = record.explanation or (record.message or "").split("\n", 1)[0]
    words = _masked(re.split(r"[;:(]", why, maxsplit=1)[0]) if why else "no explanation"
    return f"unclassified: {framework or record.adapter}: {what}: {words}"


def group_by_cause(merged, exp: Expectations, framework_of=None) -> list[CauseGroup]:
    """The non-agreeing cells and non-holding claims of ``merged`` (results read with
    :func:`harness.results.read.read_many`) grouped by root cause, judged by ``exp`` now. ``framework_of``
    maps an adapter name to its framework (for grouping unclassified records); the adapter's own name
    otherwise. Causes first (by id), then the unclassified groups."""
    groups: dict[str, CauseGroup] = {}
    for r in [*merged.results.values(), *merged.claims.values()]:
        claim = isinstance(r, ClaimResult)
        if (r.verdict in ("holds", "unsupported")) if claim else (r.status in ("agree", "unsupported", "skipped")):
            continue
        cause = cause_for(exp, r)
        key = cause.id if cause else _unclassified_key(r, (framework_of or (lambda a: a))(r.adapter))
        g = groups.setdefault(key, CauseGroup(key, cause))
        (g.claims if claim else g.cells).append(r)
    return sorted(groups.values(), key=lambda g: (g.cause is None, g.key))


def cause_for(exp: Expectations, record) -> Cause | None:
    """The root cause that explains a record as it ended, judged by ``exp`` now, without changing the
    record: the cause of the entry covering it, when the record ended as that entry expects."""
    i, rel = exp.relation_for(record)
    if i is None or rel != COVERS:
        return None
    entry = exp.entries[i]
    ended = record.verdict in (entry.verdict,) if isinstance(record, ClaimResult) else record.status in entry.status
    return exp.cause_of(entry) if ended else None
