"""The details of every disagreeing cell, for readers without JavaScript, and the words they share with
the drill-down: the largest difference, the tolerance rule, the re-run command.

Built as strings with ``html.escape`` on every value that comes from a results file (see :mod:`.fragments`).
"""
from __future__ import annotations

import math
import shlex
from html import escape

from harness.report import claims_view, model

from .fragments import EscapeMemo, fnum


def details_html(matrix: model.Matrix, row_status, info) -> tuple[str, int]:
    """The details of every disagreeing cell, for readers without JavaScript: per case, what the
    case is (description, file, source, parameters, reference) once, then one <details> per
    disagreeing cell (the matrix links to its id)."""
    out, n = [], 0
    esc = EscapeMemo()
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


def rerun_command(case_id: str, adapter: str, env: str) -> str:
    """The command line that re-runs one cell (inside the environment's installation)."""
    before, after = _rerun_around(adapter, env)
    return before + shlex.quote(case_id) + after


def _rerun_around(adapter: str, env: str) -> tuple[str, str]:
    """The re-run command line of a column before and after the case id."""
    return f"normconf run --env-name {shlex.quote(env)} -k ", f" --adapters {shlex.quote(adapter)}"
