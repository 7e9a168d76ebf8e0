"""The case model: one expanded case, every parameter a single value."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from harness import ops
from harness.ops.definition import Formula
from harness.ops.layouts import Layout
from harness.ops.semantics import DefaultEpsilon, Semantics

AFFINES = ("none", "ones", "random")
DISTRIBUTIONS = ("normal", "uniform", "constant")


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
    momentum: float | None = None  # check running_stats: the weight of the new batch
    steps: int | None = None  # check running_stats: training steps
    #: the positions whose statistics count: ``(("axis", "T"), ("lengths", (5, 3)))`` or ``(("random", 0.3),)``
    #: (see :mod:`harness.cases.inputs`); empty: every position
    mask: tuple[tuple[str, Any], ...] = ()
    tolerance: tuple[tuple[str, Any], ...] = ()
    expect: tuple[tuple[str, Any], ...] = ()
    tags: tuple[str, ...] = ()
    skip: str = ""
    file: str = ""
    line: int = 0
    params: tuple[tuple[str, Any], ...] = field(default=(), compare=False)
    #: the values of the keys an op's own definition adds (``size``, ``alpha``, ...), in the definition's order
    op_args: tuple[tuple[str, Any], ...] = ()

    @property
    def spec(self) -> ops.Op:
        """The operator's registry entry."""
        return ops.get(self.op)

    @property
    def shape(self) -> tuple[int, ...]:
        return Layout(self.layout).shape(dict(self.sizes))

    @property
    def size(self) -> dict[str, int]:
        return dict(self.sizes)

    @property
    def input_spec(self) -> dict[str, Any]:
        return dict(self.input)

    def arg(self, name: str):
        """The value of one of the op's own keys (None when the case has none)."""
        return dict(self.op_args).get(name)

    @property
    def semantics(self) -> Semantics | Formula:
        """The operator's semantics; with ``epsilon: default`` its epsilon is 0 (and its description says
        each framework's documented default) until :meth:`semantics_with` is given the framework's default."""
        if self.spec.definition is not None:
            return self.semantics_with(self.epsilon)
        if self.epsilon is None:
            return DefaultEpsilon(**vars(self.semantics_with(0.0)))
        return self.semantics_with(self.epsilon)

    def semantics_with(self, eps: float | None) -> Semantics | Formula:
        """The semantics with epsilon ``eps``; for an op with its own definition, its :class:`Formula`."""
        if self.spec.definition is not None:
            return self.spec.formula(self.layout, args=self.op_args, axes=self.axes, eps=eps)
        return self.spec.semantics(self.layout, axes=self.axes, groups=self.groups, eps=eps,
                                   affine_axes=self.affine_axes)

    @property
    def tolerance_spec(self):
        
        return Tolerance.from_dict(dict(self.tolerance))

    @property
    def expect_spec(self) -> dict[str, Any]:
        return dict(self.expect)

    @property
    def mask_spec(self) -> dict[str, Any]:
        """The mask as a dict (lengths as a list); empty without a mask."""
        return mask_dict(self.mask)

    def to_dict(self) -> dict[str, Any]:
        d = {
            "id": self.id, "description": self.description, "source": self.source,
            "op": self.op, "layout": self.layout, "shape": dict(self.sizes),
            "dtype": self.dtype, "epsilon": self.epsilon, "affine": self.affine,
            "seed": self.seed, "input": dict(self.input), "groups": self.groups,
            "axes": self.axes, "affine_axes": self.affine_axes, "check": self.check,
            "tolerance": dict(self.tolerance) or None, "expect": dict(self.expect) or None,
            "tags": list(self.tags), "skip": self.skip,
            "file": self.file, "line": self.line,
        }
        if self.check == "running_stats":
            d.update(momentum=self.momentum, steps=self.steps)
        if self.mask:
            d["mask"] = self.mask_spec
        d.update(self.op_args)
        return d

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
            momentum=None if d.get("momentum") is None else float(d["momentum"]),
            steps=None if d.get("steps") is None else int(d["steps"]),
            tolerance=tuple(sorted((d.get("tolerance") or {}).items())),
            expect=tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in (d.get("expect") or {}).items())),
            tags=tuple(d.get("tags", ())), skip=d.get("skip", ""), file=d.get("file", ""),
            line=int(d.get("line", 0)), mask=mask_tuple(d.get("mask")),
            op_args=tuple((k, d[k]) for k in ops.get(d["op"]).own_keys if d.get(k) is not None),
        )


def mask_tuple(d) -> tuple[tuple[str, Any], ...]:
    """A mask dict (``{"lengths": [5, 3], "axis": "T"}`` or ``{"random": 0.3}``) as the Case field."""
    if not d:
        return ()
    return tuple(sorted((k, tuple(int(n) for n in v) if k == "lengths" else (float(v) if k == "random" else v))
                        for k, v in dict(d).items()))


def mask_dict(t) -> dict[str, Any]:
    """The Case field as a dict (lengths as a list)."""
    return {k: list(v) if k == "lengths" else v for k, v in t}


def mask_text(mask: dict) -> str:
    """A mask in one word: 'lengths:T=5,3' or 'random:0.3'."""
    if not mask:
        return ""
    if "lengths" in mask:
        return f"lengths:{mask.get('axis', '?')}=" + ",".join(str(n) for n in mask["lengths"])
    return f"random:{fmt_number(mask.get('random'))}"


def fmt_number(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def params_text(case: dict) -> str:
    """A case's parameters in one line, from its record: 'op=<op> layout=BTF shape=B2xT5xF6 ...'."""
    shape = case.get("shape") or {}
    p = [f"op={case.get('op')}", f"layout={case.get('layout')}",
         "shape=" + "x".join(f"{a}{n}" for a, n in shape.items())]
    for k in ops.PARAMS:
        if case.get(k) is not None:
            p.append(f"{k}={fmt_number(case[k])}")
    if case.get("check", "forward") != "forward":
        p.append(f"check={case['check']}")
    if case.get("mask"):
        p.append(f"mask={mask_text(case['mask'])}")
    eps = case.get("epsilon")
    op = ops.OPS.get(case.get("op"))
    if op is None or op.takes_epsilon:
        p.append(f"eps={'default' if eps in (None, 'default') else fmt_number(eps)}")
    p.append(f"dtype={case.get('dtype')}")
    if op is None or op.affine:
        p.append(f"affine={case.get('affine')}")
    p.append(f"seed={case.get('seed')}")
    inp = case.get("input") or {}
    if inp:
        p.append("input=" + ",".join(f"{k}:{fmt_number(v)}" for k, v in sorted(inp.items())))
    return " ".join(p)


@dataclass(frozen=True)
class Tolerance:
    """A case's own tolerance: ``factor`` on the achievable error, or elementwise ``atol``/``rtol``."""

    reason: str
    factor: float | None = None
    atol: float | None = None
    rtol: float | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, d) -> "Tolerance | None":
        if not d:
            return None
        return cls(reason=str(d.get("reason", "")), factor=d.get("factor"), atol=d.get("atol"), rtol=d.get("rtol"))

    def describe(self) -> str:
        if self.factor is not None:
            return f"{self.factor:g} x achievable error + floor"
        return f"|actual - expected| <= {self.atol or 0:g} + {self.rtol or 0:g} * |expected|"
