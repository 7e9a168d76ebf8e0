"""HTML report: merged results -> one self-contained reports/index.html.

* :mod:`.html`: the page (:func:`write_report`); :mod:`.fragments` and :mod:`.page_data` its parts that
  grow with the cells; Jinja2 templates;
* :mod:`.answer`: the first line (as expected or not, per environment, missing environments);
* :mod:`.changes`: what changed since the baseline, or by the moving environments' new releases;
* :mod:`.model` (the matrix), :mod:`.cells` (one cell's words), :mod:`.diff` (``normconf diff``),
  :mod:`.claims_view`, :mod:`.fuzz_view`.
"""
from __future__ import annotations

from .html import write_report

__all__ = ["write_report"]
