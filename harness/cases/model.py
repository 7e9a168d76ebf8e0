"""The case model: one expanded case, every parameter a single value."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

from harness import ops
from harness.ops.definition import Formula
from harness.ops.layouts import Layout
from harness.ops.semantics import DefaultEpsilon, Semantics

AFFINES = ("none", "ones", "random")
DISTRIBUTIONS = ("normal", "uniform", "constant")
#: the forms given gamma or beta values take besides a constant and a list
PARAM_FORMS = {"normal": ("mean", "std"), "uniform": ("low", "high"), "magnitude": ("magnitude",)}


def _num_token(v: float) -> str:
    return fmt_number(float(v)).replace("e+", "e")


@dataclass(frozen=True)
class ParamValues:
    """Given values of gamma or beta: a ``constant`` (one value everywhere), a ``list`` (one value per
    parameter element, in the parameters' layout order), a ``normal`` (mean, std) or ``uniform`` (low,
    high) draw, or a ``magnitude`` m: values m·(1+|u|) with the sign of u, u uniform in (-1, 1), so
    every |value| lies in [m, 2m). Draws are seeded on the parameter's own stream."""

    kind: str  # constant | list | normal | uniform | magnitude
    args: tuple[float, ...]

    @classmethod
    def parse(cls, v) -> ParamValues:
        """From a case file's (or record's) form: a number, a list of numbers, ``{distribution: normal,
        mean, std}``, ``{distribution: uniform, low, high}`` or ``{magnitude: m}``."""
        if isinstance(v, ParamValues):
            return v
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return cls("constant", (float(v),))
        if isinstance(v, (list, tuple)) and v and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                      for x in v):
            return cls("list", tuple(float(x) for x in v))
        if isinstance(v, dict):
            kind = "magnitude" if "magnitude" in v else v.get("distribution")
            keys = PARAM_FORMS.get(kind)
            if keys and set(v) - {"distribution"} != set(keys):
                extra = sorted(set(v) - {"distribution"} - set(keys))
                raise ValueError(f"{kind} takes {' and '.join(keys)}" + (f", not {', '.join(extra)}" if extra else ""))
            if keys and all(isinstance(v[k], (int, float)) and not isinstance(v[k], bool) for k in keys):
                return cls(kind, tuple(float(v[k]) for k in keys))
        raise ValueError(f"{v!r} is not a number, a list of numbers, a normal or uniform distribution "
                         "or a magnitude")

    def to_json(self):
        if self.kind == "constant":
            return self.args[0]
        if self.kind == "list":
            return list(self.args)
        d = dict(zip(PARAM_FORMS[self.kind], self.args))
        return d if self.kind == "magnitude" else {"distribution": self.kind, **d}

    def token(self) -> str:
        if self.kind == "constant":
            return _num_token(self.args[0])
        if self.kind == "list":
            digest = hashlib.sha256(",".join(repr(v) for v in self.args).encode()).hexdigest()[:8]
            return f"list{len(self.args)}-{digest}"
        if self.kind == "magnitude":
            return f"mag{_num_token(self.args[0])}"
        return "-".join([self.kind] + [f"{k}{_num_token(v)}" for k, v in zip(PARAM_FORMS[self.kind], self.args)])

    def text(self) -> str:
        if self.kind == "constant":
            return fmt_number(self.args[0])
        if self.kind == "list":
            shown = [fmt_number(v) for v in self.args[:8]]
            return "[" + ",".join(shown) + (f",...({len(self.args)} values)" if len(self.args) > 8 else "") + "]"
        return f"{self.kind}(" + ",".join(fmt_number(v) for v in self.args) + ")"

    def bound(self) -> float:
        """The largest magnitude the values reach (a normal draw: its mean plus 10 standard deviations)."""
        if self.kind == "normal":
            return abs(self.args[0]) + 10 * self.args[1]
        if self.kind == "magnitude":
            return 2 * self.args[0]
        return max(abs(v) for v in self.args)


