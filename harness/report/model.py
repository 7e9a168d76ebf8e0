"""The report's data model: merged results arranged as a matrix.

Rows are cases (grouped by op, then case file), columns are (adapter,
environment) pairs. Rendering only reads this model.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from ..adapters import BUILTIN
from ..results import Merged, Result, framework_absent

OP_ORDER = ("batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm")
DISAGREE = ("diverge", "error", "crash", "timeout")
STATUS_ORDER = ("agree", "diverge", "error", "crash", "timeout", "unsupported", "skipped", "missing")
_ADAPTER_ORDER = {s.name: i for i, s in enumerate(BUILTIN)}
_ENV_ORDER = {"current": 0, "legacy": 1}


@dataclass
class Column:
    index: int
    adapter: str
    env: str
    versions: dict

    @property
    def key(self) -> str:
        return f"{self.adapter}@{self.env}"


@dataclass
class Cell:
    result: Result | None
    word: str
    number: str
    value: float  # sort key: larger is worse

    @property
    def status(self) -> str:
        return self.result.status if self.result else "missing"

    @property
    def text(self) -> str:
        return f"{self.word} {self.number}" if self.number else self.word


@dataclass
class Row:
    index: int
    case_id: str
    case: dict
    cells: list[Cell]
    disagrees: bool = False
    odd: int | None = None  # index of the one column that disagrees with all others


@dataclass
class Group:
    op: str
    file: str
    rows: list[Row] = field(default_factory=list)


@dataclass
class BoxStats:
    column: Column
    n: int
    lo: float
    q1: float
    med: float
    q3: float
    hi: float
    n_inf: int
    n_diverge: int


@dataclass
class Matrix:
    columns: list[Column]
    groups: list[Group]
    summary: dict[str, dict[int, Counter]]  # op -> column index -> status counts
    charts: dict[str, list[BoxStats]]  # op -> per-column error distribution (ULP)
    ops: list[str]
    dtypes: list[str]
    statuses: list[str]

    @property
    def rows(self):
        for g in self.groups:
            yield from g.rows


def _num(v):
    """A metric as a float ("inf"/"nan" are how results files spell them); nan if it is not a number."""
    try:
        return float(v) if v is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def cell_text(r: Result | None) -> tuple[str, str, float]:
    """A word and a number for every cell (never colour alone), and a sort value."""
    if r is None:
        return "missing", "", -2.0
    m = r.metrics or {}
    if r.status == "agree":
        u = _num(m.get("max_ulp", 0))
        return "agree", f"{u:.0f} ulp", u
    if r.status == "diverge":
        if m.get("shape_mismatch"):
            return "diverge", "shape", math.inf
        v = _num(m.get("max_abs"))
        return "diverge", (f"{v:.3g}" if math.isfinite(v) else str(v)), 1e300 if not math.isfinite(v) else 1e12 + v
    if r.status == "error":
        return "error", (r.message.split(":", 1)[0][:40] if r.message else ""), 1e305
    if r.status == "unsupported":
        return "n/a", "", -1.0
    return r.status, "", 1e306


def _unavailable(results: list[Result]) -> bool:
    return all(framework_absent(r.status, r.message) for r in results)


def _quantile(sorted_vals, q):
    if not sorted_vals:
        return math.nan
    i = (len(sorted_vals) - 1) * q
    lo, hi = math.floor(i), math.ceil(i)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (i - lo)


def build(merged: Merged) -> Matrix:
    by_col: dict[tuple[str, str], list[Result]] = {}
    for (env, adapter, _), r in merged.results.items():
        by_col.setdefault((adapter, env), []).append(r)
    keys = sorted((k for k, rs in by_col.items() if not _unavailable(rs)),
                  key=lambda k: (_ADAPTER_ORDER.get(k[0], 999), k[0], _ENV_ORDER.get(k[1], 9), k[1]))
    cols = [Column(i, a, e, merged.adapters.get((e, a)) or _versions_from(by_col[(a, e)]))
            for i, (a, e) in enumerate(keys)]
    cases: dict[str, dict] = {}
    for r in merged.results.values():
        cases.setdefault(r.case_id, r.case)

    def order(cid):
        c = cases[cid]
        op = c.get("op")
        return (OP_ORDER.index(op) if op in OP_ORDER else 99, c.get("file", ""), c.get("line", 0), cid)

    groups: dict[tuple[str, str], Group] = {}
    summary: dict[str, dict[int, Counter]] = {}
    errors: dict[str, dict[int, list[float]]] = {}
    diverging: dict[str, Counter] = {}
    n = 0
    for cid in sorted(cases, key=order):
        case = cases[cid]
        op = case.get("op", "?")
        g = groups.setdefault((op, case.get("file", "?")), Group(op, case.get("file", "?")))
        cells = []
        for col in cols:
            r = merged.results.get((col.env, col.adapter, cid))
            cells.append(Cell(r, *cell_text(r)))
            st = r.status if r else "missing"
            per_op = summary.get(op)
            if per_op is None:
                per_op = summary[op] = {c.index: Counter() for c in cols}
            per_op[col.index][st] += 1
            if r and r.status in ("agree", "diverge") and not (r.metrics or {}).get("shape_mismatch"):
                errors.setdefault(op, {}).setdefault(col.index, []).append(_num(r.metrics.get("max_ulp")))
                if r.status == "diverge":
                    diverging.setdefault(op, Counter())[col.index] += 1
        row = Row(n, cid, case, cells)
        n += 1
        bad = [i for i, c in enumerate(cells) if c.status in DISAGREE]
        good = [i for i, c in enumerate(cells) if c.status == "agree"]
        row.disagrees = bool(bad)
        if len(bad) == 1 and len(good) >= 2:
            row.odd = bad[0]
        g.rows.append(row)

    charts: dict[str, list[BoxStats]] = {}
    for op, per_col in errors.items():
        stats = []
        for col in cols:
            vals = per_col.get(col.index)
            if not vals:
                continue
            finite = sorted(v for v in vals if math.isfinite(v))
            n_inf = len(vals) - len(finite)
            if not finite:
                finite = [math.nan]
            stats.append(BoxStats(col, len(vals), finite[0], _quantile(finite, .25), _quantile(finite, .5),
                                  _quantile(finite, .75), finite[-1], n_inf, diverging.get(op, Counter())[col.index]))
        charts[op] = stats
    ops = [op for op in OP_ORDER if op in summary] + sorted(op for op in summary if op not in OP_ORDER)
    dtypes = sorted({c.get("dtype", "?") for c in cases.values()})
    statuses = [s for s in STATUS_ORDER if any(s in cnt for per in summary.values() for cnt in per.values())]
    return Matrix(cols, list(groups.values()), summary, charts, ops, dtypes, statuses)


def _versions_from(results: list[Result]) -> dict:
    for r in results:
        if r.versions:
            return r.versions
    return {}
