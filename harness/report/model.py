"""The report's data model: merged results arranged as a matrix.

Rows are cases (grouped by op, then case file), columns are (adapter,
environment) pairs. Rendering only reads this model.
"""
from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass, field

from harness import ops
from harness.adapters import BUILTIN
from harness.results.read import Merged
from harness.results.record import Result
from harness.text import strip_escapes

from .cells import Cell, as_number, cell_text, ulp_meaningful

OP_ORDER = ops.NAMES  # the registry's display order
DISAGREE = ("diverge", "error", "crash", "timeout")
STATUS_ORDER = ("agree", "diverge", "error", "crash", "timeout", "unsupported", "skipped", "missing")
#: one letter per status: the page's CSS classes and row status strings
LETTER = {"agree": "a", "diverge": "d", "error": "e", "crash": "c", "timeout": "t", "unsupported": "u",
          "skipped": "s", "missing": "m"}
_ADAPTER_ORDER = {s.name: i for i, s in enumerate(BUILTIN)}
#: the pinned environments first, then the moving ones (any other name after them, by name)
_ENV_ORDER = {"current": 0, "legacy": 1, "latest": 2, "nightly": 3}


def env_rank(env: str) -> int:
    """Where an environment's columns go: current, legacy, latest, nightly, then the others."""
    return _ENV_ORDER.get(env, 9)

#: the framework each built-in adapter calls (the registry says); the odd-one-out view and the
#: root-cause groups count frameworks, not columns
FRAMEWORKS = {s.name: s.framework for s in BUILTIN if s.framework}


def framework_of(adapter: str) -> str:
    """The framework an adapter calls (a plug-in adapter counts as its name's first word)."""
    return FRAMEWORKS.get(adapter) or adapter.split("-")[0]


@dataclass
class Column:
    index: int
    adapter: str
    env: str
    versions: dict

    @property
    def key(self) -> str:
        return f"{self.adapter}@{self.env}"

    @property
    def framework(self) -> str:
        return framework_of(self.adapter)


@dataclass
class Row:
    index: int
    case_id: str
    case: dict
    cells: list[Cell]
    disagrees: bool = False
    odd: str | None = None  # the one framework that disagrees while the others agree


@dataclass
class Group:
    op: str
    file: str
    rows: list[Row] = field(default_factory=list)


@dataclass
class Cause:
    """Disagreeing cells that share one explanation and one framework."""
    id: str  # stable: a hash of the framework, kind and explanation with numbers blanked
    framework: str
    kind: str  # diverge | error | crash | timeout
    text: str  # the explanation (or message) of the first cell
    cells: list[tuple[int, int]] = field(default_factory=list)  # (row index, column index)
    max_abs: list[float] = field(default_factory=list)
    varies: bool = False  # the numbers in the explanation differ between cells
    #: the declared root cause (harness.expectations.causes.Cause) explaining these cells, if any
    root: object = None


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
    n_near_zero: int = 0  # agreeing cells whose ULP figure is not meaningful (values near zero)


@dataclass
class Matrix:
    columns: list[Column]
    groups: list[Group]
    summary: dict[str, dict[int, Counter]]  # op -> column index -> status counts
    charts: dict[str, list[BoxStats]]  # op -> per-column error distribution (ULP)
    ops: list[str]
    dtypes: list[str]
    statuses: list[str]
    causes: list[Cause] = field(default_factory=list)
    expected: dict[int, Counter] = field(default_factory=dict)  # column -> {"expected": n, "unexpected": n}

    @property
    def rows(self):
        for g in self.groups:
            yield from g.rows


