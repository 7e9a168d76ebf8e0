"""Timelines: how one cell ended on each release of a package, as ``normconf bisect`` measured it.

A timeline file is JSON Lines: a ``timeline-header`` record first (schema version, normconf version,
when it was created), then one ``timeline`` record per bisect: the cell (``case_id``, ``adapter``), the
``package`` whose releases were tried, the ``fixed`` requirements every candidate environment held
still, the ``steps`` (one per release tried, in version order: its status, error, ratio, explanation,
whether it installed) and ``first_changed`` (the first release whose verdict differs from the one
before it, or null). :func:`write_timeline` creates a file or appends a record to one it wrote;
:func:`read_timelines` reads files as untrusted input: a bad line is skipped with a one-line warning
naming the file and line, every good record is kept.
"""
from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from harness import __version__
from harness.text.inert import printable

from .read import bounded_lines, open_regular
from .record import STATUSES, clean, utc_now

TIMELINE_SCHEMA_VERSION = 1
HEADER_KIND = "timeline-header"
RECORD_KIND = "timeline"
#: a line longer than this is skipped unread (a timeline record is a few KiB)
MAX_LINE_BYTES = 4 * 1024 * 1024
MAX_PROBLEMS_PER_FILE = 50
#: a step's status: a cell's status, or "" when the release could not be judged (see ``installed``)
STEP_STATUSES = ("", *STATUSES)


@dataclass(frozen=True)
class Step:
    """One release tried: the cell's status there, its error (the largest absolute difference of the
    worst output) and ratio (error / allowed error), its explanation; ``installed`` is False when the
    release could not be installed (``status`` is then ""), ``message`` says why, or what the error was."""

    version: str
    status: str
    ratio: float | None = None
    error: float | None = None
    explanation: str = ""
    installed: bool = True
    message: str = ""


@dataclass(frozen=True)
class Change:
    """The first release whose verdict differs: ``version``, the release before it (``before``) and the
    status in each."""

    version: str
    before: str
    before_status: str
    after_status: str


@dataclass(frozen=True)
class Timeline:
    case_id: str
    adapter: str
    package: str
    steps: tuple[Step, ...]
    first_changed: Change | None = None
    #: the requirements every candidate environment held still (``--with``)
    fixed: tuple[str, ...] = ()
    #: where and when it was measured, e.g. {"python": "3.11.7", "mode": "resolve", "time": "..."}
    info: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"kind": RECORD_KIND, "case_id": self.case_id, "adapter": self.adapter, "package": self.package,
                "fixed": list(self.fixed),
                "steps": [{"version": s.version, "status": s.status, "ratio": s.ratio, "error": s.error,
                           "explanation": s.explanation, "installed": s.installed, "message": s.message}
                          for s in self.steps],
                "first_changed": None if self.first_changed is None else {
                    "version": self.first_changed.version, "before": self.first_changed.before,
                    "before_status": self.first_changed.before_status,
                    "after_status": self.first_changed.after_status},
                "info": dict(self.info)}


class TimelineFileError(ValueError):
    """A file that cannot take a timeline (it exists and is not a timeline file)."""


def _header() -> dict:
    return {"kind": HEADER_KIND, "schema_version": TIMELINE_SCHEMA_VERSION, "normconf": __version__,
            "created": utc_now()}


