"""The page data: one compact JSON block that the page script reads for filters, the drill-down and the
root-cause lists (parsed only when first needed). Identical cells are stored once and every string once.
Framework text (messages, tracebacks, explanations, calls) is stored without terminal control sequences."""
from __future__ import annotations

import orjson

from harness.report import claims_view, model
from harness.results.paths import repro_name
from harness.text import strip_escapes

from .cells import output_rows, raise_outcome
from .details import case_tolerance_text, full
from .fragments import CAUSE_LIST_LIMIT
from .model import LETTER


def json_for_script(obj) -> str:
    """JSON that cannot end its <script type=application/json> element."""
    s = orjson.dumps(obj, default=str).decode("utf-8")
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


#: positions the page script reads (atol and rtol are no longer recorded: always empty, kept for the positions);
#: the last, "sort", is not recorded: the cell's sort value (its error over the allowed error, see cells), left
#: out with the trailing metrics a record does not have when the record has no allowed error
_METRIC_KEYS = ("max_abs", "max_rel", "max_ulp", "n_bad", "n", "atol", "rtol", "worst_expected", "worst_actual",
                "achievable", "ratio", "nonfinite", "allowed", "factor", "floor", "rule", "sort")
_RECORDED = _METRIC_KEYS[:-1]


def _repro_index(case_id, adapter, reproducers, idx) -> int:
    if not reproducers:
        return -1
    name = repro_name(case_id, adapter)
    return idx(name) if name in reproducers else -1


def _expectation_text(r) -> str:
    """'expected: <reason>' / 'unexpected: ...' / 'fixed in <versions>: ...' for a record judged against
    expectations ('' otherwise)."""
    e = r.expectation if isinstance(getattr(r, "expectation", None), dict) else None
    outcome = getattr(r, "outcome", "")
    if not outcome:
        return ""
    if e:
        where = f" ({e.get('file', '')}:{e.get('line', '')})" if e.get("file") else ""
        if outcome == "fixed":
            fixed_in = e.get("fixed_in")
            fixed_in = ", ".join(f"{k} {v}" for k, v in fixed_in.items()) if isinstance(fixed_in, dict) else ""
            want = e.get("status", e.get("verdict", ""))
            want = "/".join(map(str, want)) if isinstance(want, list) else str(want)
            return (f"fixed{' in ' + fixed_in if fixed_in else ''} (an unexpected pass: the entry expects "
                    f"{want}): {e.get('reason', '')}{where}")
        return f"{outcome}: {e.get('reason', '')}{where}"
    return "unexpected: no expectation entry for this cell" if outcome == "unexpected" else ""


#: the value a cell's field has when it says nothing; trailing fields with these values are left out
_CELL_DEFAULTS = (None, None, 0, 0, -1, -1, -1, -1, None, 0, -1, -1, -1, 0, -1, -1, -1, -1, 0, 0, -1, -1)


#: the statuses whose cells have details for readers without JavaScript (:func:`.details.details_html`)
_DETAILED = frozenset(model.DISAGREE)


