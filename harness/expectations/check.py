"""``normconf expectations check``: judge results files against the expectations files as they are now.

Every record is given the outcome a run would give it today; the command prints one line per unexpected
or fixed record (an unexpected pass, with the versions it passed with) and per stale entry (an entry that matches no record of the environments read), then a count.
Exit 0 when everything is as expected, 1 when a record is unexpected, 2 when an expectations file is
broken (or, with ``strict``, an entry is stale).
"""
from __future__ import annotations

import json
import sys

from harness.results.read import read_many
from harness.text.inert import printable

from .grouping import group_by_cause
from .outcomes import Expectations, why_unexpected


def check(paths, expectation_files, *, strict: bool = False, relative_to=None) -> int:
    """Print the unexpected records of ``paths`` and the stale entries; return the exit status."""
    exp = Expectations.load(expectation_files, relative_to=relative_to)
    for e in exp.errors:
        print(f"normconf: {printable(e)}", file=sys.stderr)
    if exp.errors:
        return 2
    merged = read_many(paths)
    for p in merged.problems:
        print(f"normconf: warning: {printable(p)}", file=sys.stderr)
    bad, n = [], 0
    for r in sorted(merged.results.values(), key=lambda r: (r.env, r.case_id, r.adapter)):
        n += 1
        exp.judge(r)
        if r.outcome in ("unexpected", "fixed"):
            bad.append((r.outcome, f"{r.case_id} [{r.adapter}@{r.env}]: {why_unexpected(r)}"))
    for c in sorted(merged.claims.values(), key=lambda c: (c.env, c.claim_id, c.adapter)):
        n += 1
        exp.judge(c)
        if c.outcome in ("unexpected", "fixed"):
            bad.append((c.outcome, f"claim {c.claim_id} [{c.adapter}@{c.env}]: {why_unexpected(c)}"))
    for kind, line in bad:
        print(f"{kind}: {printable(line)}")
    envs = {r.env for r in merged.results.values()} | {c.env for c in merged.claims.values()}
    stale = [e for e in exp.stale() if not e.env or e.env in envs]
    for e in stale:
        print(f"{'error' if strict else 'warning'}: stale expectation {e.where}: {printable(e.names)} "
              "matches no record")
    fixed = sum(kind == "fixed" for kind, _ in bad)
    print(f"normconf: {n} records, {len(bad)} unexpected" + (f" ({fixed} of them fixed)" if fixed else "")
          + f", {len(stale)} stale expectation(s)")
    if stale and strict:
        return 2
    return 1 if bad else 0


def list_causes(paths, expectation_files, *, framework_of=None, as_json: bool = False, relative_to=None) -> int:
    """Print every root cause (with the records of ``paths`` it explains, when given), then the groups of
    records no cause explains. Exit 0; 1 when a non-agreeing record has no cause; 2 when an expectations
    file is broken."""
    exp = Expectations.load(expectation_files, relative_to=relative_to)
    for e in exp.errors:
        print(f"normconf: {printable(e)}", file=sys.stderr)
    if exp.errors:
        return 2
    groups = []
    if paths:
        merged = read_many(paths)
        for p in merged.problems:
            print(f"normconf: warning: {printable(p)}", file=sys.stderr)
        groups = group_by_cause(merged, exp, framework_of)
    by_id = {g.key: g for g in groups}
    unclassified = [g for g in groups if g.cause is None]
    if as_json:
        out = []
        for c in sorted(exp.causes.values(), key=lambda c: c.id):
            g = by_id.get(c.id)
            out.append(c.to_dict() | {"cells": len(g.cells) if g else 0, "claims": len(g.claims) if g else 0,
                                      "adapters": g.adapters if g else [], "envs": g.envs if g else []})
        out += [{"id": g.key, "classification": "", "cells": len(g.cells), "claims": len(g.claims),
                 "adapters": g.adapters, "envs": g.envs} for g in unclassified]
        print(json.dumps(out, indent=1, ensure_ascii=False))
    else:
        for c in sorted(exp.causes.values(), key=lambda c: (c.repository, c.id)):
            g = by_id.get(c.id)
            print(f"{printable(c.id)}  [{c.classification_text}]  {printable(c.repository or 'normconf')}  "
                  f"upstream: {printable(c.upstream_text())}")
            print(f"  {printable(c.name)}: {printable(c.mechanism)}")
            if c.affects:
                print(f"  affects: {printable(c.affects_text())}")
            if paths:
                seen = (f"{len(g.cells)} cell(s), {len(g.claims)} claim(s) in {', '.join(g.envs)} "
                        f"({', '.join(g.adapters)})") if g else "no record of the results read"
                print(f"  {printable(seen)}")
        for g in unclassified:
            print(f"{printable(g.key)}")
            print(f"  {len(g.cells)} cell(s), {len(g.claims)} claim(s) in {', '.join(g.envs)} "
                  f"({printable(', '.join(g.adapters))}): no root cause explains them")
    n_records = sum(len(g.records) for g in groups)
    print(f"normconf: {len(exp.causes)} root cause(s)"
          + (f"; {n_records} non-agreeing record(s): {n_records - sum(len(g.records) for g in unclassified)} "
             f"explained, {sum(len(g.records) for g in unclassified)} in {len(unclassified)} unclassified "
             "group(s)" if paths else ""), file=sys.stderr)
    return 1 if unclassified else 0
