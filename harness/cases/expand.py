"""Expansion: one validated case entry (after defaults) -> the Cases of its grid.

A key given as a list is a grid dimension; the product of every dimension is
expanded, and each value that varies becomes a token of the case id
(``gn-btf-g1-eps1e-05-float32``). Checks that depend on one combination (sizes,
groups dividing channels, axes of the layout) happen here, with the line of
the key that caused them.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Callable

from harness import ops
from harness.ops.layouts import Layout

from .model import Case, fmt_number, freeze_statistics
from .yamlsource import CaseError

#: what each input distribution needs
DISTRIBUTION_KEYS = {"normal": ("mean", "std"), "uniform": ("low", "high"), "constant": ("value",)}
_GRID_INPUT_KEYS = ("mean", "std", "value")


def _token(key, value) -> str:
    if key == "layout":
        return value.lower()
    if key in ops.PARAMS:
        return ops.PARAMS[key][1](value)
    if key == "affine":
        return f"affine-{value}"
    if key == "seed":
        return f"seed{value}"
    if key == "epsilon":
        return "eps-default" if value == "default" else f"eps{fmt_number(float(value))}"
    if key == "dtype":
        return value
    if key.startswith("shape."):
        return f"{key[6:]}{value}"
    if key.startswith("input."):
        return f"{key[6:]}{fmt_number(value)}"
    raise AssertionError(key)


def _as_list(v):
    return v if isinstance(v, list) else [v]


@dataclass
class CaseEntry:
    """One case entry with its defaults applied, and where its keys were written."""

    file: str
    raw: dict
    entry: dict
    where: Callable[..., int]  # key, sub-path -> line
    line: int
    max_elements: int

    def error(self, key, message, sub=()) -> CaseError:
        return CaseError(self.file, self.where(key, sub), key, message)


def check_entry(e: CaseEntry) -> ops.Op:
    """Checks that hold for the whole entry; returns the op's registry entry."""
    entry = e.entry
    op = ops.get(entry["op"])
    for key in op.required:
        if key not in entry:
            raise CaseError(e.file, e.line, key, f"{op.name} needs {key}")
    for key in ops.PARAMS:
        if key in entry and key not in op.params:
            raise e.error(key, f"only {ops.words(ops.takers(key))} take{'s' if len(ops.takers(key)) == 1 else ''} "
                               f"{key}, not {op.name}")
    check = entry["check"]
    if check not in op.checks:
        raise e.error("check", f"{op.name} supports check {', '.join(op.checks)}, not {check}")
    for key, allowed in ops.PARAM_CHECKS.items():
        if key in entry and check not in allowed:
            raise e.error(key, f"{key} applies to check: {ops.words(allowed)} only (this case checks {check})")
    dist = entry["input"].get("distribution", "normal")
    for k in DISTRIBUTION_KEYS[dist]:
        if k not in entry["input"]:
            raise CaseError(e.file, e.where("input"), f"input.{k}", f"distribution {dist} needs {k}")
    layouts = _as_list(entry["layout"])
    used = {a for name in layouts for a in Layout(name).axes}
    for axis in entry["shape"]:
        if axis not in used:
            raise CaseError(e.file, e.where("shape", (axis,)), f"shape.{axis}",
                            f"axis {axis} is in none of the layouts {', '.join(layouts)}")
    return op


def expand(e: CaseEntry) -> list[Case]:
    op = check_entry(e)
    entry = e.entry
    if entry["check"] in ops.CHECK_PARAMS:
        entry = e.entry = {**ops.CHECK_PARAMS[entry["check"]], **entry}
    layouts = _as_list(entry["layout"])
    always = {"epsilon", "dtype"} | set(op.required)
    out = []
    for layout_name in layouts:
        layout = Layout(layout_name)
        missing = [a for a in layout.axes if a not in entry["shape"]]
        if missing:
            raise e.error("shape", f"layout {layout.name} needs sizes for {', '.join(missing)} (case {e.raw['id']})")
        # grid: (name, values), in the order tokens appear in ids
        grid: list[tuple[str, list]] = [("layout", [layout_name])]
        if "axes" in entry:
            grid.append(("axes", _as_list(entry["axes"])))
        grid += [(f"shape.{axis}", _as_list(entry["shape"][axis])) for axis in layout.axes]
        grid += [(key, _as_list(entry[key])) for key in ("groups", "momentum", "steps", "statistics", "affine",
                                                        "seed") if key in entry]
        grid += [(f"input.{k}", _as_list(entry["input"][k])) for k in _GRID_INPUT_KEYS if k in entry["input"]]
        grid += [(key, _as_list(entry[key])) for key in ("epsilon", "dtype")]
        shown = {k for k, vals in grid if len(vals) > 1} | ({"layout"} if len(layouts) > 1 else set()) | always
        for combo in itertools.product(*(vals for _, vals in grid)):
            out.append(_case(e, op, layout, dict(zip((k for k, _ in grid), combo)), grid, shown))
    return out


