"""Case files: YAML -> validated, expanded, frozen Case objects.

The case-file schema lives here and only here; the op-specific keys come from
the operator registry (:mod:`harness.ops`). Files are read with a safe YAML
loader; every error names the file, the line and the key, in one line.
Expansion is :mod:`harness.cases.expand`; the model is :mod:`harness.cases.model`.
"""
from __future__ import annotations

import os
from pathlib import Path

from harness import ops
from harness.ops.dtypes import DTYPES
from harness.ops.layouts import LAYOUTS

from .expand import CaseEntry, expand
from .model import AFFINES, DISTRIBUTIONS, Case
from .tree import CLAIMS_DIR, DEFAULTS_DIR, EXPECTATIONS_DIR, walk  # noqa: F401 - the directories, named here too
from .validate import line_of, load_valid, one_or_list
from .yamlsource import CaseError, check_grid

DEFAULT_MAX_ELEMENTS = 1 << 24  # 16 Mi elements: 128 MiB in float64


_INPUT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "distribution": {"enum": list(DISTRIBUTIONS)},
        "mean": one_or_list({"type": "number"}),
        "std": one_or_list({"type": "number", "minimum": 0}),
        "low": {"type": "number"},
        "high": {"type": "number"},
        "value": one_or_list({"type": "number"}),
    },
}

_NUMBER = {"type": "number"}
#: given gamma or beta values: a constant, one value per parameter element, a distribution or a magnitude
PARAM_VALUES = {"anyOf": [
    _NUMBER,
    {"type": "array", "items": _NUMBER, "minItems": 1},
    {"type": "object", "additionalProperties": False, "minProperties": 1,
     "properties": {"distribution": {"enum": ["normal", "uniform"]}, "mean": _NUMBER,
                    "std": {"type": "number", "minimum": 0}, "low": _NUMBER, "high": _NUMBER,
                    "magnitude": {"type": "number", "exclusiveMinimum": 0}},
     "allOf": [
         {"if": {"required": ["magnitude"]}, "then": {"maxProperties": 1},
          "else": {"required": ["distribution"]}},
         {"if": {"required": ["distribution"], "properties": {"distribution": {"const": "normal"}}},
          "then": {"required": ["mean", "std"]}},
         {"if": {"required": ["distribution"], "properties": {"distribution": {"const": "uniform"}}},
          "then": {"required": ["low", "high"]}},
     ]},
]}
#: ``affine``: a kind, or given values (a missing gamma is ones, a missing beta zeros)
AFFINE = {"anyOf": [
    {"enum": list(AFFINES)},
    {"type": "object", "additionalProperties": False, "minProperties": 1,
     "properties": {"gamma": PARAM_VALUES, "beta": PARAM_VALUES}},
]}
#: ``options``: framework options by name, each value checked against the registry's schema
OPTIONS = {"type": "object", "additionalProperties": False, "minProperties": 1,
           "properties": {name: o.schema for name, o in ops.OPTIONS.items()}}

_TOLERANCE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["reason"],
    "minProperties": 2,
    "properties": {
        "reason": {"type": "string", "minLength": 1},
        "factor": {"type": "number", "exclusiveMinimum": 0},
        "atol": {"type": "number", "minimum": 0},
        "rtol": {"type": "number", "minimum": 0},
    },
    "not": {"required": ["factor", "atol"]},
}

_EXPECT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["raises"],
    "properties": {
        "raises": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
        "message": one_or_list({"type": "string", "minLength": 1}),
    },
}

_MASK = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "lengths": {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 0}},
        "axis": {"type": "string", "pattern": "^[A-Z]$"},
        "random": {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
    },
}

_CASE_PROPERTIES = {
    "id": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"},
    "description": {"type": "string", "minLength": 1},
    "source": {"type": "string", "minLength": 1},
    "op": {"enum": list(ops.NAMES)},
    "layout": one_or_list({"enum": list(LAYOUTS)}),
    "shape": {
        "type": "object",
        "propertyNames": {"pattern": "^[A-Z]$"},
        "additionalProperties": one_or_list({"type": "integer", "minimum": 1}),
    },
    "epsilon": one_or_list({"anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"const": "default"}]}),
    "dtype": one_or_list({"enum": list(DTYPES)}),
    "affine": one_or_list(AFFINE),
    "options": one_or_list(OPTIONS),
    # op-specific keys, from the registry: a grid of values unless the key is not part of case ids
    **{k: one_or_list(schema) if k != "affine_axes" else schema for k, (schema, _) in ops.PARAMS.items()},
    "tolerance": _TOLERANCE,
    "expect": _EXPECT,
    "input": _INPUT,
    "seed": one_or_list({"type": "integer", "minimum": 0, "maximum": 2**63 - 1}),
    "check": {"enum": list(ops.CHECKS)},
    "mask": one_or_list(_MASK),
    "tags": {"type": "array", "items": {"type": "string"}},
    "skip": {"type": "string", "minLength": 1},
}

#: The one schema for case files.
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["cases"],
    "properties": {
        "defaults": {
            "type": "object",
            "additionalProperties": False,
            "properties": {k: v for k, v in _CASE_PROPERTIES.items() if k != "id"},
        },
        "cases": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id"],
                "properties": _CASE_PROPERTIES,
            },
        },
    },
}

