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
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .case import DTYPES
from .cases import EXPECTATIONS_DIR
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


@dataclass(frozen=True)
class Entry:
    id: str | tuple[str, ...]  # a glob, or several
    adapter: str | tuple[str, ...]
    reason: str
    status: tuple[str, ...] = ()
    verdict: str = ""
    env: str = ""
    versions: tuple[tuple[str, str], ...] = ()
    dtype: tuple[str, ...] = ()
    device: str = ""
    url: str = ""
    file: str = ""
    line: int = 0

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def names(self) -> str:
        """"id 'a' adapter 'b'" (globs joined with commas)."""
        def j(v):
            return v if isinstance(v, str) else ", ".join(v)
        return f"id '{j(self.id)}' adapter '{j(self.adapter)}'"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id if isinstance(self.id, str) else list(self.id),
                             "adapter": self.adapter if isinstance(self.adapter, str) else list(self.adapter)}
        if self.status:
            d["status"] = self.status[0] if len(self.status) == 1 else list(self.status)
        if self.verdict:
            d["verdict"] = self.verdict
        for k in ("env", "device", "url"):
            if getattr(self, k):
                d[k] = getattr(self, k)
        if self.versions:
            d["versions"] = dict(self.versions)
        if self.dtype:
            d["dtype"] = list(self.dtype)
        d["reason"] = self.reason
        return d

    # -- matching ---------------------------------------------------------------
    def matches(self, item_id: str, adapter: str, env: str = "", versions: dict | None = None,
                dtype: str = "", device: str = "cpu", kind: str = "result") -> bool:
        if (kind == "claim") != bool(self.verdict):
            return False
        if not (_any_glob(item_id, self.id) and _any_glob(adapter, self.adapter)):
            return False
        if self.env and not fnmatch.fnmatchcase(env or "", self.env):
            return False
        if self.dtype and dtype not in self.dtype:
            return False
        if self.device and device != self.device:
            return False
        for name, spec in self.versions:
            have = (versions or {}).get(name)
            if have is None or not version_in(have, spec):
                return False
        return True


def _any_glob(value: str, globs) -> bool:
    return any(fnmatch.fnmatchcase(value, g) for g in ([globs] if isinstance(globs, str) else globs))


def version_in(version: str, spec: str) -> bool:
    """Whether ``version`` satisfies a PEP 440 specifier such as ``>=2.4,<2.14``."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    try:
        return Version(version.split("+")[0]) in SpecifierSet(spec)
    except (InvalidSpecifier, InvalidVersion):
        return False


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


# --- writing entries from a run ---------------------------------------------------

_HEADER = """\
# Known divergences: each entry names the cells (case or claim id and adapter,
# globs allowed) that are expected to end with the given status or verdict, why,
# and where it is reported upstream. `normconf expectations update` refreshes
# this file from a run and keeps every reason.
"""


def _reason_for(rec) -> str:
    said = getattr(rec, "message", "") or getattr(rec, "error", "")  # a cell's message, a claim's error
    text = rec.explanation or (said or "").splitlines()[0:1]  # a fingerprint's or a claim's explanation
    if isinstance(text, list):
        text = text[0] if text else ""
    return "observed: " + (" ".join(str(text).split())[:300] or getattr(rec, "status", getattr(rec, "verdict", "")))


def update(results, out_path, paths=(), relative_to=None) -> dict:
    """Write ``out_path`` from a merged run (``results.Merged``): entries of that file
    that still match a cell that does not agree are kept with their reasons (their
    status refreshed); every such cell matched by no entry of any file gets a new
    entry; entries of that file whose cells now agree are dropped. Entries in other
    files are left as they are. Returns counts and the dropped entries."""
    import os

    import yaml

    out_path = Path(out_path)
    others = [p for p in paths if Path(p).resolve() != out_path.resolve()]
    other = Expectations.load(others, relative_to)
    mine = Expectations.load([out_path], relative_to) if out_path.is_file() else Expectations()
    if mine.errors or other.errors:
        raise (mine.errors or other.errors)[0]
    statuses: dict[int, set] = {}
    added: list[Entry] = []
    cells = [(r.case_id, r.adapter, r.env, r.versions, (r.case or {}).get("dtype", ""), "result", r.status, r)
             for r in results.results.values()]
    cells += [(c.claim_id, c.adapter, c.env, c.versions, (c.claim or {}).get("dtype", ""), "claim", c.verdict, c)
              for c in results.claims.values()]
    for item_id, adapter, env, versions, dtype, kind, status, rec in sorted(cells, key=lambda t: t[:3]):
        fine = status in FINE if kind == "result" else status in ("holds", "unsupported")
        if fine:
            continue
        hit = None
        for i, e in enumerate(mine.entries):
            if e.matches(item_id, adapter, env, versions, dtype, device_of(versions), kind):
                hit = i
                break
        if hit is not None:
            statuses.setdefault(hit, set()).add(status)
            continue
        if other.find(item_id, adapter, env=env, versions=versions, dtype=dtype, device=device_of(versions),
                      kind=kind):
            continue
        if any(e.id == item_id and e.adapter == adapter and e.env == env for e in added):
            continue
        added.append(Entry(item_id, adapter, _reason_for(rec), status=(status,) if kind == "result" else (),
                           verdict=status if kind == "claim" else "", env=env))
    kept, dropped = [], []
    for i, e in enumerate(mine.entries):
        if i in statuses:
            if e.verdict:
                kept.append(e)
            else:
                kept.append(replace(e, status=tuple(sorted(set(e.status) | statuses[i]))))
        else:
            dropped.append(e)
    entries = [e.to_dict() for e in kept + added]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_text(_HEADER + yaml.safe_dump({"expectations": entries}, sort_keys=False, allow_unicode=True,
                                            width=110), encoding="utf-8")
    os.replace(tmp, out_path)
    return {"kept": len(kept), "added": len(added), "dropped": dropped}
