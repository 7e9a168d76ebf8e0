"""Differences between two sets of results (e.g. last night and tonight).

Cells are matched by (environment, adapter, case id). A change of status is a
*regression* (a new divergence, error, crash or timeout: the cell stopped
agreeing), an *improvement* (a fix: it started to agree), otherwise a *status
change*; a cell whose status is unchanged but whose error moved by more than
the drift factor (default 2x, errors below the dtype's floor counting as the
floor) is a *numerics* drift. Claims whose verdict changed are listed too.
The text output groups every change by the framework version change of its
column ("torch 2.12.0 -> 2.13.0"), so a nightly reader sees what each upgrade
did.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from harness.results.read import Merged
from harness.results.record import Result

from .cells import as_number, cell_text

KINDS = ("regression", "improvement", "status", "numerics", "added", "removed")
DRIFT = 2.0


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
    #: (env, adapter, claim id, old verdict, new verdict, version change)
    claim_changes: list[tuple[str, str, str, str, str, str]] = field(default_factory=list)
    drift: float = DRIFT

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


def drifted(o: Result, n: Result, factor: float = DRIFT) -> bool:
    """Whether a cell's error moved by more than ``factor`` (either way), errors
    below the dtype's floor counting as the floor."""
    mo, mn = o.metrics, n.metrics
    floors = [f for f in (as_number(mo.floor), as_number(mn.floor)) if not math.isnan(f)]
    floor = max(floors) if floors else 0.0
    a, b = as_number(mo.max_abs), as_number(mn.max_abs)
    if math.isnan(a) and math.isnan(b):
        return False
    if math.isnan(a) or math.isnan(b):
        return True
    a, b = max(a, floor), max(b, floor)
    if a == b:
        return False
    if a == 0 or b == 0 or math.isinf(a) or math.isinf(b):
        return True
    return max(a, b) / min(a, b) > factor


def diff(old: Merged, new: Merged, drift: float = DRIFT) -> Diff:
    d = Diff(drift=drift)
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
        elif o.status in ("agree", "diverge") and drifted(o, n, drift):
            d.changes.append(Change("numerics", key, o, n, vc))
        else:
            d.unchanged += 1
    d.changes.sort(key=lambda c: (KINDS.index(c.kind), c.key))
    for key in sorted(set(old.claims) | set(new.claims)):
        o, n = old.claims.get(key), new.claims.get(key)
        ov, nv = (o.verdict if o else "absent"), (n.verdict if n else "absent")
        if ov != nv:
            d.claim_changes.append((key[0], key[1], key[2], ov, nv, d.version_changes.get(f"{key[1]}@{key[0]}", "")))
    return d


def format_text(d: Diff, old_label: str, new_label: str) -> str:
    """Changes grouped by the framework version change of their column, then by kind."""
    lines = [f"normconf diff: {old_label} -> {new_label}"]
    titles = {"regression": "new divergences/errors (stopped agreeing)", "improvement": "fixes (now agree)",
              "status": "other status changes", "numerics": f"error drifted beyond {d.drift:g}x (same status)",
              "added": "added cells", "removed": "removed cells"}
    groups: dict[str, list[Change]] = {}
    for c in d.changes:
        groups.setdefault(c.versions, []).append(c)
    claim_groups: dict[str, list] = {}
    for cc in d.claim_changes:
        claim_groups.setdefault(cc[5], []).append(cc)
    for vc in sorted(set(groups) | set(claim_groups), key=lambda v: (v == "", v)):
        items = groups.get(vc, [])
        cols = sorted({c.column for c in items} | {f"{cc[1]}@{cc[0]}" for cc in claim_groups.get(vc, [])})
        head = f"with {vc}" if vc else "with no framework version change"
        counts = ", ".join(f"{len([c for c in items if c.kind == k])} {k}" for k in KINDS
                           if any(c.kind == k for c in items))
        lines.append(f"{head} ({', '.join(cols)}): {counts or 'claims only'}")
        for kind in KINDS:
            sub = [c for c in items if c.kind == kind]
            if not sub:
                continue
            lines.append(f"  {titles[kind]}: {len(sub)}")
            for c in sub:
                lines.append(f"    {c.case_id} [{c.column}]: {c.describe(c.old)} -> {c.describe(c.new)}")
        for env, adapter, cid, ov, nv, _ in claim_groups.get(vc, []):
            lines.append(f"  claim {cid} [{adapter}@{env}]: {ov} -> {nv}")
    lines.append(f"unchanged: {d.unchanged}")
    return "\n".join(lines)
