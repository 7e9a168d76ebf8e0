"""The parts of the page that grow with the number of cells: the matrix tables, the details of every
disagreeing cell, the list of cases and the root-cause groups, for readers with and without JavaScript.

They are built as strings with ``html.escape`` on every value that comes from a results file, because a
template loop over 100k cells costs seconds; the page skeleton around them is a Jinja2 template.
"""
from __future__ import annotations

import math
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
    """The grid's one header row: per column its adapter and environment (the versions are in the totals
    above the grid, the drill-down and the provenance) and its sort button."""
    cells = ['<th scope="col" class="case">case <span id="sorted" class="sorted"></span></th>']
    for c in matrix.columns:
        versions = ", ".join(f"{k} {v}" for k, v in c.versions.items())
        cells.append(f'<th scope="col" data-a="{escape(c.adapter)}" data-e="{escape(c.env)}" '
                     f'data-f="{escape(c.framework)}" data-k="{escape(c.key)}" title="{escape(versions)}">'
                     f'<span class="ad">{escape(c.adapter)}</span> <span class="env">{escape(c.env)}</span>'
                     f'<button type="button" class="sort" data-col="{c.index}" hidden '
                     f'aria-label="sort every row by the error in {escape(c.key)}, worst first">sort</button></th>')
    return "<thead><tr>" + "".join(cells) + "</tr></thead>"


class EscapeMemo(dict):
    """html.escape with memory: cell texts, calls and messages repeat across many cells."""

    def __missing__(self, text):
        v = self[text] = escape(text)
        return v


def matrix_html(matrix: model.Matrix, row_status: dict[int, str], info) -> str:
    """The matrix as one table: one sticky header row, then one row section (<tbody>) per (op, case
    file) group whose first row is the group's caption. This is the largest part of the page, so a row
    carries only what the page script needs before its data is parsed (index, id, statuses): a case's
    parameters, dtype and layout are in the page data (and, for readers without JavaScript, in the list of
    cases at the end), and cells leave out the optional </td> and </tr> end tags."""
    span = len(matrix.columns) + 1
    esc = EscapeMemo()
    disagree = frozenset(model.DISAGREE)
    out = ['<table class="mx" id="mx"><caption class="sr">Cases (rows, in sections by operator and case file) '
           'by adapter and environment (columns)</caption>', header_html(matrix)]
    for k, g in enumerate(matrix.groups):
        out.append(f'<tbody data-op="{escape(g.op)}" data-g="{k}" style="--rows:{len(g.rows)}"><tr class="gh"><th scope="rowgroup" '
                   f'colspan="{span}"><span>{escape(g.op)} — {escape(g.file)} ({len(g.rows)} '
                   f'{"case" if len(g.rows) == 1 else "cases"})</span></th></tr>')
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
        out.append("</tbody>")
    out.append("</table>")
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
        fws = sorted({matrix.columns[c].framework for _, c in cause.cells})
        out.append(
            f'<details class="cause" id="cause-{cause.id}" data-cause="{cause.id}" '
            f'data-fw="{escape("|".join(fws))}"><summary>'
            f'<b class="n">{n} {"cell" if n == 1 else "cells"}</b> <span class="fw">{escape(", ".join(fws))}</span> '
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
