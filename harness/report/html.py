"""Render the report: one self-contained HTML file.

The page is complete without JavaScript: the matrix, the summary, the charts,
the details of every disagreeing cell and the provenance are rendered here.
The inline script only adds filters, sorting, URL state and a drill-down
panel for every cell, reading one compact JSON block embedded in the page
(parsed only when first needed).

The page skeleton is a Jinja2 template with autoescaping. The two parts that
grow with the number of cells (matrix rows and disagreement details) are
built here with ``html.escape`` on every value that comes from a results
file, because a template loop over 100k cells costs seconds.
"""
from __future__ import annotations

import functools
import gc
import math
import os
import shlex
from html import escape
from pathlib import Path

import jinja2
import orjson
from markupsafe import Markup

from ..case import Case, params_text
from ..results_read import read_many
from . import claims_view, model
from .diff import diff as diff_results

_LETTER = {"agree": "a", "diverge": "d", "error": "e", "crash": "c", "timeout": "t", "unsupported": "u",
           "skipped": "s", "missing": "m"}


@functools.lru_cache(maxsize=None)
def _env() -> jinja2.Environment:
    """The template environment, made (and its templates compiled) once per process."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
    )
    env.filters["fnum"] = fnum
    return env


def fnum(v, digits=3):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    if f == int(f) and abs(f) < 1e15:
        return str(int(f))
    return f"{f:.{digits}g}"


def describe(case: dict) -> str:
    try:
        return Case.from_dict(case).semantics.describe()
    except Exception:  # noqa: BLE001 - a malformed record still renders
        return ""


def case_href(case: dict, out_dir: Path | None) -> str:
    """A relative link from the report to the case file, only when that file
    exists where the report is written (a copied report shows the path as text)."""
    f = str(case.get("file") or "")
    if not f or out_dir is None:
        return ""
    target = Path.cwd() / f
    try:
        if not target.is_file():
            return ""
        href = os.path.relpath(target, out_dir).replace(os.sep, "/")
    except (ValueError, OSError):
        return ""
    return claims_view.safe_href(href)


def rerun_command(case_id: str, adapter: str, env: str) -> str:
    """The command line that re-runs one cell (inside the environment's installation)."""
    return f"normconf run --env-name {shlex.quote(env)} -k {shlex.quote(case_id)} --adapters {shlex.quote(adapter)}"


def cell_ref(case_id: str, adapter: str, env: str) -> str:
    """The stable name of a cell in URLs: case id, adapter and environment."""
    return f"{case_id}|{adapter}@{env}"


def _json_for_script(obj) -> str:
    """JSON that cannot end its <script type=application/json> element."""
    s = orjson.dumps(obj, default=str).decode("utf-8")
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


#: positions the page script reads (atol and rtol are no longer recorded: always empty, kept for the positions)
_METRIC_KEYS = ("max_abs", "max_rel", "max_ulp", "n_bad", "n", "atol", "rtol", "worst_expected", "worst_actual",
                "achievable", "ratio", "nonfinite", "allowed", "factor", "floor", "rule")


def _repro_index(case_id, adapter, reproducers, idx) -> int:
    if not reproducers:
        return -1
    from ..repro import repro_name
    name = repro_name(case_id, adapter)
    return idx(name) if name in reproducers else -1


def _expectation_text(r) -> str:
    """'expected: <reason>' / 'unexpected: ...' for a record judged against expectations ('' otherwise)."""
    e = r.expectation if isinstance(getattr(r, "expectation", None), dict) else None
    outcome = getattr(r, "outcome", "")
    if not outcome:
        return ""
    if e:
        where = f" ({e.get('file', '')}:{e.get('line', '')})" if e.get("file") else ""
        return f"{outcome}: {e.get('reason', '')}{where}"
    return "unexpected: no expectation entry for this cell" if outcome == "unexpected" else ""


def _row_info(matrix: model.Matrix, out_dir: Path | None) -> dict[int, tuple[str, str, str]]:
    """(parameters, reference description, link to the case file) per row, computed once
    (the link once per case file: many cases share one)."""
    hrefs: dict[str, str] = {}
    info = {}
    for row in matrix.rows:
        f = str(row.case.get("file") or "")
        href = hrefs.get(f)
        if href is None:
            href = hrefs[f] = case_href(row.case, out_dir)
        info[row.index] = (params_text(row.case), describe(row.case), href)
    return info


def _reproducers(out_dir: Path | None) -> set[str]:
    """Names of the reproducers written next to the report (``normconf repro --unexpected``)."""
    d = (out_dir / "repro") if out_dir is not None else None
    if d is None or not d.is_dir():
        return set()
    return {p.stem for p in d.glob("*.py") if p.is_file() and p.with_suffix(".md").is_file()}


#: the value a cell's field has when it says nothing; trailing fields with these values are left out
_CELL_DEFAULTS = (None, None, 0, 0, -1, -1, -1, -1, None, 0, -1, -1, -1, 0, -1, -1, -1)


def _drill_data(matrix: model.Matrix, info, reproducers=frozenset()):
    """Compact page data. A row is
    [case id, parameters, reference, description, source, file, line, file link, layout, cells,
     source link, dtype], where cells holds, per column, an index into the cell table (-1: no result).
    Identical cells (same status, metrics, call, message, explanation, ...) are stored once in the
    cell table. A cell there is
    [status, text, metrics (list in _METRIC_KEYS order, or 0), worst_index, snippet, message, traceback,
     explanation, duration, versions-if-they-differ-from-the-column, shape mismatch, output dtype,
     root-cause group (index into causes, or -1), 1 if the max ULP figure is meaningful else 0,
     expectation text (outcome and reason), expectation link,
     reproducer name under repro/ (a .py script and a .md issue body), or -1]
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

    cell_table: list[list] = []
    cell_index: dict[tuple, int] = {}
    dumps = orjson.dumps  # a record's dicts as exact, hashable keys
    columns = matrix.columns
    col_versions = [c.versions for c in columns]

    def new_cell(row, col, cell, r, cause):
        m = r.metrics
        if m.max_abs is not None:
            metrics = [getattr(m, k, None) for k in _METRIC_KEYS]
            while metrics[-1] is None:  # trailing metrics this record does not have
                metrics.pop()
        else:
            metrics = 0
        out = [_LETTER.get(r.status, "m"), cell.text, metrics,
               (m.worst_index or 0), idx(r.snippet), idx(r.message), idx(r.traceback),
               idx(r.explanation), round(r.duration, 4),
               r.versions if r.versions and r.versions != col.versions else 0,
               idx(m.shape_mismatch), idx(m.output_dtype), cause,
               1 if cell.ulp_ok else 0, idx(_expectation_text(r)),
               idx(claims_view.safe_url(str((r.expectation or {}).get("url", "")))),
               _repro_index(row.case_id, col.adapter, reproducers, idx)]
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
            except (TypeError, orjson.JSONEncodeError):
                mk = None  # a dict without a JSON form (not read from a results file): not shared
            k = key = None
            if mk is not None:
                key = (r.status, cell.text, cell.ulp_ok, mk, r.snippet, r.message, r.traceback,
                       r.explanation, r.duration, vk, cause,
                       r.outcome, ek, (row.case_id, columns[ci].adapter) if reproducers else None)
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
        rows.append([row.case_id, idx(p), idx(ref), idx(str(c.get("description", ""))),
                     idx(source), idx(str(c.get("file", ""))), c.get("line", 0), idx(href),
                     str(c.get("layout", "")), cells, idx(claims_view.safe_url(source)), str(c.get("dtype", ""))])
    cols = [{"a": c.adapter, "e": c.env, "v": c.versions, "f": c.framework} for c in matrix.columns]
    causes = [{"id": c.id, "f": c.framework, "k": c.kind, "t": c.text, "n": len(c.cells),
               "c": [x for rc in c.cells[:CAUSE_LIST_LIMIT] for x in rc]} for c in matrix.causes]
    return {"cols": cols, "rows": rows, "cells": cell_table, "str": list(table), "metric_keys": list(_METRIC_KEYS),
            "causes": causes}


def _header_html(matrix: model.Matrix) -> str:
    cells = ['<th scope="col" class="case">case</th>']
    for c in matrix.columns:
        versions = "".join(f"{escape(str(k))} {escape(str(v))}<br>" for k, v in c.versions.items())
        cells.append(f'<th scope="col" data-a="{escape(c.adapter)}" data-e="{escape(c.env)}" '
                     f'data-f="{escape(c.framework)}" data-k="{escape(c.key)}">'
                     f'<span class="ad">{escape(c.adapter)}</span><br><span class="env">{escape(c.env)}</span><br>'
                     f'<small>{versions}</small><button type="button" class="sort" data-col="{c.index}" hidden '
                     f'aria-label="sort rows by {escape(c.key)} error">sort ↓</button></th>')
    return "<thead><tr>" + "".join(cells) + "</tr></thead>"


class _Escaped(dict):
    """html.escape with memory: cell texts, calls and messages repeat across many cells."""

    def __missing__(self, text):
        v = self[text] = escape(text)
        return v


def _matrix_html(matrix: model.Matrix, row_status: dict[int, str], info) -> str:
    """One table per (op, case file) group, each with its own caption and
    sticky header; groups off screen skip layout (content-visibility). This is
    the largest part of the page, so a row carries only what the page script
    needs before its data is parsed (index, id, statuses): a case's parameters,
    dtype and layout are in the page data (and, for readers without JavaScript,
    in the list of cases at the end), and cells leave out the optional </td>
    and </tr> end tags."""
    head = _header_html(matrix)
    width = 24 * 14 + len(matrix.columns) * 8.5 * 14  # the table's width at the desktop column widths
    esc = _Escaped()
    disagree = frozenset(model.DISAGREE)
    out = []
    for g in matrix.groups:
        out.append(f'<div class="grp" style="contain-intrinsic-size: auto {width}px auto {len(g.rows) * 23 + 90}px">'
                   f'<table class="mx" data-op="{escape(g.op)}"><caption>{escape(g.op)} — {escape(g.file)} '
                   f"({len(g.rows)} cases)</caption>{head}<tbody>")
        for row in g.rows:
            st = row_status[row.index]
            r = row.index
            out.append(f'<tr data-r="{r}" data-id="{escape(row.case_id)}" data-s="{st}">'
                       f'<th scope="row">{escape(row.case_id)}</th>')
            for j, cell in enumerate(row.cells):
                if cell.status in disagree:
                    out.append(f'<td class={st[j]}><a href="#x{r}-{j}">{esc[cell.text]}</a>')
                else:
                    out.append(f"<td class={st[j]}>{esc[cell.text]}")
        out.append("</tbody></table></div>")
    return "".join(out)


def _cases_html(matrix: model.Matrix, info) -> str:
    """Every case with its parameters, for readers without JavaScript (the page script shows them as
    the row header's tooltip and in the drill-down)."""
    return "".join(f"<li><code>{escape(row.case_id)}</code> {escape(info[row.index][0])}</li>" for row in matrix.rows)


def _details_html(matrix: model.Matrix, row_status, info) -> tuple[str, int]:
    """The details of every disagreeing cell, for readers without JavaScript: per case, what the
    case is (description, file, source, parameters, reference) once, then one <details> per
    disagreeing cell (the matrix links to its id)."""
    out, n = [], 0
    esc = _Escaped()
    disagree = frozenset(model.DISAGREE)
    columns = matrix.columns
    for row in matrix.rows:
        bad = [j for j, cell in enumerate(row.cells) if cell.status in disagree]
        if not bad:
            continue
        case = row.case
        p, ref, href = info[row.index]
        layout = case.get("layout", "")
        out.append(f'<div class="case-details"><p><code>{escape(row.case_id)}</code></p><dl>'
                   f"<dt>case</dt><dd>{esc[str(case.get('description', ''))]} "
                   f"{_link(href, str(case.get('file', '')) + ':' + str(case.get('line', '')))}</dd>"
                   f"<dt>source</dt><dd>{_source_html(str(case.get('source', '') or ''))}</dd>"
                   f"<dt>parameters</dt><dd><code>{escape(p)}</code></dd>"
                   f"<dt>reference</dt><dd>{esc[ref]}</dd></dl>")
        for j in bad:
            n += 1
            cell = row.cells[j]
            r, col = cell.result, columns[j]
            m = r.metrics
            parts = [f'<details id="x{row.index}-{j}" class="cell-details"><summary>'
                     f'<span class="{row_status[row.index][j]}">{esc[cell.word]} {esc[cell.number]}</span> '
                     f"{escape(row.case_id)} [{escape(col.key)}]</summary><dl>"]
            if m.max_abs is not None:
                num = {k: escape(fnum(getattr(m, k))) for k in ("max_abs", "max_rel", "max_ulp")}
                ulp = (f"max {num['max_ulp']} ulp" if cell.ulp_ok
                       else "ULP not reported (the largest ULP distance is between values at or across zero)")
                parts.append(f"<dt>metrics</dt><dd>max abs {num['max_abs']}, max rel {num['max_rel']}, {ulp}</dd>"
                             f"<dt>tolerance</dt><dd>{esc[tolerance_text(m)]}</dd>")
                if m.worst_expected is not None:
                    parts.append(f"<dt>largest difference</dt><dd>{escape(worst_text(m, layout))}</dd>")
            if r.explanation:
                parts.append(f"<dt>explanation</dt><dd>{esc[r.explanation]}</dd>")
            if r.versions:
                parts.append("<dt>versions</dt><dd>" + esc[", ".join(f"{k} {v}" for k, v in r.versions.items())]
                             + "</dd>")
            parts.append(f"<dt>re-run</dt><dd><code>{escape(rerun_command(row.case_id, col.adapter, col.env))}"
                         "</code></dd></dl>")
            for cls, text in (("snippet", r.snippet), ("message", r.message), ("traceback", r.traceback)):
                if text:
                    parts.append(f'<pre class="{cls}">{esc[text]}</pre>')
            parts.append("</details>")
            out.append("".join(parts))
        out.append("</div>")
    return "".join(out), n


def full(v) -> str:
    """A number at full precision (the shortest text that reads back to the same float)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isfinite(f) and f == int(f) and abs(f) < 1e16:
        return str(int(f))
    return repr(f)


def worst_text(m, layout: str) -> str:
    wi = m.worst_index or []
    names = list(str(layout)) if len(str(layout)) == len(wi) else []
    at = ", ".join(f"{names[i]}={v}" if names else str(v) for i, v in enumerate(wi))
    e, a = m.worst_expected, m.worst_actual
    try:
        d = f"{abs(float(a) - float(e)):.3g}"
    except (TypeError, ValueError):
        d = "?"
    return f"at [{at}]: expected {full(e)}, got {full(a)} (difference {d})"


def tolerance_text(m) -> str:
    """The rule the cell was judged by (a record's Metrics), in the achievable-error or the case's own form."""
    if m.allowed is None:
        return "not recorded"
    if m.rule == "atol/rtol":
        return f"|actual − expected| ≤ atol + rtol·|expected|, the case's own tolerance (at most {fnum(m.allowed)})"
    text = f"error ≤ {fnum(m.allowed)}"
    if m.achievable is not None:
        text += f" = {fnum(m.factor)} × achievable {fnum(m.achievable)} + floor {fnum(m.floor)}"
    if m.ratio is not None:
        text += f"; the error is {fnum(m.ratio)} × the achievable"
    return text


def _link(href: str, text: str) -> str:
    href = claims_view.safe_href(href)
    if not href:
        return escape(text)
    return f'<a href="{escape(href)}">{escape(text)}</a>'


def _source_html(source: str) -> str:
    url = claims_view.safe_url(source)
    if not url:
        return escape(source)
    rest = source.strip()[len(url):]
    return f'<a href="{escape(url)}" rel="noreferrer">{escape(url)}</a>{escape(rest)}'


def chart_geometry(stats: list[model.BoxStats], width=420):
    """Positions for a log-scale box plot of ULP errors (0 and 1 ulp at the left edge)."""
    finite_hi = [s.hi for s in stats if math.isfinite(s.hi)]
    finite_q3 = [s.q3 for s in stats if math.isfinite(s.q3)]
    top = max([1.0] + finite_hi)
    need = max(1, math.ceil(math.log10(top)) if top > 1 else 1)
    # the axis covers every box and two decades above the largest; longer whiskers are clipped and marked
    q3 = max([1.0] + finite_q3)
    decades = max(1, min(need, (math.ceil(math.log10(q3)) if q3 > 1 else 0) + 2))
    limit = 10.0 ** decades

    def x(v):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return 0.0
        return round(width * min(math.log10(max(float(v), 1.0)), decades) / decades, 1)

    rows = [{"label": s.column.key, "n": s.n, "lo": x(s.lo), "q1": x(s.q1), "med": x(s.med), "q3": x(s.q3),
             "hi": x(s.hi), "vmed": s.med, "vhi": s.hi, "inf": s.n_inf, "div": s.n_diverge,
             "clipped": math.isfinite(s.hi) and s.hi > limit, "near_zero": s.n_near_zero} for s in stats]
    ticks = [{"x": width * d / decades, "label": "≤1" if d == 0 else f"1e{d}"} for d in range(decades + 1)]
    return {"rows": rows, "ticks": ticks, "width": width}


#: the question normconf was built for, and the case-id prefixes that show it
SEED_QUESTION = (("GroupNorm with one group on [B,T,F]", "gn-btf-g1-"),
                 ("LayerNorm over the feature axis (every framework's default)", "ln-btf-over-F-"),
                 ("LayerNorm over time and features (the GN paper's Eq. 4)", "ln-btf-over-TF-"))


def _seed_links(matrix: model.Matrix):
    ids = [row.case_id for row in matrix.rows]
    return [(label, prefix) for label, prefix in SEED_QUESTION if any(i.startswith(prefix) for i in ids)]


def column_totals(matrix: model.Matrix) -> list[dict]:
    """Per column: version line and counts (agree, diverge split by expectation when recorded,
    error/crash/timeout, n/a, skipped)."""
    out = []
    for c in matrix.columns:
        cnt: dict[str, int] = {}
        for per_op in matrix.summary.values():
            for k, v in (per_op.get(c.index) or {}).items():
                cnt[k] = cnt.get(k, 0) + v
        ran = sum(v for k, v in cnt.items() if k not in ("unsupported", "skipped", "missing"))
        exp = matrix.expected.get(c.index) or {}
        out.append({"col": c, "versions": ", ".join(f"{k} {v}" for k, v in c.versions.items()),
                    "agree": cnt.get("agree", 0), "diverge": cnt.get("diverge", 0),
                    "expected": exp.get("expected", 0), "unexpected": exp.get("unexpected", 0),
                    "known": bool(exp), "error": cnt.get("error", 0), "crash": cnt.get("crash", 0),
                    "timeout": cnt.get("timeout", 0), "na": cnt.get("unsupported", 0), "skipped": cnt.get("skipped", 0),
                    "ran": ran, "pct": (100.0 * cnt.get("agree", 0) / ran) if ran else None})
    return out


#: how many cells a root-cause group lists before pointing to the matrix filter
CAUSE_LIST_LIMIT = 300


def _causes_html(matrix: model.Matrix, row_status, out_dir_has_details: bool = True) -> str:
    """One <details> per root cause. Its list of cells is in <noscript>: with JavaScript on, the page
    script builds the same list from the page data when the group is first opened, so the parser
    makes no elements for the lists of closed groups."""
    rows = {row.index: row for row in matrix.rows}
    out = []
    for cause in matrix.causes:
        adapters = sorted({matrix.columns[c].key for _, c in cause.cells},
                          key=lambda k: next(i for i, col in enumerate(matrix.columns) if col.key == k))
        vals = [v for v in cause.max_abs if math.isfinite(v)]
        rng = ""
        if vals:
            lo, hi = min(vals), max(vals)
            rng = f"; max abs {fnum(lo)}" + (f" to {fnum(hi)}" if hi != lo else "")
        n = len(cause.cells)
        items = []
        for r, c in cause.cells[:CAUSE_LIST_LIMIT]:
            row, col = rows[r], matrix.columns[c]
            cell = row.cells[c]
            items.append(f'<li><a href="#x{r}-{c}" data-r="{r}" data-c="{c}">{escape(row.case_id)} '
                         f'[{escape(col.key)}]</a> <span class="{row_status[r][c]}">{escape(cell.text)}</span></li>')
        more = (f'<li>… and {n - CAUSE_LIST_LIMIT} more: <a href="#q=cause:{cause.id}">show them in the matrix</a></li>'
                if n > CAUSE_LIST_LIMIT else "")
        out.append(
            f'<details class="cause" id="cause-{cause.id}" data-cause="{cause.id}"><summary>'
            f'<b class="n">{n} {"cell" if n == 1 else "cells"}</b> <span class="fw">{escape(cause.framework)}</span> '
            f'<span class="{_LETTER.get(cause.kind, "m")} kind">{escape(cause.kind)}</span> '
            f'<span class="why">{escape(cause.text)}</span></summary>'
            f'<p>{escape(", ".join(adapters))}{escape(rng)}'
            f'{" (the numbers in the explanation vary between cells; the first is shown)" if cause.varies else ""}. '
            f'<a href="#q=cause:{cause.id}">Show these rows in the matrix</a>.</p>'
            f'<noscript><ul class="cells">{"".join(items)}{more}</ul></noscript></details>')
    return "".join(out)


def render(merged, baseline=None, out_dir: Path | None = None, fuzz_html: str = "") -> str:
    """The page; ``fuzz_html`` is the fuzz findings' section (harness.report.fuzz_view), already escaped."""
    matrix = model.build(merged)
    d = diff_results(baseline, merged) if baseline is not None else None
    row_status = {row.index: "".join(_LETTER.get(c.status, "m") for c in row.cells) for row in matrix.rows}
    info = _row_info(matrix, out_dir)
    details, n_details = _details_html(matrix, row_status, info)
    claims = claims_view.build(merged)
    n_odd = sum(1 for row in matrix.rows if row.odd)
    return _env().get_template("index.html.j2").render(
        totals=column_totals(matrix), causes_html=Markup(_causes_html(matrix, row_status)), n_odd=n_odd,
        headline=claims_view.headline(claims), claims_sorted=claims_view.report_order(claims), cv=claims_view,
        frameworks=sorted({c.framework for c in matrix.columns}), claim_frameworks=sorted(
            {str(v.claim.get("framework", "")) for v in claims}), full=full,
        m=matrix, headers=merged.headers, problems=merged.problems, n_results=len(merged.results),
        matrix_html=Markup(_matrix_html(matrix, row_status, info)), details_html=Markup(details), n_details=n_details,
        cases_html=Markup(_cases_html(matrix, info)),
        data_json=Markup(_json_for_script(_drill_data(matrix, info, _reproducers(out_dir)))), diff=d,
        chart=chart_geometry,
        claims=claims, seed_links=_seed_links(matrix), verdict_words=claims_view.verdict_words, safe_url=claims_view.safe_url,
        fuzz_html=Markup(fuzz_html), example_ops=[op for op in model.OP_ORDER if op in matrix.ops][:2]
        or list(model.OP_ORDER[:2]),
    )


def write_report(paths, out, baseline_paths=None, fuzz_html: str = "") -> Path:
    # Hundreds of thousands of small objects and no reference cycles worth
    # collecting: the cyclic collector would only add seconds here.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        merged = read_many(paths)
        baseline = read_many(baseline_paths) if baseline_paths else None
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        tmp.write_text(render(merged, baseline, out.parent.resolve(), fuzz_html), encoding="utf-8")
        tmp.replace(out)
    finally:
        if was_enabled:
            gc.enable()
    return out
