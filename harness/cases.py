"""Case files: YAML -> validated, expanded, frozen Case objects.

The schema lives here and only here. Files are read with a safe YAML loader;
every error names the file, the line and the key, in one line.
"""
from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from .layouts import LAYOUTS, Layout
from .reference import OPS, Semantics, op_semantics
from .yamlsource import CaseError, check_grid, load_yaml, read_source  # noqa: F401 - CaseError, load_yaml re-exported

DTYPES = ("float16", "bfloat16", "float32", "float64")
AFFINES = ("none", "ones", "random")
DISTRIBUTIONS = ("normal", "uniform", "constant")
CHECKS = ("forward",)
DEFAULT_MAX_ELEMENTS = 1 << 24  # 16 Mi elements: 128 MiB in float64


def _one_or_list(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "array", "items": schema, "minItems": 1}]}


_INPUT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "distribution": {"enum": list(DISTRIBUTIONS)},
        "mean": _one_or_list({"type": "number"}),
        "std": _one_or_list({"type": "number", "minimum": 0}),
        "low": {"type": "number"},
        "high": {"type": "number"},
        "value": _one_or_list({"type": "number"}),
    },
}

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
        "message": _one_or_list({"type": "string", "minLength": 1}),
    },
}

_CASE_PROPERTIES = {
    "id": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"},
    "description": {"type": "string", "minLength": 1},
    "source": {"type": "string", "minLength": 1},
    "op": {"enum": list(OPS)},
    "layout": _one_or_list({"enum": list(LAYOUTS)}),
    "shape": {
        "type": "object",
        "propertyNames": {"pattern": "^[A-Z]$"},
        "additionalProperties": _one_or_list({"type": "integer", "minimum": 1}),
    },
    "groups": _one_or_list({"type": "integer", "minimum": 1}),
    "epsilon": _one_or_list({"anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"const": "default"}]}),
    "dtype": _one_or_list({"enum": list(DTYPES)}),
    "affine": _one_or_list({"enum": list(AFFINES)}),
    "axes": _one_or_list({"type": "string", "pattern": "^[A-Z]+$"}),
    "affine_axes": {"type": "string", "pattern": "^[A-Z]+$"},
    "tolerance": _TOLERANCE,
    "expect": _EXPECT,
    "input": _INPUT,
    "seed": _one_or_list({"type": "integer", "minimum": 0, "maximum": 2**63 - 1}),
    "check": {"enum": list(CHECKS)},
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


@dataclass(frozen=True)
class Case:
    """One expanded case: every parameter is a single value."""

    id: str
    description: str
    source: str
    op: str
    layout: str
    sizes: tuple[tuple[str, int], ...]
    dtype: str
    epsilon: float | None  # None: the framework's default (``epsilon: default``)
    affine: str
    seed: int
    input: tuple[tuple[str, Any], ...]
    groups: int | None = None
    axes: str | None = None
    affine_axes: str | None = None
    check: str = "forward"
    tolerance: tuple[tuple[str, Any], ...] = ()
    expect: tuple[tuple[str, Any], ...] = ()
    tags: tuple[str, ...] = ()
    skip: str = ""
    file: str = ""
    line: int = 0
    params: tuple[tuple[str, Any], ...] = field(default=(), compare=False)

    @property
    def shape(self) -> tuple[int, ...]:
        return Layout(self.layout).shape(dict(self.sizes))

    @property
    def size(self) -> dict[str, int]:
        return dict(self.sizes)

    @property
    def input_spec(self) -> dict[str, Any]:
        return dict(self.input)

    @property
    def semantics(self) -> Semantics:
        """The operator's semantics; with ``epsilon: default`` its epsilon is 0
        until :meth:`semantics_with` is given the framework's documented default."""
        return self.semantics_with(self.epsilon if self.epsilon is not None else 0.0)

    def semantics_with(self, eps: float) -> Semantics:
        return op_semantics(self.op, self.layout, axes=self.axes, groups=self.groups, eps=eps,
                            affine_axes=self.affine_axes)

    @property
    def tolerance_spec(self):
        from .compare import Tolerance
        return Tolerance.from_dict(dict(self.tolerance))

    @property
    def expect_spec(self) -> dict[str, Any]:
        return dict(self.expect)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "description": self.description, "source": self.source,
            "op": self.op, "layout": self.layout, "shape": dict(self.sizes),
            "dtype": self.dtype, "epsilon": self.epsilon, "affine": self.affine,
            "seed": self.seed, "input": dict(self.input), "groups": self.groups,
            "axes": self.axes, "affine_axes": self.affine_axes, "check": self.check,
            "tolerance": dict(self.tolerance) or None, "expect": dict(self.expect) or None,
            "tags": list(self.tags), "skip": self.skip,
            "file": self.file, "line": self.line,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Case":
        lay = Layout(d["layout"])
        return cls(
            id=d["id"], description=d.get("description", ""), source=d.get("source", ""),
            op=d["op"], layout=d["layout"],
            sizes=tuple((a, int(d["shape"][a])) for a in lay.axes),
            dtype=d["dtype"], epsilon=None if d.get("epsilon") in (None, "default") else float(d["epsilon"]),
            affine=d["affine"],
            seed=int(d["seed"]), input=tuple(sorted(d["input"].items())),
            groups=d.get("groups"), axes=d.get("axes"), affine_axes=d.get("affine_axes"),
            check=d.get("check", "forward"),
            tolerance=tuple(sorted((d.get("tolerance") or {}).items())),
            expect=tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in (d.get("expect") or {}).items())),
            tags=tuple(d.get("tags", ())), skip=d.get("skip", ""), file=d.get("file", ""),
            line=int(d.get("line", 0)),
        )


def _line(lines, path):
    path = tuple(path)
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)


