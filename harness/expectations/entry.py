"""One expectation entry: the cells or claims it names and how they are expected to end.

An entry names cells by case or claim id and adapter (exact names or globs),
optionally only in one environment, for framework version ranges (PEP 440),
dtypes or a device, and says the status (cells) or verdict (claims) they are
expected to end with, why, and where it is reported upstream. Its life across
releases is part of it: ``since`` (the divergence holds from these versions on)
and ``fixed`` (fixed in these versions: a cell at or after them is no longer
covered, and agreeing there is the expected end). Files of entries are read by
:mod:`harness.expectations`.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

#: version keys of a record that name no package (a Keras backend, an ONNX opset, a flag)
NOT_PACKAGES = frozenset({"backend", "opset", "jax_enable_x64", "device", "cuda"})

#: how an entry relates to a cell or claim (:meth:`Entry.relation`)
COVERS, FIXED, NONE = "covers", "fixed", ""


@dataclass(frozen=True)
class Entry:
    id: str | tuple[str, ...]  # a glob, or several
    adapter: str | tuple[str, ...]
    reason: str
    status: tuple[str, ...] = ()
    verdict: str = ""
    env: str = ""
    versions: tuple[tuple[str, str], ...] = ()
    since: tuple[tuple[str, str], ...] = ()  # (package, first version with the divergence)
    fixed: tuple[tuple[str, str], ...] = ()  # (package, first version without it)
    dtype: tuple[str, ...] = ()
    device: str = ""
    url: str = ""
    cause: str = ""  # the id of the root cause (harness.expectations.causes) that explains it
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
        for k in ("env", "device", "url", "cause"):
            if getattr(self, k):
                d[k] = getattr(self, k)
        for k in ("versions", "since", "fixed"):
            if getattr(self, k):
                d[k] = dict(getattr(self, k))
        if self.dtype:
            d["dtype"] = list(self.dtype)
        d["reason"] = self.reason
        return d

    # -- matching ---------------------------------------------------------------
    def matches(self, item_id: str, adapter: str, env: str = "", versions: dict | None = None,
                dtype: str = "", device: str = "cpu", kind: str = "result", envs: tuple[str, ...] = ()) -> bool:
        """Whether the entry covers the cell or claim (see :meth:`relation`)."""
        return self.relation(item_id, adapter, env, versions, dtype, device, kind, envs) == COVERS

    def relation(self, item_id: str, adapter: str, env: str = "", versions: dict | None = None,
                 dtype: str = "", device: str = "cpu", kind: str = "result", envs: tuple[str, ...] = ()) -> str:
        """``COVERS`` when the entry applies to the cell or claim; ``FIXED`` when it names it but the
        record's versions are at or after the entry's ``fixed`` ones (so the divergence should be gone);
        ``NONE`` otherwise. ``envs`` are the pinned environments that ``env`` follows: an entry for one of
        them applies to a moving environment's records too."""
        if (kind == "claim") != bool(self.verdict):
            return NONE
        if not (any_glob(item_id, self.id) and any_glob(adapter, self.adapter)):
            return NONE
        if self.env and not any(fnmatch.fnmatchcase(e or "", self.env) for e in (env, *envs)):
            return NONE
        if self.dtype and dtype not in self.dtype:
            return NONE
        if self.device and device != self.device:
            return NONE
        have = versions or {}
        for name, spec in self.versions:
            if name not in have or not version_in(have[name], spec):
                return NONE
        for name, first in self.since:
            if name not in have or not version_in(have[name], f">={first}"):
                return NONE
        if self.fixed:
            if all(name in have and version_in(have[name], f">={first}") for name, first in self.fixed):
                return FIXED
            if any(name not in have for name, _ in self.fixed):
                return NONE
        return COVERS

    def package_in(self, versions: dict | None) -> str:
        """The package whose version decides this entry for a record: the first one its ``fixed``,
        ``since`` or ``versions`` name that the record has, else the record's own framework."""
        have = versions or {}
        for name, _ in (*self.fixed, *self.since, *self.versions):
            if name in have:
                return name
        return framework_package(have)


def framework_package(versions: dict | None) -> str:
    """The first package a record's versions name (an adapter lists its own framework first): 'keras'
    for {'keras': '3.15.1', 'backend': 'jax', 'jax': ...}; '' when there is none."""
    for name, v in (versions or {}).items():
        if name not in NOT_PACKAGES and parse_version(str(v)) is not None:
            return name
    return ""


def parse_version(text: str) -> Version | None:
    """A PEP 440 version without its local part ('2.13.0+cpu' is 2.13.0), or None."""
    try:
        return Version(text.split("+")[0])
    except InvalidVersion:
        return None


def any_glob(value: str, globs) -> bool:
    """Whether ``value`` matches the glob ``globs`` or one of them."""
    return any(fnmatch.fnmatchcase(value, g) for g in ([globs] if isinstance(globs, str) else globs))


def version_in(version: str, spec: str) -> bool:
    """Whether ``version`` satisfies a PEP 440 specifier such as ``>=2.4,<2.14``. Pre-releases and
    development builds count like any other version (a nightly's '3.16.0.dev20261027' is in '>=3'), and
    a local part is ignored ('2.13.0+cpu' is in '==2.13.0')."""
    v = parse_version(str(version))
    if v is None:
        return False
    try:
        return SpecifierSet(spec).contains(v, prereleases=True)
    except InvalidSpecifier:
        return False
