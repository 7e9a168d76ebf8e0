"""Expansion: one validated case entry (after defaults) -> the Cases of its grid.

A key given as a list is a grid dimension; the product of every dimension is
expanded, and each value that varies becomes a token of the case id
(``gn-btf-g1-eps1e-05-float32``). Checks that depend on one combination (sizes,
groups dividing channels, axes of the layout) happen here, with the line of
the key that caused them, and so do the checks of the values every input is drawn from: a uniform
range has ``low <= high`` and a finite width, and every drawn or given value fits the case's dtype
(a normal draw up to its mean plus ten standard deviations), so no accepted case draws an infinity
or makes numpy refuse a range. The element cap counts every array a cell draws: x, and also
``dy`` (check backward) and each of the ``steps`` training batches (check running_stats).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Callable

import ml_dtypes

from harness import ops
from harness.ops.dtypes import np_dtype
from harness.ops.layouts import Layout
from harness.ops.semantics import param_shape

from .model import AffineValues, Case, ParamValues, fmt_number, freeze_statistics
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
        return f"affine-{value}" if isinstance(value, str) else f"affine-{AffineValues.parse(value).token()}"
    if key == "options":
        return "-".join(ops.OPTIONS[k].token(v) for k, v in sorted(value.items()))
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
    if key == "mask":  # resolved: (("axis", "T"), ("lengths", (5, 3))) or (("random", 0.3),)
        m = dict(value)
        if "lengths" in m:
            return f"mask-{m['axis']}-len" + "_".join(str(n) for n in m["lengths"])
        return f"mask-rand{fmt_number(m['random'])}"
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
    if "mask" in entry:
        if check != "forward":
            raise e.error("mask", f"a mask applies to check: forward only (this case checks {check})")
        if op.definition is not None:
            raise e.error("mask", f"{op.name} has its own definition, which has no masked statistics")
        for i, m in enumerate(_as_list(entry["mask"])):
            sub = (i,) if isinstance(entry["mask"], list) else ()
            if ("lengths" in m) == ("random" in m):
                raise e.error("mask", "a mask gives either lengths (valid positions per batch row) or random "
                                      "(the probability that a position is masked)", sub)
            if "axis" in m and "lengths" not in m:
                raise e.error("mask", "axis applies to a lengths mask only", sub + ("axis",))
    for aff in _as_list(entry.get("affine", [])):
        if isinstance(aff, dict) and "beta" in aff and not op.bias:
            raise CaseError(e.file, e.where("affine", _affine_sub(e, aff, "beta")), "affine.beta",
                            f"{op.name} has no bias: give gamma only")
        for name in ("gamma", "beta") if isinstance(aff, dict) else ():
            try:
                ParamValues.parse(aff[name]) if name in aff else None
            except ValueError as err:
                raise CaseError(e.file, e.where("affine", _affine_sub(e, aff, name)), f"affine.{name}",
                                str(err)) from None
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
    always = {"epsilon", "dtype", "mask"} | set(op.required)
    own = [k for k in op.own_keys if k in entry]
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
        if "mask" in entry:
            grid.append(("mask", _as_list(entry["mask"])))
        grid += [(key, _as_list(entry[key])) for key in ("groups", "momentum", "steps", "statistics", *own, "affine",
                                                        "seed") if key in entry]
        grid += [(f"input.{k}", _as_list(entry["input"][k])) for k in _GRID_INPUT_KEYS if k in entry["input"]]
        grid += [(key, _as_list(entry[key])) for key in ("epsilon", "dtype") if key in entry]
        if "options" in entry:
            grid.append(("options", _as_list(entry["options"])))
        shown = {k for k, vals in grid if len(vals) > 1} | ({"layout"} if len(layouts) > 1 else set()) | always
        # given affine values and options are always named
        shown |= {k for k, vals in grid if k in ("affine", "options") and any(isinstance(v, dict) for v in vals)}
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


def _mask(e: CaseEntry, layout: Layout, sizes: dict, value: dict) -> tuple:
    """A mask of the case file resolved for one layout and shape (the Case field), or a CaseError."""
    masks = _as_list(e.entry["mask"])
    sub = (masks.index(value),) if isinstance(e.entry["mask"], list) else ()
    base = e.raw["id"]
    if "random" in value:
        return (("random", float(value["random"])),)
    axis = value.get("axis")
    if axis is None:
        rest = [a for a in layout.axes if a not in (layout.batch, layout.channel)]
        if not rest:
            raise e.error("mask", f"layout {layout.name} has no axis besides the batch and the channel for "
                                  f"lengths to run along; use a random mask (case {base})", sub)
        axis = rest[0]
    elif axis not in layout.axes:
        raise e.error("mask", f"axis {axis} is not an axis of layout {layout.name} (case {base})", sub + ("axis",))
    elif axis == layout.channel:
        raise e.error("mask", f"axis {axis} is the channel axis: a mask marks positions, not features "
                              f"(case {base})", sub + ("axis",))
    elif axis == layout.batch:
        raise e.error("mask", f"axis {axis} is the batch axis: lengths give one length per batch row "
                              f"(case {base})", sub + ("axis",))
    lengths = [int(n) for n in value["lengths"]]
    batch = sizes[layout.batch]
    if len(lengths) != batch:
        raise e.error("mask", f"{len(lengths)} lengths for a batch of {batch} ({layout.batch}); give one per "
                              f"batch row (case {base})", sub + ("lengths",))
    over = [n for n in lengths if n > sizes[axis]]
    if over:
        raise e.error("mask", f"length {over[0]} exceeds the size of {axis} ({sizes[axis]}) (case {base})",
                      sub + ("lengths",))
    return (("axis", axis), ("lengths", tuple(lengths)))


def _case(e: CaseEntry, op: ops.Op, layout: Layout, p: dict, grid, shown) -> Case:
    entry = e.entry
    sizes = {k[6:]: v for k, v in p.items() if k.startswith("shape.")}
    if "mask" in p:
        p = {**p, "mask": _mask(e, layout, sizes, p["mask"])}
    cid = "-".join([e.raw["id"], *(_token(k, p[k]) for k, _ in grid if k in shown)])
    n = math.prod(sizes.values())
    arrays = 1 + (1 if entry["check"] == "backward" else 0) + \
        (int(p.get("steps") or 0) if entry["check"] == "running_stats" else 0)
    if n * arrays > e.max_elements:
        what = f"{n} elements" if arrays == 1 else f"{n} elements x {arrays} arrays ({entry['check']})"
        raise e.error("shape", f"{what} exceed the cap of {e.max_elements} (case {cid}; "
                               "raise it with --max-elements or NORMCONF_MAX_ELEMENTS)")
    groups = p.get("groups")
    if groups is not None and "expect" not in entry and sizes[layout.channel] % groups:
        raise e.error("groups", f"{groups} groups do not divide {sizes[layout.channel]} channels "
                                f"({layout.channel}) (case {cid})")
    axes = _axes(e, op, layout, "axes", p.get("axes"), cid)
    affine_axes = _axes(e, op, layout, "affine_axes", entry.get("affine_axes"), cid)
    if op.needs_spatial and not layout.spatial:
        raise e.error("layout", f"{op.name} needs a spatial axis; layout {layout.name} has none (case {cid})")
    statistics = _statistics(e, p["statistics"], sizes[layout.channel], cid, p["dtype"]) if "statistics" in p else None
    dist = entry["input"].get("distribution", "normal")
    inp = {**entry["input"], "distribution": dist}
    for k in _GRID_INPUT_KEYS:
        if f"input.{k}" in p:
            inp[k] = float(p[f"input.{k}"])
    _check_input(e, inp, p["dtype"], cid)
    case = Case(
        id=cid, description=entry["description"], source=entry["source"], op=op.name,
        layout=layout.name, sizes=tuple((a, int(sizes[a])) for a in layout.axes),
        dtype=p["dtype"], epsilon=None if p.get("epsilon", "default") == "default" else float(p["epsilon"]),
        affine=(lambda a: a if isinstance(a, str) else AffineValues.parse(a))(p.get("affine", "none")),
        seed=int(p["seed"]), input=tuple(sorted(inp.items())), groups=groups,
        axes=axes, affine_axes=affine_axes,
        check=entry["check"],
        momentum=None if "momentum" not in p else ops.CUMULATIVE if p["momentum"] is None else float(p["momentum"]),
        statistics=statistics,
        steps=None if p.get("steps") is None else int(p["steps"]),
        tolerance=tuple(sorted(entry.get("tolerance", {}).items())),
        expect=tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in entry.get("expect", {}).items())),
        tags=tuple(entry["tags"]), skip=entry.get("skip", ""), file=str(e.file), line=e.line,
        mask=p.get("mask", ()), options=tuple(sorted((p.get("options") or {}).items())),
        params=tuple(p.items()),
        op_args=tuple((k, p[k]) for k in op.own_keys if k in p),
    )
    if isinstance(case.affine, AffineValues):
        _check_affine(e, case, p["affine"])
    return case


def _affine_sub(e: CaseEntry, raw, name: str) -> tuple:
    """The sub-path of ``affine``'s ``name`` in the file: under the grid value ``raw`` when it is a list."""
    grid = e.entry["affine"]
    if not isinstance(grid, list):
        return (name,)
    return (next((i for i, v in enumerate(grid) if v is raw), 0), name)


