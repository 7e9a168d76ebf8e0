"""The first screen's second block: what changed since the baseline (``normconf report --baseline``),
and what each moving environment's new releases changed against the pinned environments it follows.

Both come from :mod:`.diff`, grouped by environment and framework version change ("latest: keras
3.15.1 -> 3.16.0.dev..."), the groups with the most new divergences first. Against a baseline only
the environments with results on both sides are compared (an environment that has no results
tonight is named on the first line instead of listing every cell as removed).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from harness.results.read import Merged

from .diff import (
    DRIFT,
    WORDS,
    Diff,
    Group,
    against_followed,
    counts_text,
    diff,
    envs_of,
    grouped,
    only,
)

#: how the first screen names each kind of change ("new divergence", "fix", "error drift", ...)
KIND_WORDS = {kind: words[0] for kind, words in WORDS.items()}
#: groups shown on the first screen; the Diff section lists them all
TOP_GROUPS = 3
#: changes listed per group, and rows of the Diff section's table, before pointing to normconf diff
LIST_LIMIT = 50
TABLE_LIMIT = 1000


@dataclass
class Changes:
    id: str  # baseline | releases: the Diff section's anchor
    title: str
    scope: str  # which environments were compared with which
    diff: Diff
    groups: list[Group]
    not_compared: list[str] = field(default_factory=list)  # "nightly (no results now)"

    @property
    def counts(self) -> str:
        d = self.diff
        text = counts_text(d.counts, d.claim_changes)
        return text or "nothing changed"

    @property
    def top(self) -> list[Group]:
        return self.groups[:TOP_GROUPS]

    @property
    def more_groups(self) -> int:
        return max(0, len(self.groups) - TOP_GROUPS)


def listed(g: Group) -> list:
    """A group's changes as the first screen lists them: status changes first, added and removed last."""
    return g.changes[:LIST_LIMIT]


def build(merged: Merged, baseline: Merged | None, drift: float = DRIFT, follows=None) -> list[Changes]:
    """The comparisons the page shows, the first one on the first screen: against the baseline when
    there is one, then each moving environment against the pinned ones it follows (``follows``: moving
    environment -> pinned ones, :data:`harness.report.diff.FOLLOWS` when None)."""
    out = []
    if baseline is not None:
        now, before = set(envs_of(merged)), set(envs_of(baseline))
        common = sorted(now & before)
        d = diff(only(baseline, common), only(merged, common), drift)
        gone = [f"{e} (no results now)" for e in sorted(before - now)]
        new = [f"{e} (not in the baseline)" for e in sorted(now - before)]
        out.append(Changes("baseline", "Changed since the baseline", ", ".join(common) or "no environment in common",
                           d, grouped(d, by_env=True), gone + new))
    d = against_followed(merged, follows, drift=drift)
    if d is not None:
        moving = sorted({b for _, b in d.pairs})
        pinned = sorted({a for a, _ in d.pairs})
        out.append(Changes("releases", "Changed by the new releases",
                           f"{' and '.join(moving)} against {' and '.join(pinned)}, by adapter and case id",
                           d, grouped(d, by_env=True)))
    return out
