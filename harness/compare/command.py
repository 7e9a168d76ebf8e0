"""``normconf compare A B``: two columns side by side, for people porting a model from one to the other.

Prints the columns used, the documented defaults side by side (differences marked), the relation
counts, the separating conditions, then the differing cases with each side's status, error,
explanation and root cause; ``--json`` prints the same as one JSON object. Exit status: 0 when the two
columns never differ, 1 when they do, 2 for a usage error (an unknown column or op, no results).
"""
from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness import ops
from harness.results.paths import collect
from harness.results.read import read_many
from harness.results.record import clean
from harness.text.inert import printable

from . import defaults as dflt
from .columns import ColumnIndex, Selected, UnknownColumn
from .comparison import NOTE, Comparison, compare, recorded_epsilons
from .relation import RELATIONS, Side

LIMIT = 20


class UsageError(ValueError):
    """A command line that cannot be answered (exit 2)."""


def _num(v) -> str:
    return "-" if v is None else f"{v:.3g}"


def _side_text(s: Side) -> str:
    parts = [s.status]
    if s.raised:
        parts.append(f"raised as expected: {s.raised}")
    if s.expected_error:
        parts.append(s.expected_error)
    if s.error is not None:
        parts.append(f"error {_num(s.error)}, allowed {_num(s.allowed)} (ratio {_num(s.ratio)})")
    if s.message:
        parts.append(s.message)
    if s.explanation:
        parts.append(f"explanation: {s.explanation}")
    if s.cause:
        parts.append(f"cause: {s.cause}" + (f" ({s.cause_name})" if s.cause_name and s.cause_name != s.cause else ""))
    return printable("; ".join(parts))


def _selected_text(label: str, sel: Selected) -> str:
    c = sel.column
    versions = ", ".join(f"{k} {v}" for k, v in c.versions.items())
    return printable(f"{label}: {c.key} ({c.framework}; {versions or 'no versions recorded'}) - {sel.how}")


@dataclass
class OpDefaults:
    """One op's defaults for the two sides: their APIs, the facts side by side, the recorded epsilons."""

    op: str
    a: dflt.ApiDefaults | None
    b: dflt.ApiDefaults | None
    rows: list[dflt.FactRow]
    eps_a: list[dict]
    eps_b: list[dict]

    def to_json(self, a: str, b: str) -> dict:
        def api(e):
            return None if e is None else {"api": e.api, "where": e.where}

        def fact(f):
            return None if f is None else f.to_json()
        return {"op": self.op, "apis": {"a": api(self.a), "b": api(self.b)},
                "facts": [{"fact": r.key, "differs": r.differs, "text": r.text, "note": r.note,
                           "a": fact(r.facts.get(a)),
                           "b": fact(r.facts.get(b))} for r in self.rows],
                "recorded_epsilon_default": {"a": self.eps_a, "b": self.eps_b}}


def defaults_section(defaults: dflt.Defaults, comp: Comparison) -> list[OpDefaults]:
    """Per op compared: each side's API and facts side by side, and the epsilons its records used."""
    out = []
    a, b = comp.a.adapter, comp.b.adapter
    for op in comp.ops:
        ea, eb = defaults.of(a, op), defaults.of(b, op)
        if a != b:
            rows = dflt.fact_rows({a: ea, b: eb})
        else:  # one adapter in two environments: one API
            rows = [dflt.FactRow(r.key, r.facts, False, "the same API on both sides", r.text)
                    for r in dflt.fact_rows({a: ea})]
        out.append(OpDefaults(op, ea, eb, rows, recorded_epsilons(comp.a, op), recorded_epsilons(comp.b, op)))
    return out


def _eps_text(found: list[dict]) -> str:
    if not found:
        return "(none recorded)"
    return "; ".join(f"{e['value']:g} ({', '.join(map(str, e['dtypes']))}; {e['cells']} cells)" for e in found)


def render_defaults(section: list[OpDefaults], a: str, b: str) -> list[str]:
    lines = []
    for d in section:
        if d.a is None and d.b is None:
            lines.append(f"Defaults ({d.op}): no defaults file names {a} or {b} for this op")
        else:
            lines.append(f"Defaults ({d.op}): A {d.a.api if d.a else '(no defaults file)'} | "
                         f"B {d.b.api if d.b else '(no defaults file)'}")
        for r in d.rows:
            mark = ("~" if r.text else "≠") if r.differs else "?" if r.differs is None else " "
            fa, fb = r.facts.get(a), r.facts.get(b if b in r.facts else a)
            lines.append(f"  {mark} {r.key}: A {fa.value_text if fa else '(not stated)'} | "
                         f"B {fb.value_text if fb else '(not stated)'}" + (f" - {r.note}" if r.note else ""))
            for label, f in (("A", fa), ("B", fb)):
                if f is not None:
                    said = f'"{f.quote}" ({f.source})' if f.quote else f"undocumented: {f.undocumented}"
                    lines.append(f"      {label}: {said}" + (f"; note: {f.note}" if f.note else ""))
        if d.eps_a or d.eps_b:
            va, vb = {e["value"] for e in d.eps_a}, {e["value"] for e in d.eps_b}
            mark = "≠" if va and vb and va != vb else " "
            lines.append(f"  {mark} recorded default epsilon (epsilon: default cases): A {_eps_text(d.eps_a)} | "
                         f"B {_eps_text(d.eps_b)}")
    return [printable(x) for x in lines]