def drill_data(matrix: model.Matrix, info, reproducers=frozenset()):
    """Compact page data. A row is
    [case id, parameters, reference, description, source, file, line, file link, layout, cells,
     source link, dtype(, the case's own tolerance in words, only for a case that has one)], where cells
    holds, per column, an index into the cell table (-1: no result).
    Identical cells (same status, metrics, call, message, explanation, ...) are stored once in the
    cell table. A cell there is
    [status, text, metrics (list in _METRIC_KEYS order, or 0), worst_index, snippet, message, traceback,
     explanation, duration, versions-if-they-differ-from-the-column, shape mismatch, output dtype,
     root-cause group (index into causes, or -1), 1 if the max ULP figure is meaningful else 0,
     expectation text (outcome and reason), expectation link,
     reproducer name under repro/ (a .py script and a .md issue body), or -1,
     the worst named output of a training-time check, or -1,
     every named output's figures as [name, max abs, allowed, error over allowed in words, 1 if it agrees
     else 0, max ULP], or 0,
     the documented default epsilon the reference used as [value (full precision), quote, source, source
     link], or 0,
     what a cell expected to raise expected, or -1, what it raised (or that it did not), or -1]
    A disagreeing cell's call and traceback are -2 and its message is its first line: they are shipped
    once, in the details every disagreeing cell has for readers without JavaScript (the page script reads
    them from there)
    with trailing fields left out where they have the value in _CELL_DEFAULTS (0 or -1), and
    strings as indices into the string table (each distinct string is stored once)."""
    cause_of = {}
    for k, cause in enumerate(matrix.causes):
        for rc in cause.cells:
            cause_of[rc] = k
    table: dict[str, int] = {}

    def idx(text):
        if not text:
            return -1
        i = table.get(text)
        if i is None:
            i = table[text] = len(table)
        return i

    clean: dict[str, str] = {}

    def fidx(text):
        """Framework text: without terminal control sequences (each distinct text cleaned once)."""
        if not text:
            return -1
        c = clean.get(text)
        if c is None:
            c = clean[text] = strip_escapes(text)
        return idx(c)

    cell_table: list[list] = []
    cell_index: dict[tuple, int] = {}
    dumps = orjson.dumps  # a record's dicts as exact, hashable keys
    columns = matrix.columns
    col_versions = [c.versions for c in columns]

    def new_cell(row, col, cell, r, cause):
        m = r.metrics
        said = None
        if m.max_abs is not None:
            metrics = [getattr(m, k, None) for k in _RECORDED]
            if m.allowed is not None:  # a ratio to sort by (older records sort by their ULP or absolute error)
                metrics.append(cell.value)
            else:
                while metrics[-1] is None:  # trailing metrics this record does not have
                    metrics.pop()
        else:
            metrics = 0
            said = raise_outcome(r)
        eps = m.epsilon_default
        if r.status in _DETAILED:  # the details carry the call, message and traceback
            first = r.message.strip().split("\n", 1)[0] if r.message else ""
            texts = (-2 if r.snippet else -1, fidx(first), -2 if r.traceback else -1)
        else:
            texts = (fidx(r.snippet), fidx(r.message), fidx(r.traceback))
        out = [LETTER.get(r.status, "m"), cell.text, metrics,
               (m.worst_index or 0), *texts,
               fidx(r.explanation), round(r.duration, 4),
               r.versions if r.versions and r.versions != col.versions else 0,
               idx(m.shape_mismatch), idx(m.output_dtype), cause,
               1 if cell.ulp_ok else 0, idx(_expectation_text(r)),
               idx(claims_view.safe_url(str((r.expectation or {}).get("url", "")))),
               _repro_index(row.case_id, col.adapter, reproducers, idx),
               idx(m.output), [[idx(name), a, allowed, idx(words), 1 if ok else 0, u]
                               for name, a, allowed, words, ok, u in output_rows(m)] if m.outputs else 0,
               [idx(full(eps.value)), fidx(eps.quote), fidx(eps.source), idx(claims_view.safe_url(eps.source))]
               if eps else 0,
               idx(said[1]) if said else -1, fidx(said[2]) if said else -1]
        n = len(out)
        while n > 9 and out[n - 1] == _CELL_DEFAULTS[n - 1]:
            n -= 1
        del out[n:]
        return out

    rows = []
    for row in matrix.rows:
        cells = []
        ri = row.index
        for ci, cell in enumerate(row.cells):
            r = cell.result
            if r is None:
                cells.append(-1)
                continue
            cause = cause_of.get((ri, ci), -1)
            m, v, e = r.metrics, r.versions, r.expectation
            try:
                mk = dumps(m)
                vk = b"" if not v or v == col_versions[ci] else dumps(v)
                ek = dumps(e) if e else b""
                # what a cell expected to raise expected is its case's
                xk = dumps((r.case or {}).get("expect")) if m.max_abs is None else b""
            except (TypeError, orjson.JSONEncodeError):
                mk = None  # a dict without a JSON form (not read from a results file): not shared
            k = key = None
            if mk is not None:
                key = (r.status, cell.text, cell.value, cell.ulp_ok, mk, r.snippet, r.message, r.traceback,
                       r.explanation, r.duration, vk, cause,
                       r.outcome, ek, (row.case_id, columns[ci].adapter) if reproducers else None, xk)
                try:
                    k = cell_index.get(key)
                except TypeError:  # a value that cannot be a key (not read from a results file): not shared
                    key = None
            if k is None:
                k = len(cell_table)
                cell_table.append(new_cell(row, columns[ci], cell, r, cause))
                if key is not None:
                    cell_index[key] = k
            cells.append(k)
        c = row.case
        p, ref, href = info[ri]
        source = str(c.get("source", "") or "")
        out = [row.case_id, idx(p), idx(ref), idx(str(c.get("description", ""))),
               idx(source), idx(str(c.get("file", ""))), c.get("line", 0), idx(href),
               str(c.get("layout", "")), cells, idx(claims_view.safe_url(source)), str(c.get("dtype", ""))]
        if c.get("tolerance"):
            out.append(idx(case_tolerance_text(c)))
        rows.append(out)
    cols = [{"a": c.adapter, "e": c.env, "v": c.versions, "f": c.framework} for c in matrix.columns]
    causes = [{"id": c.id, "f": c.framework, "k": c.kind, "t": strip_escapes(c.text), "n": len(c.cells),
               "c": [x for rc in c.cells[:CAUSE_LIST_LIMIT] for x in rc]} for c in matrix.causes]
    return {"cols": cols, "rows": rows, "cells": cell_table, "str": list(table), "metric_keys": list(_METRIC_KEYS),
            "causes": causes}


def page_json(matrix: model.Matrix, info, reproducers=frozenset(), timelines=None) -> str:
    """The page data as the text of its <script type=application/json> element; ``timelines`` maps
    "case id<TAB>adapter" to [a bisect timeline's summary, the link to its block]."""
    data = drill_data(matrix, info, reproducers)
    if timelines:
        data["tl"] = timelines
    return json_for_script(data)