_REQUIRED_AFTER_DEFAULTS = ("description", "source", "op", "layout", "shape")
_DEFAULTS = {
    "epsilon": 1e-5,
    "dtype": "float32",
    "affine": "ones",
    "input": {"distribution": "normal", "mean": 0.0, "std": 1.0},
    "seed": 0,
    "check": "forward",
    "tags": [],
}


def _entry(file, raw, defaults, lines, path, max_elements) -> CaseEntry:
    entry = {**_DEFAULTS, **defaults, **raw}
    entry["input"] = {**_DEFAULTS["input"], **defaults.get("input", {}), **raw.get("input", {})}
    base_line = line_of(lines, path)

    def where(key, sub=()):
        if key in raw:
            return line_of(lines, path + (key,) + tuple(sub))
        if key in defaults:
            return line_of(lines, ("defaults", key) + tuple(sub))
        return base_line

    for key in _REQUIRED_AFTER_DEFAULTS:
        if key not in entry:
            raise CaseError(file, base_line, key, f"required key missing in case '{raw['id']}' (and in defaults)")
    op = ops.OPS.get(entry["op"])
    for key, takes, why in (("epsilon", op.takes_epsilon, "it has no epsilon"),
                            ("affine", op.affine, "it has no gamma or beta")):
        if not takes:
            if key in raw or key in defaults:
                raise CaseError(file, where(key), key, f"{op.name} takes no {key}: {why} (case '{raw['id']}')")
            entry.pop(key, None)
    return CaseEntry(str(file), raw, entry, where, base_line, max_elements)


def max_elements_default() -> int:
    v = os.environ.get("NORMCONF_MAX_ELEMENTS")
    return int(v) if v else DEFAULT_MAX_ELEMENTS


def load_file(path, *, max_elements: int | None = None, display: str | None = None) -> list[Case]:
    """Load, validate and expand one case file. Raises CaseError."""
    path = Path(path)
    file = display or str(path)
    if max_elements is None:
        max_elements = max_elements_default()
    data, lines = load_valid(path, file, SCHEMA, "'cases'")
    check_grid(file, data, lines)
    defaults = data.get("defaults", {})
    seen: dict[str, int] = {}
    out: list[Case] = []
    for i, raw in enumerate(data["cases"]):
        for case in expand(_entry(file, raw, defaults, lines, ("cases", i), max_elements)):
            if case.id in seen:
                raise CaseError(file, line_of(lines, ("cases", i, "id")), "id",
                                f"duplicate case id '{case.id}' (first at line {seen[case.id]})")
            seen[case.id] = case.line
            out.append(case)
    return out


def discover(root) -> list[Path]:
    """Case files under ``root`` (claims live in ``root/claims``, expectations in ``root/expectations``
    and documented defaults in ``root/defaults``; none are cases), as :func:`harness.cases.tree.walk`
    finds them (which says what it leaves out: ``walk(root).warnings``)."""
    return walk(root).of("case")


def load_tree(paths, *, max_elements=None, relative_to=None):
    """Load many files. Returns (cases, errors); a bad file never hides the others.
    Ids must be unique across files."""
    cases, errors, seen = [], [], {}
    for p in paths:
        disp = os.path.relpath(p, relative_to) if relative_to else str(p)
        try:
            got = load_file(p, max_elements=max_elements, display=disp)
        except CaseError as e:
            errors.append(e)
            continue
        except Exception as e:  # noqa: BLE001 - a bad file is one error, never the end of the listing
            errors.append(CaseError(disp, 0, None, f"cannot load: {type(e).__name__}: {e}"))
            continue
        dup = next((c for c in got if c.id in seen), None)
        if dup:
            first = seen[dup.id]
            errors.append(CaseError(disp, dup.line, "id",
                                    f"duplicate case id '{dup.id}' (also in {first.file}:{first.line})"))
            continue
        for c in got:
            seen[c.id] = c
        cases.extend(got)
    return cases, errors
