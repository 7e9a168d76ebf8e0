"""Documented defaults per API, as data (``cases/defaults/*.yaml``), and how two APIs' defaults compare.

A defaults file::

    defaults:
      - api: torch.nn.LayerNorm          # the public API these facts describe
        adapters: [torch]                # the adapters (columns) that call it
        op: layer_norm                   # a registry op
        facts:
          epsilon: {value: 1.0e-5, quote: "...", source: "https://..."}
          momentum: {value: 0.1, convention: batch, quote: "...", source: "https://..."}
          dtype: {value: "...", undocumented: "the docs do not say; measured: ...", note: "..."}

Fact keys are :data:`FACTS`. A fact has a ``value`` (a number, text, true/false or null) and either
``quote`` and ``source`` (an https URL) or ``undocumented`` (why there is no quote); ``note`` is
optional. ``momentum`` also needs ``convention``: ``batch`` (running = (1-m)*running + m*batch,
PyTorch's), ``running`` (running = m*running + (1-m)*batch, Keras' and Flax's) or ``cumulative``
(a cumulative average, no momentum). Files are read as untrusted input (bounded YAML, a JSON
Schema); a bad file, an unknown adapter and a second entry for the same (adapter, op) are each one
line ``file:line: key 'k': message``.

Comparing facts (:func:`fact_rows`): numbers are equal within a relative 1e-9, text ignoring case
and spacing (text that differs is flagged with a note that only its words differ for certain);
momentum compares the weight of the batch statistic (m for ``batch``, 1-m for
``running``), so PyTorch's momentum 0.1 equals Keras' 0.9.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path

from harness import ops
from harness.adapters import registry
from harness.cases.load import DEFAULTS_DIR
from harness.cases.tree import walk
from harness.cases.validate import line_of, load_valid
from harness.cases.yamlsource import CaseError

FACTS = ("epsilon", "epsilon_placement", "momentum", "axes", "groups", "affine", "variance", "dtype")
CONVENTIONS = {
    "batch": "running = (1-m)*running + m*batch",
    "running": "running = m*running + (1-m)*batch",
    "cumulative": "a cumulative average of every batch",
}

_TEXT = {"type": "string", "minLength": 1, "maxLength": 2000}
_URL = {"type": "string", "pattern": "^https://[^\\s]+$", "maxLength": 500}
_VALUE = {"type": ["number", "string", "boolean", "null"], "maxLength": 300}  # the length of a text
_FACT_PROPS = {"value": _VALUE, "quote": _TEXT, "source": _URL, "undocumented": _TEXT, "note": _TEXT}
_FACT = {"type": "object", "additionalProperties": False, "required": ["value"], "properties": _FACT_PROPS}
_MOMENTUM = {"type": "object", "additionalProperties": False, "required": ["value", "convention"],
             "properties": {**_FACT_PROPS, "convention": {"enum": list(CONVENTIONS)}}}
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["defaults"],
    "properties": {"defaults": {"type": "array", "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["api", "adapters", "op", "facts"],
        "properties": {
            "api": {"type": "string", "minLength": 1, "maxLength": 200},
            "adapters": {"type": "array", "minItems": 1, "uniqueItems": True,
                         "items": {"type": "string", "minLength": 1, "maxLength": 100}},
            "op": {"enum": list(ops.NAMES)},
            "facts": {"type": "object", "additionalProperties": False, "minProperties": 1,
                      "properties": {k: (_MOMENTUM if k == "momentum" else _FACT) for k in FACTS}},
        },
    }}},
}


@dataclass(frozen=True)
class Fact:
    key: str
    value: object
    quote: str = ""
    source: str = ""
    undocumented: str = ""
    note: str = ""
    convention: str = ""  # momentum only

    @property
    def batch_weight(self) -> float | None:
        """Momentum: the weight of the batch statistic in the update (None for a cumulative average)."""
        if self.key != "momentum" or not isinstance(self.value, (int, float)) or isinstance(self.value, bool):
            return None
        return {"batch": float(self.value), "running": 1.0 - float(self.value)}.get(self.convention)

    @property
    def value_text(self) -> str:
        v = self.value
        t = ("null" if v is None else "true" if v is True else "false" if v is False
             else f"{v:g}" if isinstance(v, float) else str(v))
        if self.key == "momentum" and self.convention:
            w = self.batch_weight
            t += f" ({self.convention} convention" + (f", batch weight {w:g})" if w is not None else ")")
        return t

    def to_json(self) -> dict:
        out = {"value": self.value}
        for k in ("convention", "quote", "source", "undocumented", "note"):
            if getattr(self, k):
                out[k] = getattr(self, k)
        if self.key == "momentum":
            out["batch_weight"] = self.batch_weight
        return out


@dataclass(frozen=True)
class ApiDefaults:
    api: str
    adapters: tuple[str, ...]
    op: str
    facts: tuple[tuple[str, Fact], ...]
    file: str = ""
    line: int = 0
    adapter_lines: tuple[int, ...] = ()  # the line of each adapter's name

    @property
    def fact_map(self) -> dict[str, Fact]:
        return dict(self.facts)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Defaults:
    """Every loaded entry, looked up by (adapter, op)."""

    entries: list[ApiDefaults] = field(default_factory=list)

    def __post_init__(self):
        self._by = {(a, e.op): e for e in self.entries for a in e.adapters}

    def of(self, adapter: str, op: str) -> ApiDefaults | None:
        return self._by.get((adapter, op))


def discover(cases_root) -> list[Path]:
    """The defaults files of a case directory: ``<cases_root>/defaults/*.yaml``, as
    :func:`harness.cases.tree.walk` finds them."""
    return walk(cases_root, DEFAULTS_DIR).of("defaults")


def load_file(path, display: str | None = None, known_adapters=None) -> list[ApiDefaults]:
    """One defaults file's entries; raises CaseError (one line naming file, line and key)."""
    file = display or str(path)
    data, lines = load_valid(path, file, SCHEMA, "'defaults'")
    known = set(registry()) if known_adapters is None else set(known_adapters)
    out = []
    for i, e in enumerate(data["defaults"]):
        for j, a in enumerate(e["adapters"]):
            if a not in known:
                near = difflib.get_close_matches(a, sorted(known), n=3, cutoff=0.5)
                raise CaseError(file, line_of(lines, ("defaults", i, "adapters", j)), "adapters",
                                f"unknown adapter {a!r}" + (f" (did you mean {', '.join(near)}?)" if near else ""))
        facts = []
        for k, f in e["facts"].items():
            where = ("defaults", i, "facts", k)
            has_quote, has_source, has_why = "quote" in f, "source" in f, "undocumented" in f
            if has_why and (has_quote or has_source):
                raise CaseError(file, line_of(lines, where), f"facts.{k}",
                                "a fact is either quoted (quote and source) or undocumented, not both")
            if not has_why and not (has_quote and has_source):
                missing = "source" if has_quote else "quote" if has_source else "quote and source, or undocumented"
                raise CaseError(file, line_of(lines, where), f"facts.{k}", f"needs {missing}")
            v = f["value"]
            number = isinstance(v, (int, float)) and not isinstance(v, bool)
            if k == "momentum" and f["convention"] != "cumulative" and not (number and 0 <= v <= 1):
                raise CaseError(file, line_of(lines, where + ("value",)), f"facts.{k}.value",
                                f"a momentum with the {f['convention']} convention is a number from 0 to 1")
            facts.append((k, Fact(k, v, " ".join(f.get("quote", "").split()), f.get("source", ""),
                                  " ".join(f.get("undocumented", "").split()), " ".join(f.get("note", "").split()),
                                  f.get("convention", ""))))
        out.append(ApiDefaults(e["api"], tuple(e["adapters"]), e["op"], tuple(facts), file,
                               line_of(lines, ("defaults", i)),
                               tuple(line_of(lines, ("defaults", i, "adapters", j)) for j in range(len(e["adapters"])))))
    return out


def load(paths, known_adapters=None, relative_to=None) -> tuple[Defaults, list[str]]:
    """Every entry of ``paths``, and one line per refused file: a bad file, or one that gives an
    (adapter, op) an earlier file or entry already has, is left out whole."""
    entries, errors, seen = [], [], {}
    for p in paths:
        display = str(p)
        if relative_to is not None:
            try:
                display = str(Path(p).resolve().relative_to(Path(relative_to).resolve()))
            except ValueError:
                pass
        try:
            got = load_file(p, display, known_adapters)
            mine: dict = {}
            for e in got:
                for a, line in zip(e.adapters, e.adapter_lines):
                    first = seen.get((a, e.op)) or mine.get((a, e.op))
                    if first is not None:
                        raise CaseError(e.file, line, "adapters",
                                        f"adapter {a!r} already has defaults for op {e.op} ({first.where}: "
                                        f"{first.api})")
                    mine[(a, e.op)] = e
        except CaseError as err:
            errors.append(str(err))
            continue
        seen.update(mine)
        entries.extend(got)
    return Defaults(entries), errors


# --- comparing -----------------------------------------------------------------------------------

def _same(x: Fact, y: Fact) -> bool:
    if x.key == "momentum":
        wx, wy = x.batch_weight, y.batch_weight
        if wx is None or wy is None:
            return wx is None and wy is None and x.convention == y.convention
        return math.isclose(wx, wy, rel_tol=1e-9, abs_tol=1e-12)
    a, b = x.value, y.value
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b or a == b and type(a) is type(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)
    if isinstance(a, str) and isinstance(b, str):
        return " ".join(a.casefold().split()) == " ".join(b.casefold().split())
    return False


@dataclass
class FactRow:
    """One fact of several APIs side by side; ``differs``: True, False, or None when fewer than two state it."""

    key: str
    facts: dict[str, Fact | None]  # adapter -> its fact (None: not stated)
    differs: bool | None
    note: str = ""
    text: bool = False  # compared as text: a difference may be one of wording only

    def to_json(self) -> dict:
        return {"fact": self.key, "differs": self.differs, "text": self.text, "note": self.note,
                "values": {a: (f.to_json() if f is not None else None) for a, f in self.facts.items()}}


def fact_rows(entries: dict[str, ApiDefaults | None]) -> list[FactRow]:
    """The facts of ``entries`` (adapter -> its API's defaults for one op) side by side, in FACTS order."""
    rows = []
    for key in FACTS:
        facts = {a: (e.fact_map.get(key) if e is not None else None) for a, e in entries.items()}
        stated = [f for f in facts.values() if f is not None]
        if not stated:
            continue
        differs = None if len(stated) < 2 else not all(_same(stated[0], f) for f in stated[1:])
        note = ""
        text = key != "momentum" and any(isinstance(f.value, str) for f in stated)
        if differs and text:
            note = "worded differently: the values are text, compare them by reading"
        if key == "momentum" and differs is False and len({f.convention for f in stated}) > 1:
            note = ("the same batch weight, passed as different arguments: "
                    + " vs ".join(f"momentum={f.value:g} ({f.convention})" for f in stated))
        rows.append(FactRow(key, facts, differs, note, text))
    return rows


def defaults_table(defaults: Defaults, adapters, op_names=None) -> dict:
    """The documented defaults of ``adapters`` for ``op_names`` (default: every op any of them has), as
    JSON-able data: ``{"ops": [{"op", "apis": {adapter: api or None}, "facts": [FactRow.to_json()]}]}``."""
    adapters = list(adapters)
    names = list(op_names) if op_names is not None else [
        o for o in ops.NAMES if any(defaults.of(a, o) is not None for a in adapters)]
    out = []
    for o in names:
        entries = {a: defaults.of(a, o) for a in adapters}
        out.append({"op": o, "apis": {a: (e.api if e is not None else None) for a, e in entries.items()},
                    "where": {a: e.where for a, e in entries.items() if e is not None},
                    "facts": [r.to_json() for r in fact_rows(entries)]})
    return {"ops": out}