@dataclass(frozen=True)
class AffineValues:
    """Given affine parameters (``affine: {gamma: ..., beta: ...}``); a missing gamma is ones, a missing
    beta zeros."""

    gamma: ParamValues | None = None
    beta: ParamValues | None = None

    @classmethod
    def parse(cls, d: dict) -> AffineValues:
        if not isinstance(d, dict) or not d or set(d) - {"gamma", "beta"}:
            raise ValueError(f"{d!r} does not map gamma and/or beta to values")
        return cls(*(None if d.get(k) is None else ParamValues.parse(d[k]) for k in ("gamma", "beta")))

    def items(self):
        return [(k, v) for k, v in (("gamma", self.gamma), ("beta", self.beta)) if v is not None]

    def to_json(self) -> dict:
        return {k: v.to_json() for k, v in self.items()}

    def token(self) -> str:
        return "-".join(k[0] + v.token() for k, v in self.items())

    def __str__(self) -> str:
        return "{" + ",".join(f"{k}:{v.text()}" for k, v in self.items()) + "}"


def parse_affine(v) -> str | AffineValues:
    """A case's ``affine``: one of :data:`AFFINES`, or given values."""
    if isinstance(v, (str, AffineValues)):
        if isinstance(v, str) and v not in AFFINES:
            raise ValueError(f"unknown affine {v!r} (known: {', '.join(AFFINES)}, or given values)")
        return v
    return AffineValues.parse(v)


def affine_json(v):
    """A case's ``affine`` as a case file or record writes it."""
    return v.to_json() if isinstance(v, AffineValues) else v


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
    affine: str | AffineValues  # none | ones | random, or given values
    seed: int
    input: tuple[tuple[str, Any], ...]
    groups: int | None = None
    axes: str | None = None
    affine_axes: str | None = None
    check: str = "forward"
    #: the weight of the new batch in the running statistics (a batch-norm cell's momentum argument);
    #: ops.CUMULATIVE for ``momentum: null``, the cumulative moving average
    momentum: float | str | None = None
    steps: int | None = None  # check running_stats: training steps
    #: the positions whose statistics count: ``(("axis", "T"), ("lengths", (5, 3)))`` or ``(("random", 0.3),)``
    #: (see :mod:`harness.cases.inputs`); empty: every position
    mask: tuple[tuple[str, Any], ...] = ()
    #: check inference: the given running statistics (``statistics``), frozen (see :func:`freeze_statistics`)
    statistics: tuple | None = None
    tolerance: tuple[tuple[str, Any], ...] = ()
    expect: tuple[tuple[str, Any], ...] = ()
    tags: tuple[str, ...] = ()
    skip: str = ""
    #: framework options passed to the API (``options:``; the names in the registry's OPTIONS)
    options: tuple[tuple[str, Any], ...] = ()
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
    def sets_affine(self) -> bool:
        """Whether the call must set gamma/beta: random or given values, not the API's initial ones and
        zeros (``ones``) nor no affine transform (``none``)."""
        return self.affine not in ("none", "ones")

    @property
    def option_spec(self) -> dict[str, Any]:
        return dict(self.options)

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
            "dtype": self.dtype, "epsilon": self.epsilon, "affine": affine_json(self.affine),
            "seed": self.seed, "input": dict(self.input), "groups": self.groups,
            "axes": self.axes, "affine_axes": self.affine_axes, "check": self.check,
            "tolerance": dict(self.tolerance) or None, "expect": dict(self.expect) or None,
            "tags": list(self.tags), "skip": self.skip,
            "file": self.file, "line": self.line,
        }
        if self.momentum is not None:
            d["momentum"] = self.momentum
        if self.steps is not None:
            d["steps"] = self.steps
        if self.statistics is not None:
            d["statistics"] = thaw_statistics(self.statistics)
        if self.mask:
            d["mask"] = self.mask_spec
        if self.options:
            d["options"] = dict(self.options)
        d.update(self.op_args)
        return d

    @property
    def cumulative(self) -> bool:
        """``momentum: null``: the running statistics are the plain average of the batches' statistics."""
        return self.momentum == ops.CUMULATIVE

    @property
    def statistics_spec(self) -> dict:
        """The running statistics a ``check: inference`` cell is given: the case's, each one it leaves out
        at its default (:data:`harness.ops.DEFAULT_STATISTICS`)."""
        return {**ops.DEFAULT_STATISTICS, **thaw_statistics(self.statistics or ())}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Case":
        lay = Layout(d["layout"])
        return cls(
            id=d["id"], description=d.get("description", ""), source=d.get("source", ""),
            op=d["op"], layout=d["layout"],
            sizes=tuple((a, int(d["shape"][a])) for a in lay.axes),
            dtype=d["dtype"], epsilon=None if d.get("epsilon") in (None, "default") else float(d["epsilon"]),
            affine=parse_affine(d["affine"]),
            seed=int(d["seed"]), input=tuple(sorted(d["input"].items())),
            groups=d.get("groups"), axes=d.get("axes"), affine_axes=d.get("affine_axes"),
            check=d.get("check", "forward"),
            momentum=None if d.get("momentum") is None else ops.CUMULATIVE if d["momentum"] == ops.CUMULATIVE
            else float(d["momentum"]),
            statistics=None if d.get("statistics") is None else freeze_statistics(d["statistics"]),
            steps=None if d.get("steps") is None else int(d["steps"]),
            tolerance=tuple(sorted((d.get("tolerance") or {}).items())),
            expect=tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in (d.get("expect") or {}).items())),
            tags=tuple(d.get("tags", ())), skip=d.get("skip", ""), file=d.get("file", ""),
            options=tuple(sorted(dict(d.get("options") or {}).items())),
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


