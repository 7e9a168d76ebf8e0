"""Expectations: known divergences kept as data beside the cases, and the outcome of a cell or claim.

* :mod:`.entry`: one entry (the cells or claims it names, globs, version ranges, how they end);
* :mod:`.load`: the expectations files' schema and loading;
* :mod:`.outcomes`: :class:`Expectations` (which entry covers a record) and expected / unexpected / fixed;
* :mod:`.update`: writing entries from a run (``normconf expectations update``);
* :mod:`.check`: judging results files against the entries (``normconf expectations check``).
"""
from .load import discover, load_file
from .outcomes import Expectations, claim_outcome, outcome, why_unexpected

__all__ = ["Expectations", "claim_outcome", "discover", "load_file", "outcome", "why_unexpected"]
