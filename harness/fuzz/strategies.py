"""Hypothesis strategies over the case schema, for ``normconf fuzz``.

A drawn case is a case-file entry (a dict as a case file would hold it) built
from the operator registry (:mod:`harness.ops`: the ops, each op's keys, which
it requires, its checks, whether it needs a spatial axis or splits channels
into groups) and the case schema (:data:`harness.cases.load.SCHEMA`: layouts,
dtypes, affine kinds and the forms of given gamma/beta values, input
distributions, epsilon's forms, each op key's JSON schema) and the registry's
framework options (each with a value from its schema). A new op, layout, dtype or op key is drawn without a change here;
only a key whose valid values depend on others needs a rule (``groups`` must
divide the channel size; a grouped op's ``axes`` include the channel; a
check's own keys go with that check; a ``mask``, forward cells only, gives one
length per batch row within its axis).

Entries become cases through the case loader itself (:func:`build`): the entry
is written as a case file and loaded with :func:`harness.cases.load.load_file`, so a
drawn case is exactly what ``normconf run`` would run from that file, and its
id (``fuzz-<op>-<layout>-<sizes>-...``, every parameter a token) is the id the
loader gives it. Expectation entries can name fuzz cases by glob on those
tokens (``fuzz-ln-*-float16``).
"""
from __future__ import annotations

import math
import tempfile
from pathlib import Path

import ml_dtypes
import yaml
from hypothesis import strategies as st

from harness import ops
from harness.cases.expand import DISTRIBUTION_KEYS
from harness.cases.load import SCHEMA, load_file
from harness.cases.model import Case, affine_json, fmt_number, thaw_statistics
from harness.ops.dtypes import np_dtype
from harness.ops.layouts import Layout
from harness.ops.semantics import param_shape

CASE_PROPERTIES = SCHEMA["properties"]["cases"]["items"]["properties"]

#: the largest input a drawn case asks for (elements)
DEFAULT_MAX_ELEMENTS = 4096
#: sizes besides 1..5: odd ones, powers of two, one more than a power of two
LARGER_SIZES = (7, 8, 9, 13, 16, 17, 32, 64)
#: input parameters: large means, tiny spreads, constants
MEANS = (0.0, 1.0, -3.0, 100.0, 1000.0, 10000.0, -10000.0, 1e5, 1e6)
STDS = (1.0, 0.01, 0.001, 1e-5, 10.0, 1000.0)
VALUES = (0.0, 1.0, -2.5, 1000.0, 0.001)
RANGES = ((-1.0, 1.0), (0.0, 1.0), (999.0, 1001.0), (-1e4, 1e4), (1e-6, 2e-6))
#: numbers tried for a ``type: number`` key (filtered by the key's bounds)
NUMBERS = (1e-5, 1e-3, 1e-6, 0.1, 1.0, 1e-12, 0.5, 0.9, 0.01, 2.0)
#: how many of a key's values an integer key ranges over
INT_SPAN = 7


def scalar(schema: dict) -> dict:
    """The schema of one value of a key that takes a value or a grid (list) of them."""
    any_of = schema.get("anyOf")
    if any_of and len(any_of) == 2 and any_of[1].get("type") == "array" and any_of[1].get("items") == any_of[0]:
        return any_of[0]
    return schema


def values(key: str) -> list:
    """The enumerated values of a case key (``layout``, ``dtype``, ``affine``, ``check``); for a key that
    also takes a mapping (``affine``), the values of its enumerated form."""
    s = scalar(CASE_PROPERTIES[key])
    return list(s["enum"] if "enum" in s else next(b["enum"] for b in s["anyOf"] if "enum" in b))


def _in_bounds(schema: dict, v) -> bool:
    if "minimum" in schema and v < schema["minimum"]:
        return False
    if "maximum" in schema and v > schema["maximum"]:
        return False
    if "exclusiveMinimum" in schema and v <= schema["exclusiveMinimum"]:
        return False
    if "exclusiveMaximum" in schema and v >= schema["exclusiveMaximum"]:
        return False
    return True


