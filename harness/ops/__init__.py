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
    NAMED_SEMANTICS,
    NAMES,
    OPS,
    OPTIONS,
    PARAMS,
    Op,
    Option,
    get,
    op_semantics,
    paper_layer_norm,
    takers,
    words,
)
from .semantics import Semantics, param_shape

__all__ = ["CHECKS", "CHECK_PARAMS", "DTYPES", "Convention", "Definition", "Formula", "Key", "LAYOUTS", "NAMED_SEMANTICS", "NAMES", "OPS", "OPTIONS", "PARAMS", "Layout", "Op", "Option",
           "Semantics", "get", "np_dtype", "op_semantics", "paper_layer_norm", "param_shape", "takers", "words"]
