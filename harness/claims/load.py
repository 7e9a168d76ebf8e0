"""Documentation claims: files, measured verdicts, explanations.

A claims file (cases/claims/*.yaml) lists claims that framework documentation
or papers make, each with the exact quote and its source, and a relation the
harness can measure:

``equal``
    two calls in the same framework give the same output ("GroupNorm with one
    group is LayerNorm");
``reference``
    a call computes a named reference semantics ("GN with G=1 is LN as the GN
    paper's Eq. 4 defines it");
``raises``
    a call fails with a given exception and message (error paths).

Each claim runs on several inputs ([B,F], [B,T,F], NCHW, NHWC) with random
affine parameters, so "equal only at initialisation" is exposed. When it does
not hold, the listed variants are tried alone and in combination (aligned
reduction axes, spatial axes folded into the batch, initial parameters,
pinned epsilon); the verdict is ``holds``, ``fails``, or ``holds only when``
followed by the smallest set of conditions that makes it hold.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import ml_dtypes

from harness import ops
from harness.cases.expand import DISTRIBUTION_KEYS
from harness.cases.load import AFFINE, OPTIONS
from harness.cases.model import DISTRIBUTIONS, AffineValues, parse_affine
from harness.cases.validate import line_of, load_valid
from harness.cases.yamlsource import CaseError
from harness.ops.dtypes import DTYPES, np_dtype
from harness.ops.layouts import LAYOUTS, Layout

if TYPE_CHECKING:
    pass

#: named inputs every claim can run on
INPUTS = {
    "bf": ("BF", {"B": 4, "F": 6}, "rank-2 [B,F]"),
    "btf": ("BTF", {"B": 2, "T": 5, "F": 6}, "[B,T,F]"),
    "nchw": ("NCHW", {"N": 2, "C": 6, "H": 4, "W": 3}, "NCHW image"),
    "nhwc": ("NHWC", {"N": 2, "C": 6, "H": 4, "W": 3}, "NHWC image"),
}
VARIANTS = {
    "aligned-axes": "the layer/RMS norm side reduces over every non-batch axis",
    "fold-spatial": "time/spatial axes are folded into the batch (N=B*T, H=W=1)",
    "initial-params": "parameters are at their initial values (gamma=1, beta=0)",
    "pinned-epsilon": "both sides use the same epsilon",
}
RELATIONS = ("equal", "reference", "raises")
DTYPE = "float32"  # unless the claim names its own dtype
#: which side keys each op takes (from the registry); any other key would be ignored, so it is refused
_CHECK_KEYS = {k for keys in ops.CHECK_PARAMS.values() for k in keys}
_SIDE_KEYS = {name: {"op", "options"} | ({"epsilon"} if op.takes_epsilon else set()) | (op.params - _CHECK_KEYS)
              | ({"check"} | _CHECK_KEYS if "running_stats" in op.checks else set()) for name, op in ops.OPS.items()}
#: the keys of the operators' own definitions (``size``, ``alpha``, ...): one value each, from the registry
_OWN_KEYS = {k: ops.PARAMS[k][0] for op in ops.OPS.values() for k in op.own_keys}
#: ``expect: {conventions: {PARAM: VALUE}}``: every convention parameter of the registry's definitions and
#: its values (which op has which is checked per claim)
_CONVENTIONS = {}
for _op in ops.OPS.values():
    for _c in (_op.definition.conventions if _op.definition else ()):
        _CONVENTIONS.setdefault(_c.param, []).append(_c.value)
#: what a running-statistics claim can state: the estimator of the running variance, and what the API's
#: momentum argument weights (the adapter passes the case momentum in that convention)
RUNNING_VAR = ("biased", "unbiased")
MOMENTUM_ARGUMENT = ("new_batch", "old_value")
SEED = 5
#: the input distribution of a claim's sides unless the claim gives its own (``input:``)
INPUT = {"distribution": "normal", "mean": 0.5, "std": 1.0}
#: the most elements a claim's own input (``layout`` and ``shape``) may have
MAX_ELEMENTS = 1 << 16

_SIDE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["op"],
    "properties": {
        "op": {"enum": list(ops.NAMES)},
        "groups": {"anyOf": [{"type": "integer", "minimum": 1}, {"const": "C"}]},
        "axes": {"type": "string", "pattern": "^([A-Z]+|all|last)$"},
        "affine_axes": {"type": "string", "pattern": "^([A-Z]+|channel)$"},
        "epsilon": {"type": "number", "exclusiveMinimum": 0},
        "check": {"enum": ["running_stats"]},
        "momentum": ops.MOMENTUM_NUMBER,  # claims measure a numeric momentum
        "steps": ops.PARAMS["steps"][0],
        "options": OPTIONS,
        **_OWN_KEYS,
    },
}
_NUMBER = {"type": "number"}
#: a claim's own input distribution: one value per key (no grid)
_INPUT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"distribution": {"enum": list(DISTRIBUTIONS)}, "mean": _NUMBER,
                   "std": {"type": "number", "minimum": 0}, "low": _NUMBER, "high": _NUMBER, "value": _NUMBER},
}
_EXPECT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["semantics"],
    "properties": {
        "semantics": {"enum": ["op", "running_stats", *ops.NAMED_SEMANTICS]},
        "running_var": {"enum": list(RUNNING_VAR)},
        "momentum_argument": {"enum": list(MOMENTUM_ARGUMENT)},
        "op": {"enum": list(ops.NAMES)},
        "groups": {"anyOf": [{"type": "integer", "minimum": 1}, {"const": "C"}]},
        "axes": {"type": "string", "pattern": "^([A-Z]+|all|last)$"},
        # an op with its own definition: the conventions claimed (the definition's own unless named here)
        "conventions": {"type": "object", "additionalProperties": False, "minProperties": 1,
                        "properties": {p: {"enum": list(dict.fromkeys(v))} for p, v in _CONVENTIONS.items()}},
        **_OWN_KEYS,
    },
}
_CLAIM = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "framework", "adapters", "api", "quote", "source", "relation", "left"],
    "properties": {
        "id": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"},
        "catalog": {"type": "string"},
        "framework": {"type": "string"},
        "adapters": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "api": {"type": "string"},
        "quote": {"type": "string", "minLength": 1},
        "source": {"type": "string", "minLength": 1},
        "quote_in": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$"},
        "note": {"type": "string"},
        "headline": {"type": "boolean"},
        "relation": {"enum": list(RELATIONS)},
        "left": _SIDE,
        "right": _SIDE,
        "expect": _EXPECT,
        "error": {"type": "object", "additionalProperties": False, "required": ["type"],
                  "properties": {"type": {"type": "string"}, "contains": {"type": "string"}}},
        "epsilon": {"type": "number", "exclusiveMinimum": 0},
        "dtype": {"enum": list(DTYPES)},
        "inputs": {"type": "array", "items": {"enum": list(INPUTS)}, "minItems": 1},
        "input": _INPUT,
        "layout": {"enum": list(LAYOUTS)},
        "shape": {"type": "object", "propertyNames": {"pattern": "^[A-Z]$"},
                  "additionalProperties": {"type": "integer", "minimum": 1}},
        "affine": AFFINE,
        "variants": {"type": "array", "items": {"enum": list(VARIANTS)}},
    },
}
#: the one schema for claims files
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["claims"],
    "properties": {"claims": {"type": "array", "minItems": 1, "items": _CLAIM}},
}


@dataclass(frozen=True)
class Claim:
    id: str
    framework: str
    adapters: tuple[str, ...]
    api: str
    quote: str
    source: str
    relation: str
    left: tuple
    right: tuple | None
    expect: tuple | None
    error: tuple | None
    epsilon: float
    inputs: tuple[str, ...]
    variants: tuple[str, ...]
    catalog: str = ""
    note: str = ""
    headline: bool = False  # a headline claim: shown with its verdicts at the top of the report
    quote_in: str = ""  # dotted path of the framework object whose docstring or source holds the quote
    dtype: str = DTYPE
    file: str = ""
    line: int = 0
    #: the sides' input distribution (``input:``), its layout and sizes (``layout``/``shape``: one input
    #: of the claim's own instead of the named ones), and the affine parameters (random unless given)
    input: tuple = tuple(sorted(INPUT.items()))
    layout: str = ""
    shape: tuple = ()
    affine: object = "random"

    @property
    def input_spec(self) -> dict:
        return dict(self.input)

    @property
    def input_table(self) -> dict:
        """Name -> (layout, sizes, words) of every input the claim runs on."""
        if not self.layout:
            return INPUTS
        lay = Layout(self.layout)
        sizes = dict(self.shape)
        return {own_input_name(self.layout, sizes): (
            self.layout, sizes, f"[{','.join(lay.axes)}] " + "x".join(f"{a}{sizes[a]}" for a in lay.axes))}

    def to_dict(self) -> dict:
        d = {"id": self.id, "catalog": self.catalog, "framework": self.framework, "api": self.api,
             "quote": self.quote, "source": self.source, "relation": self.relation, "note": self.note,
             "headline": self.headline,
             "left": _side_dict(self.left), "right": _side_dict(self.right) if self.right else None,
             "expect": _expect_dict(self.expect) if self.expect else None, "inputs": list(self.inputs),
             "variants": list(self.variants), "dtype": self.dtype, "quote_in": self.quote_in,
             "file": self.file, "line": self.line}
        if self.input_spec != INPUT:
            d["input"] = self.input_spec
        if self.layout:
            d.update(layout=self.layout, shape=dict(self.shape))
        if self.affine != "random":
            d["affine"] = self.affine.to_json() if isinstance(self.affine, AffineValues) else self.affine
        return d


def _side(side: dict) -> tuple:
    """A side as a hashable tuple (its options as sorted pairs)."""
    return tuple(sorted((k, tuple(sorted(v.items())) if k == "options" else v) for k, v in side.items()))


def _side_dict(side) -> dict:
    return {k: dict(v) if k == "options" else v for k, v in side}


def _expect(exp: dict) -> tuple:
    """An expect as a hashable tuple (its conventions as sorted pairs)."""
    return tuple(sorted((k, tuple(sorted(v.items())) if k == "conventions" else v) for k, v in exp.items()))


def _expect_dict(exp) -> dict:
    return {k: dict(v) if k == "conventions" else v for k, v in exp}


def expected_conventions(claim) -> dict:
    """The conventions a claim's ``expect`` names for an op with its own definition (empty: its definition)."""
    return dict(dict(claim.expect or ()).get("conventions", ()))