def from_schema(schema: dict, layout: Layout | None = None) -> st.SearchStrategy:
    """Values of one case key from its JSON schema. Strings of capital letters name axes
    (``axes``, ``affine_axes``): distinct axes of ``layout``, in its order."""
    s = scalar(schema)
    if "anyOf" in s:
        return st.one_of([from_schema(b, layout) for b in s["anyOf"]])
    if "const" in s:
        return st.just(s["const"])
    if s.get("type") == "null":  # momentum: null, the cumulative average
        return st.just(None)
    if "enum" in s:
        return st.sampled_from(s["enum"])
    kind = s.get("type")
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        lo = int(s.get("minimum", 0))
        return st.integers(lo, min(int(s.get("maximum", lo + INT_SPAN)), lo + INT_SPAN))
    if kind == "number":
        return st.sampled_from([v for v in NUMBERS if _in_bounds(s, v)])
    if kind == "string" and s.get("pattern") == "^[A-Z]+$" and layout is not None:
        # each axis in or out with even odds (a list strategy would favour one or two axes)
        masks = st.lists(st.booleans(), min_size=layout.rank, max_size=layout.rank).filter(any)
        return masks.map(lambda mask: "".join(a for a, keep in zip(layout.axes, mask) if keep))
    raise ValueError(f"no strategy for schema {schema!r}")


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _size(draw, room: int) -> int:
    small = st.integers(1, min(5, room))
    larger = [v for v in LARGER_SIZES if v <= room]
    return draw(st.one_of(small, st.sampled_from(larger)) if larger else small)


@st.composite
def sizes(draw, layout: Layout, max_elements: int, grouped: bool = False) -> tuple[dict, int | None]:
    """A size per axis (1, small odd and even sizes, sometimes larger), at most ``max_elements`` in all;
    for a grouped op also the groups: the channel size is drawn as groups x channels per group."""
    out, total, groups = {}, 1, None
    for axis in layout.axes:
        room = max(1, max_elements // total // 2 ** (layout.rank - len(out) - 1))
        if grouped and axis == layout.channel:
            groups = _size(draw, min(room, 16))
            out[axis] = groups * _size(draw, max(1, room // groups))
        else:
            out[axis] = _size(draw, room)
        total *= out[axis]
    return out, groups


#: running statistics a ``statistics`` spec draws: large means, tiny and large variances
STAT_MEANS = (0.0, 1.0, -3.0, 1000.0, 10000.0)
STAT_VARS = (1.0, 0.25, 1e-8, 1e-3, 100.0)


def _statistic(draw, name: str, channels: int):
    """One running statistic's spec: a number, one number per channel, or a distribution (a variance:
    uniform at or above 0)."""
    pool = STAT_MEANS if name == "mean" else STAT_VARS
    kind = draw(st.sampled_from(["number", "list", "distribution"]))
    if kind == "number":
        return draw(st.sampled_from(pool))
    if kind == "list":
        return draw(st.lists(st.sampled_from(pool), min_size=channels, max_size=channels))
    if name == "mean":
        return {"distribution": "normal", "mean": draw(st.sampled_from(pool)), "std": draw(st.sampled_from(STDS))}
    low = draw(st.sampled_from(pool))
    return {"distribution": "uniform", "low": low, "high": low * draw(st.sampled_from([1.0, 2.0, 16.0]))}


def _param(draw, key: str, op: ops.Op, layout: Layout, shape: dict, groups: int | None):
    """One op-specific key's value; the keys whose values depend on others have their rule here."""
    if key == "groups":  # drawn with the sizes: it divides the channel size
        return groups
    if key == "statistics":  # a list holds one value per channel
        names = draw(st.sampled_from([("mean",), ("var",), ("mean", "var")]))
        return {n: _statistic(draw, n, shape[layout.channel]) for n in names}
    value = draw(from_schema(ops.PARAMS[key][0], layout))
    if key == "axes" and op.grouped and layout.channel not in value:
        value = "".join(layout.ordered(set(value) | {layout.channel}))
    return value


@st.composite
def inputs(draw, dtype: str) -> dict:
    """An input distribution from the schema's list, with parameters whose values fit ``dtype``."""
    dist = draw(st.sampled_from(list(CASE_PROPERTIES["input"]["properties"]["distribution"]["enum"])))
    big = float(ml_dtypes.finfo(np_dtype(dtype)).max) / 4  # numpy's finfo knows no bfloat16 before numpy 2
    if dist == "normal":
        mean = draw(st.sampled_from([m for m in MEANS if abs(m) + 10 * max(STDS) < big] or [0.0]))
        std = draw(st.sampled_from([s for s in STDS if abs(mean) + 10 * s < big]))
        out = {"mean": mean, "std": std}
    elif dist == "uniform":
        low, high = draw(st.sampled_from([r for r in RANGES if max(map(abs, r)) < big]))
        out = {"low": low, "high": high}
    else:
        out = {"value": draw(st.sampled_from([v for v in VALUES if abs(v) < big]))}
    missing = set(DISTRIBUTION_KEYS[dist]) - set(out)
    if missing:  # a distribution added to the schema: its keys from the generic numbers
        out.update({k: draw(st.sampled_from(NUMBERS)) for k in sorted(missing)})
    return {"distribution": dist, **out}


#: given gamma/beta values: constants (huge, tiny, negative, zero), spreads and magnitudes
PARAM_CONSTANTS = (2.0, -1.0, 0.0, 1e-3, 1e4, 1e10, -1e10, 1e-20, 0.5)
PARAM_MAGNITUDES = (1e-20, 1e-3, 1e3, 1e10)


def _affine_forms() -> list[str]:
    """The forms of given gamma/beta values, from the schema: constant, list, and each mapping form."""
    branches = CASE_PROPERTIES["affine"]["anyOf"][0]["anyOf"][1]["properties"]["gamma"]["anyOf"]
    mapping = next(b for b in branches if b.get("type") == "object")["properties"]
    return ["constant", "list"] + list(mapping["distribution"]["enum"]) + ["magnitude"]


@st.composite
def param_values(draw, n: int, dtype: str):
    """Given values of one parameter of ``n`` elements, in a form the schema takes, that fit ``dtype``."""
    big = float(ml_dtypes.finfo(np_dtype(dtype)).max) / 4
    form = draw(st.sampled_from(_affine_forms()))
    if form == "constant":
        return draw(st.sampled_from([v for v in PARAM_CONSTANTS if abs(v) < big]))
    if form == "list":
        pool = [v for v in PARAM_CONSTANTS if abs(v) < big]
        return draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
    if form == "normal":
        return {"distribution": "normal", "mean": draw(st.sampled_from([0.0, 1.0, -1.0])),
                "std": draw(st.sampled_from([0.5, 1.0, 1e-3]))}
    if form == "uniform":
        low, high = draw(st.sampled_from([(-1.0, 1.0), (0.5, 2.0), (-3.0, -1.0)]))
        return {"distribution": "uniform", "low": low, "high": high}
    return {"magnitude": draw(st.sampled_from([m for m in PARAM_MAGNITUDES if 2 * m < big]))}


@st.composite
def affines(draw, op: ops.Op, n: int, dtype: str):
    """``affine``: a kind from the schema's list, or (one draw in three) given gamma and/or beta values."""
    if draw(st.integers(0, 2)) != 2:
        return draw(st.sampled_from(values("affine")))
    names = ["gamma", "beta"] if op.bias else ["gamma"]
    given = draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names), unique=True))
    return {k: draw(param_values(n, dtype)) for k in names if k in given}


