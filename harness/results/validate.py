"""Checking a results file's records, which are untrusted input: each field's type and value,
with a fast path for records as the writer writes them. A problem is one line naming the key."""
from __future__ import annotations

import inspect
import math
from dataclasses import fields

import orjson

from harness.text.inert import printable

from .parts import ABSENT, Fingerprint, Metrics
from .record import OUTCOMES, RESULT_FIELDS, STATUSES, VERDICTS, Result


def _is_str(v):
    return isinstance(v, str)


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _str_dict(v):
    return isinstance(v, dict)  # parsed from JSON: an object's keys are always strings


def _versions(v):
    return _str_dict(v) and all(isinstance(x, (str, int, float, bool)) or x is None for x in v.values())


def _opt(check):
    return lambda v: v is None or check(v)


def _accepted_by(cls):
    """A check that ``cls.from_dict`` accepts the value; its RecordError names the bad key."""
    def check(v):
        try:
            cls.from_dict(v)
        except ValueError as e:
            return str(e)
        return True
    return check


def _list_of(check):
    return lambda v: isinstance(v, list) and all(check(x) for x in v)


def _mask(v):
    """A case's mask: ``{"axis": "T", "lengths": [5, 3]}`` or ``{"random": 0.3}``."""
    if not _str_dict(v) or set(v) not in ({"axis", "lengths"}, {"random"}):
        return False
    if "random" in v:
        return _is_num(v["random"]) and 0 <= v["random"] < 1
    return _is_str(v["axis"]) and _list_of(lambda n: _is_int(n) and n >= 0)(v["lengths"])
def _param_values(v):
    """Given gamma or beta values: a number, a non-empty list of numbers, or a distribution or magnitude."""
    return _is_num(v) or (isinstance(v, list) and bool(v) and all(_is_num(x) for x in v)) or (
        _str_dict(v) and bool(v) and all(_is_num(x) or isinstance(x, str) for x in v.values()))


def _affine(v):
    """``none``, ``ones``, ``random`` (any text: the reader of the case checks its vocabulary), or given values."""
    return _is_str(v) or (_str_dict(v) and bool(v) and set(v) <= {"gamma", "beta"}
                          and all(_param_values(x) for x in v.values()))


def _options(v):
    return _str_dict(v) and all(isinstance(x, (str, int, float, bool)) for x in v.values())


_CASE_TYPES = {
    "id": _is_str, "description": _is_str, "source": _is_str, "op": _is_str, "layout": _is_str,
    "shape": lambda v: _str_dict(v) and all(_is_int(x) for x in v.values()),
    "dtype": _is_str, "epsilon": _opt(_is_num), "affine": _affine, "seed": _is_int, "options": _options,
    "input": lambda v: _str_dict(v) and all(_is_num(x) or isinstance(x, str) for x in v.values()),
    "groups": _opt(_is_int), "axes": _opt(_is_str), "affine_axes": _opt(_is_str), "check": _is_str,
    "tags": _list_of(_is_str), "skip": _opt(_is_str), "file": _is_str, "line": _is_int, "mask": _opt(_mask),
}

_RESULT_TYPES = {
    "case_id": _is_str, "adapter": _is_str, "env": _is_str, "status": lambda v: v in STATUSES,
    "versions": _versions, "metrics": _accepted_by(Metrics), "fingerprint": _opt(_accepted_by(Fingerprint)), "message": _is_str,
    "traceback": _is_str, "snippet": _is_str, "duration": _is_num, "case": _str_dict, "time": _is_str,
    "outcome": lambda v: v in OUTCOMES, "expectation": _opt(_str_dict), "absent": lambda v: v in ABSENT,
}
_RESULT_REQUIRED = ("case_id", "adapter", "env", "status")

def _num_or_special(v):
    return _is_num(v) or v in ("nan", "inf", "-inf")  # how the writer spells non-finite numbers


def _trial(v):
    return (_str_dict(v) and isinstance(v.get("input"), str) and _list_of(_is_str)(v.get("variants"))
            and isinstance(v.get("holds"), bool) and _num_or_special(v.get("max_diff"))
            and isinstance(v.get("note", ""), str))


def _claim_dict(v):
    return _str_dict(v) and all(_str_dict(v[side]) and isinstance(v[side].get("op", ""), str)
                                for side in ("left", "right") if v.get(side) is not None)