def _definition_error(c: dict, i: int, file: str, lines) -> None:
    """An ``expect`` on a side of an op with its own definition names that op and that definition's
    conventions; an op with its own definition is not the expected semantics of another op (one-line errors)."""
    exp = c["expect"]
    left = ops.get(c["left"]["op"])

    def err(sub, message):
        return CaseError(file, line_of(lines, ("claims", i, "expect") + sub), ".".join(("expect",) + sub),
                         f"{message} (claim '{c['id']}')")

    if exp["semantics"] != "op":
        if left.definition:
            raise err(("semantics",), f"{left.name} has its own definition: expect semantics: op")
        return
    op = ops.get(exp.get("op", left.name))
    if (op.definition or left.definition) and op.name != left.name:
        own = left if left.definition else op
        raise err(("op",), f"{own.name} has its own definition: a {own.name} side is measured against it, "
                           f"not against {op.name if own is left else 'another op'}")
    d = op.definition
    for param, value in (exp.get("conventions") or {}).items():
        if param not in d.params:
            raise err(("conventions", param), f"{op.name} has no convention {param} (its conventions: "
                                              f"{', '.join(d.params)})")
        if value not in d.values(param):
            raise err(("conventions", param), f"{op.name}'s {param} is one of "
                                              f"{', '.join(map(str, d.values(param)))}, not {value}")