@st.composite
def options(draw) -> dict:
    """``options``: one framework option of the registry with a value from its schema."""
    name = draw(st.sampled_from(sorted(ops.OPTIONS)))
    return {name: draw(from_schema(ops.OPTIONS[name].schema))}


def _sometimes(draw) -> bool:
    """An optional key is given in about half of the draws."""
    return draw(st.booleans())


def _rarely(draw) -> bool:
    """A check other than the first in about one draw in five."""
    return draw(st.integers(0, 3)) == 3


#: probabilities a random mask is drawn with
MASK_PROBABILITIES = (0.1, 0.3, 0.5, 0.9)


@st.composite
def masks(draw, layout: Layout, shape: dict) -> dict:
    """A ``mask`` key: lengths (one per batch row, 0 to the axis size, along an axis besides the batch and
    the channel, the default one or a named one) where the layout has such an axis, or a random mask."""
    axes = [a for a in layout.axes if a not in (layout.batch, layout.channel)]
    if not axes or draw(st.booleans()):
        return {"random": draw(st.sampled_from(MASK_PROBABILITIES))}
    axis = draw(st.sampled_from(axes))
    out = {"lengths": draw(st.lists(st.integers(0, shape[axis]), min_size=shape[layout.batch],
                                    max_size=shape[layout.batch]))}
    if axis != axes[0]:
        out["axis"] = axis
    return out


@st.composite
def case_entries(draw, op_names=None, max_elements: int = DEFAULT_MAX_ELEMENTS) -> dict:
    """A case-file entry (without id, description and source) drawn over the whole schema."""
    op = ops.get(draw(st.sampled_from(list(op_names or ops.NAMES))))
    checks = [c for c in values("check") if c in op.checks]
    check = checks[0] if len(checks) == 1 or not _rarely(draw) else draw(st.sampled_from(checks[1:]))
    layouts = [name for name in values("layout") if not op.needs_spatial or Layout(name).spatial]
    layout = Layout(draw(st.sampled_from(layouts)))
    shape, groups = draw(sizes(layout, max_elements, op.grouped))
    entry: dict = {"op": op.name, "layout": layout.name, "shape": shape}
    for key in sorted(op.params):
        if check not in ops.PARAM_CHECKS.get(key, (check,)):
            continue
        if key in op.required or _sometimes(draw):
            entry[key] = _param(draw, key, op, layout, shape, groups)
    if check != checks[0]:
        entry["check"] = check
    if check == "forward" and op.definition is None and _rarely(draw):
        entry["mask"] = draw(masks(layout, shape))
    if op.takes_epsilon:
        entry["epsilon"] = draw(from_schema(CASE_PROPERTIES["epsilon"]))
    entry["dtype"] = draw(st.sampled_from(values("dtype")))
    if op.affine:
        sem = op.semantics(layout.name, axes=entry.get("axes"), groups=groups, affine_axes=entry.get("affine_axes"))
        entry["affine"] = draw(affines(op, math.prod(param_shape(sem, shape)), entry["dtype"]))
    entry["input"] = draw(inputs(entry["dtype"]))
    entry["seed"] = draw(st.integers(0, 999))
    if _rarely(draw):
        entry["options"] = draw(options())
    return entry


