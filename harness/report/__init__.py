"""HTML report: merged results -> one self-contained reports/index.html."""
from __future__ import annotations

from .html import write_report

__all__ = ["write_report"]