def own_input_name(layout: str, sizes: dict) -> str:
    """The name of a claim's own input: ``btf-B2xT4xF64``."""
    return layout.lower() + "-" + "x".join(f"{a}{sizes[a]}" for a in Layout(layout).axes)


def load_claims(path, display=None) -> list[Claim]:
    file = display or str(path)
    data, lines = load_valid(path, file, SCHEMA, "'claims'")
    out, seen = [], set()
    for i, c in enumerate(data["claims"]):
        line = line_of(lines, ("claims", i))
        if c["id"] in seen:
            raise CaseError(file, line, "id", f"duplicate claim id '{c['id']}'")
        seen.add(c["id"])
        rel = c["relation"]
        need = {"equal": "right", "reference": "expect", "raises": "error"}[rel]
        if need not in c:
            raise CaseError(file, line, need, f"relation {rel} needs '{need}'")
        for side in ("left", "right"):
            if side in c:
                op = c[side]["op"]
                extra = sorted(set(c[side]) - _SIDE_KEYS[op])
                if extra:
                    raise CaseError(file, line_of(lines, ("claims", i, side, extra[0])), f"{side}.{extra[0]}",
                                    f"{op} does not take {extra[0]} (claim '{c['id']}'; it would be ignored)")
                missing = sorted(ops.get(op).required - set(c[side]))
                if missing:
                    raise CaseError(file, line_of(lines, ("claims", i, side)), f"{side}.{missing[0]}",
                                    f"{op} needs {missing[0]} (claim '{c['id']}')")
        running = _running_stats_error(c, i, file, lines)
        if "expect" in c and not running:
            exp = c["expect"]
            op = exp.get("op", c["left"]["op"]) if exp["semantics"] == "op" else None
            allowed = {"semantics"} | (_SIDE_KEYS[op] - {"epsilon", "affine_axes", "options"} if op else set())
            allowed |= {"conventions"} if op and ops.get(op).definition else set()
            extra = sorted(set(exp) - allowed)
            if extra:
                raise CaseError(file, line_of(lines, ("claims", i, "expect", extra[0])), f"expect.{extra[0]}",
                                f"expect {exp['semantics']}{' ' + op if op else ''} does not take {extra[0]} "
                                f"(claim '{c['id']}'; it would be ignored)")
            _definition_error(c, i, file, lines)
        if "epsilon" in c and not any(ops.get(c[s]["op"]).takes_epsilon for s in ("left", "right") if s in c):
            raise CaseError(file, line_of(lines, ("claims", i, "epsilon")), "epsilon",
                            f"no side takes an epsilon ({c['left']['op']} has none; claim '{c['id']}')")
        # initial-params changes nothing where no side has gamma or beta
        affine = any(ops.get(c[s]["op"]).affine for s in ("left", "right") if s in c)
        default_vars = [] if rel == "raises" or running else [v for v in VARIANTS if affine or v != "initial-params"]
        own = _own_input(c, i, file, lines)
        out.append(Claim(
            id=c["id"], framework=c["framework"], adapters=tuple(c["adapters"]), api=c["api"], quote=c["quote"],
            source=c["source"], relation=rel, left=_side(c["left"]),
            right=_side(c["right"]) if "right" in c else None,
            expect=_expect(c["expect"]) if "expect" in c else None,
            error=tuple(sorted(c["error"].items())) if "error" in c else None,
            epsilon=float(c.get("epsilon", 1e-5)),
            inputs=own["inputs"] or tuple(c.get("inputs", ["btf"] if rel == "raises" else list(INPUTS))),
            variants=tuple(c.get("variants", default_vars)), catalog=c.get("catalog", ""),
            note=c.get("note", ""), headline=bool(c.get("headline", False)), quote_in=c.get("quote_in", ""), dtype=c.get("dtype", DTYPE), file=file,
            line=line, input=own["input"], layout=own["layout"], shape=own["shape"], affine=own["affine"]))
    return out


