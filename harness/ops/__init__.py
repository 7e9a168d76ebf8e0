"""The vocabulary every other package speaks: operators, named axes, dtypes and named semantics.

* :mod:`.registry`: the operator registry (one :class:`Op` per operator: its keys, checks and semantics);
* :mod:`.layouts`: named axes (``BTF``, ``NCHW``, ...) and their permutations;
* :mod:`.semantics`: :class:`Semantics`, a named reduction (which axes, centred or not, epsilon, affine axes);
* :mod:`.definition`: the extension point for ops with their own definition (:class:`Formula`);
* :mod:`.dtypes`: the case dtypes and their numpy types.

It imports nothing else of the harness. ``from harness import ops; ops.get("group_norm")`` reads the registry.
"""
from .dtypes import DTYPES, np_dtype
from .layouts import LAYOUTS, Layout
from .definition import Convention, Definition, Formula, Key
from .registry import (
    CHECK_PARAMS,
    CHECKS,
    CUMULATIVE,
    DEFAULT_STATISTICS,
    MOMENTUM_NUMBER,
    NAMED_SEMANTICS,
    NAMES,
    OPS,
    OPTIONS,
    PARAM_CHECKS,
    PARAMS,
    Op,
    Option,
    get,
    op_semantics,
    paper_layer_norm,
    statistics_token,
    takers,
    words,
)
from .semantics import Semantics, param_shape

__all__ = [
    "CHECKS",
    "CHECK_PARAMS",
    "CUMULATIVE",
    "DEFAULT_STATISTICS",
    "DTYPES",
    "LAYOUTS",
    "MOMENTUM_NUMBER",
    "NAMED_SEMANTICS",
    "NAMES",
    "OPS",
    "OPTIONS",
    "PARAMS",
    "PARAM_CHECKS",
    "Convention",
    "Definition",
    "Formula",
    "Key",
    "Layout",
    "Op",
    "Option",
    "Semantics",
    "get",
    "np_dtype",
    "op_semantics",
    "paper_layer_norm",
    "param_shape",
    "statistics_token",
    "takers",
    "words",
]
