"""Candidate releases of a package: the wheels in local directories (``--find-links``) or the files a
package index lists (its simple API: PEP 691 JSON, or PEP 503 HTML), narrowed by a PEP 440 specifier.

A release counts when it has a file this interpreter could install: a wheel whose tags it supports or a
source distribution, not yanked, whose ``Requires-Python`` admits it. Pre-releases count only with
``pre``. What an index or a directory says is untrusted input: names that are not distribution file
names are ignored, responses are bounded in size and time, and a failure is one line
(:class:`CandidateError`).
"""
from __future__ import annotations

import json
import os
import platform
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import sys_tags
from packaging.utils import (
    InvalidSdistFilename,
    InvalidVersion,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from harness.text.inert import printable

PYPI = "https://pypi.org/simple"
#: the most bytes read from one index page (a large project's simple page is a few MiB)
MAX_PAGE_BYTES = 64 * 1024 * 1024
INDEX_TIMEOUT = 60.0
_ACCEPT = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"


class CandidateError(Exception):
    """Candidates cannot be listed (an unreachable index, a missing directory); one line."""


@dataclass(frozen=True)
class Candidate:
    version: Version
    #: the file to install, for a release found in a --find-links directory; None: from the index
    file: Path | None = None

    def __str__(self) -> str:
        return str(self.version)


def _python_version() -> Version:
    return Version(platform.python_version())


def _tags() -> frozenset:
    return frozenset(sys_tags())


def _admits(requires_python, python: Version) -> bool:
    if not requires_python or not isinstance(requires_python, str):
        return True
    try:
        return SpecifierSet(requires_python).contains(python, prereleases=True)
    except InvalidSpecifier:
        return True  # as pip does: an index's unreadable Requires-Python does not hide the file


def _parse(filename: str, name: str):
    """(version, is wheel, wheel tags) of a distribution file of ``name``, or None."""
    try:
        if filename.endswith(".whl"):
            dist, version, _, tags = parse_wheel_filename(filename)
            return (version, True, tags) if dist == name else None
        if filename.endswith((".tar.gz", ".zip")):
            dist, version = parse_sdist_filename(filename)
            return (version, False, frozenset()) if dist == name else None
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return None


def from_directories(dirs, name: str) -> list[Candidate]:
    """The releases of ``name`` in the directories: for each version the wheel this interpreter
    supports (else a source distribution)."""
    name = canonicalize_name(name)
    tags = _tags()
    best: dict[Version, tuple[int, Path]] = {}
    for d in dirs:
        d = Path(d)
        if not d.is_dir():
            raise CandidateError(f"--find-links {printable(d)}: not a directory")
        for p in sorted(d.iterdir()):
            got = _parse(p.name, name)
            if got is None or not p.is_file():
                continue
            version, wheel, wtags = got
            rank = 2 if wheel and tags & wtags else (1 if not wheel else 0)
            if rank and rank > best.get(version, (0, None))[0]:
                best[version] = (rank, p.resolve())
    return [Candidate(v, p) for v, (_, p) in sorted(best.items())]


class _Links(HTMLParser):
    """The anchors of a PEP 503 page: (file name, Requires-Python, yanked)."""

    def __init__(self):
        super().__init__()
        self.files: list[tuple[str, str, bool]] = []
        self._attrs: dict | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._attrs, self._text = dict(attrs), []

    def handle_data(self, data):
        if self._attrs is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._attrs is not None:
            href = self._attrs.get("href") or ""
            text = "".join(self._text).strip()
            filename = text or urllib.parse.unquote(urllib.parse.urlsplit(href).path.rsplit("/", 1)[-1])
            self.files.append((filename, self._attrs.get("data-requires-python") or "",
                               "data-yanked" in self._attrs))
            self._attrs = None


def _fetch(url: str) -> tuple[bytes, str]:
    """(body, content type) of an index page, bounded in size and time."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        path = Path(urllib.request.url2pathname(parts.path))
        if path.is_dir():
            path = path / "index.html"
        try:
            with open(path, "rb") as f:
                return f.read(MAX_PAGE_BYTES + 1), "text/html"
        except OSError as e:
            raise CandidateError(f"index {printable(url)}: {e.strerror or e}") from None
    if parts.scheme not in ("http", "https"):
        raise CandidateError(f"index {printable(url)}: only http, https and file addresses are read")
    req = urllib.request.Request(url, headers={"Accept": _ACCEPT, "User-Agent": "normconf-bisect"})
    try:
        with urllib.request.urlopen(req, timeout=INDEX_TIMEOUT) as r:
            return r.read(MAX_PAGE_BYTES + 1), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return b"", "not found"
        raise CandidateError(f"index {printable(url)}: HTTP {e.code} {printable(e.reason)}") from None
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        raise CandidateError(f"index {printable(url)}: cannot be read ({printable(reason)})") from None


def from_index(index_url: str, name: str) -> list[Candidate]:
    """The releases of ``name`` an index lists (an unknown project: none)."""
    name = canonicalize_name(name)
    url = index_url.rstrip("/") + f"/{name}/"
    body, ctype = _fetch(url)
    if ctype == "not found":
        return []
    if len(body) > MAX_PAGE_BYTES:
        raise CandidateError(f"index {printable(url)}: page larger than {MAX_PAGE_BYTES} bytes")
    files: list[tuple[str, str, bool]] = []
    if "json" in ctype:
        try:
            data = json.loads(body)
            for f in data.get("files", []):
                if isinstance(f, dict) and isinstance(f.get("filename"), str):
                    files.append((f["filename"], f.get("requires-python") or "", bool(f.get("yanked"))))
        except (ValueError, AttributeError, RecursionError):
            raise CandidateError(f"index {printable(url)}: not a simple-API JSON page") from None
    else:
        parser = _Links()
        try:
            parser.feed(body.decode("utf-8", errors="replace"))
        except (ValueError, AssertionError):
            raise CandidateError(f"index {printable(url)}: not a simple-API HTML page") from None
        files = parser.files
    python, tags = _python_version(), _tags()
    versions = set()
    for filename, requires_python, yanked in files:
        got = _parse(filename, name)
        if got is None or yanked or not _admits(requires_python, python):
            continue
        version, wheel, wtags = got
        if not wheel or tags & wtags:
            versions.add(version)
    return [Candidate(v) for v in sorted(versions)]


def default_index() -> str:
    """The index uv uses when none is named: ``UV_DEFAULT_INDEX``, ``UV_INDEX_URL``, else PyPI."""
    return os.environ.get("UV_DEFAULT_INDEX") or os.environ.get("UV_INDEX_URL") or PYPI


def extra_indexes() -> list[str]:
    """The extra indexes uv reads from its environment (``UV_INDEX``, ``UV_EXTRA_INDEX_URL``)."""
    raw = " ".join(os.environ.get(k, "") for k in ("UV_INDEX", "UV_EXTRA_INDEX_URL"))
    # UV_INDEX entries may be named (name=url)
    return [u.split("=", 1)[1] if "=" in u and "://" in u.split("=", 1)[1] else u for u in raw.split()]


def select(candidates: list[Candidate], spec: SpecifierSet | None, pre: bool) -> list[Candidate]:
    """The candidates in ``spec`` (all without one), in version order; pre-releases only with ``pre``."""
    by_version: dict[Version, Candidate] = {}
    for c in candidates:
        if c.version.is_prerelease and not pre:
            continue
        if spec is not None and not spec.contains(c.version, prereleases=pre):
            continue
        if c.version not in by_version or (by_version[c.version].file is None and c.file is not None):
            by_version[c.version] = c
    return [by_version[v] for v in sorted(by_version)]