_CLAIM_TYPES = {
    "claim_id": _is_str, "adapter": _is_str, "env": _is_str, "verdict": lambda v: v in VERDICTS,
    "condition": _is_str, "max_diff": _num_or_special, "explanation": _is_str,
    "per_input": lambda v: _str_dict(v) and all(isinstance(x, str) for x in v.values()),
    "trials": _list_of(_trial), "error": _is_str, "versions": _versions, "claim": _claim_dict,
    "duration": _is_num, "time": _is_str, "outcome": lambda v: v in OUTCOMES, "expectation": _opt(_str_dict),
    "absent": lambda v: v in ABSENT,
}
_CLAIM_REQUIRED = ("claim_id", "adapter", "env", "verdict")

_HEADER_TYPES = {"env": _is_str, "started": _is_str}


def _summary_items(v):
    return isinstance(v, list) and all(v_.__class__ is dict and _is_str(v_.get("node"))
                                       and _is_str(v_.get("reason", "")) for v_ in v)


def _count(v):
    return _is_int(v) and v >= 0


_SUMMARY_TYPES = {
    "env": _is_str, "exit_status": _is_int, "expected": _count, "expected_divergent": _count,
    "unexpected": _summary_items, "fixed": _summary_items, "harness_failures": _summary_items,
    "interrupted": lambda v: isinstance(v, bool), "finished": _is_str,
}
_SUMMARY_REQUIRED = ("env", "exit_status")


def _type_problem(rec: dict, types: dict, required=()) -> str:
    for k in required:
        if k not in rec:
            return f"missing field {k!r}"
    for k, check in types.items():
        if k in rec:
            ok = check(rec[k])
            if ok.__class__ is str:  # a nested record's own words, naming the key
                return ok
            if not ok:
                return f"field {k!r} has a wrong type or value ({type(rec[k]).__name__})"
    if types is _RESULT_TYPES and isinstance(rec.get("case"), dict):
        return _case_problem(rec["case"])
    return ""


_CASE_SEEN: dict[bytes, tuple[str, dict]] = {}


def _case_problem(case: dict) -> str:
    """What is wrong with a record's case dict ('' when nothing). Every adapter's record of a case
    carries the same dict, so the verdict is remembered by the dict's exact serialization."""
    return _checked_case(case)[0]


def _checked_case(case: dict) -> tuple[str, dict]:
    """What is wrong with a case dict ('' when nothing), and the first dict read with exactly the
    same serialization: the records of one case share that one (read-only) dict instead of a
    copy each, which keeps 100k records in far less memory."""
    try:
        key = orjson.dumps(case)
    except (TypeError, orjson.JSONEncodeError):
        key = None
    if key is not None:
        seen = _CASE_SEEN.get(key)
        if seen is not None:
            return seen
    problem = ""
    for k, check in _CASE_TYPES.items():
        if k in case and not check(case[k]):
            problem = f"field 'case.{k}' has a wrong type or value ({type(case[k]).__name__})"
            break
    if key is not None:
        if len(_CASE_SEEN) > 100_000:
            _CASE_SEEN.clear()
        _CASE_SEEN[key] = (problem, case)
    return problem, case


# The fast path for result records, as the writer writes them: every field of Result and no other
# key. Each field's type is compared by class (JSON values are never subclasses; the verdict is
# remembered per record shape), then the values that need it are checked: status and outcome in their
# vocabularies, a finite duration, scalar versions, the case dict (remembered by its exact
# serialization and shared, see _checked_case). It accepts exactly what
# `_type_problem` accepts; any other record, or one it rejects, goes through `_type_problem`, which
# names the bad key.
_NONE = type(None)
_RESULT_FIELD_TYPES = {
    "case_id": (str,), "adapter": (str,), "env": (str,), "status": (str,), "versions": (dict,),
    "metrics": (dict,), "fingerprint": (dict, _NONE), "message": (str,), "traceback": (str,), "snippet": (str,),
    "duration": (int, float), "case": (dict,), "time": (str,), "outcome": (str,), "expectation": (dict, _NONE),
    "absent": (str,), "kind": (str,),
}
_STATUS_SET = frozenset(STATUSES)
_ABSENT_SET = frozenset(ABSENT)
_metrics_of, _fingerprint_of, _new_result = Metrics.from_dict, Fingerprint.from_dict, object.__new__
_OUTCOME_SET = frozenset(OUTCOMES)
_SCALAR = frozenset((str, int, float, bool, _NONE))
#: the fast path builds a Result without the keyword-argument call of its __init__ (which, generated
#: by dataclass from plain fields, only assigns them and calls __post_init__); it is used only while
#: that holds and every field has a type above
_RESULT_FAST = (set(_RESULT_FIELD_TYPES) == set(RESULT_FIELDS) and not hasattr(Result, "__slots__")
                and all(f.init for f in fields(Result))
                and list(inspect.signature(Result).parameters) == [f.name for f in fields(Result)])


