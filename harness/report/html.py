"""Render the report: one self-contained HTML file (Jinja2, autoescaping on).

The page is complete without JavaScript: the matrix, the summary, the charts,
the details of every disagreeing cell and the provenance are all rendered
here. The inline script only adds filters, sorting, URL state and a
drill-down panel for every cell, reading one JSON block embedded in the page.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import jinja2

from ..cases import Case
from ..results import read_many
from . import model
from .diff import diff as diff_results

_LETTER = {"agree": "a", "diverge": "d", "error": "e", "crash": "c", "timeout": "t", "unsupported": "u",
           "skipped": "s", "missing": "m"}


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
    )
    env.filters["fnum"] = _fnum
    env.globals["log10"] = math.log10
    return env


def _fnum(v, digits=3):
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


def _describe(case: dict) -> str:
    try:
        return Case.from_dict(case).semantics.describe()
    except Exception:  # noqa: BLE001 - a malformed record still renders
        return ""


def _params(case: dict) -> str:
    shape = case.get("shape") or {}
    p = [f"op={case.get('op')}", f"layout={case.get('layout')}",
         "shape=" + "x".join(f"{a}{n}" for a, n in shape.items())]
    for k in ("groups", "axes"):
        if case.get(k) is not None:
            p.append(f"{k}={case[k]}")
    p += [f"eps={_fnum(case.get('epsilon'), 6)}", f"dtype={case.get('dtype')}", f"affine={case.get('affine')}",
          f"seed={case.get('seed')}"]
    inp = case.get("input") or {}
    if inp:
        p.append("input=" + ",".join(f"{k}:{_fnum(v, 6) if not isinstance(v, str) else v}"
                                     for k, v in sorted(inp.items())))
    return " ".join(p)


def _json_for_script(obj) -> str:
    """JSON that is safe inside <script type=application/json>."""
    s = json.dumps(obj, separators=(",", ":"), allow_nan=False, default=str)
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _clean_num(v):
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


def _drill_data(matrix: model.Matrix, out_dir: Path | None):
    snippets: dict[str, int] = {}
    rows = []
    for row in matrix.rows:
        cells = []
        for cell in row.cells:
            r = cell.result
            if r is None:
                cells.append(0)
                continue
            sn = snippets.setdefault(r.snippet, len(snippets)) if r.snippet else -1
            d = {"s": r.status, "w": f"{cell.word} {cell.number}".strip(), "t": round(r.duration, 4)}
            if r.metrics:
                d["m"] = {k: _clean_num(v) for k, v in r.metrics.items()}
            if r.message:
                d["msg"] = r.message
            if r.traceback:
                d["tb"] = r.traceback
            if sn >= 0:
                d["sn"] = sn
            if r.fingerprint:
                d["fp"] = r.fingerprint
            if r.versions:
                d["v"] = r.versions
            cells.append(d)
        rows.append({"id": row.case_id, "p": _params(row.case), "lay": row.case.get("layout", ""), "ref": _describe(row.case),
                     "d": row.case.get("description", ""), "src": row.case.get("source", ""),
                     "f": row.case.get("file", ""), "l": row.case.get("line", 0),
                     "h": case_href(row.case, out_dir), "c": cells})
    cols = [{"a": c.adapter, "e": c.env, "v": c.versions} for c in matrix.columns]
    return {"cols": cols, "rows": rows, "snip": list(snippets)}


def case_href(case: dict, out_dir: Path | None) -> str:
    f = case.get("file") or ""
    if not f:
        return ""
    if out_dir is None:
        return f
    try:
        return os.path.relpath(Path.cwd() / f, out_dir).replace(os.sep, "/")
    except ValueError:
        return f


def render(merged, baseline=None, out_dir: Path | None = None) -> str:
    matrix = model.build(merged)
    d = diff_results(baseline, merged) if baseline is not None else None
    row_status = {row.index: "".join(_LETTER.get(c.status, "m") for c in row.cells) for row in matrix.rows}
    return _env().get_template("index.html.j2").render(
        m=matrix, headers=merged.headers, problems=merged.problems, n_results=len(merged.results),
        row_status=row_status, params=_params, describe=_describe, href=lambda c: case_href(c, out_dir),
        data_json=_json_for_script(_drill_data(matrix, out_dir)), diff=d,
        disagree=model.DISAGREE, chart=chart_geometry,
    )


def write_report(paths, out, baseline_paths=None) -> Path:
    merged = read_many(paths)
    baseline = read_many(baseline_paths) if baseline_paths else None
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(render(merged, baseline, out.parent.resolve()), encoding="utf-8")
    tmp.replace(out)
    return out


def chart_geometry(stats: list[model.BoxStats], width=420):
    """Positions for a log-scale box plot of ULP errors (0 and 1 ulp at the left edge)."""
    finite_hi = [s.hi for s in stats if math.isfinite(s.hi)]
    top = max([1.0] + finite_hi)
    decades = max(1, math.ceil(math.log10(top)) if top > 1 else 1)

    def x(v):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return 0.0
        return width * min(math.log10(max(float(v), 1.0)), decades) / decades

    rows = []
    for s in stats:
        rows.append({"label": s.column.key, "n": s.n, "lo": x(s.lo), "q1": x(s.q1), "med": x(s.med),
                     "q3": x(s.q3), "hi": x(s.hi), "vmed": s.med, "vhi": s.hi, "inf": s.n_inf,
                     "div": s.n_diverge})
    ticks = [{"x": width * d / decades, "label": "≤1" if d == 0 else f"1e{d}"} for d in range(decades + 1)]
    return {"rows": rows, "ticks": ticks, "width": width}
