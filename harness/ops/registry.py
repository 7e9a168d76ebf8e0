"""The operator registry: everything normconf knows about an operator, in one place.

Each :class:`Op` declares the case keys it takes beyond the common ones, which
of them it needs, whether it needs a spatial axis, whether it has a bias,
which checks it supports, its id token and display name, and its semantics:
the named reduction it is defined to compute (DESIGN.md). The case loader,
claims, inputs, the reference, the report and the adapters' shared checks ask
this module; only adapters (their API mapping) and case files name operators.

Adding a variant is one entry here, the adapters that have it, and cases.

An operator that is not "normalize over named axes, then an affine transform"
names its own :class:`~harness.ops.definition.Definition` (``definition=``): the
numerics module that computes it (``harness.numerics.<module>``), the case keys
it takes (their schema, id tokens and words), and the conventions frameworks
compute it with (each a value of a reference parameter with words naming it,
the first being the operator's definition). Its cases carry a
:class:`~harness.ops.definition.Formula` instead of a ``Semantics``; the case
schema, ids, the reference, the achievable error, the verdict, the fingerprint
(which names the convention an output fits), the report and the reproducer work
from it. Adding such a family is its entry here, its numerics module, the
adapters that have it, and cases (``l2_normalize``, ``local_response_norm``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .definition import Convention, Definition, Formula, Key
from .layouts import Layout
from .semantics import Semantics

#: checks a case can ask for (``check:``); each op lists the ones it supports
CHECKS = ("forward", "backward", "running_stats", "inference")

#: ``momentum: null``: the cumulative moving average (PyTorch's ``momentum=None``: every batch seen so
#: far weighs the same); a case holds it as this word
CUMULATIVE = "cumulative"

#: a running statistic's spec (``statistics: {mean: SPEC, var: SPEC}``, check inference): one number for
#: every channel, a list of one number per channel, or a seeded distribution
STAT_SPEC = {"anyOf": [
    {"type": "number"},
    {"type": "array", "minItems": 1, "items": {"type": "number"}},
    {"type": "object", "additionalProperties": False, "required": ["distribution"],
     "properties": {"distribution": {"enum": ["normal", "uniform"]}, "mean": {"type": "number"},
                    "std": {"type": "number", "minimum": 0}, "low": {"type": "number"},
                    "high": {"type": "number"}}},
]}


#: a numeric momentum: the weight of the new batch
MOMENTUM_NUMBER = {"type": "number", "exclusiveMinimum": 0, "maximum": 1}


def _num_token(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def stat_token(spec) -> str:
    """The id token of one statistic's spec: ``1000``, ``1_2_3``, ``normal0_1``, ``uniform0.5_2``."""
    if isinstance(spec, dict):
        keys = ("mean", "std") if spec.get("distribution") == "normal" else ("low", "high")
        return spec.get("distribution", "") + "_".join(_num_token(spec.get(k)) for k in keys)
    if isinstance(spec, (list, tuple)):
        return "_".join(_num_token(v) for v in spec)
    return _num_token(spec)


def statistics_token(v) -> str:
    return "stats-" + "-".join(f"{k}{stat_token(v[k])}" for k in ("mean", "var") if k in v)

#: op-specific case keys: JSON schema of one value, and the id token of a value (the keys of the ops'
#: own definitions are added below, from the registry)
PARAMS: dict[str, tuple[dict, Callable[[object], str]]] = {
    "groups": ({"type": "integer", "minimum": 1}, lambda v: f"g{v}"),
    "axes": ({"type": "string", "pattern": "^[A-Z]+$"}, lambda v: f"over-{v}"),
    "affine_axes": ({"type": "string", "pattern": "^[A-Z]+$"}, lambda v: f"affine-over-{v}"),
    # null: the cumulative moving average (CUMULATIVE)
    "momentum": ({"anyOf": [MOMENTUM_NUMBER, {"type": "null"}]},
                 lambda v: "mom-cumulative" if v is None or v == CUMULATIVE else f"mom{v:g}"),
    "steps": ({"type": "integer", "minimum": 1, "maximum": 1000}, lambda v: f"steps{v}"),
    "statistics": ({"type": "object", "additionalProperties": False, "minProperties": 1,
                    "properties": {"mean": STAT_SPEC, "var": STAT_SPEC}}, statistics_token),
}
#: keys a check needs, with their defaults
CHECK_PARAMS = {"running_stats": {"momentum": 0.1, "steps": 3}}
#: the checks each check-dependent key applies to (a key not named here applies to every check)
PARAM_CHECKS = {"momentum": ("forward", "backward", "running_stats"), "steps": ("running_stats",),
                "statistics": ("inference",)}