def _check_affine(e: CaseEntry, case: Case, raw):
    """Given affine values fit the case: a list has one value per parameter element, and every value
    fits the case dtype."""
    shape = param_shape(case.semantics, case.size)
    n = math.prod(shape)
    biggest = largest(case.dtype)
    for name, values in case.affine.items():
        key, sub = f"affine.{name}", _affine_sub(e, raw, name)
        if values.kind == "list" and len(values.args) != n:
            raise CaseError(e.file, e.where("affine", sub), key,
                            f"{len(values.args)} values for {n} parameters (shape {list(shape)}: the sizes of "
                            f"{','.join(Layout(case.layout).ordered(case.semantics.affine_axes))} in layout "
                            f"order) (case {case.id})")
        if values.kind == "uniform":
            low, high = values.args
            if low > high or not math.isfinite(high - low):
                raise CaseError(e.file, e.where("affine", sub), key,
                                f"uniform low {low:g} above high {high:g} (case {case.id})" if low > high else
                                f"uniform range {low:g} to {high:g} is wider than float64 holds (case {case.id})")
        if not values.bound() < biggest:
            raise CaseError(e.file, e.where("affine", sub), key,
                            f"values up to {values.bound():g} do not fit {case.dtype} (largest finite "
                            f"{biggest:g}) (case {case.id})")


