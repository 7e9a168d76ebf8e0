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

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from .cases import Case, CaseError, _line, load_yaml, schema_error
from .yamlsource import read_source
from .cases import DTYPES
from .compare import compare
from .numerics import achievable_error, judge
from .inputs import make_inputs
from .layouts import Layout
from .reference import OPS, normalize, op_semantics, paper_layer_norm
from .results import ClaimResult
from .semantics import fingerprint

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
#: which side keys each op takes; any other key would be ignored, so it is refused
_SIDE_KEYS = {
    "batch_norm": {"op", "epsilon"},
    "instance_norm": {"op", "epsilon"},
    "layer_norm": {"op", "epsilon", "axes", "affine_axes"},
    "rms_norm": {"op", "epsilon", "axes", "affine_axes"},
    "group_norm": {"op", "epsilon", "axes", "groups"},
}
SEED = 5

_SIDE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["op"],
    "properties": {
        "op": {"enum": list(OPS)},
        "groups": {"anyOf": [{"type": "integer", "minimum": 1}, {"const": "C"}]},
        "axes": {"type": "string", "pattern": "^([A-Z]+|all|last)$"},
        "affine_axes": {"type": "string", "pattern": "^([A-Z]+|channel)$"},
        "epsilon": {"type": "number", "exclusiveMinimum": 0},
    },
}
_EXPECT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["semantics"],
    "properties": {
        "semantics": {"enum": ["op", "paper_layer_norm"]},
        "op": {"enum": list(OPS)},
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
    quote_in: str = ""  # dotted path of the framework object whose docstring or source holds the quote
    dtype: str = DTYPE
    file: str = ""
    line: int = 0

    def to_dict(self) -> dict:
        return {"id": self.id, "catalog": self.catalog, "framework": self.framework, "api": self.api,
                "quote": self.quote, "source": self.source, "relation": self.relation, "note": self.note,
                "left": dict(self.left), "right": dict(self.right) if self.right else None,
                "expect": dict(self.expect) if self.expect else None, "inputs": list(self.inputs),
                "variants": list(self.variants), "dtype": self.dtype, "quote_in": self.quote_in,
                "file": self.file, "line": self.line}


def load_claims(path, display=None) -> list[Claim]:
    file = display or str(path)
    data, lines = load_yaml(read_source(path, file), file)
    if data is None:
        raise CaseError(file, 1, None, "empty file (expected a mapping with 'claims')")
    err = schema_error(file, data, lines, SCHEMA)
    if err is not None:
        raise err
    out, seen = [], set()
    for i, c in enumerate(data["claims"]):
        line = _line(lines, ("claims", i))
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
                    raise CaseError(file, _line(lines, ("claims", i, side, extra[0])), f"{side}.{extra[0]}",
                                    f"{op} does not take {extra[0]} (claim '{c['id']}'; it would be ignored)")
        if "expect" in c:
            exp = c["expect"]
            op = exp.get("op", c["left"]["op"]) if exp["semantics"] == "op" else None
            allowed = {"semantics"} | (_SIDE_KEYS[op] - {"epsilon", "affine_axes"} if op else set())
            extra = sorted(set(exp) - allowed)
            if extra:
                raise CaseError(file, _line(lines, ("claims", i, "expect", extra[0])), f"expect.{extra[0]}",
                                f"expect {exp['semantics']}{' ' + op if op else ''} does not take {extra[0]} "
                                f"(claim '{c['id']}'; it would be ignored)")
        default_vars = [] if rel == "raises" else list(VARIANTS)
        out.append(Claim(
            id=c["id"], framework=c["framework"], adapters=tuple(c["adapters"]), api=c["api"], quote=c["quote"],
            source=c["source"], relation=rel, left=tuple(sorted(c["left"].items())),
            right=tuple(sorted(c["right"].items())) if "right" in c else None,
            expect=tuple(sorted(c["expect"].items())) if "expect" in c else None,
            error=tuple(sorted(c["error"].items())) if "error" in c else None,
            epsilon=float(c.get("epsilon", 1e-5)),
            inputs=tuple(c.get("inputs", ["btf"] if rel == "raises" else list(INPUTS))),
            variants=tuple(c.get("variants", default_vars)), catalog=c.get("catalog", ""),
            note=c.get("note", ""), quote_in=c.get("quote_in", ""), dtype=c.get("dtype", DTYPE), file=file,
            line=line))
    return out


# --- building the two sides -------------------------------------------------------

def _resolve_axes(spec, lay: Layout):
    if spec is None or spec == "last":
        return None
    if spec == "all":
        return "".join(lay.non_batch)
    if any(a not in lay.axes for a in spec):
        raise _NotApplicable(f"axes {spec} are not in layout {lay.name}")
    return "".join(lay.ordered(spec))


def _group_axes(spec, lay: Layout):
    """Group norm statistics axes: the channels of a group always among them."""
    ax = _resolve_axes(spec, lay)
    return None if ax is None else "".join(lay.ordered(set(ax) | {lay.channel}))


def _affine_axes(spec, lay: Layout):
    if spec is None:
        return None
    if spec == "channel":
        return lay.channel
    return _resolve_axes(spec, lay)


class _NotApplicable(Exception):
    pass


def side_case(claim: Claim, side: dict, input_name: str, variants: frozenset, tag: str) -> Case:
    layout, sizes, _ = INPUTS[input_name]
    sizes = dict(sizes)
    if "fold-spatial" in variants:
        lay = Layout(layout)
        if not lay.spatial:
            raise _NotApplicable("no spatial axis to fold")
        folded = sizes[lay.batch] * math.prod(sizes[a] for a in lay.spatial)
        layout, sizes = "BF", {"B": folded, "F": sizes[lay.channel]}
    lay = Layout(layout)
    op = side["op"]
    axes = side.get("axes")
    if "aligned-axes" in variants and op in ("layer_norm", "rms_norm"):
        axes = "all"
    groups = side.get("groups")
    if groups == "C":
        groups = sizes[lay.channel]
    if op == "instance_norm" and not lay.spatial:
        raise _NotApplicable("instance norm needs a spatial axis")
    eps = side.get("epsilon", claim.epsilon)
    if "pinned-epsilon" in variants:
        eps = claim.epsilon
    return Case.from_dict({
        "id": f"claim-{claim.id}-{input_name}-{tag}", "description": claim.api, "source": claim.source,
        "op": op, "layout": layout, "shape": sizes, "dtype": claim.dtype, "epsilon": eps,
        "affine": "ones" if "initial-params" in variants else "random", "seed": SEED,
        "input": {"distribution": "normal", "mean": 0.5, "std": 1.0},
        "groups": groups if op == "group_norm" else None,
        "axes": _group_axes(axes, lay) if op == "group_norm" else (
            _resolve_axes(axes, lay) if op in ("layer_norm", "rms_norm") else None),
        "affine_axes": _affine_axes(side.get("affine_axes"), lay) if op in ("layer_norm", "rms_norm") else None,
        "file": claim.file, "line": claim.line, "tags": ["claim"],
    })


def expected_semantics(claim: Claim, case: Case, variants=frozenset()):
    exp = dict(claim.expect)
    if exp["semantics"] == "paper_layer_norm":
        return paper_layer_norm(case.layout, case.epsilon)
    lay = Layout(case.layout)
    op = exp.get("op", case.op)
    groups = exp.get("groups")
    if groups == "C":
        groups = case.size[lay.channel]
    axes = exp.get("axes")
    if "aligned-axes" in variants and op in ("layer_norm", "rms_norm"):
        axes = "all"
    resolve = _group_axes if op == "group_norm" else _resolve_axes
    try:
        return op_semantics(op, case.layout, axes=resolve(axes, lay), groups=groups, eps=case.epsilon)
    except ValueError as e:  # e.g. instance norm on a folded (rank-2) input
        raise _NotApplicable(str(e)) from None


# --- running --------------------------------------------------------------------------

@dataclass
class Trial:
    input: str
    variants: tuple[str, ...]
    holds: bool
    max_diff: float
    note: str = ""


@dataclass
class Verdict:
    verdict: str  # holds | fails | holds only when
    condition: str = ""
    max_diff: float = 0.0
    explanation: str = ""
    trials: list[Trial] = field(default_factory=list)
    per_input: dict[str, str] = field(default_factory=dict)
    error: str = ""


def _call(pool, adapter, case, timeout):
    inputs = make_inputs(case)
    reply = pool.call(adapter, case, inputs, timeout)
    return inputs, reply


def _axes_words(sem) -> str:
    lay = Layout(sem.layout)
    words = "{" + ",".join(lay.ordered(sem.stat_axes)) + "}"
    return words + (f" in {sem.groups} channel groups" if sem.groups and sem.groups > 1 else "")


def _trial(claim, pool, adapter, input_name, variants, timeout):
    """Returns (Trial, explanation or '', versions, unsupported reason or None)."""
    vs = frozenset(variants)
    left = side_case(claim, dict(claim.left), input_name, vs, "L" + "-".join(sorted(vs)))
    li, lr = _call(pool, adapter, left, timeout)
    if lr.status != "ok":
        return None, lr
    if claim.relation == "reference":
        # the claim is about the statistics: apply the expected formula with the left call's own parameters
        ls = left.semantics
        sem = expected_semantics(claim, left, vs).with_(affine_axes=ls.affine_axes)
        c, _ = judge(lr.y, li.x, sem, claim.dtype, li.gamma, li.beta)
        expl = ""
        if not c.ok:
            fp = fingerprint(li.x, lr.y, sem, claim.dtype, li.gamma, li.beta, achievable=c.achievable)
            expl = fp.get("explanation", "")
        return Trial(input_name, tuple(sorted(vs)), c.ok, c.max_abs, expl), lr
    right = side_case(claim, dict(claim.right), input_name, vs, "R" + "-".join(sorted(vs)))
    ri, rr = _call(pool, adapter, right, timeout)
    if rr.status != "ok":
        return None, rr
    # equal within what stable implementations of both sides reach on these inputs
    ach = sum(achievable_error(i.x, normalize(i.x, k.semantics, i.gamma, i.beta), k.semantics, claim.dtype,
                               i.gamma, i.beta) for i, k in ((li, left), (ri, right)))
    c = compare(lr.y, np.asarray(rr.y, np.float64), claim.dtype, achievable=ach)
    expl = ""
    if not c.ok:
        ls, rs = left.semantics, right.semantics
        parts = []
        if set(ls.stat_axes) != set(rs.stat_axes) or (ls.groups or 1) != (rs.groups or 1):
            parts.append(f"left normalizes over {_axes_words(ls)}, right over {_axes_words(rs)}")
        if li.gamma is not None and ri.gamma is not None and li.gamma.shape != ri.gamma.shape:
            parts.append(f"affine parameters have shape {list(li.gamma.shape)} on the left and "
                         f"{list(ri.gamma.shape)} on the right")
        if ls.eps != rs.eps:
            parts.append(f"epsilon {ls.eps:g} vs {rs.eps:g}")
        if not parts:
            fp = fingerprint(li.x, lr.y, rs, claim.dtype, ri.gamma, ri.beta)
            parts.append(fp.get("explanation", ""))
        expl = "; ".join(p for p in parts if p)
    return Trial(input_name, tuple(sorted(vs)), c.ok, c.max_abs, expl), rr


def evaluate(claim: Claim, pool, adapter: str, timeout=120.0) -> tuple[Verdict, dict]:
    """Measure a claim with one adapter; with ``quote_in``, first check that the
    quote still appears in the installed framework (else the verdict is ``stale``).
    Returns (verdict, framework versions)."""
    verdict, versions = _measure(claim, pool, adapter, timeout)
    if not claim.quote_in or verdict.verdict in ("unsupported", "error"):
        return verdict, versions
    reply = pool.worker_for(adapter).quote(adapter, claim.quote_in, claim.quote, timeout)
    if reply.status == "ok" and reply.y:
        return verdict, versions
    where = ", ".join(f"{k} {v}" for k, v in sorted(versions.items()) if k not in ("pid", "backend"))
    why = (f"the quote no longer appears in {claim.quote_in} ({where})" if reply.status == "ok"
           else f"{reply.message} ({where})")
    measured = verdict.verdict + (f" when {verdict.condition}" if verdict.condition else "")
    return Verdict("stale", condition="", max_diff=verdict.max_diff,
                   explanation=f"{why}; measured against the quoted behaviour: {measured}"
                               + (f"; {verdict.explanation}" if verdict.explanation else ""),
                   trials=verdict.trials, per_input=verdict.per_input), versions


def _measure(claim: Claim, pool, adapter: str, timeout=120.0) -> tuple[Verdict, dict]:
    versions: dict = {}
    if claim.relation == "raises":
        return _evaluate_raises(claim, pool, adapter, timeout)
    trials: list[Trial] = []
    base: dict[str, Trial] = {}
    unsupported = None
    for inp in claim.inputs:
        try:
            t, reply = _trial(claim, pool, adapter, inp, (), timeout)
        except _NotApplicable:
            continue
        versions = versions or reply.versions
        if t is None:
            if reply.status == "unsupported":
                unsupported = reply.message
                continue
            return Verdict("error", error=f"{reply.status}: {reply.message}"), versions
        trials.append(t)
        base[inp] = t
    if not base:
        return Verdict("unsupported", error=unsupported or "no applicable input"), versions
    per_input = {inp: ("holds" if t.holds else f"fails ({t.max_diff:.3g})") for inp, t in base.items()}
    max_diff = max(t.max_diff for t in base.values())
    if all(t.holds for t in base.values()):
        return Verdict("holds", max_diff=max_diff, trials=trials, per_input=per_input,
                       explanation=f"equal on every input within what stable {claim.dtype} implementations "
                                   "reach"), versions
    explanation = "; ".join(f"on {INPUTS[i][2]}: {t.note}" for i, t in base.items() if not t.holds and t.note)
    # smallest variant sets that make the claim hold on every input where they apply
    found: list[tuple[str, ...]] = []
    for k in range(1, len(claim.variants) + 1):
        for combo in itertools.combinations(claim.variants, k):
            if any(set(f) <= set(combo) for f in found):
                continue
            ok, any_run = True, False
            for inp in base:
                try:
                    t, reply = _trial(claim, pool, adapter, inp, combo, timeout)
                except _NotApplicable:
                    t = base[inp] if "fold-spatial" in combo and base[inp].holds else None
                    if t is None:
                        ok = False
                        break
                    continue
                if t is None:
                    ok = False
                    break
                trials.append(t)
                any_run = True
                if not t.holds:
                    ok = False
                    break
            if ok and any_run:
                found.append(combo)
    if found:
        cond = " or ".join(" and ".join(VARIANTS[v] for v in combo) for combo in found)
        return Verdict("holds only when", cond, max_diff, explanation, trials, per_input), versions
    holding = [INPUTS[i][2] for i, t in base.items() if t.holds]
    if holding:
        return Verdict("holds only when", f"the input is {' or '.join(holding)}", max_diff, explanation, trials,
                       per_input), versions
    return Verdict("fails", "", max_diff, explanation, trials, per_input), versions


def _evaluate_raises(claim, pool, adapter, timeout):
    err = dict(claim.error)
    inp = claim.inputs[0]
    case = side_case(claim, dict(claim.left), inp, frozenset({"initial-params"}), "L")
    _, reply = _call(pool, adapter, case, timeout)
    if reply.status == "unsupported":
        return Verdict("unsupported", error=reply.message), reply.versions
    said = reply.message or ""
    if reply.status == "error":
        etype = said.split(":", 1)[0]
        ok = etype == err["type"] and err.get("contains", "") in said
        expl = f"raises {said}"
        if etype != err["type"]:
            expl += f"; the claim expects {err['type']}"
        elif not ok:
            expl += f"; the message lacks {err.get('contains')!r}"
        return Verdict("holds" if ok else "fails", explanation=expl, per_input={inp: said}), reply.versions
    if reply.status == "ok":
        return Verdict("fails", explanation="no error: the call returned an output",
                       per_input={inp: "returned an output"}), reply.versions
    return Verdict("error", error=f"{reply.status}: {said}"), reply.versions


def to_result(claim: Claim, adapter: str, env: str, verdict: Verdict, versions: dict, duration: float) -> ClaimResult:
    return ClaimResult(
        claim_id=claim.id, adapter=adapter, env=env, verdict=verdict.verdict, condition=verdict.condition,
        max_diff=verdict.max_diff, explanation=verdict.explanation, per_input=verdict.per_input,
        trials=[{"input": t.input, "variants": list(t.variants), "holds": t.holds, "max_diff": t.max_diff,
                 "note": t.note} for t in verdict.trials],
        error=verdict.error, versions=versions, claim=claim.to_dict(), duration=duration)


def verdict_text(r: ClaimResult) -> str:
    if r.verdict == "holds only when":
        return f"holds only when {r.condition}"
    if r.verdict in ("error", "unsupported"):
        return f"{r.verdict}: {r.error}"
    if r.verdict == "stale":
        return f"stale: {r.explanation.split(';')[0]}"
    return r.verdict