def _own_input(c: dict, i: int, file: str, lines) -> dict:
    """A claim's own input distribution, layout and sizes, and affine parameters, checked (one-line errors)."""
    def err(key, sub, message):
        return CaseError(file, line_of(lines, ("claims", i, key) + sub), ".".join((key,) + sub),
                         f"{message} (claim '{c['id']}')")

    inp = dict(c.get("input") or INPUT)
    dist = inp.setdefault("distribution", "normal")
    for k in DISTRIBUTION_KEYS[dist]:
        if k not in inp:
            raise err("input", (), f"distribution {dist} needs {k}")
    extra = sorted(set(inp) - {"distribution", *DISTRIBUTION_KEYS[dist]})
    if extra:
        raise err("input", (extra[0],), f"distribution {dist} does not take {extra[0]}")
    inp = {k: v if k == "distribution" else float(v) for k, v in inp.items()}
    out = {"input": tuple(sorted(inp.items())), "layout": "", "shape": (), "inputs": (), "affine": "random"}
    if ("layout" in c) != ("shape" in c):
        key = "shape" if "layout" in c else "layout"
        raise err(key, (), "a claim's own input needs both layout and shape")
    if "layout" in c:
        if "inputs" in c:
            raise err("inputs", (), "a claim with its own layout and shape runs on that input only")
        lay = Layout(c["layout"])
        if set(c["shape"]) != set(lay.axes):
            raise err("shape", (), f"layout {lay.name} needs a size for each of {', '.join(lay.axes)}, and no other")
        if math.prod(c["shape"].values()) > MAX_ELEMENTS:
            raise err("shape", (), f"more than {MAX_ELEMENTS} elements")
        sizes = {a: int(c["shape"][a]) for a in lay.axes}
        out.update(layout=lay.name, shape=tuple(sizes.items()), inputs=(own_input_name(lay.name, sizes),))
    if "affine" in c:
        aff = c["affine"]
        if isinstance(aff, dict):
            for name in aff:
                try:
                    affine = parse_affine({name: aff[name]})
                except ValueError as e:
                    raise err("affine", (name,), str(e)) from None
                values = getattr(affine, name)
                if values.kind == "list":
                    raise err("affine", (name,), "a claim's inputs differ in parameter shape: give a constant, a "
                                                 "distribution or a magnitude, not a list")
                biggest = float(ml_dtypes.finfo(np_dtype(c.get("dtype", DTYPE))).max)
                if values.bound() >= biggest:
                    raise err("affine", (name,), f"values up to {values.bound():g} do not fit "
                                                 f"{c.get('dtype', DTYPE)}")
            for side in ("left", "right"):
                if side in c and not ops.get(c[side]["op"]).affine:
                    raise err("affine", (), f"the {side} side's {c[side]['op']} has no gamma or beta")
                if "beta" in aff and side in c and not ops.get(c[side]["op"]).bias:
                    raise err("affine", ("beta",), f"the {side} side's {c[side]['op']} has no bias: give gamma only")
        out["affine"] = parse_affine(aff)
    return out