def largest(dtype: str) -> float:
    """The largest finite value of ``dtype``."""
    return float(ml_dtypes.finfo(np_dtype(dtype)).max)  # numpy's finfo knows no bfloat16 before numpy 2


def draw_problem(spec: dict, dtype: str) -> tuple[str, str] | None:
    """(key, why) when the draws of a distribution spec (``distribution`` normal, uniform or constant with
    its keys) cannot all be finite values of ``dtype``; None when they can."""
    dist = spec.get("distribution", "normal")
    biggest = largest(dtype)
    if dist == "uniform":
        low, high = float(spec["low"]), float(spec["high"])
        if low > high:
            return "low", f"uniform low {low:g} is above high {high:g}"
        if not math.isfinite(high - low):
            return "high", f"uniform range {low:g} to {high:g} is wider than float64 holds"
        bound, key = max(abs(low), abs(high)), "high" if abs(high) >= abs(low) else "low"
    elif dist == "normal":
        bound, key = abs(float(spec["mean"])) + 10 * float(spec["std"]), "std" if spec["std"] else "mean"
    else:
        bound, key = abs(float(spec["value"])), "value"
    if not bound < biggest:
        return key, (f"{dist} draws reach {bound:g}, beyond the largest finite {dtype} ({biggest:g})"
                     + (" (a normal draw counts up to its mean plus 10 standard deviations)" if dist == "normal"
                        else ""))
    return None


def _check_input(e: CaseEntry, inp: dict, dtype: str, cid: str):
    """The input distribution draws finite values of the case dtype (see :func:`draw_problem`)."""
    bad = draw_problem(inp, dtype)
    if bad:
        key, why = bad
        raise CaseError(e.file, e.where("input", (key,)), f"input.{key}", f"{why} (case {cid})")


def _statistics(e: CaseEntry, value: dict, channels: int, cid: str, dtype: str):
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
            problem = draw_problem(spec, dtype)
            if problem:
                raise bad(problem[1])
        if name == "var":
            if isinstance(spec, dict) and spec["distribution"] != "uniform":
                raise bad("a normal distribution draws negative variances; use a uniform one with low >= 0")
            low = spec["low"] if isinstance(spec, dict) else min(spec) if isinstance(spec, list) else spec
            if low < 0:
                raise bad(f"a variance is never negative ({low:g})")
        values = spec if isinstance(spec, list) else [spec] if not isinstance(spec, dict) else []
        if any(not abs(v) < largest(dtype) for v in values):
            raise bad(f"values up to {max(abs(v) for v in values):g} do not fit {dtype} "
                      f"(largest finite {largest(dtype):g})")
    return freeze_statistics(value)
