"""Expectations files: their schema and loading, every error one line naming file, line and key.

Files are ``cases/expectations/*.yaml`` (:func:`discover`); each entry becomes an
:class:`~harness.expectations.entry.Entry`. A file may also declare moving
environments (``environments: {latest: {follows: [current, legacy]}}``): the
records of a moving environment are judged by the entries of the pinned
environments it follows.
"""
from __future__ import annotations

from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from harness.cases.load import EXPECTATIONS_DIR
from harness.cases.tree import walk
from harness.cases.validate import line_of, load_valid
from harness.cases.yamlsource import CaseError
from harness.ops.dtypes import DTYPES
from harness.results.record import STATUSES, VERDICTS

from .causes import CLASSIFICATIONS, Affects, Cause, Doc, Upstream
from .entry import Entry, parse_version

_ID = {"type": "string", "minLength": 1, "maxLength": 300}
_ADAPTER = {"type": "string", "minLength": 1, "maxLength": 100}
_ENV = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"}
_PACKAGE_VERSIONS = {"type": "object", "minProperties": 1,
                     "propertyNames": {"pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"},
                     "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 100}}


_CAUSE_ID = {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,79}$"}
_TEXT = {"type": "string", "minLength": 1, "maxLength": 2000}
_URL = {"type": "string", "pattern": "^https://[^\\s]+$", "maxLength": 500}
_DATE = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
_CAUSE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "name", "mechanism", "classification"],
    "properties": {
        "id": _CAUSE_ID,
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "mechanism": _TEXT,
        "classification": {"enum": list(CLASSIFICATIONS)},
        "repository": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,38}/[A-Za-z0-9_.-]{1,100}$"},
        "affects": {"type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False, "required": ["package"],
            "properties": {"package": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"},
                           "versions": {"type": "string", "minLength": 1, "maxLength": 100},
                           "apis": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 200}}}}},
        "docs": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["url"],
            "properties": {"url": _URL, "quote": _TEXT}}},
        "upstream": {
            "type": "object", "additionalProperties": False,
            "properties": {"url": _URL, "title": {"type": "string", "maxLength": 300},
                           "state": {"type": "string", "maxLength": 40},
                           "none_found": _DATE,
                           "searched": {"type": "array", "items": {"type": "string", "minLength": 1,
                                                                   "maxLength": 300}}},
            "oneOf": [{"required": ["url"]}, {"required": ["none_found", "searched"]}],
        },
        "workaround": _TEXT,
        "compare": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 100}},
    },
    "allOf": [
        {"if": {"properties": {"classification": {"const": "harness"}}},
         "then": {"not": {"required": ["upstream"]}},
         "else": {"required": ["repository", "affects", "upstream"]}},
        {"if": {"properties": {"classification": {"enum": ["documented", "spec", "superseded"]}}},
         "then": {"required": ["docs"], "properties": {"docs": {"minItems": 1}}}},
    ],
}

_ENTRY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "adapter", "reason"],
    "properties": {
        "id": {"anyOf": [_ID, {"type": "array", "items": _ID, "minItems": 1}]},
        "adapter": {"anyOf": [_ADAPTER, {"type": "array", "items": _ADAPTER, "minItems": 1}]},
        "env": {"type": "string", "minLength": 1},
        "versions": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1}},
        "since": _PACKAGE_VERSIONS,
        "fixed": _PACKAGE_VERSIONS,
        "dtype": {"anyOf": [{"enum": list(DTYPES)}, {"type": "array", "items": {"enum": list(DTYPES)},
                                                     "minItems": 1}]},
        "device": {"type": "string", "minLength": 1},
        "status": {"anyOf": [{"enum": [s for s in STATUSES if s not in ("unsupported", "skipped")]},
                             {"type": "array", "minItems": 1,
                              "items": {"enum": [s for s in STATUSES if s not in ("unsupported", "skipped")]}}]},
        "verdict": {"enum": [v for v in VERDICTS if v != "unsupported"]},
        "reason": {"type": "string", "minLength": 1},
        "url": {"type": "string", "pattern": "^https?://"},
        "cause": _CAUSE_ID,
    },
    "oneOf": [{"required": ["status"]}, {"required": ["verdict"]}],
}
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "anyOf": [{"required": ["expectations"]}, {"required": ["environments"]}, {"required": ["causes"]}],
    "properties": {
        "expectations": {"type": "array", "items": _ENTRY},
        "causes": {"type": "array", "items": _CAUSE},
        "environments": {
            "type": "object",
            "propertyNames": {"pattern": _ENV["pattern"]},
            "additionalProperties": {
                "type": "object", "additionalProperties": False, "required": ["follows"],
                "properties": {"follows": {"anyOf": [_ENV, {"type": "array", "items": _ENV, "minItems": 1}]},
                               "description": {"type": "string"}},
            },
        },
    },
}