def _running_stats_error(c: dict, i: int, file: str, lines) -> bool:
    """Check a claim's running-statistics keys (one-line errors); True when it is a running-statistics claim."""
    exp = c.get("expect") or {}
    running = exp.get("semantics") == "running_stats"
    for side in ("left", "right"):
        sd = c.get(side) or {}
        for key in sorted(_CHECK_KEYS & set(sd)):
            if sd.get("check") != "running_stats":
                raise CaseError(file, line_of(lines, ("claims", i, side, key)), f"{side}.{key}",
                                f"{key} applies to check: running_stats only (claim '{c['id']}')")
        if sd.get("check") == "running_stats" and not (running and side == "left"):
            raise CaseError(file, line_of(lines, ("claims", i, side, "check")), f"{side}.check",
                            f"a running_stats side needs relation: reference with expect: {{semantics: "
                            f"running_stats}} (claim '{c['id']}')")
    if not running:
        return False
    if (c.get("left") or {}).get("check") != "running_stats":
        raise CaseError(file, line_of(lines, ("claims", i, "expect", "semantics")), "expect.semantics",
                        f"expect running_stats needs left.check: running_stats (claim '{c['id']}')")
    extra = sorted(set(exp) - {"semantics", "running_var", "momentum_argument"})
    if extra:
        raise CaseError(file, line_of(lines, ("claims", i, "expect", extra[0])), f"expect.{extra[0]}",
                        f"expect running_stats does not take {extra[0]} (claim '{c['id']}'; it would be ignored)")
    if not {"running_var", "momentum_argument"} & set(exp):
        raise CaseError(file, line_of(lines, ("claims", i, "expect")), "expect",
                        f"expect running_stats names running_var or momentum_argument (claim '{c['id']}')")
    return True


