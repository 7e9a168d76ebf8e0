"""One expectation entry: the cells or claims it names and how they are expected to end.

An entry names cells by case or claim id and adapter (exact names or globs),
optionally only in one environment, for framework version ranges (PEP 440),
dtypes or a device, and says the status (cells) or verdict (claims) they are
expected to end with, why, and where it is reported upstream. Files of entries
are read by :mod:`harness.expectations`.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version


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
        if not (any_glob(item_id, self.id) and any_glob(adapter, self.adapter)):
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


def any_glob(value: str, globs) -> bool:
    """Whether ``value`` matches the glob ``globs`` or one of them."""
    return any(fnmatch.fnmatchcase(value, g) for g in ([globs] if isinstance(globs, str) else globs))


def version_in(version: str, spec: str) -> bool:
    """Whether ``version`` satisfies a PEP 440 specifier such as ``>=2.4,<2.14``."""
    try:
        return Version(version.split("+")[0]) in SpecifierSet(spec)
    except (InvalidSpecifier, InvalidVersion):
        return False
