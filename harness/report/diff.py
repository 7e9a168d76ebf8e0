"""Differences between two sets of results (e.g. last night and tonight).

Cells are matched by (environment, adapter, case id). A change of status is a
*regression* when a cell stopped agreeing, an *improvement* when it started
to agree, otherwise a *status change*; a cell whose status is unchanged but
whose ULP error moved is a *numerics* change. A framework version that differs
between the two runs is shown next to every cell it may have changed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..results import Merged, Result
from .model import cell_text

KINDS = ("regression", "improvement", "status", "numerics", "added", "removed")


@dataclass
class Change:
    kind: str
    key: tuple[str, str, str]  # env, adapter, case id
    old: Result | None
    new: Result | None
    versions: str = ""  # "torch 2.12.0 -> 2.13.0" when the adapter's versions changed

    @property
    def column(self) -> str:
        return f"{self.key[1]}@{self.key[0]}"

    @property
    def case_id(self) -> str:
        return self.key[2]

    def describe(self, r: Result | None) -> str:
        if r is None:
            return "absent"
        word, num, _ = cell_text(r)
        return f"{word} {num}".strip()


@dataclass
class Diff:
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    version_changes: dict[str, str] = field(default_factory=dict)  # column -> "a 1 -> 2"

    def of(self, kind: str) -> list[Change]:
        return [c for c in self.changes if c.kind == kind]

    @property
    def counts(self) -> dict[str, int]:
        return {k: len(self.of(k)) for k in KINDS}


def _versions(m: Merged, env: str, adapter: str, results) -> dict:
    v = m.adapters.get((env, adapter))
    if v:
        return v
    for r in results:
        if r.versions:
            return r.versions
    return {}


def _version_change(old: dict, new: dict) -> str:
    parts = []
    for k in sorted(set(old) | set(new)):
        if old.get(k) != new.get(k):
            parts.append(f"{k} {old.get(k, '-')} -> {new.get(k, '-')}")
    return ", ".join(parts)


def _ulp(r: Result) -> float:
    v = (r.metrics or {}).get("max_ulp")
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def diff(old: Merged, new: Merged) -> Diff:
    d = Diff()
    cols = {(k[0], k[1]) for k in old.results} | {(k[0], k[1]) for k in new.results}
    for env, adapter in sorted(cols):
        ov = _versions(old, env, adapter, [r for k, r in old.results.items() if k[:2] == (env, adapter)])
        nv = _versions(new, env, adapter, [r for k, r in new.results.items() if k[:2] == (env, adapter)])
        ch = _version_change(ov, nv) if ov and nv else ""
        if ch:
            d.version_changes[f"{adapter}@{env}"] = ch
    for key in sorted(set(old.results) | set(new.results)):
        o, n = old.results.get(key), new.results.get(key)
        vc = d.version_changes.get(f"{key[1]}@{key[0]}", "")
        if o is None:
            d.changes.append(Change("added", key, None, n, vc))
        elif n is None:
            d.changes.append(Change("removed", key, o, None, vc))
        elif o.status != n.status:
            if o.status == "agree":
                kind = "regression"
            elif n.status == "agree":
                kind = "improvement"
            else:
                kind = "status"
            d.changes.append(Change(kind, key, o, n, vc))
        elif o.status in ("agree", "diverge") and _ulp(o) != _ulp(n) and not (math.isnan(_ulp(o)) and math.isnan(_ulp(n))):
            d.changes.append(Change("numerics", key, o, n, vc))
        else:
            d.unchanged += 1
    d.changes.sort(key=lambda c: (KINDS.index(c.kind), c.key))
    return d


def format_text(d: Diff, old_label: str, new_label: str) -> str:
    lines = [f"normconf diff: {old_label} -> {new_label}"]
    for col, ch in sorted(d.version_changes.items()):
        lines.append(f"version change {col}: {ch}")
    titles = {"regression": "regressions (stopped agreeing)", "improvement": "improvements (now agree)",
              "status": "other status changes", "numerics": "numerics changed (same status, different ULP error)",
              "added": "added cells", "removed": "removed cells"}
    for kind in KINDS:
        items = d.of(kind)
        if not items:
            continue
        lines.append(f"{titles[kind]}: {len(items)}")
        for c in items:
            extra = f"   [{c.versions}]" if c.versions else ""
            lines.append(f"  {c.case_id} [{c.column}]: {c.describe(c.old)} -> {c.describe(c.new)}{extra}")
    lines.append(f"unchanged: {d.unchanged}")
    return "\n".join(lines)
