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

from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness import ops
from harness.cases.validate import line_of, load_valid
from harness.cases.yamlsource import CaseError
from harness.ops.dtypes import DTYPES

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
_SIDE_KEYS = {name: {"op", "epsilon"} | (op.params - _CHECK_KEYS)
              | ({"check"} | _CHECK_KEYS if "running_stats" in op.checks else set()) for name, op in ops.OPS.items()}
#: what a running-statistics claim can state: the estimator of the running variance, and what the API's
#: momentum argument weights (the adapter passes the case momentum in that convention)
RUNNING_VAR = ("biased", "unbiased")
MOMENTUM_ARGUMENT = ("new_batch", "old_value")
SEED = 5

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
    },
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

    def to_dict(self) -> dict:
        return {"id": self.id, "catalog": self.catalog, "framework": self.framework, "api": self.api,
                "quote": self.quote, "source": self.source, "relation": self.relation, "note": self.note,
                "headline": self.headline,
                "left": dict(self.left), "right": dict(self.right) if self.right else None,
                "expect": dict(self.expect) if self.expect else None, "inputs": list(self.inputs),
                "variants": list(self.variants), "dtype": self.dtype, "quote_in": self.quote_in,
                "file": self.file, "line": self.line}


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
        running = _running_stats_error(c, i, file, lines)
        if "expect" in c and not running:
            exp = c["expect"]
            op = exp.get("op", c["left"]["op"]) if exp["semantics"] == "op" else None
            allowed = {"semantics"} | (_SIDE_KEYS[op] - {"epsilon", "affine_axes"} if op else set())
            extra = sorted(set(exp) - allowed)
            if extra:
                raise CaseError(file, line_of(lines, ("claims", i, "expect", extra[0])), f"expect.{extra[0]}",
                                f"expect {exp['semantics']}{' ' + op if op else ''} does not take {extra[0]} "
                                f"(claim '{c['id']}'; it would be ignored)")
        default_vars = [] if rel == "raises" or running else list(VARIANTS)
        out.append(Claim(
            id=c["id"], framework=c["framework"], adapters=tuple(c["adapters"]), api=c["api"], quote=c["quote"],
            source=c["source"], relation=rel, left=tuple(sorted(c["left"].items())),
            right=tuple(sorted(c["right"].items())) if "right" in c else None,
            expect=tuple(sorted(c["expect"].items())) if "expect" in c else None,
            error=tuple(sorted(c["error"].items())) if "error" in c else None,
            epsilon=float(c.get("epsilon", 1e-5)),
            inputs=tuple(c.get("inputs", ["btf"] if rel == "raises" else list(INPUTS))),
            variants=tuple(c.get("variants", default_vars)), catalog=c.get("catalog", ""),
            note=c.get("note", ""), headline=bool(c.get("headline", False)), quote_in=c.get("quote_in", ""), dtype=c.get("dtype", DTYPE), file=file,
            line=line))
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