#: ``statistics`` when a case leaves it (or one of its two) out
DEFAULT_STATISTICS = {"mean": {"distribution": "normal", "mean": 0.0, "std": 1.0},
                      "var": {"distribution": "uniform", "low": 0.5, "high": 2.0}}


@dataclass(frozen=True)
class Option:
    """A framework option a case can pass (``options: {name: value}``): an argument of the API that
    changes its numerics. Adapters declare the ones they understand (``Adapter.options``); on any other
    adapter a case with the option is unsupported."""

    name: str
    schema: dict  # JSON schema of its value
    meaning: str  # one line: which APIs take it and what it does

    def token(self, value) -> str:
        """The id token of ``name: value``: ``opt-use_fast_variance-false``."""
        v = str(value).lower() if isinstance(value, bool) else str(value)
        return f"opt-{self.name}-{v}"


#: the framework options a case can pass, by name
OPTIONS: dict[str, Option] = {o.name: o for o in (
    Option("use_fast_variance", {"type": "boolean"},
           "Flax BatchNorm, LayerNorm, GroupNorm, InstanceNorm, RMSNorm (linen and nnx): true (the default) "
           "computes the variance in one pass as E[x²]−E[x]², false as E[(x−E[x])²] (RMSNorm does not centre)"),
    Option("algorithm", {"enum": ["fast", "stable"]},
           "jax.nn.standardize: 'fast' (the default) computes the variance as mean(x²)−mean(x)², 'stable' as "
           "mean((x−mean(x))²)"),
    Option("rms_scaling", {"type": "boolean"},
           "Keras LayerNormalization and keras.ops.layer_normalization (deprecated): scale x by gamma and "
           "1/sqrt(var(x)+epsilon), no offset; what a user porting RMSNorm to Keras writes"),
    Option("elementwise_affine", {"type": "boolean"},
           "torch.nn.LayerNorm and torch.nn.RMSNorm, paddle.nn.LayerNorm: whether the module has a learnable "
           "weight (and bias); false: none, the affine transform is the identity"),
    Option("stash_type", {"enum": [1, 10, 11, 16]},
           "ONNX LayerNormalization, GroupNormalization-21, RMSNormalization: the element type of stage one "
           "(statistics and normalization): 1 float32 (the default), 10 float16, 11 float64, 16 bfloat16"),
    Option("pytorch_compatible", {"type": "boolean"},
           "mlx.nn.GroupNorm: false (the default) puts channel c in group c mod num_groups (interleaved "
           "groups), true groups consecutive channels as PyTorch does"),
)}