# --- entries <-> cases --------------------------------------------------------------------------

def _num(v) -> str:
    return fmt_number(float(v)).replace("+", "")


def base_id(entry: dict) -> str:
    """The id written in a fuzz case file: every parameter a token (the loader appends the
    tokens of the keys it always shows: groups, epsilon, dtype)."""
    op = ops.get(entry["op"])
    parts = ["fuzz", op.token, entry["layout"].lower()]
    if entry.get("axes"):
        parts.append(f"over-{entry['axes']}")
    if entry.get("affine_axes"):
        parts.append(f"affine-over-{entry['affine_axes']}")
    parts += [f"{a}{n}" for a, n in entry["shape"].items()]
    if entry.get("check", "forward") != "forward":
        parts.append(entry["check"].replace("_", "-"))
        parts += [ops.PARAMS[k][1](entry[k]).replace("+", "") for k in ("momentum", "steps", "statistics") if k in entry]
    aff = entry.get("affine", "ones")
    # given values (like options) are named by the loader, after the always-shown epsilon and dtype
    parts += [f"affine-{aff}"] if op.affine and isinstance(aff, str) else []
    parts.append(f"seed{entry.get('seed', 0)}")
    inp = entry.get("input") or {}
    parts.append(inp.get("distribution", "normal"))
    parts += [f"{k}{_num(inp[k])}" for k in ("mean", "std", "low", "high", "value") if k in inp]
    return "-".join(parts)


def entry_of(case: Case) -> dict:
    """A case-file entry for ``case`` (id, description and source left to the caller)."""
    e: dict = {"op": case.op, "layout": case.layout, "shape": dict(case.sizes)}
    for key in ops.PARAMS:
        v = case.arg(key) if key in case.spec.own_keys else getattr(case, key, None)
        if v is not None and key in case.spec.params and case.check in ops.PARAM_CHECKS.get(key, (case.check,)):
            e[key] = None if v == ops.CUMULATIVE else thaw_statistics(v) if key == "statistics" else v
    if case.check != "forward":
        e["check"] = case.check
    if case.spec.takes_epsilon:
        e["epsilon"] = "default" if case.epsilon is None else float(case.epsilon)
    inp = case.input_spec
    dist = inp.get("distribution", "normal")
    inp = {"distribution": dist, **{k: inp[k] for k in DISTRIBUTION_KEYS.get(dist, inp) if k in inp}}
    e.update(dtype=case.dtype, input=inp, seed=int(case.seed))
    if case.spec.affine:
        e["affine"] = affine_json(case.affine)
    if case.mask:
        e["mask"] = case.mask_spec
    if case.options:
        e["options"] = dict(case.options)
    return e


def case_file(entry: dict, *, description: str, source: str, tags=("fuzz",)) -> dict:
    """The case-file document holding one entry."""
    body = {"id": base_id(entry), "description": description, "source": source, **entry}
    if isinstance(body.get("input"), dict):
        body["input"] = {k: (v if k == "distribution" else float(v)) for k, v in body["input"].items()}
    body["tags"] = list(tags)
    return {"cases": [body]}


def dump(doc: dict) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110)


class Builder:
    """Turns entries into cases through the case loader (a scratch case file per entry)."""

    def __init__(self, max_elements: int | None = None):
        self._dir = tempfile.TemporaryDirectory(prefix="normconf-fuzz-")
        self.path = Path(self._dir.name) / "case.yaml"
        self.max_elements = max_elements

    def build(self, entry: dict, description="a case drawn by normconf fuzz", source="normconf fuzz") -> Case:
        """The one case of ``entry``; raises CaseError when the loader refuses it."""
        self.path.write_text(dump(case_file(entry, description=description, source=source)), encoding="utf-8")
        (case,) = load_file(self.path, max_elements=self.max_elements, display="<fuzz>")
        return case

    def rebuild(self, case: Case) -> Case:
        """``case`` as the loader makes it from its own entry (its id naming its parameters)."""
        return self.build(entry_of(case), case.description, case.source)

    def close(self):
        self._dir.cleanup()


def elements(entry: dict) -> int:
    return math.prod(entry["shape"].values())
