"""The messages between the harness and a worker process, by name.

Harness -> worker: :class:`RunCell` (run one case with one adapter),
:class:`FindQuote` (does a documentation quote still appear in the installed
framework), :class:`Stop`. Worker -> harness: one :class:`Ready` after start,
then one :class:`Reply` per request, in order.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.results.parts import NOT_AVAILABLE, NOT_INSTALLED  # noqa: F401 - why a column's framework is absent


@dataclass(frozen=True)
class RunCell:
    adapter: str
    case: Any  # harness.cases.model.Case
    inputs: Any  # harness.cases.inputs.Inputs


@dataclass(frozen=True)
class FindQuote:
    adapter: str
    path: str  # dotted path of the framework object whose docstring or source should hold the quote
    quote: str


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class Problem:
    """Why an adapter cannot run any cell in this worker."""

    status: str  # unsupported | error
    message: str
    #: NOT_INSTALLED (a module the adapter declares it requires is missing), NOT_AVAILABLE
    #: (the adapter says it cannot run here, e.g. no device), or "" (it failed to load)
    absent: str = ""
    traceback: str = ""


@dataclass(frozen=True)
class Ready:
    versions: dict[str, dict]  # adapter -> framework versions
    problems: dict[str, Problem]  # adapter -> why it cannot run


@dataclass
class Reply:
    status: str  # ok | unsupported | error | crash | timeout
    y: object = None
    snippet: str = ""
    message: str = ""
    traceback: str = ""
    duration: float = 0.0
    versions: dict = field(default_factory=dict)
    #: what the adapter says besides the output (e.g. the documented default epsilon it used),
    #: and for an error the exception's class names, most derived first
    info: dict = field(default_factory=dict)
    #: named outputs besides ``y`` (gradients, running statistics), numpy arrays
    arrays: dict = field(default_factory=dict)
    absent: str = ""  # see Problem.absent

    @classmethod
    def from_problem(cls, p: Problem) -> "Reply":
        return cls(p.status, message=p.message, traceback=p.traceback, absent=p.absent)


def output_problem(y) -> str:
    """Why ``y`` cannot be compared as an adapter's output ('' when it can)."""
    if not isinstance(y, (np.ndarray, np.generic)):
        return f"adapter returned {type(y).__module__}.{type(y).__qualname__}, not a numpy array"
    dt = y.dtype
    if dt.kind in "fiu":
        return ""
    if dt.kind == "V" and dt.names is None and dt.name.startswith(("bfloat16", "float8", "float6", "float4")):
        return ""  # ml_dtypes floats
    return f"adapter returned an array of dtype {dt} ({dt.kind!r}), not a real numeric array"


def reply_problem(reply: Reply) -> str:
    """Why an ``ok`` reply's outputs cannot be compared ('' when they can)."""
    if not isinstance(reply.arrays, dict):
        return f"adapter returned named outputs of type {type(reply.arrays).__qualname__}, not a dict"
    for name, a in (("", reply.y), *reply.arrays.items()):
        problem = output_problem(a)
        if problem:
            return f"{name}: {problem}" if name else problem
    return ""