def schema_error(file, data, lines, schema=None) -> CaseError | None:
    """The most relevant violation of ``schema`` (default: the case schema) as a one-line CaseError."""
    validator = jsonschema.Draft202012Validator(SCHEMA if schema is None else schema)
    err = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if err is None:
        return None
    if err.validator == "anyOf" and err.context:
        # scalar-or-list: explain against the branch the value was written in
        branch = 1 if isinstance(err.instance, list) else 0
        sub = [e for e in err.context if e.schema_path and e.schema_path[0] == branch] or list(err.context)
        err = jsonschema.exceptions.best_match(sub) or err
    path = list(err.absolute_path)
    tail = []
    for p in reversed(path):
        if not isinstance(p, str):
            break
        tail.insert(0, p)
    key = ".".join(tail) or None
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = set(err.schema.get("properties", {}))
        extra = sorted(k for k in err.instance if k not in allowed)
        if extra:
            return CaseError(file, _line(lines, path + [extra[0]]), extra[0],
                             f"unknown key (allowed: {', '.join(sorted(allowed))})")
    if err.validator == "required":
        return CaseError(file, _line(lines, path), key, err.message)
    msg = err.message
    if len(msg) > 200:
        msg = msg[:200] + "..."
    return CaseError(file, _line(lines, path), key, msg)


# --- expansion ----------------------------------------------------------------

def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _token(key, value) -> str:
    if key == "layout":
        return value.lower()
    if key == "axes":
        return f"over-{value}"
    if key == "groups":
        return f"g{value}"
    if key == "affine":
        return f"affine-{value}"
    if key == "seed":
        return f"seed{value}"
    if key == "epsilon":
        return "eps-default" if value == "default" else f"eps{_fmt(float(value))}"
    if key == "dtype":
        return value
    if key.startswith("shape."):
        return f"{key[6:]}{value}"
    if key.startswith("input."):
        return f"{key[6:]}{_fmt(value)}"
    raise AssertionError(key)


def _as_list(v):
    return v if isinstance(v, list) else [v]