def case_record(rec: dict):
    """(case id, the shared case dict) of a ``case`` record, or what is wrong with it (a string)."""
    cid, case = rec.get("case_id"), rec.get("case")
    if cid.__class__ is not str:
        return "field 'case_id' must be a string"
    if case.__class__ is not dict:
        return "field 'case' must be an object"
    problem, shared = _checked_case(case)
    return problem or (cid, shared)


def _adopt_checked_case(rec: dict) -> str:
    """What is wrong with the record's case dict ('' when nothing); a good one is replaced by the
    shared dict with the same serialization."""
    problem, shared = _checked_case(rec["case"])
    if not problem:
        rec["case"] = shared
    return problem


def _plain_shape(shape) -> bool:
    """Whether a record with these keys (in file order) and value classes is one the fast path takes:
    exactly the fields of Result, each value of its field's class."""
    keys, classes = shape
    return (_RESULT_FAST and len(keys) == len(RESULT_FIELDS) and set(keys) == RESULT_FIELDS
            and all(c in _RESULT_FIELD_TYPES[k] for k, c in zip(keys, classes)))


#: the fast path's verdict per record shape (keys in order, value classes): a run's records share a few
_RESULT_SHAPES: dict[tuple, bool] = {}


def read_result(rec: dict, case_checked: bool = False):
    """A Result, or what is wrong with the record (a string). With ``case_checked`` its case is a
    checked, shared dict already (from the file's ``case`` record)."""
    shape = (tuple(rec), tuple(map(type, rec.values())))
    plain = _RESULT_SHAPES.get(shape)
    if plain is None:
        plain = _plain_shape(shape)
        if len(_RESULT_SHAPES) < 10_000:
            _RESULT_SHAPES[shape] = plain
    if plain:
        d, m0, fp0 = rec["duration"], rec["metrics"], rec["fingerprint"]
        if (rec["status"] in _STATUS_SET and rec["outcome"] in _OUTCOME_SET and rec["absent"] in _ABSENT_SET
                and rec["time"]
                and (d.__class__ is int or math.isfinite(d))
                and _SCALAR.issuperset(map(type, rec["versions"].values()))
                and (case_checked or not _adopt_checked_case(rec))):
            try:  # type the nested records (the other fields were checked above)
                rec["metrics"] = _metrics_of(rec["metrics"])
                fp = rec["fingerprint"]
                if fp is not None:
                    rec["fingerprint"] = _fingerprint_of(fp)
            except ValueError:
                rec["metrics"], rec["fingerprint"] = m0, fp0  # the field checks below name the bad key
            else:
                r = _new_result(Result)
                r.__dict__ = rec
                return r
    bad = _type_problem(rec, _RESULT_TYPES, _RESULT_REQUIRED)
    return bad or Result.from_dict(rec)


def header_problem(rec: dict) -> str:
    """What is wrong with a ``header`` record ('' when nothing)."""
    bad = _type_problem(rec, _HEADER_TYPES)
    v = rec.get("schema_version", 1)
    if not bad and (not _is_int(v) or v < 1):
        bad = f"field 'schema_version' has a wrong type or value ({printable(repr(v))[:40]})"
    return bad


def adapter_ok(rec: dict) -> bool:
    """An ``adapter`` record names its adapter (a string) and its versions (an object of strings)."""
    return isinstance(rec.get("adapter"), str) and bool(_versions(rec.get("versions", {})))


def summary_problem(rec: dict) -> str:
    """What is wrong with a ``summary`` record's fields ('' when nothing): the counts are
    non-negative integers, each listed item an object with a ``node`` and a ``reason`` string."""
    return _type_problem(rec, _SUMMARY_TYPES, _SUMMARY_REQUIRED)


def claim_problem(rec: dict) -> str:
    """What is wrong with a ``claim`` record's fields ('' when nothing)."""
    return _type_problem(rec, _CLAIM_TYPES, _CLAIM_REQUIRED)
