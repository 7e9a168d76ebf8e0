"""Expectations: known divergences as data beside the cases.

``cases/expectations/*.yaml`` lists entries keyed by case or claim id and
adapter (exact or glob), optionally conditioned on the environment, framework
version ranges, dtype and device, each with the expected status (cells) or
verdict (claims), a reason and an upstream link:

.. code-block:: yaml

    expectations:
      - id: "ln-hard-mean-*"
        adapter: "flax-*"
        status: diverge
        reason: "one-pass variance (use_fast_variance=True by default)"
        url: "https://github.com/google/flax/issues/..."
        versions: {flax: "<0.13"}

A cell whose status is what its entry expects, or that agrees with no entry,
is *expected*; anything else (a new divergence, error, crash or timeout; an
expected divergence that now agrees) is *unexpected*. An entry that matches
no cell of a run is *stale*. The files are untrusted input: read within the
same limits as case files, validated against one schema, every error one line
naming file, line and key.

This module holds the entries a run loaded (:mod:`harness.expectations.load`
reads the files into :mod:`harness.expectations.entry` entries), finds the entry
that covers a cell's or claim's record (:meth:`Expectations.entry_for`) and
judges its outcome; :mod:`harness.expectations.update` writes entries from a
run and :mod:`harness.expectations.check` judges results files against them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from harness.cases.yamlsource import CaseError
from harness.results.record import ClaimResult, Result

from .entry import Entry
from .load import load_file

#: statuses a cell may have without an entry
FINE = ("agree", "unsupported", "skipped")


@dataclass
class Expectations:
    entries: list[Entry] = field(default_factory=list)
    errors: list[CaseError] = field(default_factory=list)
    used: set[int] = field(default_factory=set)

    @classmethod
    def load(cls, paths, relative_to=None) -> "Expectations":
        out = cls()
        for p in paths:
            disp = os.path.relpath(p, relative_to) if relative_to else str(p)
            try:
                out.entries.extend(load_file(p, disp))
            except CaseError as e:
                out.errors.append(e)
        return out

    def find(self, item_id, adapter, *, env="", versions=None, dtype="", device="cpu", kind="result"):
        """The first entry matching a cell or claim given by its fields (and mark it used), or None."""
        i = self._first(item_id, adapter, env, versions, dtype, device, kind)
        if i is None:
            return None
        self.used.add(i)
        return self.entries[i]

    def judge(self, record: Result | ClaimResult) -> Entry | None:
        """Set a cell's or claim's outcome (expected / unexpected) and the entry it is judged by, as a run
        does; returns that entry (marked used) or None."""
        entry = self.entry_for(record)
        if isinstance(record, ClaimResult):
            record.outcome = claim_outcome(record.verdict, entry)
        else:
            record.outcome = outcome(record.status, entry)
        record.expectation = entry.to_dict() | {"file": entry.file, "line": entry.line} if entry else None
        return entry

    def entry_for(self, record: Result | ClaimResult) -> Entry | None:
        """The first entry covering a cell's or claim's record (and mark it used), or None."""
        i = self.index_for(record)
        if i is None:
            return None
        self.used.add(i)
        return self.entries[i]

    def index_for(self, record: Result | ClaimResult) -> int | None:
        """The index of the first entry covering a record, or None; the entry is not marked used."""
        if isinstance(record, ClaimResult):
            item_id, fields, kind = record.claim_id, record.claim, "claim"
        else:
            item_id, fields, kind = record.case_id, record.case, "result"
        return self._first(item_id, record.adapter, record.env, record.versions, (fields or {}).get("dtype", ""),
                           device_of(record.versions), kind)

    def _first(self, item_id, adapter, env, versions, dtype, device, kind) -> int | None:
        for i, e in enumerate(self.entries):
            if e.matches(item_id, adapter, env, versions, dtype, device, kind):
                return i
        return None

    def stale(self) -> list[Entry]:
        return [e for i, e in enumerate(self.entries) if i not in self.used]


def outcome(status: str, entry: Entry | None) -> str:
    """'expected' or 'unexpected' for a cell's status given its entry (or none)."""
    if entry is None:
        return "expected" if status in FINE else "unexpected"
    if status in ("unsupported", "skipped"):
        return "expected"
    return "expected" if status in entry.status else "unexpected"


def claim_outcome(verdict: str, entry: Entry | None) -> str:
    if verdict == "unsupported":
        return "expected"
    if entry is None:
        return "expected" if verdict == "holds" else "unexpected"
    return "expected" if verdict == entry.verdict else "unexpected"


def describe_unexpected(status: str, entry: Entry | None) -> str:
    """Why a cell is unexpected, in a few words."""
    if entry is None:
        return {"diverge": "new divergence", "error": "new error", "crash": "crash",
                "timeout": "timeout"}.get(status, status)
    if status == "agree":
        return f"unexpected pass (expected {'/'.join(entry.status)}: {entry.reason})"
    return f"{status}, expected {'/'.join(entry.status)} ({entry.where})"


def device_of(versions: dict | None) -> str:
    return "gpu" if versions and ("device" in versions or "cuda" in versions) else "cpu"
