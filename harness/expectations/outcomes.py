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

A cell whose status is what its entry expects, or that agrees with no entry
(or at or after the versions its entry says ``fixed`` it), is *expected*; an
expected divergence that now agrees is *fixed* (an unexpected pass, naming the
versions it passed with); anything else (a new divergence, error, crash or
timeout) is *unexpected*. The records of a moving environment (``latest``,
``nightly``) are judged by the entries of the pinned environments it follows.
An entry that matches no cell of a run is *stale*. The files are untrusted input: read within the
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

from .causes import Cause
from .entry import COVERS, FIXED, NOT_PACKAGES, Entry, any_glob
from .load import load_document

#: statuses a cell may have without an entry
FINE = ("agree", "unsupported", "skipped")


@dataclass
class Expectations:
    entries: list[Entry] = field(default_factory=list)
    errors: list[CaseError] = field(default_factory=list)
    used: set[int] = field(default_factory=set)
    #: moving environment -> the pinned environments whose entries judge its records
    environments: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: root cause id -> the cause (declared under ``causes:`` in any of the files)
    causes: dict[str, Cause] = field(default_factory=dict)
    #: (adapter, kind, number of entries) -> the indices of the entries that can name such a record, in order
    _candidates: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(cls, paths, relative_to=None) -> "Expectations":
        out = cls()
        for p in paths:
            disp = os.path.relpath(p, relative_to) if relative_to else str(p)
            try:
                entries, envs, causes = load_document(p, disp)
            except CaseError as e:
                out.errors.append(e)
                continue
            out.entries.extend(entries)
            for c in causes:
                if c.id in out.causes:
                    out.errors.append(CaseError(disp, c.line, "id", f"cause '{c.id}' is declared twice (first at "
                                                                    f"{out.causes[c.id].where})"))
                out.causes.setdefault(c.id, c)
            for name, follows in envs.items():
                if out.environments.get(name, follows) != follows:
                    out.errors.append(CaseError(disp, 1, f"environments.{name}",
                                                f"environment '{name}' is declared twice with different 'follows'"))
                out.environments[name] = follows
        bad_files = {e.file for e in out.errors}
        for e in out.entries:
            if e.cause and e.cause not in out.causes and not bad_files:
                out.errors.append(CaseError(e.file, e.line, "cause", f"no root cause '{e.cause}' is declared "
                                                                     "(causes: in an expectations file)"))
        return out

    def cause_of(self, entry: Entry | dict | None) -> Cause | None:
        """The root cause an entry (or a record's ``expectation`` dict) names, or None."""
        cid = entry.get("cause") if isinstance(entry, dict) else getattr(entry, "cause", "")
        return self.causes.get(cid or "")

    def follows(self, env: str) -> tuple[str, ...]:
        """The pinned environments a (moving) environment follows; () for a pinned one."""
        return self.environments.get(env or "", ())

    def find(self, item_id, adapter, *, env="", versions=None, dtype="", device="cpu", kind="result"):
        """The first entry covering a cell or claim given by its fields (and mark it used), or None."""
        i, rel = self._first(item_id, adapter, env, versions, dtype, device, kind)
        if rel != COVERS:
            return None
        self.used.add(i)
        return self.entries[i]

    def judge(self, record: Result | ClaimResult) -> Entry | None:
        """Set a cell's or claim's outcome and the entry it is judged by, as a run does; returns that
        entry (marked used) or None.

        * *expected*: it agrees (holds) with no entry, ends as its entry says, or agrees (holds) at or
          after the versions an entry says fixed it;
        * *fixed*: an entry expects it to diverge, error or fail but it agrees (holds): an unexpected
          pass, and ``expectation["fixed_in"]`` names the versions it passed with;
        * *unexpected*: anything else (a new divergence, error, crash or timeout; a claim that no longer
          holds; a divergence again at or after the versions an entry says fixed it).
        """
        i, rel = self._first_for(record)
        entry = self.entries[i] if i is not None else None
        if entry is not None:
            self.used.add(i)
        claim = isinstance(record, ClaimResult)
        state = record.verdict if claim else record.status
        good = state in (("holds",) if claim else ("agree",))
        if entry is None:
            record.outcome = claim_outcome(state, None) if claim else outcome(state, None)
            record.expectation = None
            return None
        record.expectation = entry.to_dict() | {"file": entry.file, "line": entry.line}
        if rel == FIXED:
            record.outcome = "expected" if good or state in ("unsupported", "skipped") else "unexpected"
            record.expectation["regressed"] = not (good or state in ("unsupported", "skipped"))
            return entry
        record.outcome = claim_outcome(state, entry) if claim else outcome(state, entry)
        if record.outcome == "unexpected" and good:
            record.outcome = "fixed"
            pkg = entry.package_in(record.versions)
            if pkg:
                record.expectation["fixed_in"] = {pkg: str(record.versions[pkg]).split("+")[0]}
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
        i, rel = self._first_for(record)
        return i if rel == COVERS else None

    def relation_for(self, record: Result | ClaimResult) -> tuple[int | None, str]:
        """(index, relation) of the entry that judges a record: the first covering it, else the first
        saying it is fixed at the record's versions, else (None, '')."""
        return self._first_for(record)

    def _first_for(self, record):
        if isinstance(record, ClaimResult):
            item_id, fields, kind = record.claim_id, record.claim, "claim"
        else:
            item_id, fields, kind = record.case_id, record.case, "result"
        return self._first(item_id, record.adapter, record.env, record.versions, (fields or {}).get("dtype", ""),
                           device_of(record.versions), kind)

    def _first(self, item_id, adapter, env, versions, dtype, device, kind) -> tuple[int | None, str]:
        envs = self.follows(env)
        fixed = None
        for i in self._entries_for(adapter, kind):
            rel = self.entries[i].relation(item_id, adapter, env, versions, dtype, device, kind, envs)
            if rel == COVERS:
                return i, COVERS
            if rel == FIXED and fixed is None:
                fixed = i
        return (fixed, FIXED) if fixed is not None else (None, "")

    def _entries_for(self, adapter: str, kind: str) -> list[int]:
        """The indices of the entries whose kind and adapter glob can match a record of ``adapter``, in file
        order: a run judges every cell, and most entries name another adapter."""
        key = (adapter, kind, len(self.entries))
        got = self._candidates.get(key)
        if got is None:
            got = self._candidates[key] = [i for i, e in enumerate(self.entries)
                                           if (kind == "claim") == bool(e.verdict) and any_glob(adapter, e.adapter)]
        return got

    def stale(self) -> list[Entry]:
        return [e for i, e in enumerate(self.entries) if i not in self.used]


