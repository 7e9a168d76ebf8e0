"""What a root cause explains in a set of results, the cell that shows it best, and the same input on the
framework's other APIs; and the grouping of unexpected cells by what they have in common.

A record's cause is found by judging it again with the expectations as they are now
(:meth:`harness.expectations.Expectations.entry_for`): the entry that covers it, when it expects the
record's status (verdict), names the cause. Results files written before entries named causes work too.
"""
from __future__ import annotations

import importlib.util
import math
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata

from harness import ops
from harness.adapters import registry
from harness.expectations.grouping import cause_for
from harness.results.record import ClaimResult, Result

from .public import api_rank, framework_of
from .shrink import explanation, informative, masked, signature

#: statuses a representative cell may have, best first (a crash or timeout makes a poor script)
SHOWABLE = ("diverge", "error", "crash")


@dataclass
class Explained:
    """The records of results that one cause explains."""
    cause: object  # harness.expectations.causes.Cause
    cells: list[Result] = field(default_factory=list)
    claims: list[ClaimResult] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.cells or self.claims)


def explained_by(merged, expectations) -> dict[str, Explained]:
    """cause id -> what it explains among ``merged``'s records (every declared cause, explained or not)."""
    out = {cid: Explained(c) for cid, c in expectations.causes.items()}
    for r in merged.results.values():
        c = None if r.status in ("agree", "unsupported", "skipped") else cause_for(expectations, r)
        if c is not None:
            out[c.id].cells.append(r)
    for r in merged.claims.values():
        c = None if r.verdict in ("holds", "unsupported") else cause_for(expectations, r)
        if c is not None:
            out[c.id].claims.append(r)
    for ex in out.values():
        ex.cells.sort(key=lambda r: (r.env, r.adapter, r.case_id))
        ex.claims.sort(key=lambda r: (r.env, r.adapter, r.claim_id))
    return out


# --- where a cell can run ------------------------------------------------------------------------------

def runnable_here(adapter: str) -> bool:
    """Whether the adapter's framework modules are importable by this interpreter (nothing is imported)."""
    spec = registry().get(adapter)
    if spec is None:
        return False
    try:
        return all(importlib.util.find_spec(m) is not None for m in spec.requires)
    except (ImportError, ValueError):
        return False


def installed_matches(record) -> int:
    """1 when every package version of the record that names an installed distribution is the version
    installed here (and there is one), else 0."""
    seen = False
    for k, v in (record.versions or {}).items():
        try:
            have = metadata.version(k)
        except (metadata.PackageNotFoundError, ValueError):
            continue  # not a package (a backend, an opset), or not installed here
        if have != str(v):
            return 0
        seen = True
    return int(seen)


# --- the representative cell --------------------------------------------------------------------------

def elements(record) -> int:
    """The number of input values of a record's case (x, and every training batch)."""
    d = record.case or {}
    n = math.prod((d.get("shape") or {}).values() or [1])
    if d.get("check") == "running_stats":
        n *= 1 + int(d.get("steps") or 0)
    return int(n)


def _check(record) -> str:
    return (record.case or {}).get("check") or "forward"


def _shape(record) -> str:
    d = record.case or {}
    return "x".join(f"{a}{n}" for a, n in (d.get("shape") or {}).items())


@dataclass
class Choice:
    record: Result | ClaimResult | None
    how: str


def choose(cells, runnable=runnable_here, matches=installed_matches, cause=None) -> Choice:
    """The cell that shows a cause best, and how it was chosen: cells whose framework runs here, forward
    cells over training checks where the cause shows there, the versions installed here, the call of the
    cause's first API that any cell makes (``cause.affects``; the recorded call says which), the dtype and
    diagnosis most of them share (one that names a cause over a generic one), then the smallest input (the largest
    ratio and the id break ties)."""
    pool = [r for r in cells if r.status in SHOWABLE]
    if not pool:
        return Choice(None, f"none of its {len(cells)} configuration(s) diverges or raises")
    best_status = min(SHOWABLE.index(r.status) for r in pool)
    pool = [r for r in pool if SHOWABLE.index(r.status) == best_status]
    here = [r for r in pool if runnable(r.adapter)]
    if not here:
        where = sorted({f"{r.adapter} ({r.env})" for r in pool})
        return Choice(None, "its cells ran where this interpreter cannot run them: " + ", ".join(where[:6]))
    how = [f"chosen from {len(cells)} configuration(s) that show it"]
    if len(here) < len(pool):
        how.append(f"{len(here)} of them run here")
    fwd = [r for r in here if _check(r) == "forward"]
    if fwd and len(fwd) < len(here):
        how.append(f"the forward pass first ({len(fwd)})")
        here = fwd
    elif not fwd:
        how.append(f"no forward pass shows it: {_check(here[0]).replace('_', ' ')} ones")
    top = max(matches(r) for r in here)
    if top and any(matches(r) < top for r in here):
        here = [r for r in here if matches(r) == top]
        how.append(f"the versions installed here ({len(here)})")
    if cause is not None:
        ranks = {id(r): api_rank(cause, r.snippet) for r in here}
        top = min(ranks.values())
        apis = [a for x in cause.affects for a in x.apis]
        if top < len(apis) and any(v > top for v in ranks.values()):
            here = [r for r in here if ranks[id(r)] == top]
            how.append(f"calls of {apis[top]} ({len(here)})")
    def kind(r):
        return (signature(r), (r.case or {}).get("dtype", ""))

    groups = Counter(kind(r) for r in here)
    named = {k for k in groups if any(informative(r) for r in here if kind(r) == k)}
    key = max(groups, key=lambda k: (k in named, groups[k]))
    here = [r for r in here if kind(r) == key]
    if len(groups) > 1:
        how.append(f"the dtype ({key[1]}) and diagnosis most of them share ({len(here)})")
    rec = min(here, key=lambda r: (elements(r), -(r.metrics.ratio or 0.0), r.case_id, r.adapter, r.env))
    how.append(f"the smallest input among those ({_shape(rec)}, {elements(rec)} values)")
    return Choice(rec, "; ".join(how))


