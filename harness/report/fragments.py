"""The parts of the page that grow with the number of cells: the matrix tables, the details of every
disagreeing cell, the list of cases and the root-cause groups, for readers with and without JavaScript.

They are built as strings with ``html.escape`` on every value that comes from a results file, because a
template loop over 100k cells costs seconds; the page skeleton around them is a Jinja2 template.
"""
from __future__ import annotations

import math
import shlex
from html import escape

from harness.report import claims_view, model

from .model import LETTER


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


def header_html(matrix: model.Matrix) -> str:
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


def matrix_html(matrix: model.Matrix, row_status: dict[int, str], info) -> str:
    """One table per (op, case file) group, each with its own caption and
    sticky header; groups off screen skip layout (content-visibility). This is
    the largest part of the page, so a row carries only what the page script
    needs before its data is parsed (index, id, statuses): a case's parameters,
    dtype and layout are in the page data (and, for readers without JavaScript,
    in the list of cases at the end), and cells leave out the optional </td>
    and </tr> end tags."""
    head = header_html(matrix)
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
            oc = outcomes(row)
            out.append(f'<tr data-r="{r}" data-id="{escape(row.case_id)}" data-s="{st}"'
                       + (f' data-o="{oc}">' if oc else ">") + f'<th scope="row">{escape(row.case_id)}</th>')
            for j, cell in enumerate(row.cells):
                cls = st[j] if not oc or oc[j] not in _MARKED else f'"{st[j]} {_MARKED[oc[j]]}"'
                if cell.status in disagree:
                    out.append(f'<td class={cls}><a href="#x{r}-{j}">{esc[cell.text]}</a>')
                else:
                    out.append(f"<td class={cls}>{esc[cell.text]}")
        out.append("</tbody></table></div>")
    return "".join(out)


#: one letter per outcome of a cell (a row's ``data-o``, which the query's ``outcome:`` reads): expected,
#: unexpected, fixed, and "-" for a cell not judged or without a result
OUTCOME_LETTER = {"expected": "x", "unexpected": "u", "fixed": "f"}
#: the extra class of a cell whose outcome is not expected (a marker beside its word)
_MARKED = {"u": "ux", "f": "fx"}


def outcomes(row: model.Row) -> str:
    """The row's outcome letters, one per column; '' when every cell with a result is expected (the
    page then reads such a row's cells as expected and its missing cells as "-")."""
    letters = []
    plain = True
    for cell in row.cells:
        r = cell.result
        if r is None:
            letters.append("-")
            continue
        o = OUTCOME_LETTER.get(r.outcome, "-")
        letters.append(o)
        if o != "x":
            plain = False
    return "" if plain else "".join(letters)


def cases_html(matrix: model.Matrix, info) -> str:
    """Every case with its parameters, for readers without JavaScript (the page script shows them as
    the row header's tooltip and in the drill-down)."""
    return "".join(f"<li><code>{escape(row.case_id)}</code> {escape(info[row.index][0])}</li>" for row in matrix.rows)