def freeze_statistics(value: dict) -> tuple:
    """``statistics`` as a hashable value: ((name, spec), ...) with a list as a tuple of floats and a
    distribution as a tuple of sorted (key, value) pairs."""
    def one(spec):
        if isinstance(spec, dict):
            return tuple(sorted((k, v if k == "distribution" else float(v)) for k, v in spec.items()))
        if isinstance(spec, (list, tuple)):
            return tuple(float(v) for v in spec)
        return float(spec)
    return tuple(sorted((k, one(v)) for k, v in dict(value).items()))


def thaw_statistics(frozen) -> dict:
    """The inverse of :func:`freeze_statistics`: {name: a number, a list, or a distribution dict}."""
    def one(spec):
        if isinstance(spec, tuple) and spec and isinstance(spec[0], tuple):
            return dict(spec)
        if isinstance(spec, tuple):
            return list(spec)
        return spec
    return {k: one(v) for k, v in frozen}


def fmt_number(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def params_text(case: dict) -> str:
    """A case's parameters in one line, from its record: 'op=<op> layout=BTF shape=B2xT5xF6 ...'."""
    shape = case.get("shape") or {}
    p = [f"op={case.get('op')}", f"layout={case.get('layout')}",
         "shape=" + "x".join(f"{a}{n}" for a, n in shape.items())]
    for k in ops.PARAMS:
        if case.get(k) is not None:
            p.append(f"{k}={ops.statistics_token(case[k])[6:]}" if k == "statistics" else f"{k}={fmt_number(case[k])}")
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
        p.append(f"affine={affine_text(case.get('affine'))}")
    p.append(f"seed={case.get('seed')}")
    if case.get("options"):
        p.append("options=" + ",".join(f"{k}:{_option_text(v)}" for k, v in sorted(case["options"].items())))
    inp = case.get("input") or {}
    if inp:
        p.append("input=" + ",".join(f"{k}:{fmt_number(v)}" for k, v in sorted(inp.items())))
    return " ".join(p)


def affine_text(v) -> str:
    """``ones``, or given values as ``{gamma:1e+10,beta:0.5}`` (from a record's form too)."""
    if isinstance(v, dict):
        try:
            return str(AffineValues.parse(v))
        except ValueError:
            return repr(v)
    return str(v)


def _option_text(v) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


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