@dataclass(frozen=True)
class Op:
    name: str
    title: str  # what a user calls it: "LayerNorm"
    token: str  # short form in generated ids
    #: how the statistics axes follow from the case: "non-channel" (every axis but
    #: the channel), "axes" (``axes``, default the last axis), "group" (the channels
    #: of a group plus ``axes``, default every spatial axis), "spatial"
    reduce: str
    params: frozenset = frozenset()  # op-specific case keys it takes
    required: frozenset = frozenset()  # of those, the ones a case must give
    center: bool = True  # subtracts the mean (False: RMS)
    bias: bool = True  # has a beta
    checks: tuple = ("forward",)
    #: the operator's own definition, for an op that is not a normalization over named axes
    definition: Definition | None = None

    @property
    def takes_epsilon(self) -> bool:
        return self.definition is None or self.definition.epsilon

    @property
    def affine(self) -> bool:
        """Whether cases of the op take ``affine`` (ops with their own definition have no gamma/beta)."""
        return self.definition is None

    @property
    def own_keys(self) -> tuple[str, ...]:
        """The case keys the op's own definition adds (in the order of its ids' tokens)."""
        return tuple(k.name for k in self.definition.keys) if self.definition else ()

    def formula(self, layout: str, *, args=(), axes=None, eps=None) -> Formula:
        """The formula of an op with its own definition, for one case: its key values ``args``
        (name, value pairs), the axes it runs along (``axes``, default the definition's) and epsilon."""
        d = self.definition
        if d is None:
            raise ValueError(f"{self.name} is defined by its semantics, not a formula")
        lay = Layout(layout)
        bad = [a for a in (axes or ()) if a not in lay.axes]
        if bad:
            raise ValueError(f"axes {axes!r} names {', '.join(bad)}, not an axis of layout {layout}")
        along = "".join(lay.ordered(axes)) if axes else (lay.axes[-1] if d.along == "last" else lay.channel)
        ref = d.reference_conventions()
        return Formula(self.name, layout, (("axes", along),) + tuple(args), eps if d.epsilon else None,
                       tuple((p, ref[p]) for p in d.params), d)

    @property
    def needs_spatial(self) -> bool:
        return self.reduce == "spatial"

    @property
    def grouped(self) -> bool:
        return self.reduce == "group"

    @property
    def axes_set_statistics(self) -> bool:
        """``axes`` alone names the statistics axes (layer-norm-like ops)."""
        return self.reduce == "axes"

    def semantics(self, layout: str, *, axes=None, groups=None, eps=1e-5, affine_axes=None) -> Semantics:
        """The semantics the operator is defined to have. For ``axes`` ops the
        affine transform spans the reduced axes unless ``affine_axes`` names
        others (Flax's ``feature_axes``); for grouped ops ``axes`` names the axes
        the statistics span, the group's channels always among them."""
        if self.definition is not None:
            raise ValueError(f"{self.name} has its own definition (Op.formula), not a normalization's semantics")
        lay = Layout(layout)
        for key, value in (("axes", axes), ("affine_axes", affine_axes)):
            bad = [a for a in (value or ()) if a not in lay.axes]
            if bad:
                raise ValueError(f"{key} {value!r} names {', '.join(bad)}, not an axis of layout {layout}")
        kw = {"eps": eps, "center": self.center, "bias": self.bias}
        if self.reduce == "non-channel":
            return Semantics(layout, tuple(a for a in lay.axes if a != lay.channel), (lay.channel,), **kw)
        if self.reduce == "axes":
            ax = lay.ordered(axes or lay.axes[-1:])
            return Semantics(layout, ax, lay.ordered(affine_axes) if affine_axes else ax, **kw)
        if self.reduce == "group":
            if groups is None:
                raise ValueError(f"{self.name} needs groups")
            stat = lay.ordered(set(axes) | {lay.channel}) if axes else (lay.channel,) + lay.spatial
            return Semantics(layout, stat, (lay.channel,), groups=groups, **kw)
        if self.reduce == "spatial":
            if not lay.spatial:
                raise ValueError(f"{self.name} needs a spatial axis; layout {layout} has none")
            return Semantics(layout, lay.spatial, (lay.channel,), **kw)
        raise AssertionError(self.reduce)