def details_html(matrix: model.Matrix, row_status, info) -> tuple[str, int]:
    """The details of every disagreeing cell, for readers without JavaScript: per case, what the
    case is (description, file, source, parameters, reference) once, then one <details> per
    disagreeing cell (the matrix links to its id)."""
    out, n = [], 0
    esc = _Escaped()
    disagree = frozenset(model.DISAGREE)
    columns = matrix.columns
    keys = [escape(col.key) for col in columns]
    rerun = [[escape(part) for part in _rerun_around(col.adapter, col.env)] for col in columns]
    for row in matrix.rows:
        if not row.disagrees:
            continue
        bad = [j for j, cell in enumerate(row.cells) if cell.status in disagree]
        case = row.case
        p, ref, href = info[row.index]
        layout = case.get("layout", "")
        cid = escape(row.case_id)
        quoted = escape(shlex.quote(row.case_id))
        out.append(f'<div class="case-details"><p><code>{cid}</code></p><dl>'
                   f"<dt>case</dt><dd>{esc[str(case.get('description', ''))]} "
                   f"{_link(href, str(case.get('file', '')) + ':' + str(case.get('line', '')))}</dd>"
                   f"<dt>source</dt><dd>{_source_html(str(case.get('source', '') or ''))}</dd>"
                   f"<dt>parameters</dt><dd><code>{escape(p)}</code></dd>"
                   f"<dt>reference</dt><dd>{esc[ref]}</dd></dl>")
        for j in bad:
            n += 1
            cell = row.cells[j]
            r = cell.result
            m = r.metrics
            parts = [f'<details id="x{row.index}-{j}" class="cell-details"><summary>'
                     f'<span class="{row_status[row.index][j]}">{esc[cell.word]} {esc[cell.number]}</span> '
                     f"{cid} [{keys[j]}]</summary><dl>"]
            if m.max_abs is not None:
                ulp = (f"max {escape(fnum(m.max_ulp))} ulp" if cell.ulp_ok
                       else "ULP not reported (the largest ULP distance is between values at or across zero)")
                parts.append(f"<dt>metrics</dt><dd>max abs {escape(fnum(m.max_abs))}, "
                             f"max rel {escape(fnum(m.max_rel))}, {ulp}</dd>"
                             f"<dt>tolerance</dt><dd>{esc[tolerance_text(m)]}</dd>")
                if m.worst_expected is not None:
                    parts.append(f"<dt>largest difference</dt><dd>{escape(worst_text(m, layout))}</dd>")
            if r.explanation:
                parts.append(f"<dt>explanation</dt><dd>{esc[r.explanation]}</dd>")
            if r.versions:
                parts.append("<dt>versions</dt><dd>" + esc[", ".join(f"{k} {v}" for k, v in r.versions.items())]
                             + "</dd>")
            parts.append(f"<dt>re-run</dt><dd><code>{quoted.join(rerun[j])}</code></dd></dl>")
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


#: how many cells a root-cause group lists before pointing to the matrix filter
CAUSE_LIST_LIMIT = 300


def causes_html(matrix: model.Matrix, row_status, out_dir_has_details: bool = True) -> str:
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
            f'<span class="{LETTER.get(cause.kind, "m")} kind">{escape(cause.kind)}</span> '
            + (root_badge(cause.root) if cause.root is not None else "")
            + f'<span class="why">{escape(cause.text)}</span></summary>'
            + (root_facts(cause.root) if cause.root is not None else "")
            + f'<p>{escape(", ".join(adapters))}{escape(rng)}'
            f'{" (the numbers in the explanation vary between cells; the first is shown)" if cause.varies else ""}. '
            f'<a href="#q=cause:{cause.id}">Show these rows in the matrix</a>.</p>'
            f'<noscript><ul class="cells">{"".join(items)}{more}</ul></noscript></details>')
    return "".join(out)


def root_badge(root) -> str:
    """The classification of a declared root cause, as a badge."""
    return f'<span class="rc rc-{escape(root.classification)}">{escape(root.classification_text)}</span> '


def root_facts(root) -> str:
    """A declared root cause's facts: where it belongs, its upstream state, the docs it follows, the
    workaround, and the command that writes its issue."""
    up = root.upstream
    url = claims_view.safe_url(up.url) if up.url else ""
    state = (f'reported upstream: <a href="{escape(url)}" rel="noreferrer">{escape(up.title or up.url)}</a>'
             + (f" ({escape(up.state)})" if up.state else "")) if url else escape(
        f"upstream: {root.upstream_text()}")
    docs = "".join(f' <a href="{escape(claims_view.safe_url(d.url))}" rel="noreferrer">docs</a>'
                   for d in root.docs if claims_view.safe_url(d.url))
    lines = [escape(root.mechanism), f'<b>{escape(root.classification_text)}</b>'
             + (f" in {escape(root.repository)}" if root.repository else "") + f"; {state}.{docs}"]
    if root.affects:
        lines.append("Affects " + escape(root.affects_text()) + ".")
    if root.workaround:
        lines.append("Workaround: " + escape(root.workaround))
    does = ("its issue" if root.fileable else "a comment with the new evidence for the reported issue"
            if root.reported and root.classification not in ("harness", "superseded") else "why no issue is filed")
    lines.append(f"<code>normconf file {escape(root.id)}</code> writes {does}.")
    return '<p class="root">' + "<br>".join(lines) + "</p>"


def rerun_command(case_id: str, adapter: str, env: str) -> str:
    """The command line that re-runs one cell (inside the environment's installation)."""
    before, after = _rerun_around(adapter, env)
    return before + shlex.quote(case_id) + after


def _rerun_around(adapter: str, env: str) -> tuple[str, str]:
    """The re-run command line of a column before and after the case id."""
    return f"normconf run --env-name {shlex.quote(env)} -k ", f" --adapters {shlex.quote(adapter)}"