def _first_line(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.readline(MAX_LINE_BYTES)


def check_target(path) -> bool:
    """Whether ``path`` is a timeline file to append to (False: it does not exist yet); raises
    :class:`TimelineFileError` for an existing file that is not one, which is never overwritten."""
    path = Path(path)
    if not os.path.lexists(path):
        return False
    if not path.is_file():
        raise TimelineFileError(f"{printable(path)}: exists and is not a regular file")
    try:
        first = json.loads(_first_line(path) or b"null")
    except (OSError, ValueError):
        first = None
    if not (isinstance(first, dict) and first.get("kind") == HEADER_KIND):
        raise TimelineFileError(f"{printable(path)}: exists and is not a timeline file (its first line is "
                                "no timeline-header); not overwritten")
    return True


def write_timeline(path, timeline: Timeline) -> Path:
    """Write ``timeline`` to ``path``: a new file gets the header first; an existing timeline file
    (its first line a timeline header) gets the record appended; any other existing file is left
    alone (:class:`TimelineFileError`)."""
    path = Path(path)
    line = json.dumps(clean(timeline.to_dict()), allow_nan=False) + "\n"
    if check_target(path):
        with open(path, "rb+") as f:
            f.seek(0, os.SEEK_END)
            if f.tell():
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    f.write(b"\n")
            f.write(line.encode("utf-8"))
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8") as f:
        f.write(json.dumps(_header()) + "\n" + line)
    return path


# --- reading: every file is untrusted input ---------------------------------------------------------

class _Bad(ValueError):
    """A field with a wrong type or value; the message names it."""


def _text(d: dict, key: str, where: str, *, required=True, limit=10_000) -> str:
    if key not in d:
        if required:
            raise _Bad(f"missing field '{where}{key}'")
        return ""
    v = d[key]
    if not isinstance(v, str) or len(v) > limit:
        raise _Bad(f"field '{where}{key}' must be text (at most {limit} characters)")
    return v


def _number(d: dict, key: str, where: str) -> float | None:
    v = d.get(key)
    if v is None:
        return None
    if isinstance(v, str) and v in ("nan", "inf", "-inf"):  # how the writer spells non-finite numbers
        return float(v)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise _Bad(f"field '{where}{key}' must be a number or null")
    return float(v)


def _step(d, i: int) -> Step:
    where = f"steps[{i}]."
    if not isinstance(d, dict):
        raise _Bad(f"field 'steps[{i}]' must be an object")
    status = _text(d, "status", where)
    if status not in STEP_STATUSES:
        raise _Bad(f"field '{where}status' must be one of {', '.join(s or repr(s) for s in STEP_STATUSES)}")
    installed = d.get("installed", True)
    if not isinstance(installed, bool):
        raise _Bad(f"field '{where}installed' must be true or false")
    if not installed and status:
        raise _Bad(f"field '{where}status' must be empty for a release that did not install")
    return Step(_text(d, "version", where, limit=200), status, _number(d, "ratio", where), _number(d, "error", where),
                _text(d, "explanation", where, required=False), installed, _text(d, "message", where, required=False))


def _change(d) -> Change | None:
    if d is None:
        return None
    if not isinstance(d, dict):
        raise _Bad("field 'first_changed' must be an object or null")
    w = "first_changed."
    return Change(_text(d, "version", w, limit=200), _text(d, "before", w, limit=200),
                  _text(d, "before_status", w, limit=40), _text(d, "after_status", w, limit=40))


def timeline_from_dict(d) -> Timeline:
    """A :class:`Timeline` from a parsed record; ``ValueError`` naming the first bad field."""
    if not isinstance(d, dict):
        raise _Bad(f"not a JSON object ({type(d).__name__})")
    steps = d.get("steps")
    if not isinstance(steps, list):
        raise _Bad("field 'steps' must be a list")
    fixed = d.get("fixed", [])
    if not isinstance(fixed, list) or not all(isinstance(x, str) and len(x) <= 1000 for x in fixed):
        raise _Bad("field 'fixed' must be a list of requirement texts")
    info = d.get("info", {})
    if not isinstance(info, dict) or not all(isinstance(v, (str, int, float, bool)) or v is None
                                             for v in info.values()):
        raise _Bad("field 'info' must be an object of plain values")
    return Timeline(_text(d, "case_id", "", limit=1000), _text(d, "adapter", "", limit=200),
                    _text(d, "package", "", limit=200), tuple(_step(s, i) for i, s in enumerate(steps)),
                    _change(d.get("first_changed")), tuple(fixed), dict(info))


def _no_constant(name):
    raise ValueError(f"{name}: not a JSON number")


def read_timelines(paths, *, problems: list | None = None, warn: bool = True) -> list[Timeline]:
    """Every valid timeline record of ``paths``, in file order. A bad line (not JSON, not an object, a
    field of the wrong type) is skipped with one line ``FILE:LINE: ...`` on stderr (with ``warn``) and
    in ``problems``; a file that does not start with a timeline header, or whose header is of a newer
    schema, is skipped whole with one such line."""
    out: list[Timeline] = []
    problems = [] if problems is None else problems

    for path in paths:
        shown = printable(path)
        count = 0

        def problem(text, shown=shown):
            nonlocal count
            count += 1
            if count > MAX_PROBLEMS_PER_FILE:
                return
            if count == MAX_PROBLEMS_PER_FILE:
                text = f"{shown}: further problems not shown"
            problems.append(text)
            if warn:
                print(f"normconf: warning: {text}", file=sys.stderr)

        f, why = open_regular(path)
        if f is None:
            problem(f"{shown}: skipped: {why}")
            continue
        header = False
        with f:
            for n, line in bounded_lines(f, MAX_LINE_BYTES):
                if line is None:
                    problem(f"{shown}:{n}: line longer than {MAX_LINE_BYTES} bytes (skipped)")
                    continue
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line.decode("utf-8"), parse_constant=_no_constant)
                except (UnicodeDecodeError, ValueError, RecursionError) as e:
                    problem(f"{shown}:{n}: unreadable record ({printable(str(e).split(':')[0])[:120]})")
                    continue
                kind = rec.get("kind") if isinstance(rec, dict) else None
                if not header:
                    version = rec.get("schema_version") if kind == HEADER_KIND else None
                    if kind != HEADER_KIND:
                        problem(f"{shown}:{n}: not a timeline file (no timeline-header first); skipped")
                        break
                    if isinstance(version, bool) or not isinstance(version, int):
                        problem(f"{shown}:{n}: bad timeline-header (field 'schema_version' must be a number); "
                                "file skipped")
                        break
                    if version > TIMELINE_SCHEMA_VERSION:
                        problem(f"{shown}:{n}: written with timeline schema version {version}, newer than this "
                                f"normconf reads ({TIMELINE_SCHEMA_VERSION}); file skipped (upgrade normconf)")
                        break
                    header = True
                    continue
                if kind == HEADER_KIND:
                    continue
                if kind != RECORD_KIND:
                    problem(f"{shown}:{n}: unknown record kind {printable(repr(kind))[:80]}")
                    continue
                try:
                    out.append(timeline_from_dict(rec))
                except ValueError as e:
                    problem(f"{shown}:{n}: bad timeline record ({printable(e)})")
        if not header and count == 0:
            problem(f"{shown}: empty (no timeline-header)")
    return out