_AXES = frozenset({"axes", "affine_axes"})
_STATS = frozenset({"momentum", "steps", "statistics"})  # ops with running statistics
_REGISTRY: tuple[Op, ...] = (
    Op("batch_norm", "BatchNorm", "bn", "non-channel", params=_STATS,
       checks=("forward", "backward", "running_stats", "inference")),
    Op("layer_norm", "LayerNorm", "ln", "axes", params=_AXES, checks=("forward", "backward")),
    Op("layer_norm_no_bias", "LayerNorm without bias", "ln-nobias", "axes", params=_AXES, bias=False,
       checks=("forward", "backward")),
    Op("group_norm", "GroupNorm", "gn", "group", params=frozenset({"groups", "axes"}),
       required=frozenset({"groups"}), checks=("forward", "backward")),
    Op("instance_norm", "InstanceNorm", "in", "spatial", params=_STATS,
       checks=("forward", "backward", "running_stats", "inference")),
    Op("rms_norm", "RMSNorm", "rms", "axes", params=_AXES, center=False, bias=False,
       checks=("forward", "backward")),
    Op("l2_normalize", "L2 normalization", "l2", "axes", params=frozenset({"axes"}), center=False, bias=False,
       definition=Definition(
           "l2_normalize", "L2 normalization over {{{axes}}}, eps={eps}",
           conventions=(
               Convention("clamp", "norm", "eps clamps the norm: x / max(||x||, eps) (PyTorch, Keras 3)"),
               Convention("clamp", "squared_norm", "eps clamps the squared norm: x * rsqrt(max(sum(x**2), eps)) "
                                                   "(TensorFlow, tf.keras)"),
               Convention("clamp", "none", "no epsilon: x / ||x||, 0 where the norm is 0 (ONNX LpNormalization)",
                          epsilon=False),
           ),
           eps_values=(1e-12, 1e-7))),
    Op("local_response_norm", "LocalResponseNorm", "lrn", "channel",
       params=frozenset({"size", "alpha", "beta", "k"}), required=frozenset({"size", "alpha", "beta", "k"}),
       center=False, bias=False,
       definition=Definition(
           "local_response_norm",
           "local response normalization across channels {axes}: x / (k + alpha' * sum of x**2 over a window of "
           "{size} channels)**beta, alpha={alpha}, beta={beta}, k={k}",
           keys=(
               Key("size", {"type": "integer", "minimum": 1, "maximum": 64}, lambda v: f"n{v}",
                   "the window: channels summed over, in PyTorch's and ONNX's terms"),
               Key("alpha", {"type": "number", "minimum": 0, "maximum": 1e6}, lambda v: f"a{v:g}",
                   "the scale of the sum of squares, in PyTorch's and ONNX's terms (divided by size)"),
               Key("beta", {"type": "number", "exclusiveMinimum": 0, "maximum": 8}, lambda v: f"b{v:g}",
                   "the exponent"),
               Key("k", {"type": "number", "minimum": 0, "maximum": 1e6}, lambda v: f"k{v:g}",
                   "the additive term (TensorFlow's and ONNX's bias)"),
           ),
           conventions=(
               Convention("alpha", "per_size", "alpha divided by the window size: alpha/size * sum (PyTorch, ONNX)"),
               Convention("alpha", "whole", "alpha not divided by the window size: alpha * sum (TensorFlow)"),
               Convention("window", "onnx", "window from c-floor((size-1)/2) to c+ceil((size-1)/2) (ONNX)"),
               Convention("window", "torch", "window from c-size//2 to c+(size-1)//2 (PyTorch's padding)"),
               Convention("window", "docs", "window from c-size//2 to c+size//2, size+1 channels for an even size "
                                            "(the formula in PyTorch's LocalResponseNorm docstring)"),
               Convention("window", "symmetric", "window from c-(size-1)//2 to c+(size-1)//2, size-1 channels for an "
                                                 "even size (OpenVINO's LRN)"),
               Convention("window", "radius", "window counted as depth_radius=size channels on each side, 2*size+1 "
                                              "channels (TensorFlow's depth_radius given the size)"),
           ),
           epsilon=False, along="channel")),
)
OPS: dict[str, Op] = {op.name: op for op in _REGISTRY}
for _op in _REGISTRY:
    for _k in (_op.definition.keys if _op.definition else ()):
        PARAMS.setdefault(_k.name, (_k.schema, _k.token))
#: op names in display order
NAMES: tuple[str, ...] = tuple(OPS)


def paper_layer_norm(layout: str, eps=1e-5) -> Semantics:
    """Layer Norm as the Group Normalization paper defines it (Eq. 4 and 6):
    statistics over every non-batch axis, a per-channel affine transform."""
    lay = Layout(layout)
    return Semantics(layout, lay.non_batch, (lay.channel,), eps=eps)


#: reference semantics a claim can name besides an op's own (``expect: {semantics: NAME}``)
NAMED_SEMANTICS: dict[str, tuple[str, Callable[..., Semantics]]] = {
    "paper_layer_norm": ("Layer Norm as the Group Normalization paper's Eq. 4 and 6 define it", paper_layer_norm),
}


def get(name: str) -> Op:
    try:
        return OPS[name]
    except KeyError:
        raise ValueError(f"unknown op {name!r}; known: {', '.join(NAMES)}") from None


def takers(key: str) -> list[str]:
    """The ops that take an op-specific key."""
    return [op.name for op in _REGISTRY if key in op.params]


def words(names) -> str:
    """'a', 'a and b', 'a, b and c'."""
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def op_semantics(op: str, layout: str, **kw) -> Semantics:
    return get(op).semantics(layout, **kw)
