"""Columns of merged results and the selectors that name them.

A column is one adapter in one environment (``adapter@env``), as the report draws it: a column
whose every record says its framework is absent (``not installed``, ``not available``) is not a
column. Columns are ordered as the report orders them: the adapter registry's order, then the
environment (current, legacy, latest, nightly, then the others by name).

A selector is ``adapter@env``; or an adapter name, which selects that adapter's column in the first
environment that has it; or a framework name matched loosely (case and punctuation ignored:
``keras`` is "Keras 3", ``torch`` "PyTorch"), which selects the framework's first column. An
unknown selector raises :class:`UnknownColumn`, whose text lists the nearest valid names.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from harness import ops
from harness.adapters import BUILTIN, registry
from harness.results.read import Merged
from harness.results.record import Result

from .conditions import LiteralTable, features

#: the pinned environments first, then the moving ones (any other name after them, by name)
ENV_ORDER = {"current": 0, "legacy": 1, "latest": 2, "nightly": 3}


def framework_of(adapter: str, specs=None) -> str:
    """The framework an adapter calls, as its registry entry names it; a plug-in adapter without one
    counts as its name's first word (the report's rule)."""
    spec = (specs or _BUILTIN).get(adapter)
    return (spec.framework if spec is not None and spec.framework else "") or adapter.split("-")[0]


_BUILTIN = {s.name: s for s in BUILTIN}


@dataclass
class Column:
    adapter: str
    env: str
    framework: str
    versions: dict = field(default_factory=dict)
    #: case id -> its record in this column
    records: dict[str, Result] = field(default_factory=dict, repr=False)

    @property
    def key(self) -> str:
        return f"{self.adapter}@{self.env}"

    def to_json(self) -> dict:
        return {"column": self.key, "adapter": self.adapter, "env": self.env, "framework": self.framework,
                "versions": dict(self.versions)}


@dataclass
class Selected:
    """A column and how its selector chose it (``how``: one phrase for people)."""

    selector: str
    column: Column
    how: str

    def to_json(self) -> dict:
        return {"selector": self.selector, **self.column.to_json(), "how": self.how}


class UnknownColumn(ValueError):
    """A selector names no column; the text lists the nearest valid names."""


def _norm(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


class ColumnIndex:
    """Merged results arranged by column, built once and shared by every comparison of them.

    ``columns`` in the report's order; ``cases``: case id -> the case's fields (from the first record
    that names it), ``position``: case id -> its bit in the masks of :meth:`literals`; ``rank``: case
    id -> its place in the report's order."""

    def __init__(self, merged: Merged, specs=None):
        self.specs = specs if specs is not None else registry()
        adapter_rank = {name: i for i, name in enumerate(self.specs)}
        by_col: dict[tuple[str, str], dict[str, Result]] = {}
        self.cases: dict[str, dict] = {}
        for (env, adapter, cid), r in merged.results.items():
            by_col.setdefault((adapter, env), {})[cid] = r
            if cid not in self.cases:
                self.cases[cid] = r.case
        keys = sorted((k for k, rs in by_col.items() if not all(r.absent for r in rs.values())),
                      key=lambda k: (adapter_rank.get(k[0], len(adapter_rank)), k[0], ENV_ORDER.get(k[1], 9), k[1]))
        self.columns = [Column(a, e, framework_of(a, self.specs),
                               dict(merged.adapters.get((e, a)) or next(iter(by_col[(a, e)].values())).versions),
                               by_col[(a, e)]) for a, e in keys]
        self.by_key = {c.key: c for c in self.columns}
        self.position = {cid: i for i, cid in enumerate(self.cases)}
        op_rank = {name: i for i, name in enumerate(ops.NAMES)}

        def order(cid):
            c = self.cases[cid]
            line = c.get("line")
            return (op_rank.get(c.get("op"), 99), str(c.get("file", "")), line if isinstance(line, int) else 0, cid)
        #: case id -> its place in the report's order (the registry's op order, then case file and line)
        self.rank = {cid: i for i, cid in enumerate(sorted(self.cases, key=order))}
        self._literals: LiteralTable | None = None
        #: (column key, cause_of) -> {case id: its Side}, filled by the comparisons
        self.sides: dict = {}

    def literals(self) -> LiteralTable:
        """Every literal on the case parameters, over every case (built on first use)."""
        if self._literals is None:
            self._literals = LiteralTable([features(c) for c in self.cases.values()])
        return self._literals

    def op_mask(self, op: str) -> int:
        """The cases of ``op``, as a mask of :attr:`position` bits."""
        masks = self.__dict__.setdefault("_op_masks", {})
        m = masks.get(op)
        if m is None:
            m = masks[op] = sum(1 << i for cid, i in self.position.items()
                                if (self.cases.get(cid) or {}).get("op") == op)
        return m

    def names(self) -> list[str]:
        """Every valid selector: columns, adapters, frameworks (each once, in column order)."""
        seen: dict[str, None] = {}
        for c in self.columns:
            seen.setdefault(c.key)
        for c in self.columns:
            seen.setdefault(c.adapter)
        for c in self.columns:
            seen.setdefault(c.framework)
        return list(seen)

    def select(self, selector: str) -> Selected:
        """The column ``selector`` names (see the module docstring), or :class:`UnknownColumn`."""
        s = selector.strip()
        if not s:
            raise UnknownColumn("an empty column name")
        if "@" in s:
            col = self.by_key.get(s)
            if col is not None:
                return Selected(selector, col, "as given")
        else:
            for c in self.columns:
                if c.adapter == s:
                    return Selected(selector, c, f"adapter {s}: its column in {c.env}, the first environment "
                                                 "that has it")
            for c in self.columns:
                if c.adapter.casefold() == s.casefold():
                    return Selected(selector, c, f"adapter {c.adapter}: its column in {c.env}, the first "
                                                 "environment that has it")
            q = _norm(s)
            if q:
                best = None
                for c in self.columns:
                    f = _norm(c.framework)
                    rank = 0 if f == q else 1 if f.startswith(q) or f.endswith(q) else 2 if q in f else None
                    if rank is not None and (best is None or rank < best[0]):
                        best = (rank, c)
                if best is not None:
                    c = best[1]
                    return Selected(selector, c, f"framework {c.framework} (matched {s!r}): its first column in "
                                                 "registry order")
        folded = {n.casefold(): n for n in reversed(self.names())}
        near = [folded[n] for n in difflib.get_close_matches(s.casefold(), list(folded), n=6, cutoff=0.5)]
        valid = near or [c.key for c in self.columns][:8]
        what = "nearest valid names" if near else "valid names include"
        raise UnknownColumn(f"no column {s!r} in these results; {what}: {', '.join(valid) or '(none)'}")
