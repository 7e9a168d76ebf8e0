"""Expectations: known divergences kept as data beside the cases, and the outcome of a cell or claim.

* :mod:`.entry`: one entry (the cells or claims it names, globs, version ranges, how they end);
* :mod:`.load`: the expectations files' schema and loading;
* :mod:`.outcomes`: :class:`Expectations` (which entry covers a record) and expected / unexpected;
* :mod:`.update`: writing entries from a run (``normconf expectations update``);
* :mod:`.check`: judging results files against the entries (``normconf expectations check``).
"""
from .load import discover, load_file
from .outcomes import Expectations, claim_outcome, describe_unexpected, outcome

__all__ = ["Expectations", "claim_outcome", "describe_unexpected", "discover", "load_file", "outcome"]
