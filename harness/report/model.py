"""The report's data model: merged results arranged as a matrix.

Rows are cases (grouped by op, then case file), columns are (adapter,
environment) pairs. Rendering only reads this model.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..results import Merged, Result

OP_ORDER = ("batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm")


@dataclass
class Column:
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

    @property
    def status(self) -> str:
        return self.result.status if self.result else "missing"


@dataclass
class Row:
    case_id: str
    case: dict
    cells: list[Cell]


@dataclass
class Group:
    op: str
    file: str
    rows: list[Row] = field(default_factory=list)


def cell_text(r: Result | None) -> tuple[str, str]:
    """A word and a number for every cell (never colour alone)."""
    if r is None:
        return "missing", ""
    m = r.metrics or {}
    if r.status == "agree":
        return "agree", f"{m.get('max_ulp', 0):.0f} ulp"
    if r.status == "diverge":
        if m.get("shape_mismatch"):
            return "diverge", "shape"
        v = m.get("max_abs")
        return "diverge", (f"{v:.3g}" if isinstance(v, (int, float)) else str(v))
    if r.status == "error":
        return "error", (r.message.split(":", 1)[0] if r.message else "")
    if r.status == "unsupported":
        return "n/a", ""
    return r.status, ""


def _not_installed(results: list[Result]) -> bool:
    return all(r.status == "unsupported" and r.message.startswith(("not installed", "not available"))
               for r in results)


def build(merged: Merged):
    by_col: dict[tuple[str, str], list[Result]] = {}
    for (env, adapter, _), r in merged.results.items():
        by_col.setdefault((adapter, env), []).append(r)
    cols = [Column(a, e, merged.adapters.get((e, a), {}))
            for (a, e), rs in sorted(by_col.items()) if not _not_installed(rs)]
    cases: dict[str, dict] = {}
    for r in merged.results.values():
        cases.setdefault(r.case_id, r.case)
    groups: dict[tuple[str, str], Group] = {}
    for cid in sorted(cases, key=lambda c: (OP_ORDER.index(cases[c]["op"]) if cases[c].get("op") in OP_ORDER
                                            else 99, cases[c].get("file", ""), cases[c].get("line", 0), c)):
        case = cases[cid]
        g = groups.setdefault((case.get("op", "?"), case.get("file", "?")),
                              Group(case.get("op", "?"), case.get("file", "?")))
        cells = []
        for col in cols:
            r = merged.results.get((col.env, col.adapter, cid))
            cells.append(Cell(r, *cell_text(r)))
        g.rows.append(Row(cid, case, cells))
    return cols, list(groups.values())
