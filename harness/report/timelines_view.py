"""``normconf bisect``'s timelines on the page: one block per bisected cell (each release tried, its
status, error and ratio, and the first release where the verdict changed), linked to the cell's
columns in the matrix, and a one-line summary the cell's drill-down shows beside the cell."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from harness.results.timeline import Timeline

from .model import Matrix


@dataclass
class TimelineView:
    anchor: str  # the block's id on the page
    timeline: Timeline
    summary: str  # "first changed in keras 3.11.0 (agree in 3.10.0, error in 3.11.0); 8 releases tried"
    cells: list[tuple[str, str]]  # (column label, href) of the matrix columns that show this cell


def summary(t: Timeline) -> str:
    tried = sum(1 for s in t.steps if s.installed)
    held = f" with {', '.join(t.fixed)}" if t.fixed else ""
    if t.first_changed is None:
        first = f"no change over the {t.package} releases tried"
    else:
        c = t.first_changed
        first = (f"first changed in {t.package} {c.version} ({c.before_status} in {c.before}, "
                 f"{c.after_status} in {c.version})")
    return f"{first}; {tried} release(s) of {t.package} tried{held} (normconf bisect)"


def build(timelines: list[Timeline], matrix: Matrix) -> list[TimelineView]:
    """The page's view of ``timelines``: the newest record of each (cell, package) wins."""
    newest: dict[tuple[str, str, str], Timeline] = {}
    for t in timelines:
        newest[(t.case_id, t.adapter, t.package)] = t
    out = []
    for i, t in enumerate(newest.values()):
        cols = [(f"{c.adapter}@{c.env}", "#cell=" + quote(f"{t.case_id}|{c.adapter}@{c.env}", safe="|@"))
                for c in matrix.columns if c.adapter == t.adapter]
        out.append(TimelineView(f"timeline-{i}", t, summary(t), cols))
    return out


def page_map(views: list[TimelineView]) -> dict[str, list[str]]:
    """For the page script: "case id<TAB>adapter" -> [summary, link to the block]."""
    out: dict[str, list[str]] = {}
    for v in views:
        key = f"{v.timeline.case_id}\t{v.timeline.adapter}"
        text = v.summary if key not in out else out[key][0] + "; " + v.summary
        out[key] = [text, "#" + v.anchor]
    return out