_NUMBER = re.compile(r"(?<![A-Za-z_\d.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def _cause_text(r: Result) -> str:
    if r.status == "diverge":
        text = r.explanation
        if not text and r.metrics.shape_mismatch:
            text = r.metrics.shape_mismatch
        return strip_escapes(str(text or (r.message or "").split("\n", 1)[0] or "no explanation recorded"))
    return strip_escapes(str((r.message or "").split("\n", 1)[0] or r.status))[:300]


def expectation(r: Result) -> bool | None:
    """True when a record says its divergence was expected, False when it says
    unexpected, None when the record carries no expectation at all."""
    outcome = getattr(r, "outcome", "")
    if outcome in ("expected", "unexpected"):
        return outcome == "expected"
    e = getattr(r, "expectation", None)
    if e is None:
        return None
    if isinstance(e, dict):
        v = e.get("expected", e.get("status"))
        if isinstance(v, bool):
            return v
        if isinstance(v, str):
            return v.lower() not in ("", "unexpected", "none", "no")
        return bool(e)
    if isinstance(e, str):
        return e.lower() not in ("", "unexpected", "none", "no")
    return bool(e)


def _unavailable(results: list[Result]) -> bool:
    return all(r.absent for r in results)


def _quantile(sorted_vals, q):
    if not sorted_vals:
        return math.nan
    i = (len(sorted_vals) - 1) * q
    lo, hi = math.floor(i), math.ceil(i)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (i - lo)


def _cause_id(framework: str, status: str, text: str, memo: dict) -> str:
    """A stable id for a root cause: a hash of the framework, kind and explanation with its numbers blanked."""
    key = (framework, status, text)
    cid = memo.get(key)
    if cid is None:
        blanked = f"{framework}\x00{status}\x00{_NUMBER.sub('#', text)}"
        cid = memo[key] = hashlib.sha1(blanked.encode("utf-8", "replace")).hexdigest()[:10]
    return cid


def build(merged: Merged, cause_of=None) -> Matrix:
    """The matrix of ``merged``. ``cause_of(record)``: the declared root cause explaining a disagreeing
    cell (an object with ``id``, ``name``, ``mechanism``, ``classification_text``, ``repository`` and
    ``upstream``), or None; cells of one declared cause form one group, the others are grouped by framework
    and explanation."""
    by_col: dict[tuple[str, str], list[Result]] = {}
    cases: dict[str, dict] = {}
    for (env, adapter, cid), r in merged.results.items():
        rs = by_col.get((adapter, env))
        if rs is None:
            rs = by_col[(adapter, env)] = []
        rs.append(r)
        if cid not in cases:
            cases[cid] = r.case
    keys = sorted((k for k, rs in by_col.items() if not _unavailable(rs)),
                  key=lambda k: (_ADAPTER_ORDER.get(k[0], 999), k[0], _ENV_ORDER.get(k[1], 9), k[1]))
    cols = [Column(i, a, e, merged.adapters.get((e, a)) or _versions_from(by_col[(a, e)]))
            for i, (a, e) in enumerate(keys)]
    ncol = len(cols)
    # every case's results in column order (None where a column has no result)
    grid: dict[str, list] = {cid: [None] * ncol for cid in cases}
    for c in cols:
        for r in by_col[(c.adapter, c.env)]:
            grid[r.case_id][c.index] = r

    def order(cid):
        c = cases[cid]
        op = c.get("op")
        return (OP_ORDER.index(op) if op in OP_ORDER else 99, c.get("file", ""), c.get("line", 0), cid)

    groups: dict[tuple[str, str], Group] = {}
    # per op, per column: the status of each cell, the ULP errors charted, diverging and near-zero counts
    statuses_of: dict[str, list[list[str]]] = {}
    errors: dict[str, list[list[float]]] = {}
    diverging: dict[str, list[int]] = {}
    near_zero: dict[str, list[int]] = {}
    causes: dict[str, Cause] = {}
    cause_ids: dict[tuple[str, str, str], str] = {}
    expected: dict[int, Counter] = {c.index: Counter() for c in cols}
    fw = [c.framework for c in cols]
    n = 0
    for cid in sorted(cases, key=order):
        case = cases[cid]
        op = case.get("op", "?")
        dtype = str(case.get("dtype", ""))
        g = groups.get((op, case.get("file", "?")))
        if g is None:
            g = groups[(op, case.get("file", "?"))] = Group(op, case.get("file", "?"))
        per_col = statuses_of.get(op)
        if per_col is None:
            per_col = statuses_of[op] = [[] for _ in cols]
            errors[op] = [[] for _ in cols]
            diverging[op] = [0] * ncol
            near_zero[op] = [0] * ncol
        op_errors, op_diverging, op_near_zero = errors[op], diverging[op], near_zero[op]
        cells = []
        bad_fw, good_fw = set(), set()
        for ci, r in enumerate(grid[cid]):
            if r is None:
                cells.append(Cell(None, *cell_text(None), False))
                per_col[ci].append("missing")
                continue
            st = r.status
            m = r.metrics
            measured = m.max_abs is not None
            ok = ulp_meaningful(m, dtype) if measured else False
            cells.append(Cell(r, *cell_text(r, ok if measured else True), ok))
            per_col[ci].append(st)
            if st == "agree" or st == "diverge":
                if not m.shape_mismatch:
                    if st == "agree" and not ok:
                        op_near_zero[ci] += 1
                    else:
                        op_errors[ci].append(as_number(m.max_ulp))
                    if st == "diverge":
                        op_diverging[ci] += 1
                if st == "agree":
                    good_fw.add(fw[ci])
            if st in DISAGREE:
                bad_fw.add(fw[ci])
                root = cause_of(r) if cause_of is not None else None
                if root is not None:
                    key, text = f"rc-{root.id}", root.name  # the mechanism is in the group's facts
                else:
                    text = _cause_text(r)
                    key = _cause_id(fw[ci], st, text, cause_ids)
                cause = causes.get(key)
                if cause is None:
                    cause = causes[key] = Cause(key, fw[ci], st, text, root=root)
                elif root is None and text != cause.text:
                    cause.varies = True
                elif root is not None and st != cause.kind and cause.kind != "mixed":
                    cause.kind = "mixed"
                cause.cells.append((n, ci))
                cause.max_abs.append(as_number(m.max_abs))
                if st == "diverge":
                    x = expectation(r)
                    if x is not None:
                        expected[ci]["expected" if x else "unexpected"] += 1
        row = Row(n, cid, case, cells)
        n += 1
        row.disagrees = bool(bad_fw)
        if len(bad_fw) == 1 and len(good_fw - bad_fw) >= 2:
            row.odd = next(iter(bad_fw))
        g.rows.append(row)

    summary: dict[str, dict[int, Counter]] = {
        op: {c.index: Counter(per_col[c.index]) for c in cols} for op, per_col in statuses_of.items() if cols}
    charts: dict[str, list[BoxStats]] = {}
    for op, per_col in errors.items():
        if not any(per_col):
            continue
        stats = []
        for col in cols:
            vals = per_col[col.index]
            if not vals:
                continue
            finite = sorted(v for v in vals if math.isfinite(v))
            n_inf = len(vals) - len(finite)
            if not finite:
                finite = [math.nan]
            stats.append(BoxStats(col, len(vals), finite[0], _quantile(finite, .25), _quantile(finite, .5),
                                  _quantile(finite, .75), finite[-1], n_inf, diverging[op][col.index],
                                  near_zero[op][col.index]))
        charts[op] = stats
    ops = [op for op in OP_ORDER if op in summary] + sorted(op for op in summary if op not in OP_ORDER)
    dtypes = sorted({c.get("dtype", "?") for c in cases.values()})
    statuses = [s for s in STATUS_ORDER if any(s in cnt for per in summary.values() for cnt in per.values())]
    ordered = sorted(causes.values(), key=lambda c: (c.root is None, -len(c.cells), c.framework, c.kind, c.text))
    return Matrix(cols, list(groups.values()), summary, charts, ops, dtypes, statuses, ordered, expected)


def _versions_from(results: list[Result]) -> dict:
    for r in results:
        if r.versions:
            return r.versions
    return {}