def outcome(status: str, entry: Entry | None) -> str:
    """'expected' or 'unexpected' for a cell's status given the entry covering it (or none)."""
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


def _versions_text(pkgs: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in pkgs.items())


def why_unexpected(record: Result | ClaimResult) -> str:
    """Why a judged record (outcome unexpected or fixed) is not as expected, in a few words."""
    e = record.expectation or {}
    claim = isinstance(record, ClaimResult)
    state = record.verdict if claim else record.status
    where = f"{e.get('file', '')}:{e.get('line', 0)}"
    if e.get("regressed"):
        return (f"{state} again although fixed in {_versions_text(e.get('fixed') or {})} "
                f"(with {_versions_text(_packages(record.versions))}; {where})")
    if record.outcome == "fixed":
        want = e.get("verdict") if claim else "/".join([e["status"]] if isinstance(e.get("status"), str)
                                                         else e.get("status") or [])
        fixed_in = _versions_text(e.get("fixed_in") or {})
        return (f"unexpected pass (expected {want}: {e.get('reason', '')})"
                + (f": fixed in {fixed_in}" if fixed_in else "") + f" [{where}]")
    if not e:
        if claim:
            return f"verdict {state}, expected holds"
        return {"diverge": "new divergence", "error": "new error"}.get(state, state)
    if claim:
        return f"verdict {state}, expected {e.get('verdict')} ({where})"
    want = [e["status"]] if isinstance(e.get("status"), str) else e.get("status") or []
    return f"{state}, expected {'/'.join(want)} ({where})"


def _packages(versions: dict | None) -> dict:
    return {k: v for k, v in (versions or {}).items() if k not in NOT_PACKAGES}


def device_of(versions: dict | None) -> str:
    return "gpu" if versions and ("device" in versions or "cuda" in versions) else "cpu"
