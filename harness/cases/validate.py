"""JSON-schema validation of YAML files, reported as one line naming file, line and key.

The validator is JSON Schema 2020-12 made strict where a YAML value could pass for what it is not:
an ``integer`` is an integer, never an integral float (``groups: 2.0``) or a boolean; an ``enum``
value matches only a value of the same type (``1.0`` and ``true`` are not ``1``); and a pattern's
closing ``$`` is the end of the string, never the place before a trailing newline (``"id\\n"``).
"""
from __future__ import annotations

import re
from functools import lru_cache

import jsonschema
from jsonschema import validators

from .yamlsource import CaseError, load_yaml, read_source


def one_or_list(schema: dict) -> dict:
    """A value, or a non-empty list of values (a grid)."""
    return {"anyOf": [schema, {"type": "array", "items": schema, "minItems": 1}]}


def _is_integer(checker, instance) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


def _kind(v):
    return "bool" if isinstance(v, bool) else "int" if isinstance(v, int) else type(v).__name__


def _enum(validator, enums, instance, schema):
    if not any(_kind(v) == _kind(instance) and v == instance for v in enums):
        yield jsonschema.ValidationError(f"{instance!r} is not one of {enums!r}")


def _const(validator, const, instance, schema):
    if not (_kind(const) == _kind(instance) and const == instance):
        yield jsonschema.ValidationError(f"{const!r} was expected")


@lru_cache(maxsize=256)
def _anchored(pattern: str) -> re.Pattern:
    """``pattern`` with a closing ``$`` meaning the end of the string (Python's ``$`` also matches
    before a trailing newline)."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _pattern(validator, pattern, instance, schema):
    if isinstance(instance, str) and not _anchored(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


#: Draft 2020-12 with strict integers, enums, consts and patterns (see the module's text)
StrictValidator = validators.extend(
    jsonschema.Draft202012Validator,
    validators={"enum": _enum, "const": _const, "pattern": _pattern},
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


def line_of(lines: dict, path) -> int:
    """The line of the deepest part of ``path`` that the YAML source recorded."""
    path = tuple(path)
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)


def schema_error(file, data, lines, schema: dict) -> CaseError | None:
    """The most relevant violation of ``schema`` as a one-line CaseError, or None."""
    validator = StrictValidator(schema)
    err = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if err is None:
        return None
    if err.validator == "anyOf" and err.context:
        # scalar-or-list: explain against the branch the value was written in
        branch = 1 if isinstance(err.instance, list) else 0
        sub = [e for e in err.context if e.schema_path and e.schema_path[0] == branch] or list(err.context)
        err = jsonschema.exceptions.best_match(sub) or err
    parent = err.parent
    if err.validator == "type" and isinstance(err.instance, dict) and parent is not None \
            and parent.validator == "anyOf":
        # a mapping where other forms (a number, a list) are allowed too: explain against the mapping's form
        sub = [e for e in parent.context
               if e.schema_path and parent.validator_value[e.schema_path[0]].get("type") == "object"]
        err = jsonschema.exceptions.best_match(sub) or err
    path = list(err.absolute_path)
    tail = []
    keyed = path
    while keyed and not isinstance(keyed[-1], str):  # an item of a list in an entry: the list's key names it
        keyed = keyed[:-1]
    if not any(not isinstance(p, str) for p in keyed):
        keyed = path
    for p in reversed(keyed):
        if not isinstance(p, str):
            break
        tail.insert(0, p)
    key = ".".join(tail) or None
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = set(err.schema.get("properties", {}))
        extra = sorted(k for k in err.instance if k not in allowed)
        if extra:
            return CaseError(file, line_of(lines, path + [extra[0]]), extra[0],
                             f"unknown key (allowed: {', '.join(sorted(allowed))})")
    if err.validator == "required":
        return CaseError(file, line_of(lines, path), key, err.message)
    msg = err.message
    if len(msg) > 200:
        msg = msg[:200] + "..."
    return CaseError(file, line_of(lines, path), key, msg)


def load_valid(path, file, schema: dict, wants: str) -> tuple[dict, dict]:
    """A YAML file read (bounded), parsed and checked against ``schema``: (data, the line of each key
    path). Raises CaseError (one line) for an empty file, saying it expected a mapping with ``wants``."""
    data, lines = load_yaml(read_source(path, file), file)
    if data is None:
        raise CaseError(file, 1, None, f"empty file (expected a mapping with {wants})")
    err = schema_error(file, data, lines, schema)
    if err is not None:
        raise err
    return data, lines
