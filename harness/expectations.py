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

This module reads the files into entries (:mod:`harness.expectation_entry`),
finds the entry of a cell or claim and judges its outcome;
:mod:`harness.expectations_update` writes entries from a run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .case import DTYPES
from .cases import EXPECTATIONS_DIR
from .expectation_entry import Entry
from .schema import line_of, schema_error
from .yamlsource import CaseError
from .results import STATUSES, VERDICTS
from .yamlsource import load_yaml, read_source

#: statuses a cell may have without an entry
FINE = ("agree", "unsupported", "skipped")

_ID = {"type": "string", "minLength": 1, "maxLength": 300}
_ADAPTER = {"type": "string", "minLength": 1, "maxLength": 100}
_ENTRY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "adapter", "reason"],
    "properties": {
        "id": {"anyOf": [_ID, {"type": "array", "items": _ID, "minItems": 1}]},
        "adapter": {"anyOf": [_ADAPTER, {"type": "array", "items": _ADAPTER, "minItems": 1}]},
        "env": {"type": "string", "minLength": 1},
        "versions": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1}},
        "dtype": {"anyOf": [{"enum": list(DTYPES)}, {"type": "array", "items": {"enum": list(DTYPES)},
                                                     "minItems": 1}]},
        "device": {"type": "string", "minLength": 1},
        "status": {"anyOf": [{"enum": [s for s in STATUSES if s not in ("unsupported", "skipped")]},
                             {"type": "array", "minItems": 1,
                              "items": {"enum": [s for s in STATUSES if s not in ("unsupported", "skipped")]}}]},
        "verdict": {"enum": [v for v in VERDICTS if v != "unsupported"]},
        "reason": {"type": "string", "minLength": 1},
        "url": {"type": "string", "pattern": "^https?://"},
    },
    "oneOf": [{"required": ["status"]}, {"required": ["verdict"]}],
}
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["expectations"],
    "properties": {"expectations": {"type": "array", "items": _ENTRY}},
}


def _check_specifier(spec: str) -> str | None:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        SpecifierSet(spec)
    except InvalidSpecifier:
        return f"'{spec}' is not a version range such as '>=2.4,<2.14'"
    return None


def load_file(path, display: str | None = None) -> list[Entry]:
    """Load and validate one expectations file. Raises CaseError (one line)."""
    file = display or str(path)
    text = read_source(path, file)
    data, lines = load_yaml(text, file)
    if data is None:
        raise CaseError(file, 1, None, "empty file (expected a mapping with 'expectations')")
    err = schema_error(file, data, lines, SCHEMA)
    if err is not None:
        raise err
    out = []
    for i, e in enumerate(data["expectations"]):
        line = line_of(lines, ("expectations", i))
        for name, spec in (e.get("versions") or {}).items():
            problem = _check_specifier(spec)
            if problem:
                raise CaseError(file, line_of(lines, ("expectations", i, "versions", name)), f"versions.{name}",
                                problem)
        status = e.get("status", ())
        out.append(Entry(
            id=e["id"] if isinstance(e["id"], str) else tuple(e["id"]),
            adapter=e["adapter"] if isinstance(e["adapter"], str) else tuple(e["adapter"]),
            reason=" ".join(e["reason"].split()),
            status=tuple([status] if isinstance(status, str) else status), verdict=e.get("verdict", ""),
            env=e.get("env", ""), versions=tuple(sorted((e.get("versions") or {}).items())),
            dtype=tuple([e["dtype"]] if isinstance(e.get("dtype"), str) else e.get("dtype", ())),
            device=e.get("device", ""), url=e.get("url", ""), file=file, line=line))
    return out


def discover(cases_root) -> list[Path]:
    root = Path(cases_root) / EXPECTATIONS_DIR
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*.yaml") if p.is_file())


@dataclass
class Expectations:
    entries: list[Entry] = field(default_factory=list)
    errors: list[CaseError] = field(default_factory=list)
    used: set[int] = field(default_factory=set)

    @classmethod
    def load(cls, paths, relative_to=None) -> "Expectations":
        import os

        out = cls()
        for p in paths:
            disp = os.path.relpath(p, relative_to) if relative_to else str(p)
            try:
                out.entries.extend(load_file(p, disp))
            except CaseError as e:
                out.errors.append(e)
        return out

    def find(self, item_id, adapter, *, env="", versions=None, dtype="", device="cpu", kind="result"):
        """The first entry matching a cell or claim (and mark it used), or None."""
        for i, e in enumerate(self.entries):
            if e.matches(item_id, adapter, env, versions, dtype, device, kind):
                self.used.add(i)
                return e
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
