"""The details of every disagreeing cell, for readers without JavaScript, and the words they share with
the drill-down: the error against the allowed error, the largest difference and the output it is in, the
tolerance rule, every named output's figures, the epsilon a default-epsilon cell used, what a cell expected
to raise raised, the re-run command.

Built as strings with ``html.escape`` on every value that comes from a results file (see :mod:`.fragments`);
framework text (messages, tracebacks, explanations) loses its terminal control sequences first.
"""
from __future__ import annotations

import math
import shlex
from html import escape

from harness.report import claims_view, model
from harness.text import strip_escapes

from .cells import output_rows, raise_outcome
from .fragments import EscapeMemo, fnum


def details_html(matrix: model.Matrix, row_status, info) -> tuple[str, int]:
    """The details of every disagreeing cell, for readers without JavaScript: per case, what the
    case is (description, file, source, parameters, reference) once, then one <details> per
    disagreeing cell (the matrix links to its id)."""
    out, n = [], 0
    esc = EscapeMemo()
    plain = _Plain()  # framework text without terminal control sequences, each distinct text cleaned once
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
            parts = [(f'<details id="x{row.index}-{j}" class="cell-details"><summary>'
                      f'<span class="{row_status[row.index][j]}">{esc[cell.word]} {esc[cell.number]}</span> '
                      f"{cid} [{keys[j]}]</summary><dl>")]
            said = raise_outcome(r) if m.max_abs is None else None
            if said is not None:
                parts.append(f"<dt>expected</dt><dd>raises {esc[said[1]]}</dd><dt>raised</dt><dd>{esc[said[2]]}</dd>")
            if m.max_abs is not None:
                parts.append(f"<dt>metrics</dt><dd>{escape(metrics_text(m, cell))}</dd>"
                             f"<dt>tolerance</dt><dd>{esc[tolerance_text(m, case)]}</dd>")
                if m.worst_expected is not None:
                    parts.append(f"<dt>largest difference</dt><dd>{escape(worst_text(m, layout))}</dd>")
                if m.outputs:
                    parts.append(f"<dt>outputs</dt><dd>{outputs_html(m)}</dd>")
            if m.epsilon_default is not None:
                parts.append(f"<dt>epsilon</dt><dd>{epsilon_html(m.epsilon_default)}</dd>")
            if r.explanation:
                parts.append(f"<dt>explanation</dt><dd>{esc[plain[r.explanation]]}</dd>")
            if r.versions:
                parts.append("<dt>versions</dt><dd>" + esc[", ".join(f"{k} {v}" for k, v in r.versions.items())]
                             + "</dd>")
            parts.append(f"<dt>re-run</dt><dd><code>{quoted.join(rerun[j])}</code></dd></dl>")
            for cls, text in (("snippet", r.snippet), ("message", r.message), ("traceback", r.traceback)):
                if text:
                    parts.append(f'<pre class="{cls}">{esc[plain[text]]}</pre>')
            parts.append("</details>")
            out.append("".join(parts))
        out.append("</div>")
    return "".join(out), n


class _Plain(dict):
    """strip_escapes with memory: messages and tracebacks repeat across many cells."""

    def __missing__(self, text):
        v = self[text] = strip_escapes(text)
        return v


