"""The case model: one expanded case, every parameter a single value."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from harness import ops
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
    #: the weight of the new batch in the running statistics (a batch-norm cell's momentum argument);
    #: ops.CUMULATIVE for ``momentum: null``, the cumulative moving average
    momentum: float | str | None = None
    steps: int | None = None  # check running_stats: training steps
    #: check inference: the given running statistics (``statistics``), frozen (see :func:`freeze_statistics`)
    statistics: tuple | None = None
    tolerance: tuple[tuple[str, Any], ...] = ()
    expect: tuple[tuple[str, Any], ...] = ()
    tags: tuple[str, ...] = ()
    skip: str = ""
    file: str = ""
    line: int = 0
    params: tuple[tuple[str, Any], ...] = field(default=(), compare=False)

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

    @property
    def semantics(self) -> Semantics:
        """The operator's semantics; with ``epsilon: default`` its epsilon is 0 (and its description says
        each framework's documented default) until :meth:`semantics_with` is given the framework's default."""
        if self.epsilon is None:
            return DefaultEpsilon(**vars(self.semantics_with(0.0)))
        return self.semantics_with(self.epsilon)

    def semantics_with(self, eps: float) -> Semantics:
        return self.spec.semantics(self.layout, axes=self.axes, groups=self.groups, eps=eps,
                                   affine_axes=self.affine_axes)

    @property
    def tolerance_spec(self):
        
        return Tolerance.from_dict(dict(self.tolerance))

    @property
    def expect_spec(self) -> dict[str, Any]:
        return dict(self.expect)

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
        if self.momentum is not None:
            d["momentum"] = self.momentum
        if self.steps is not None:
            d["steps"] = self.steps
        if self.statistics is not None:
            d["statistics"] = thaw_statistics(self.statistics)
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
            affine=d["affine"],
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
            line=int(d.get("line", 0)),
        )


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
    eps = case.get("epsilon")
    p += [f"eps={'default' if eps in (None, 'default') else fmt_number(eps)}", f"dtype={case.get('dtype')}",
          f"affine={case.get('affine')}", f"seed={case.get('seed')}"]
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
