"""Typed parts of a result record, and how older records are upgraded.

A cell's record carries what the comparison measured (:class:`Metrics`, with
:class:`OutputFigures` per named output of a training-time check), what the
fingerprint found (:class:`Fingerprint`) and, in ``Result.absent``, whether the
column's framework is missing from that environment. In JSON they keep the
field names below, so files stay readable by people and tools; in Python they
are read as attributes, never by string keys.

``SCHEMA_VERSION`` is written in every results file's header. A reader refuses
a newer version in one line, and upgrades each older record with the steps in
``UPGRADES`` (version N -> N+1) before it is typed.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

SCHEMA_VERSION = 3

#: why a column's framework is not there at all (the report hides such columns)
NOT_INSTALLED = "not installed"
NOT_AVAILABLE = "not available"
ABSENT = ("", NOT_INSTALLED, NOT_AVAILABLE)


class RecordError(ValueError):
    """A field of a record has the wrong type; ``key`` names it (dotted)."""

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(f"field '{key}' {message}")


_SPECIAL = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}  # how JSON files spell them


def _num(v):
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) or (v.__class__ is str and v in _SPECIAL)


def _int(v):
    return v is None or (isinstance(v, int) and not isinstance(v, bool))


def _str(v):
    return v is None or isinstance(v, str)


def _ints(v):
    return v is None or (isinstance(v, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in v))


_CHECKS = {float: _num, int: _int, str: _str, list: _ints}


def _typed(cls, d, where: str) -> dict:
    """The keyword arguments of ``cls`` from ``d``, each checked against its declared type."""
    if not isinstance(d, dict):
        raise RecordError(where, f"is {type(d).__name__}, not an object")
    kw = {}
    for f in fields(cls):
        if f.name not in d:
            continue
        v, kind = d[f.name], f.metadata.get("kind")
        if kind is not None and not _CHECKS[kind](v):
            raise RecordError(f"{where}.{f.name}", f"has a wrong type ({type(v).__name__})")
        kw[f.name] = _SPECIAL[v] if kind is float and v.__class__ is str else v
    return kw


def _f(kind):
    return field(default=None, metadata={"kind": kind})


@dataclass
class OutputFigures:
    """The comparison of one named output (dx, dgamma, running_var, ...)."""

    ok: bool = False
    max_abs: float | None = _f(float)
    max_rel: float | None = _f(float)
    max_ulp: float | None = _f(float)
    achievable: float | None = _f(float)
    allowed: float | None = _f(float)
    ratio: float | None = _f(float)
    n: int | None = _f(int)
    n_bad: int | None = _f(int)
    worst_index: list | None = _f(list)
    worst_expected: float | None = _f(float)
    worst_actual: float | None = _f(float)
    nonfinite: str | None = _f(str)
    shape_mismatch: str | None = _f(str)

    @classmethod
    def from_dict(cls, d, where="metrics.outputs") -> "OutputFigures":
        kw = _typed(cls, d, where)
        kw["ok"] = bool(d.get("ok"))
        return cls(**kw)


@dataclass
class EpsilonDoc:
    """The documented default epsilon a call without one used (``epsilon: default``)."""

    value: float
    quote: str = ""
    source: str = ""

    @classmethod
    def from_dict(cls, d, where="metrics.epsilon_default") -> "EpsilonDoc":
        if not isinstance(d, dict) or not _num(d.get("value")) or d.get("value") is None:
            raise RecordError(f"{where}.value", "must be a number")
        if not isinstance(d.get("quote", ""), str) or not isinstance(d.get("source", ""), str):
            raise RecordError(where, "quote and source must be text")
        return cls(float(d["value"]), d.get("quote", ""), d.get("source", ""))


@dataclass
class Metrics:
    """What judging a cell measured. A forward cell fills the comparison fields; a
    training-time check fills them for its worst output (``output``) and gives every
    output's figures in ``outputs``; a cell expected to raise fills ``raised`` (it did)
    or ``expected_error`` (it did not, or raised something else)."""

    max_abs: float | None = _f(float)
    max_rel: float | None = _f(float)
    max_ulp: float | None = _f(float)
    n: int | None = _f(int)
    n_bad: int | None = _f(int)
    achievable: float | None = _f(float)
    allowed: float | None = _f(float)
    ratio: float | None = _f(float)
    factor: float | None = _f(float)
    floor: float | None = _f(float)
    rule: str | None = _f(str)  # achievable | factor | atol/rtol
    n_nan: int | None = _f(int)
    n_inf: int | None = _f(int)
    n_ref_nonfinite: int | None = _f(int)
    nonfinite: str | None = _f(str)  # "3 of 60 outputs are NaN"
    worst_index: list | None = _f(list)
    worst_expected: float | None = _f(float)
    worst_actual: float | None = _f(float)
    shape_mismatch: str | None = _f(str)
    output_dtype: str | None = _f(str)
    expected_error: str | None = _f(str)
    raised: str | None = _f(str)
    output: str | None = _f(str)  # the worst named output of a training-time check
    path: str | None = _f(str)  # which implementation the framework chose (tf.keras: fused or not)
    epsilon_default: EpsilonDoc | None = None
    outputs: dict[str, OutputFigures] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d) -> "Metrics":
        # fast path, for what the writer writes: every value of its field's class, nothing nested. The
        # verdict on a record's shape (its keys and their value classes) is remembered; the object then
        # takes the parsed dict as its own, fields left out falling back to their class-level None
        if d.__class__ is dict:
            shape = (tuple(d), tuple(map(type, d.values())))
            plain = _SHAPES.get(shape)
            if plain is None:
                plain = _SHAPES[shape] = all(k in _PLAIN_OK and c in _PLAIN_OK[k] for k, c in zip(*shape))
            wi = d.get("worst_index")
            if plain and (wi is None or _INTS.issuperset(map(type, wi))):
                m = _new(cls)
                m.__dict__ = d
                return m
        kw = _typed(cls, d, "metrics")
        if d.get("epsilon_default") is not None:
            kw["epsilon_default"] = EpsilonDoc.from_dict(d["epsilon_default"])
        outs = d.get("outputs")
        if outs is not None:
            if not isinstance(outs, dict):
                raise RecordError("metrics.outputs", "is not an object")
            kw["outputs"] = {str(k): OutputFigures.from_dict(v, f"metrics.outputs.{k}") for k, v in outs.items()}
        return cls(**kw)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: fields that were measured (not None, not empty)."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None or (f.name == "outputs" and not v):
                continue
            if f.name == "epsilon_default":
                v = {"value": v.value, "quote": v.quote, "source": v.source}
            elif f.name == "outputs":
                v = {k: {g.name: getattr(o, g.name) for g in fields(o)} for k, o in v.items()}
            out[f.name] = v
        return out

    @property
    def measured(self) -> bool:
        return self.max_abs is not None


_NONE = type(None)
_INTS = frozenset((int,))  # a worst index's entries: ints, never bools
_CLASSES = {float: (float, int, _NONE), int: (int, _NONE), str: (str, _NONE), list: (_NONE,)}
#: plain fields (not nested) and the value classes the fast path takes without a closer look
_PLAIN_OK = {f.name: _CLASSES[f.metadata["kind"]] for f in fields(Metrics) if f.metadata.get("kind")}
_PLAIN_OK["worst_index"] = (_NONE, list)  # its elements are checked record by record
_new = object.__new__
_SHAPES: dict[tuple, bool] = {}
# a Metrics made on the fast path reads fields it was not given from the class: an empty, read-only outputs
Metrics.outputs = MappingProxyType({})


@dataclass
class Fingerprint:
    """What the fingerprint found: the explanation in words, the members of the
    family that reproduce the output (each a semantics description with its
    error), the best of them, and the probes behind the explanation (``details``:
    figures such as an emulated one-pass variance's error, shown as they are)."""

    explanation: str = ""
    matches: list[dict] = field(default_factory=list)
    n_matches: int | None = None
    best: dict | None = None
    nonfinite: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    _TOP = ("explanation", "matches", "n_matches", "best", "nonfinite")

    @classmethod
    def from_dict(cls, d) -> "Fingerprint":
        if not isinstance(d, dict):
            raise RecordError("fingerprint", f"is {type(d).__name__}, not an object")
        checks = {"explanation": lambda v: isinstance(v, str), "matches": lambda v: isinstance(v, list)
                  and all(isinstance(m, dict) for m in v), "n_matches": _int,
                  "best": lambda v: v is None or isinstance(v, dict), "nonfinite": _str}
        for k, ok in checks.items():
            if k in d and not ok(d[k]):
                raise RecordError(f"fingerprint.{k}", f"has a wrong type ({type(d[k]).__name__})")
        return cls(explanation=d.get("explanation", ""), matches=list(d.get("matches") or []),
                   n_matches=d.get("n_matches"), best=d.get("best"), nonfinite=d.get("nonfinite"),
                   details={k: v for k, v in d.items() if k not in cls._TOP})

    def to_dict(self) -> dict[str, Any]:
        out = {"explanation": self.explanation, "matches": self.matches}
        if self.n_matches is not None:
            out["n_matches"] = self.n_matches
        if self.best is not None:
            out["best"] = self.best
        if self.nonfinite is not None:
            out["nonfinite"] = self.nonfinite
        return {**out, **self.details}


# --- upgrades: version N -> N+1, applied to each record's dict before it is typed ---------

def _v1_to_v2(rec: dict) -> dict:
    """Version 1 said "framework absent" only as a message prefix; version 2 has the field."""
    if rec.get("kind", "result") == "result" and "absent" not in rec:
        msg = rec.get("message") if isinstance(rec.get("message"), str) else ""
        rec["absent"] = next((a for a in (NOT_INSTALLED, NOT_AVAILABLE)
                              if rec.get("status") == "unsupported" and msg.startswith(a)), "")
    if rec.get("kind") == "claim" and "absent" not in rec:
        err = rec.get("error") if isinstance(rec.get("error"), str) else ""
        rec["absent"] = next((a for a in (NOT_INSTALLED, NOT_AVAILABLE)
                              if rec.get("verdict") == "unsupported" and err.startswith(a)), "")
    return rec


def _v2_to_v3(rec: dict) -> dict:
    """Version 3 writes a case's fields once, in a ``case`` record that results refer to by
    ``case_id``; a version-2 result carries them itself, which version 3 still reads."""
    return rec


UPGRADES = {1: _v1_to_v2, 2: _v2_to_v3}


def upgrade(rec: dict, version: int) -> dict:
    """``rec`` (a record dict written under schema ``version``) in the current schema."""
    while version < SCHEMA_VERSION:
        rec = UPGRADES[version](rec)
        version += 1
    return rec