def full(v) -> str:
    """A number at full precision (the shortest text that reads back to the same float)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isfinite(f) and f == int(f) and abs(f) < 1e16:
        return str(int(f))
    return repr(f)


#: what the drill-down says when the recorded max ULP figure does not measure precision
ULP_NOT_REPORTED = "ULP not reported (the largest ULP distance is between values at or across zero)"


def metrics_text(m, cell) -> str:
    """A measured cell's figures: the largest absolute error and, where the record has it, that error
    against the allowed error (the cell's number), the largest relative error, the ULP figure where it
    measures precision, and how many elements are above the bound."""
    ratio = cell.number if cell.number.endswith("×") else ""
    text = f"max abs {fnum(m.max_abs)}" + (f" ({ratio} the allowed {fnum(m.allowed)})" if ratio else "")
    text += f", max rel {fnum(m.max_rel)}, " + (f"max {fnum(m.max_ulp)} ulp" if cell.ulp_ok else ULP_NOT_REPORTED)
    if m.n is not None:
        text += f"; {fnum(m.n_bad)} of {fnum(m.n)} elements outside tolerance"
    return text


def worst_text(m, layout: str) -> str:
    """Where the largest difference is (in which named output, for a training-time check), what was
    expected and what came, at full precision."""
    wi = m.worst_index or []
    output = m.output
    # a parameter-shaped output (dgamma, running_mean, ...) is not indexed by the layout's axes
    names = list(str(layout)) if len(str(layout)) == len(wi) and output in (None, "y", "dx") else []
    at = ", ".join(f"{names[i]}={v}" if names else str(v) for i, v in enumerate(wi))
    e, a = m.worst_expected, m.worst_actual
    try:
        d = f"{abs(float(a) - float(e)):.3g}"
    except (TypeError, ValueError):
        d = "?"
    where = f"in {output} " if output else ""
    return f"{where}at [{at}]: expected {full(e)}, got {full(a)} (difference {d})"


def tolerance_text(m, case: dict | None = None) -> str:
    """The rule the cell was judged by (a record's Metrics), in the achievable-error or the case's own form."""
    if m.allowed is None:
        return "not recorded"
    if m.rule == "atol/rtol":
        return case_tolerance_text(case or {})
    text = f"error ≤ {fnum(m.allowed)}"
    if m.achievable is not None:
        text += f" = {fnum(m.factor)} × achievable {fnum(m.achievable)} + floor {fnum(m.floor)}"
    if m.ratio is not None:
        text += f"; the error is {fnum(m.ratio)} × the achievable"
    return text


def case_tolerance_text(case: dict) -> str:
    """A case's own tolerance (``tolerance:`` in its file) in words."""
    tol = case.get("tolerance")
    tol = tol if isinstance(tol, dict) else {}
    reason = f" ({tol['reason']})" if tol.get("reason") else ""
    if tol.get("factor") is not None:
        return f"error ≤ {fnum(tol['factor'])} × achievable + floor, the case's own factor{reason}"
    return (f"|actual − expected| ≤ atol + rtol·|expected| = {fnum(tol.get('atol', 0))} + "
            f"{fnum(tol.get('rtol', 0))}·|expected|, the case's own tolerance{reason}")


def outputs_html(m) -> str:
    """Every named output of a training-time check: its error, the allowed error, their ratio, whether it
    agrees, its ULP figure; the worst output (the cell's figures) first."""
    rows = output_rows(m)
    rows.sort(key=lambda t: t[0] != m.output)
    body = "".join(f"<tr><th scope=\"row\">{escape(name)}{' (worst)' if name == m.output else ''}</th>"
                   f"<td>{escape(fnum(a))}</td><td>{escape(fnum(allowed))}</td><td>{escape(words)}</td>"
                   f"<td>{'agrees' if ok else 'diverges'}</td><td>{escape(fnum(u)) if u is not None else ''}</td></tr>"
                   for name, a, allowed, words, ok, u in rows)
    return ('<table class="outputs"><thead><tr><th scope="col">output</th><th scope="col">max abs</th>'
            '<th scope="col">allowed</th><th scope="col">error / allowed</th><th scope="col">verdict</th>'
            f'<th scope="col">max ulp</th></tr></thead><tbody>{body}</tbody></table>')


def epsilon_text(doc) -> str:
    """The documented default epsilon a default-epsilon cell's reference used, in words (the source apart)."""
    quote = strip_escapes(doc.quote or "")
    return f"{full(doc.value)}, the documented default" + (f": “{quote}”" if quote else "")


def epsilon_html(doc) -> str:
    source = strip_escapes(doc.source or "")
    return escape(epsilon_text(doc)) + (f" ({_source_html(source)})" if source else "")


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