def _expand_one(file, raw, defaults, lines, path, max_elements) -> list[Case]:
    entry = {**_DEFAULTS, **defaults, **raw}
    entry["input"] = {**_DEFAULTS["input"], **defaults.get("input", {}), **raw.get("input", {})}
    base_line = _line(lines, path)

    def where(key, sub=()):
        if key in raw:
            return _line(lines, path + (key,) + tuple(sub))
        if key in defaults:
            return _line(lines, ("defaults", key) + tuple(sub))
        return base_line

    for key in _REQUIRED_AFTER_DEFAULTS:
        if key not in entry:
            raise CaseError(file, base_line, key, f"required key missing in case '{raw['id']}' (and in defaults)")

    op = entry["op"]
    if op == "group_norm" and "groups" not in entry:
        raise CaseError(file, base_line, "groups", "group_norm needs groups")
    if op != "group_norm" and "groups" in entry:
        raise CaseError(file, where("groups"), "groups", f"only group_norm takes groups, not {op}")
    if op not in ("layer_norm", "rms_norm", "group_norm") and "axes" in entry:
        raise CaseError(file, where("axes"), "axes", f"only layer_norm, rms_norm and group_norm take axes, not {op}")
    if op not in ("layer_norm", "rms_norm") and "affine_axes" in entry:
        raise CaseError(file, where("affine_axes"), "affine_axes",
                        f"only layer_norm and rms_norm take affine_axes, not {op}")
    dist = entry["input"].get("distribution", "normal")
    need = {"normal": ("mean", "std"), "uniform": ("low", "high"), "constant": ("value",)}[dist]
    for k in need:
        if k not in entry["input"]:
            raise CaseError(file, where("input"), f"input.{k}", f"distribution {dist} needs {k}")

    layouts = _as_list(entry["layout"])
    used = {a for name in layouts for a in Layout(name).axes}
    for axis in entry["shape"]:
        if axis not in used:
            raise CaseError(file, where("shape", (axis,)), f"shape.{axis}",
                            f"axis {axis} is in none of the layouts {', '.join(layouts)}")

    always = {"epsilon", "dtype"} | ({"groups"} if op == "group_norm" else set())
    out = []
    for layout_name in layouts:
        layout = Layout(layout_name)
        missing = [a for a in layout.axes if a not in entry["shape"]]
        if missing:
            raise CaseError(file, where("shape"), "shape",
                            f"layout {layout.name} needs sizes for {', '.join(missing)} (case {raw['id']})")
        # grid: (name, values), in the order tokens appear in ids
        grid: list[tuple[str, list]] = [("layout", [layout_name])]
        if "axes" in entry:
            grid.append(("axes", _as_list(entry["axes"])))
        for axis in layout.axes:
            grid.append((f"shape.{axis}", _as_list(entry["shape"][axis])))
        for key in ("groups", "affine", "seed"):
            if key in entry:
                grid.append((key, _as_list(entry[key])))
        for k in ("mean", "std", "value"):
            if k in entry["input"]:
                grid.append((f"input.{k}", _as_list(entry["input"][k])))
        for key in ("epsilon", "dtype"):
            grid.append((key, _as_list(entry[key])))
        multi = {k for k, vals in grid if len(vals) > 1} | ({"layout"} if len(layouts) > 1 else set())
        out.extend(_combos(file, raw, entry, grid, multi | always, layout, op, dist, where, max_elements, base_line))
    return out


