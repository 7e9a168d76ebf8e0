"""Differences between two sets of results (e.g. last night and tonight, or a moving environment and the
pinned one it follows).

Cells are matched by (environment, adapter, case id). With environment pairs (``normconf diff
--pair OLD_ENV=NEW_ENV``, or OLD and NEW each holding one environment under different names) only the
paired environments are compared, OLD's records of each under the NEW environment's name, so cells
match by adapter and case id: ``current`` against ``latest`` shows what a new release changed.
:func:`against_followed` compares each moving environment of one run (``latest``, ``nightly``) with
the pinned environments it follows (:data:`FOLLOWS`), adapter by adapter.

A change of status is a *regression* (a new divergence, error, crash or timeout: the cell stopped
agreeing), an *improvement* (a fix: it started to agree), otherwise a *status change*; a cell whose
status is unchanged but whose error moved by more than the drift factor (default 2x, errors below the
dtype's floor counting as the floor) is a *numerics* drift. Claims whose verdict changed are listed
too. Every change is grouped by the framework version change of its column ("torch 2.12.0 ->
2.13.0", :func:`grouped`), so a nightly reader sees what each upgrade did.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from harness.results.read import Merged
from harness.results.record import Result

from .cells import as_number, cell_text

KINDS = ("regression", "improvement", "status", "numerics", "added", "removed")
#: how each kind reads in a count ("2 new divergences")
WORDS = {"regression": ("new divergence", "new divergences"), "improvement": ("fix", "fixes"),
         "status": ("other status change", "other status changes"), "numerics": ("error drift", "error drifts"),
         "added": ("added cell", "added cells"), "removed": ("removed cell", "removed cells")}
DRIFT = 2.0
#: the moving environments of a nightly and the pinned environments they follow, first match first: a
#: moving environment's column is compared with the same adapter in the first of these that has it.
#: The shipped cases/expectations/environments.yaml says the same; ``normconf report`` passes that
#: file's map, this is the default for callers that have none.
FOLLOWS = {"latest": ("current", "legacy"), "nightly": ("current", "legacy")}


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
    #: (old environment, new environment) when environments were paired; () when matched by name
    pairs: tuple[tuple[str, str], ...] = ()

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


def only(m: Merged, envs) -> Merged:
    """The records of these environments."""
    envs = set(envs)
    return Merged({e: h for e, h in m.headers.items() if e in envs},
                  {k: v for k, v in m.adapters.items() if k[0] in envs},
                  {k: r for k, r in m.results.items() if k[0] in envs}, m.problems,
                  {k: c for k, c in m.claims.items() if k[0] in envs})


def renamed(m: Merged, pairs) -> Merged:
    """The records of each pair's first environment under the second's name (only those): an environment
    paired with several is copied under each."""
    headers, adapters, results, claims = {}, {}, {}, {}
    for old_env, new_env in pairs:
        if old_env in m.headers:
            headers[new_env] = m.headers[old_env]
        adapters.update({(new_env, a): v for (e, a), v in m.adapters.items() if e == old_env})
        results.update({(new_env, a, c): r for (e, a, c), r in m.results.items() if e == old_env})
        claims.update({(new_env, a, c): r for (e, a, c), r in m.claims.items() if e == old_env})
    return Merged(headers, adapters, results, m.problems, claims)


def envs_of(m: Merged) -> list[str]:
    """The environments that have cells or claims, sorted."""
    return sorted({k[0] for k in m.results} | {k[0] for k in m.claims})


def pairing(old: Merged, new: Merged, pairs=None) -> list[tuple[str, str]]:
    """The environment pairs a diff compares: ``pairs`` as given, else one pair when each side holds one
    environment and the names differ, else none (environments match by name). Raises ValueError
    ("OLD=NEW: ...") for a pair naming an environment that its side does not hold."""
    o, n = envs_of(old), envs_of(new)
    if pairs:
        for a, b in pairs:
            if a not in o:
                raise ValueError(f"{a}={b}: OLD has no environment {a!r} (it has: {', '.join(o) or 'none'})")
            if b not in n:
                raise ValueError(f"{a}={b}: NEW has no environment {b!r} (it has: {', '.join(n) or 'none'})")
        return list(pairs)
    if len(o) == 1 and len(n) == 1 and o != n:
        return [(o[0], n[0])]
    return []


def against_followed(m: Merged, follows=None, drift: float = DRIFT) -> Diff | None:
    """Each moving environment of ``m`` against the pinned environments it follows (:data:`FOLLOWS`):
    every column of a moving environment is compared with the same adapter in the first pinned
    environment that has it, cell by cell by case id. None when ``m`` holds no such pair."""
    follows = FOLLOWS if follows is None else follows
    envs = set(envs_of(m))
    cols = {(e, a) for e, a, _ in m.results} | {(e, a) for e, a, _ in m.claims}
    source: dict[tuple[str, str], str] = {}  # (moving env, adapter) -> the pinned env it is compared with
    for env in sorted(envs):
        for adapter in sorted(a for e, a in cols if e == env):
            pinned = next((p for p in follows.get(env, ()) if (p, adapter) in cols), None)
            if pinned is not None:
                source[(env, adapter)] = pinned
    if not source:
        return None
    headers, adapters, results, claims = {}, {}, {}, {}
    for (env, adapter), pinned in source.items():
        if pinned in m.headers:
            headers[env] = m.headers[pinned]
        if (pinned, adapter) in m.adapters:
            adapters[(env, adapter)] = m.adapters[(pinned, adapter)]
        results.update({(env, a, c): r for (e, a, c), r in m.results.items() if e == pinned and a == adapter})
        claims.update({(env, a, c): r for (e, a, c), r in m.claims.items() if e == pinned and a == adapter})
    old = Merged(headers, adapters, results, m.problems, claims)
    moving = {env for env, _ in source}
    new = only(m, moving)
    new = Merged(new.headers, {k: v for k, v in new.adapters.items() if k in source},
                 {k: r for k, r in new.results.items() if k[:2] in source}, m.problems,
                 {k: c for k, c in new.claims.items() if k[:2] in source})
    d = diff(old, new, drift)
    d.pairs = tuple(sorted({(p, env) for (env, _), p in source.items()}))
    return d


def diff(old: Merged, new: Merged, drift: float = DRIFT, pairs=None) -> Diff:
    """What changed from ``old`` to ``new``. With ``pairs`` [(old env, new env), ...] only those
    environments are compared, ``old``'s records under the new environment's name."""
    if pairs:
        old, new = renamed(old, pairs), only(new, {b for _, b in pairs})
    d = Diff(drift=drift, pairs=tuple(pairs or ()))
    cols = {(k[0], k[1]) for k in old.results} | {(k[0], k[1]) for k in new.results}
    for env, adapter in sorted(cols):
        ov = _versions(old, env, adapter, [r for k, r in old.results.items() if k[:2] == (env, adapter)])
        nv = _versions(new, env, adapter, [r for k, r in new.results.items() if k[:2] == (env, adapter)])
        ch = _version_change(ov, nv)  # a column on one side only: "keras - -> 2.23.0"
        if ch:
            d.version_changes[f"{adapter}@{env}"] = ch
    for key in sorted(set(old.results) | set(new.results)):
        o, n = _present(old.results.get(key)), _present(new.results.get(key))
        if o is None and n is None:
            continue  # a column whose framework is on neither side
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
        o, n = _present(old.claims.get(key)), _present(new.claims.get(key))
        ov, nv = (o.verdict if o else "absent"), (n.verdict if n else "absent")
        if ov != nv:
            d.claim_changes.append((key[0], key[1], key[2], ov, nv, d.version_changes.get(f"{key[1]}@{key[0]}", "")))
    return d


def _present(r):
    """A record, or None when its column's framework is not in that environment at all (not installed,
    not available: ``absent``): such a column appears or goes, it does not get fixed or broken."""
    return None if r is None or getattr(r, "absent", "") else r


@dataclass
class Group:
    """The changes of the columns that share one framework version change (in one environment, for the
    page; across environments, for the text)."""
    env: str  # "" when grouped across environments
    versions: str  # "torch 2.12.0 -> 2.13.0", or "" for no version change
    changes: list[Change] = field(default_factory=list)
    #: (env, adapter, claim id, old verdict, new verdict, version change)
    claims: list[tuple[str, str, str, str, str, str]] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return sorted({c.column for c in self.changes} | {f"{cc[1]}@{cc[0]}" for cc in self.claims})

    def count(self, kind: str) -> int:
        return sum(1 for c in self.changes if c.kind == kind)

    @property
    def counts_text(self) -> str:
        """"2 new divergences, 1 fix, 1 claim verdict change"."""
        return counts_text({k: self.count(k) for k in KINDS}, self.claims)


def counts_text(counts: dict[str, int], claim_changes=()) -> str:
    """Counts of changes in words, kinds without any left out ('' when there is none); a claim
    measured on one side only counts as added or removed, not as a verdict change."""
    parts = [f"{n} {WORDS[k][n != 1]}" for k, n in counts.items() if n]
    added = sum(1 for cc in claim_changes if cc[3] == "absent")
    removed = sum(1 for cc in claim_changes if cc[4] == "absent")
    changed = len(claim_changes) - added - removed
    for n, what in ((changed, "claim verdict change"), (added, "added claim"), (removed, "removed claim")):
        if n:
            parts.append(f"{n} {what}{'s' if n != 1 else ''}")
    return ", ".join(parts)


def grouped(d: Diff, by_env: bool = False) -> list[Group]:
    """The changes grouped by the framework version change of their column (and, ``by_env``, their
    environment): groups with version changes first, most regressions first, then most changes."""
    groups: dict[tuple[str, str], Group] = {}
    for c in d.changes:
        key = (c.key[0] if by_env else "", c.versions)
        groups.setdefault(key, Group(*key)).changes.append(c)
    for cc in d.claim_changes:
        key = (cc[0] if by_env else "", cc[5])
        groups.setdefault(key, Group(*key)).claims.append(cc)
    return sorted(groups.values(), key=lambda g: (g.versions == "", -g.count("regression"),
                                                  -(len(g.changes) + len(g.claims)), g.env, g.versions))


def pairs_text(pairs) -> str:
    """"current -> latest, current -> nightly": the environments a diff paired ('' when none)."""
    return ", ".join(f"{a} -> {b}" for a, b in pairs)


def format_text(d: Diff, old_label: str, new_label: str) -> str:
    """Changes grouped by the framework version change of their column, then by kind."""
    lines = [f"normconf diff: {old_label} -> {new_label}" + (
        f" (environments paired, cells matched by adapter and case id: {pairs_text(d.pairs)})" if d.pairs else "")]
    titles = {"regression": "new divergences/errors (stopped agreeing)", "improvement": "fixes (now agree)",
              "status": "other status changes", "numerics": f"error drifted beyond {d.drift:g}x (same status)",
              "added": "added cells", "removed": "removed cells"}
    for g in sorted(grouped(d), key=lambda g: (g.versions == "", g.versions)):
        head = f"with {g.versions}" if g.versions else "with no framework version change"
        counts = ", ".join(f"{g.count(k)} {k}" for k in KINDS if g.count(k))
        lines.append(f"{head} ({', '.join(g.columns)}): {counts or 'claims only'}")
        for kind in KINDS:
            sub = [c for c in g.changes if c.kind == kind]
            if not sub:
                continue
            lines.append(f"  {titles[kind]}: {len(sub)}")
            for c in sub:
                lines.append(f"    {c.case_id} [{c.column}]: {c.describe(c.old)} -> {c.describe(c.new)}")
        for env, adapter, cid, ov, nv, _ in g.claims:
            lines.append(f"  claim {cid} [{adapter}@{env}]: {ov} -> {nv}")
    changed_columns = {c.column for c in d.changes} | {f"{cc[1]}@{cc[0]}" for cc in d.claim_changes}
    quiet: dict[str, list[str]] = {}  # a version change that changed no cell is an answer too
    for column, versions in sorted(d.version_changes.items()):
        if column not in changed_columns:
            quiet.setdefault(versions, []).append(column)
    for versions, columns in sorted(quiet.items()):
        lines.append(f"with {versions} ({', '.join(columns)}): no change")
    lines.append(f"unchanged: {d.unchanged}")
    return "\n".join(lines)
