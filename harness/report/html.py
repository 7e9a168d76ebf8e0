"""Render the report with Jinja2 (autoescaping on)."""
from __future__ import annotations

from pathlib import Path

import jinja2

from ..results import read_many
from . import model


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
    )


def render(merged) -> str:
    cols, groups = model.build(merged)
    return _env().get_template("index.html.j2").render(
        columns=cols, groups=groups, headers=merged.headers, problems=merged.problems,
        n_results=len(merged.results),
    )


def write_report(paths, out) -> Path:
    merged = read_many(paths)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(merged), encoding="utf-8")
    return out
