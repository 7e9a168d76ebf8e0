"""JSON-schema validation of YAML files, reported as one line naming file, line and key."""
from __future__ import annotations

import jsonschema

from .yamlsource import CaseError, load_yaml, read_source


def one_or_list(schema: dict) -> dict:
    """A value, or a non-empty list of values (a grid)."""
    return {"anyOf": [schema, {"type": "array", "items": schema, "minItems": 1}]}


def line_of(lines: dict, path) -> int:
    """The line of the deepest part of ``path`` that the YAML source recorded."""
    path = tuple(path)
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)


def schema_error(file, data, lines, schema: dict) -> CaseError | None:
    """The most relevant violation of ``schema`` as a one-line CaseError, or None."""
    validator = jsonschema.Draft202012Validator(schema)
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