def _combos(file, raw, entry, grid, shown, layout, op, dist, where, max_elements, base_line):
    out = []
    for combo in itertools.product(*(vals for _, vals in grid)):
        p = dict(zip((k for k, _ in grid), combo))
        tokens = [_token(k, p[k]) for k, _ in grid if k in shown]
        cid = "-".join([raw["id"], *tokens])
        sizes = {k[6:]: v for k, v in p.items() if k.startswith("shape.")}
        n = math.prod(sizes.values())
        if n > max_elements:
            raise CaseError(file, where("shape"), "shape",
                            f"{n} elements exceed the cap of {max_elements} (case {cid}; "
                            "raise it with --max-elements or NORMCONF_MAX_ELEMENTS)")
        groups = p.get("groups")
        if groups is not None and "expect" not in entry:
            C = sizes[layout.channel]
            if C % groups:
                raise CaseError(file, where("groups"), "groups",
                                f"{groups} groups do not divide {C} channels ({layout.channel}) (case {cid})")
        axes = p.get("axes")
        if axes is not None:
            bad = [a for a in axes if a not in layout.axes]
            if bad or len(set(axes)) != len(axes):
                raise CaseError(file, where("axes"), "axes",
                                f"'{axes}' must name distinct axes of layout {layout.name} (case {cid})")
            axes = "".join(layout.ordered(axes))
            if op == "group_norm" and layout.channel not in axes:
                raise CaseError(file, where("axes"), "axes",
                                f"group_norm statistics always span the channels of a group: '{axes}' must include "
                                f"{layout.channel} (case {cid})")
        affine_axes = entry.get("affine_axes")
        if affine_axes is not None:
            if any(a not in layout.axes for a in affine_axes) or len(set(affine_axes)) != len(affine_axes):
                raise CaseError(file, where("affine_axes"), "affine_axes",
                                f"'{affine_axes}' must name distinct axes of layout {layout.name} (case {cid})")
            affine_axes = "".join(layout.ordered(affine_axes))
        if op == "instance_norm" and not layout.spatial:
            raise CaseError(file, where("layout"), "layout",
                            f"instance_norm needs a spatial axis; layout {layout.name} has none (case {cid})")
        inp = {**entry["input"], "distribution": dist}
        for k in ("mean", "std", "value"):
            if f"input.{k}" in p:
                inp[k] = float(p[f"input.{k}"])
        out.append(Case(
            id=cid, description=entry["description"], source=entry["source"], op=op,
            layout=layout.name, sizes=tuple((a, int(sizes[a])) for a in layout.axes),
            dtype=p["dtype"], epsilon=None if p["epsilon"] == "default" else float(p["epsilon"]),
            affine=p["affine"], seed=int(p["seed"]),
            input=tuple(sorted(inp.items())), groups=groups, axes=axes, affine_axes=affine_axes,
            check=entry["check"],
            tolerance=tuple(sorted(entry.get("tolerance", {}).items())),
            expect=tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                                for k, v in entry.get("expect", {}).items())),
            tags=tuple(entry["tags"]), skip=entry.get("skip", ""), file=str(file), line=base_line,
            params=tuple((k, v) for k, v in p.items()),
        ))
    return out


def params_text(case: dict) -> str:
    """A case's parameters in one line, from its record: 'op=group_norm layout=BTF shape=B2xT5xF6 ...'."""
    shape = case.get("shape") or {}
    p = [f"op={case.get('op')}", f"layout={case.get('layout')}",
         "shape=" + "x".join(f"{a}{n}" for a, n in shape.items())]
    for k in ("groups", "axes", "affine_axes"):
        if case.get(k) is not None:
            p.append(f"{k}={case[k]}")
    eps = case.get("epsilon")
    p += [f"eps={'default' if eps in (None, 'default') else _fmt(eps)}", f"dtype={case.get('dtype')}", f"affine={case.get('affine')}",
          f"seed={case.get('seed')}"]
    inp = case.get("input") or {}
    if inp:
        p.append("input=" + ",".join(f"{k}:{_fmt(v)}" for k, v in sorted(inp.items())))
    return " ".join(p)


def max_elements_default() -> int:
    v = os.environ.get("NORMCONF_MAX_ELEMENTS")
    return int(v) if v else DEFAULT_MAX_ELEMENTS


def load_file(path, *, max_elements: int | None = None, display: str | None = None) -> list[Case]:
    """Load, validate and expand one case file. Raises CaseError."""
    path = Path(path)
    file = display or str(path)
    if max_elements is None:
        max_elements = max_elements_default()
    data, lines = load_yaml(read_source(path, file), file)
    if data is None:
        raise CaseError(file, 1, None, "empty file (expected a mapping with 'cases')")
    err = schema_error(file, data, lines)
    if err:
        raise err
    check_grid(file, data, lines)
    defaults = data.get("defaults", {})
    seen: dict[str, int] = {}
    out: list[Case] = []
    for i, raw in enumerate(data["cases"]):
        for case in _expand_one(file, raw, defaults, lines, ("cases", i), max_elements):
            if case.id in seen:
                raise CaseError(file, _line(lines, ("cases", i, "id")), "id",
                                f"duplicate case id '{case.id}' (first at line {seen[case.id]})")
            seen[case.id] = case.line
            out.append(case)
    return out


CLAIMS_DIR = "claims"
EXPECTATIONS_DIR = "expectations"


def discover(root) -> list[Path]:
    """Case files under ``root`` (claims live in ``root/claims`` and expectations in
    ``root/expectations``; neither are cases)."""
    root = Path(root)
    skip = (root / CLAIMS_DIR, root / EXPECTATIONS_DIR)
    return sorted(p for p in root.rglob("*.yaml") if p.is_file() and not any(d in p.parents for d in skip))


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