def _check_specifier(spec: str) -> str | None:
    try:
        SpecifierSet(spec)
    except InvalidSpecifier:
        return f"'{spec}' is not a version range such as '>=2.4,<2.14'"
    return None


def load_file(path, display: str | None = None) -> list[Entry]:
    """Load and validate one expectations file's entries (and the rest of it). Raises CaseError (one line)."""
    return load_document(path, display)[0]


def load_document(path, display: str | None = None) -> tuple[list[Entry], dict[str, tuple[str, ...]], list[Cause]]:
    """Load and validate one expectations file: its entries, the moving environments it declares
    (name -> the pinned environments it follows) and the root causes it declares. Raises CaseError
    (one line)."""
    file = display or str(path)
    data, lines = load_valid(path, file, SCHEMA, "'expectations', 'environments' or 'causes'")
    out = []
    for i, e in enumerate(data.get("expectations") or []):
        line = line_of(lines, ("expectations", i))
        for name, spec in (e.get("versions") or {}).items():
            problem = _check_specifier(spec)
            if problem:
                raise CaseError(file, line_of(lines, ("expectations", i, "versions", name)), f"versions.{name}",
                                problem)
        for key in ("since", "fixed"):
            for name, version in (e.get(key) or {}).items():
                if parse_version(version) is None:
                    raise CaseError(file, line_of(lines, ("expectations", i, key, name)), f"{key}.{name}",
                                    f"'{version}' is not a version such as '3.16.0' or '2.23.0.dev20261026'")
        status = e.get("status", ())
        out.append(Entry(
            id=e["id"] if isinstance(e["id"], str) else tuple(e["id"]),
            adapter=e["adapter"] if isinstance(e["adapter"], str) else tuple(e["adapter"]),
            reason=" ".join(e["reason"].split()),
            status=tuple([status] if isinstance(status, str) else status), verdict=e.get("verdict", ""),
            env=e.get("env", ""), versions=tuple(sorted((e.get("versions") or {}).items())),
            since=tuple((e.get("since") or {}).items()), fixed=tuple((e.get("fixed") or {}).items()),
            dtype=tuple([e["dtype"]] if isinstance(e.get("dtype"), str) else e.get("dtype", ())),
            device=e.get("device", ""), url=e.get("url", ""), cause=e.get("cause", ""), file=file, line=line))
    envs = {}
    for name, decl in (data.get("environments") or {}).items():
        follows = decl["follows"]
        follows = (follows,) if isinstance(follows, str) else tuple(follows)
        if name in follows:
            raise CaseError(file, line_of(lines, ("environments", name, "follows")), f"environments.{name}.follows",
                            f"environment '{name}' cannot follow itself")
        envs[name] = follows
    return out, envs, _causes(data, lines, file)


def _causes(data, lines, file) -> list[Cause]:
    out, seen = [], {}
    for i, c in enumerate(data.get("causes") or []):
        line = line_of(lines, ("causes", i))
        if c["id"] in seen:
            raise CaseError(file, line_of(lines, ("causes", i, "id")), "id",
                            f"cause '{c['id']}' is declared twice (first on line {seen[c['id']]})")
        seen[c["id"]] = line
        for j, a in enumerate(c.get("affects") or []):
            if "versions" in a and _check_specifier(a["versions"]):
                raise CaseError(file, line_of(lines, ("causes", i, "affects", j, "versions")), "affects.versions",
                                _check_specifier(a["versions"]))
        up = c.get("upstream") or {}
        out.append(Cause(
            id=c["id"], name=" ".join(c["name"].split()), mechanism=" ".join(c["mechanism"].split()),
            classification=c["classification"], repository=c.get("repository", ""),
            affects=tuple(Affects(a["package"], a.get("versions", ""), tuple(a.get("apis") or ()))
                          for a in c.get("affects") or ()),
            docs=tuple(Doc(d["url"], " ".join(d.get("quote", "").split())) for d in c.get("docs") or ()),
            upstream=Upstream(url=up.get("url", ""), title=up.get("title", ""), state=up.get("state", ""),
                              none_found=up.get("none_found", ""), searched=tuple(up.get("searched") or ())),
            workaround=" ".join(c.get("workaround", "").split()), compare=tuple(c.get("compare") or ()),
            file=file, line=line))
    return out


def discover(cases_root) -> list[Path]:
    """The expectations files of a case directory, as :func:`harness.cases.tree.walk` finds them."""
    return walk(cases_root, EXPECTATIONS_DIR).of("expectations")
