"""The porting view's page data: what the page needs to compare any two columns case by case.

The relation of two cells (:mod:`harness.compare.relation`) needs only their statuses, which the matrix
rows carry, and, where both diverge, what the fingerprint and the root cause say of each: the page gets
that per diverging cell (``sides``) and works out any pair's relations itself, in the same order of
rules. The separating conditions (:func:`harness.compare.separation_of`) are worked out here, per pair
of columns over every op and per op where the pair differs, within a budget of about
:data:`CONDITION_BUDGET` case passes (the table of literals over every case counts as eight; pairs of
different frameworks in one environment first, then pairs across environments, then pairs of one
framework; identical pairs of case sets are worked out once): past it a pair carries none and the page names the ``normconf compare`` command that finds them.
Every column's documented defaults per op are carried too; the page sets them side by side.
"""
from __future__ import annotations

from harness.compare import DIFFERING, RELATIONS, ColumnIndex, compare, separation_of
from harness.compare.relation import side_of

from . import model

#: case passes (cases x separations) the page spends on separating conditions
CONDITION_BUDGET = 60_000


def _pair_order(cols):
    pairs = [(i, j) for i in range(len(cols)) for j in range(i + 1, len(cols))]
    return sorted(pairs, key=lambda p: (cols[p[0]].framework == cols[p[1]].framework,
                                        cols[p[0]].env != cols[p[1]].env, p))


def defaults_data(defaults, adapters) -> dict:
    """adapter -> op -> {"api", "where", "facts": {fact: Fact.to_json()}} for the adapters given."""
    out: dict = {}
    if defaults is None:
        return out
    for entry in defaults.entries:
        for a in entry.adapters:
            if a in adapters:
                out.setdefault(a, {})[entry.op] = {
                    "api": entry.api, "where": entry.where,
                    "facts": {k: f.to_json() for k, f in entry.facts}}
    return out


def build(merged, matrix: model.Matrix, cause_of=None, defaults=None) -> dict:
    """The porting view's data (see the module docstring): ``sides`` maps "row,column" of a diverging
    cell to [indices of the semantics its fingerprint matches, the number of its outputs that are all
    NaN, its declared root cause or ""]; ``cond`` maps "i-j" (column indices, i < j) to {"*" or op:
    [condition texts]} or to null when past the budget; ``defaults`` as :func:`defaults_data`."""
    index = ColumnIndex(merged)
    row_of = {row.case_id: row.index for row in matrix.rows}
    col_of = {c.key: c.index for c in matrix.columns}
    cols = [c for c in index.columns if c.key in col_of]
    semantics: dict[str, int] = {}
    sides: dict[str, list] = {}
    for col in cols:
        ci = col_of[col.key]
        for cid, r in col.records.items():
            if r.status != "diverge" or cid not in row_of:
                continue
            s = side_of(col.key, r, cause_of)
            sides[f"{row_of[cid]},{ci}"] = [[semantics.setdefault(m, len(semantics)) for m in s.matches],
                                            s.all_nan, s.cause]
    cond: dict[str, dict | None] = {}
    budget = CONDITION_BUDGET
    n_cases = max(1, len(index.cases))
    memo: dict[tuple, list[str]] = {}
    budget -= 8 * n_cases  # the table of literals over every case, built on the first separation
    for i, j in _pair_order(cols):
        a, b = cols[i], cols[j]
        x, y = sorted((col_of[a.key], col_of[b.key]))
        if budget < n_cases:
            cond[f"{x}-{y}"] = None
            continue
        c = compare(index, a, b, None, cause_of, conditions=False)
        budget -= n_cases // 8  # the pairing itself
        if not c.D:
            continue
        op_names = sorted({str(p.case.get("op")) for p in c.differing})
        out = {}
        for op in [None, *op_names]:
            mask = index.op_mask(op) if op else -1
            key = (c.D & mask, c.S & mask)
            if key not in memo:
                budget -= n_cases
                memo[key] = separation_of(index, c, op).texts()
            out[op or "*"] = memo[key]
        cond[f"{x}-{y}"] = out
    return {"rel": list(RELATIONS), "differing": list(DIFFERING), "sides": sides, "cond": cond,
            "defaults": defaults_data(defaults, {c.adapter for c in cols})}
