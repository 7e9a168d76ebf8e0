"""Render the report: one self-contained HTML file.

The page is complete without JavaScript: the matrix, the summary, the charts,
the details of every disagreeing cell and the provenance are rendered here.
The inline script only adds filters, sorting, URL state and a drill-down
panel for every cell, reading one compact JSON block embedded in the page
(:mod:`.page_data`, parsed only when first needed).

The page skeleton is a Jinja2 template with autoescaping; the parts that grow
with the number of cells are built as strings (:mod:`.fragments`).
"""
from __future__ import annotations

import functools
import gc
import math
import os
from pathlib import Path

import jinja2
import orjson
from markupsafe import Markup

from harness.cases.model import Case, params_text
from harness.report import answer as answers
from harness.report import changes as changes_view
from harness.report import claims_view, model
from harness.report import porting_view, timelines_view
from harness.results.read import read_many
from harness.results.timeline import read_timelines

from .details import details_html, full
from .fragments import cases_html, causes_html, fnum, matrix_html
from .model import LETTER
from .page_data import json_for_script, page_json


@functools.lru_cache(maxsize=None)
def _env() -> jinja2.Environment:
    """The template environment, made (and its templates compiled) once per process."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
    )
    env.filters["fnum"] = fnum
    return env


#: case fields the reference semantics does not depend on (a grid's cases differ mostly in these)
_NOT_SEMANTICS = frozenset({"id", "description", "source", "seed", "input", "tags", "file", "line", "skip"})


def describe(case: dict, memo: dict | None = None) -> str:
    """The reference semantics of a case record in words ('' for a malformed record); ``memo``
    keeps them by the fields they depend on."""
    key = None
    if memo is not None:
        try:
            key = orjson.dumps({k: v for k, v in case.items() if k not in _NOT_SEMANTICS},
                               option=orjson.OPT_SORT_KEYS)
        except (TypeError, orjson.JSONEncodeError):
            key = None
        if key is not None and key in memo:
            return memo[key]
    try:
        text = Case.from_dict(case).semantics.describe()
    except Exception:  # noqa: BLE001 - a malformed record still renders
        text = ""
    if key is not None:
        memo[key] = text
    return text


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


def _row_info(matrix: model.Matrix, out_dir: Path | None) -> dict[int, tuple[str, str, str]]:
    """(parameters, reference description, link to the case file) per row, computed once
    (the link once per case file: many cases share one)."""
    hrefs: dict[str, str] = {}
    described: dict[bytes, str] = {}
    info = {}
    for row in matrix.rows:
        f = str(row.case.get("file") or "")
        href = hrefs.get(f)
        if href is None:
            href = hrefs[f] = case_href(row.case, out_dir)
        info[row.index] = (params_text(row.case), describe(row.case, described), href)
    return info


def _reproducers(out_dir: Path | None) -> set[str]:
    """Names of the reproducers written next to the report (``normconf repro --unexpected``)."""
    d = (out_dir / "repro") if out_dir is not None else None
    if d is None or not d.is_dir():
        return set()
    return {p.stem for p in d.glob("*.py") if p.is_file() and p.with_suffix(".md").is_file()}


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
    step = max(1, math.ceil(decades / 8))  # at most about 9 labels, so they never overlap
    ticks = [{"x": width * d / decades, "label": ("≤1" if d == 0 else f"1e{d}") if d % step == 0 else ""}
             for d in range(decades + 1)]
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


def render(merged, baseline=None, out_dir: Path | None = None, fuzz_html: str = "", missing=(),
           baseline_missing=(), follows=None, timelines=(), cause_of=None, defaults=None) -> str:
    """The page; ``fuzz_html`` is the fuzz findings' section (harness.report.fuzz_view), already escaped;
    ``missing`` and ``baseline_missing`` the results and baseline paths given that hold no results
    ((path, why), see :func:`harness.report.answer.missing_paths`), named on the first screen; ``follows``
    the moving environments and the pinned ones they follow (see :func:`harness.report.changes.build`);
    ``timelines`` normconf bisect's timelines, shown in their own section and in their cells' drill-down;
    ``cause_of`` the declared root cause of a disagreeing cell (see :func:`harness.report.model.build`);
    ``defaults`` the documented defaults the porting view shows (adapter -> op -> {api, facts})."""
    matrix = model.build(merged, cause_of)
    row_status = {row.index: "".join(LETTER.get(c.status, "m") for c in row.cells) for row in matrix.rows}
    info = _row_info(matrix, out_dir)
    tl_views = timelines_view.build(list(timelines), matrix)
    data_json = page_json(matrix, info, _reproducers(out_dir), timelines_view.page_map(tl_views))
    ans = answers.build(merged, matrix, missing)
    changes = changes_view.build(merged, baseline, follows=follows)
    details, n_details = details_html(matrix, row_status, info)
    claims = claims_view.build(merged)
    n_odd = sum(1 for row in matrix.rows if row.odd)
    n_rows = sum(len(g.rows) for g in matrix.groups)
    n_with_result = sum(1 for row in matrix.rows for cell in row.cells if cell.result is not None)
    parts = dict(
        totals=column_totals(matrix), causes_html=Markup(causes_html(matrix, row_status)), n_odd=n_odd,
        headline=claims_view.headline_rows(claims), claims_sorted=claims_view.report_order(claims), cv=claims_view,
        frameworks=sorted({c.framework for c in matrix.columns}), claim_frameworks=sorted(
            {str(v.claim.get("framework", "")) for v in claims}), full=full,
        m=matrix, headers=merged.headers, n_rows=n_rows, n_cells=n_rows * len(matrix.columns),
        n_with_result=n_with_result, problems=merged.problems, n_results=len(merged.results),
        matrix_html=Markup(matrix_html(matrix, row_status, info)), details_html=Markup(details), n_details=n_details,
        cases_html=Markup(cases_html(matrix, info)), chart=chart_geometry, ans=ans, changes=changes,
        timelines=tl_views,
        links=answers.CellLinks(matrix), changes_view=changes_view, answer_limit=answers.LIST_LIMIT,
        baseline_given=baseline is not None or bool(baseline_missing), baseline_missing=baseline_missing,
        claims=claims, seed_links=_seed_links(matrix), verdict_words=claims_view.verdict_words, safe_url=claims_view.safe_url,
        fuzz_html=Markup(fuzz_html), example_ops=[op for op in model.OP_ORDER if op in matrix.ops][:2]
        or list(model.OP_ORDER[:2]),
    )
    port_json = json_for_script(porting_view.build(merged, matrix, cause_of, defaults))
    return _env().get_template("index.html.j2").render(data_json=Markup(data_json), port_json=Markup(port_json),
                                                       **parts)


def write_report(paths, out, baseline_paths=None, fuzz_html: str = "", given=None, baseline_given=None,
                 expect_envs=(), follows=None, timeline_paths=(), cause_of=None, defaults=None) -> Path:
    """Merge the results files ``paths`` into the page at ``out``, compared with ``baseline_paths``.
    ``given`` and ``baseline_given``: the paths the user named (files or directories); one that holds no
    results file is named on the first screen (an environment that did not install or whose run did
    not start; a baseline that could not be fetched), and the page is still written. ``expect_envs``: the
    environments the run should hold; one without records is named the same way (a sharded run's files
    are named for their shards, so CI names environments, not files). ``follows``: see :func:`render`;
    ``timeline_paths``: normconf bisect's timeline files (read as untrusted input); ``cause_of``: see
    :func:`render`."""
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
        missing = answers.missing_paths(given) + answers.missing_envs(merged, expect_envs, given)
        timelines = read_timelines(timeline_paths) if timeline_paths else []
        tmp.write_text(render(merged, baseline, out.parent.resolve(), fuzz_html, missing,
                              answers.missing_paths(baseline_given), follows, timelines, cause_of, defaults),
                       encoding="utf-8")
        tmp.replace(out)
    finally:
        if was_enabled:
            gc.enable()
    return out