#: claim verdicts a representative may have, best first (stale: the quote is gone, the behaviour measured still)
_CLAIM_ORDER = ("fails", "holds only when", "stale")


def choose_claim(claims, runnable=runnable_here, matches=installed_matches, cause=None) -> Choice:
    """The claim record that shows a cause best: one whose framework runs here, with the versions installed
    here, about the cause's first API that any claim names, that fails outright over one that holds only
    under conditions over one whose quote is gone (the id breaks ties)."""
    pool = [r for r in claims if r.verdict in _CLAIM_ORDER]
    if not pool:
        return Choice(None, "none of its claims was measured to fail (verdicts: "
                            + ", ".join(sorted({r.verdict for r in claims})) + ")")
    here = [r for r in pool if runnable(r.adapter)]
    if not here:
        where = sorted({f"{r.adapter} ({r.env})" for r in pool})
        return Choice(None, "its claims ran where this interpreter cannot run them: " + ", ".join(where[:6]))
    how = [f"chosen from {len(claims)} documentation claim(s) that show it"]
    top = max(matches(r) for r in here)
    here = [r for r in here if matches(r) == top]

    def rank(r):
        api = (r.claim or {}).get("api", "")
        return (api_rank(cause, api) if cause is not None else 0, _CLAIM_ORDER.index(r.verdict), r.claim_id,
                r.adapter)

    rec = min(here, key=rank)
    how.append(f"the claim {(rec.claim or {}).get('api', rec.claim_id)!r}, which {rec.verdict}")
    return Choice(rec, "; ".join(how))


# --- the same input elsewhere --------------------------------------------------------------------------

def siblings(merged, record, compare=()) -> list[Result]:
    """The same case on the other adapters of the record's framework and on ``compare``: their records in
    the record's environment, else in any other."""
    fw = framework_of(record.adapter)
    names = [a for a in registry() if framework_of(a) == fw and a != record.adapter]
    names += [a for a in compare if a not in names and a != record.adapter]
    found: dict[str, Result] = {}
    for (env, adapter, cid), r in merged.results.items():
        if cid != record.case_id or adapter not in names or r.status in ("unsupported", "skipped"):
            continue
        old = found.get(adapter)
        if old is None or (env == record.env and old.env != record.env) or (
                (env == record.env) == (old.env == record.env) and r.time > old.time):
            found[adapter] = r
    return [found[a] for a in names if a in found]


# --- where a cause shows -------------------------------------------------------------------------------

def scope(cells) -> list[str]:
    """Lines saying where the cells are: per operator, the dtypes and checks."""
    by_op: dict[str, set] = {}
    for r in cells:
        d = r.case or {}
        op = ops.OPS[d["op"]].title if d.get("op") in ops.OPS else str(d.get("op"))
        by_op.setdefault(op, set()).add((d.get("dtype", ""), d.get("check") or "forward"))
    out = []
    for op, combos in sorted(by_op.items()):
        dtypes = sorted({d for d, _ in combos})
        checks = sorted({c for _, c in combos} - {"forward"})
        out.append(f"{op}: {', '.join(dtypes)}" + (f" (also {', '.join(checks)})" if checks else ""))
    return out


# --- grouping unexpected cells -------------------------------------------------------------------------

def group_key(record) -> tuple:
    """What unexpected cells with one cause share: the framework, and the status with the explanation (an
    error: its type and message) with numbers masked."""
    fw = framework_of(record.adapter)
    if isinstance(record, ClaimResult):
        return (fw, "claim", record.verdict, masked(record.explanation or record.error))
    if record.status == "error":
        return (fw, "error", explanation(record), masked((record.message or "").split("\n", 1)[0][:300]))
    return (fw, record.status, masked(explanation(record)))


def groups(records) -> list[list]:
    """Records grouped by :func:`group_key`, each group smallest input first, groups in first-seen order."""
    out: dict[tuple, list] = {}
    for r in records:
        out.setdefault(group_key(r), []).append(r)
    return [sorted(g, key=lambda r: (elements(r) if isinstance(r, Result) else 0,
                                     getattr(r, "case_id", getattr(r, "claim_id", "")), r.adapter))
            for g in out.values()]