def result_json(sa: Selected, sb: Selected, comp: Comparison, section: list[OpDefaults], limit: int | None,
                defaults_errors: list[str]) -> dict:
    differing = comp.differing
    shown = differing if limit is None else differing[:limit]
    return {
        "columns": {"a": sa.to_json(), "b": sb.to_json()},
        "op": comp.op,
        "note": NOTE,
        "defaults": [d.to_json(comp.a.adapter, comp.b.adapter) for d in section],
        "defaults_errors": list(defaults_errors),
        "counts": comp.counts,
        "compared": sum(comp.counts[r] for r in RELATIONS if r != "neither"),
        "conditions": comp.separation.to_json(),
        "differing_total": len(differing),
        "differing": [p.to_json() for p in shown],
    }


def render_text(data: dict, comp: Comparison, sa: Selected, sb: Selected, section: list[OpDefaults]) -> str:
    lines = [printable(f"normconf compare: {sa.column.key} vs {sb.column.key}"
                       + (f", op {comp.op}" if comp.op else ", every op")),
             _selected_text("A", sa), _selected_text("B", sb), f"note: {NOTE}", ""]
    if section:
        lines.append("Defaults side by side (≠ the values differ, ~ texts worded differently, ? stated on one "
                     "side only):")
    lines += render_defaults(section, sa.column.adapter, sb.column.adapter)
    if not section:
        lines.append("Defaults: no op was run by both columns")
    lines.append("")
    counts = data["counts"]
    lines.append(f"Relations over {len(comp.pairs)} cases: "
                 + ", ".join(f"{n} {r}" for r, n in counts.items() if n) if comp.pairs else "Relations: no cases")
    sep = data["conditions"]
    lines.append("Separating conditions (cases that differ, raise on one side or both diverge, against those "
                 "that are the same or the same deviation):")
    texts = [c["text"] for c in sep["conditions"]] or [sep["text"]]
    lines.append(f"  {printable(texts[0])}")
    lines += [f"  also: {printable(t)}" for t in texts[1:]]
    lines.append("")
    total, shown = data["differing_total"], data["differing"]
    if total:
        more = f" (first {len(shown)}; --all for every one)" if len(shown) < total else ""
        lines.append(f"Differing cases: {total}{more}")
        for p in comp.differing[:len(shown)]:
            lines.append(printable(f"  {p.case_id}: {p.relation}" + (f" ({p.note})" if p.note else "")))
            lines.append(printable(f"    {p.params}"))
            lines.append(f"    A {printable(p.a.column)}: {_side_text(p.a)}")
            lines.append(f"    B {printable(p.b.column)}: {_side_text(p.b)}")
    else:
        lines.append("Differing cases: none")
    return "\n".join(lines)


def _check_op(op: str | None) -> None:
    if op is not None and op not in ops.NAMES:
        near = difflib.get_close_matches(op, ops.NAMES, n=3, cutoff=0.5)
        raise UsageError(f"unknown op {op!r}; " + (f"did you mean {', '.join(near)}?" if near
                                                     else f"ops: {', '.join(ops.NAMES)}"))


def run(args, cause_of: Callable | None = None, out=None, err=None, causes: Callable | None = None) -> int:
    """``normconf compare`` on parsed ``args`` (a, b, op, results, json, all, cases); ``cause_of(record)``
    names a record's declared root cause, or None; or ``causes()``, called once the columns are known,
    returns such a ``cause_of``."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        _check_op(args.op)
        paths = collect(args.results)
        if not paths:
            raise UsageError("no results files found; run the conformance environments first (or give --results)")
        index = ColumnIndex(read_many(paths))
        if not index.columns:
            raise UsageError(f"no columns in {len(paths)} results file(s)")
        try:
            sa, sb = index.select(args.a), index.select(args.b)
        except UnknownColumn as e:
            raise UsageError(str(e)) from None
        if sa.column is sb.column:
            raise UsageError(f"{args.a!r} and {args.b!r} both select {sa.column.key}; name two columns")
    except UsageError as e:
        print(f"normconf: compare: {printable(e)}", file=err)
        return 2
    if causes is not None:
        cause_of = causes()
    defaults, errors = dflt.load(dflt.discover(args.cases), relative_to=Path.cwd())
    for e in errors:
        print(f"normconf: warning: {printable(e)}", file=err)
    comp = compare(index, sa.column, sb.column, args.op, cause_of)
    section = defaults_section(defaults, comp)
    data = result_json(sa, sb, comp, section, None if args.all else LIMIT, errors)
    if args.json:
        print(json.dumps(clean(data), ensure_ascii=True, allow_nan=False, default=str), file=out)
    else:
        print(render_text(data, comp, sa, sb, section), file=out)
    return 1 if comp.differing else 0