def _axes(e: CaseEntry, op: ops.Op, layout: Layout, key: str, value, cid: str):
    if value is None:
        return None
    if any(a not in layout.axes for a in value) or len(set(value)) != len(value):
        raise e.error(key, f"'{value}' must name distinct axes of layout {layout.name} (case {cid})")
    value = "".join(layout.ordered(value))
    if key == "axes" and op.grouped and layout.channel not in value:
        raise e.error(key, f"{op.name} statistics always span the channels of a group: '{value}' must include "
                           f"{layout.channel} (case {cid})")
    return value


def _case(e: CaseEntry, op: ops.Op, layout: Layout, p: dict, grid, shown) -> Case:
    entry = e.entry
    cid = "-".join([e.raw["id"], *(_token(k, p[k]) for k, _ in grid if k in shown)])
    sizes = {k[6:]: v for k, v in p.items() if k.startswith("shape.")}
    n = math.prod(sizes.values())
    if n > e.max_elements:
        raise e.error("shape", f"{n} elements exceed the cap of {e.max_elements} (case {cid}; "
                               "raise it with --max-elements or NORMCONF_MAX_ELEMENTS)")
    groups = p.get("groups")
    if groups is not None and "expect" not in entry and sizes[layout.channel] % groups:
        raise e.error("groups", f"{groups} groups do not divide {sizes[layout.channel]} channels "
                                f"({layout.channel}) (case {cid})")
    axes = _axes(e, op, layout, "axes", p.get("axes"), cid)
    affine_axes = _axes(e, op, layout, "affine_axes", entry.get("affine_axes"), cid)
    if op.needs_spatial and not layout.spatial:
        raise e.error("layout", f"{op.name} needs a spatial axis; layout {layout.name} has none (case {cid})")
    statistics = _statistics(e, p["statistics"], sizes[layout.channel], cid) if "statistics" in p else None
    dist = entry["input"].get("distribution", "normal")
    inp = {**entry["input"], "distribution": dist}
    for k in _GRID_INPUT_KEYS:
        if f"input.{k}" in p:
            inp[k] = float(p[f"input.{k}"])
    return Case(
        id=cid, description=entry["description"], source=entry["source"], op=op.name,
        layout=layout.name, sizes=tuple((a, int(sizes[a])) for a in layout.axes),
        dtype=p["dtype"], epsilon=None if p["epsilon"] == "default" else float(p["epsilon"]),
        affine=p["affine"], seed=int(p["seed"]), input=tuple(sorted(inp.items())), groups=groups,
        axes=axes, affine_axes=affine_axes,
        check=entry["check"],
        momentum=None if "momentum" not in p else ops.CUMULATIVE if p["momentum"] is None else float(p["momentum"]),
        statistics=statistics,
        steps=None if p.get("steps") is None else int(p["steps"]),
        tolerance=tuple(sorted(entry.get("tolerance", {}).items())),
        expect=tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in entry.get("expect", {}).items())),
        tags=tuple(entry["tags"]), skip=entry.get("skip", ""), file=str(e.file), line=e.line,
        params=tuple(p.items()),
    )


def _statistics(e: CaseEntry, value: dict, channels: int, cid: str):
    """``statistics`` checked against the channel count (a list holds one value per channel; a variance is
    never negative, so it is a number, a list or a uniform distribution at or above 0), frozen."""
    for name, spec in value.items():
        def bad(message, name=name):
            return CaseError(e.file, e.where("statistics", (name,)), f"statistics.{name}", f"{message} (case {cid})")
        if isinstance(spec, list) and len(spec) != channels:
            raise bad(f"{len(spec)} values for {channels} channels")
        if isinstance(spec, dict):
            need = DISTRIBUTION_KEYS[spec["distribution"]]
            missing = [k for k in need if k not in spec]
            extra = sorted(set(spec) - set(need) - {"distribution"})
            if missing or extra:
                raise bad(f"distribution {spec['distribution']} takes {' and '.join(need)}"
                          + (f", not {extra[0]}" if extra else ""))
            if spec["distribution"] == "uniform" and spec["low"] > spec["high"]:
                raise bad(f"uniform low {spec['low']:g} above high {spec['high']:g}")
        if name == "var":
            if isinstance(spec, dict) and spec["distribution"] != "uniform":
                raise bad("a normal distribution draws negative variances; use a uniform one with low >= 0")
            low = spec["low"] if isinstance(spec, dict) else min(spec) if isinstance(spec, list) else spec
            if low < 0:
                raise bad(f"a variance is never negative ({low:g})")
    return freeze_statistics(value)
