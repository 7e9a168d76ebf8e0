"""Result records, the JSONL writer and reader, provenance and merging.

A results file is JSON Lines: one ``header`` record first (provenance), then
one ``result`` record per cell, written and flushed as each cell finishes, so
an interrupted run keeps everything it computed. Merging is keyed by
(environment, adapter, case id); the newer record wins, which makes merging
files from many environments or machines associative.

The writer never truncates a file it did not create: an existing results file
is moved aside (``<name>.jsonl.<UTC time>.bak``) unless the run resumes it, in
which case new records are appended after a second header.

Every header carries the results schema version (:mod:`harness.records`): a
reader skips the records of a file written with a newer version, saying so in
one line, and upgrades the records of an older one as it reads them.

Readers treat every file as untrusted: only regular files are opened (a FIFO,
a device or a directory is skipped without blocking), lines are bounded, and a
line that is not JSON, not UTF-8, or has a missing field or a field of the
wrong type is skipped with a warning naming the file and line, on stderr and
in ``problems``.
"""
from __future__ import annotations

import datetime as _dt
import inspect
import json
import math
import os
import platform
import stat
import subprocess
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable

import orjson

from . import __version__
from .records import ABSENT, NOT_AVAILABLE, NOT_INSTALLED, SCHEMA_VERSION, Fingerprint, Metrics, upgrade  # noqa: F401
#: how a cell or claim ended given the run's expectations ("" when not judged)
OUTCOMES = ("", "expected", "unexpected")
STATUSES = ("agree", "diverge", "error", "crash", "timeout", "unsupported", "skipped")

@dataclass
class Result:
    case_id: str
    adapter: str
    env: str
    status: str
    versions: dict[str, str] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=Metrics)
    fingerprint: Fingerprint | None = None
    message: str = ""
    traceback: str = ""
    snippet: str = ""
    duration: float = 0.0
    case: dict[str, Any] = field(default_factory=dict)
    time: str = ""
    #: expected | unexpected (given the expectations of the run); "" when not judged
    outcome: str = ""
    #: the matching expectation entry (id, adapter, status, reason, url, file, line), if any
    expectation: dict[str, Any] | None = None
    #: NOT_INSTALLED or NOT_AVAILABLE when the column's framework is not in this environment
    #: at all (the report hides such columns); "" otherwise
    absent: str = ""
    kind: str = "result"

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")
        if self.absent not in ABSENT:
            raise ValueError(f"unknown absent {self.absent!r}")
        if self.metrics.__class__ is not Metrics:
            self.metrics = Metrics.from_dict(self.metrics)
        if self.fingerprint is not None and self.fingerprint.__class__ is not Fingerprint:
            self.fingerprint = Fingerprint.from_dict(self.fingerprint)
        if not self.time:
            self.time = utc_now()

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.env, self.adapter, self.case_id)

    @property
    def explanation(self) -> str:
        return self.fingerprint.explanation if self.fingerprint is not None else ""

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["metrics"] = self.metrics.to_dict()
        d["fingerprint"] = None if self.fingerprint is None else self.fingerprint.to_dict()
        return d

    def to_json(self) -> str:
        return json.dumps(_clean(self.to_dict()), sort_keys=False, allow_nan=False)

    @classmethod
    def from_dict(cls, d: dict) -> "Result":
        return cls(**{k: v for k, v in d.items() if k in _RESULT_FIELDS})


_RESULT_FIELDS = frozenset(Result.__dataclass_fields__)

#: "stale": the claim's quote no longer appears where it lives in the installed framework
VERDICTS = ("holds", "fails", "holds only when", "stale", "error", "unsupported")


@dataclass
class ClaimResult:
    """The measured verdict of one documentation claim with one adapter."""

    claim_id: str
    adapter: str
    env: str
    verdict: str
    condition: str = ""
    max_diff: float = 0.0
    explanation: str = ""
    per_input: dict[str, str] = field(default_factory=dict)
    trials: list[dict] = field(default_factory=list)
    error: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    claim: dict[str, Any] = field(default_factory=dict)
    duration: float = 0.0
    time: str = ""
    outcome: str = ""
    expectation: dict[str, Any] | None = None
    absent: str = ""  # as Result.absent
    kind: str = "claim"

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")
        if self.absent not in ABSENT:
            raise ValueError(f"unknown absent {self.absent!r}")
        if not self.time:
            self.time = utc_now()

    def to_json(self) -> str:
        return json.dumps(_clean(asdict(self)), allow_nan=False)

    @classmethod
    def from_dict(cls, d: dict) -> "ClaimResult":
        return cls(**{k: v for k, v in d.items() if k in _CLAIM_FIELDS})


_CLAIM_FIELDS = frozenset(ClaimResult.__dataclass_fields__)


def _clean(o):
    """JSON has no NaN/Infinity: write them as strings."""
    if isinstance(o, float) and not math.isfinite(o):
        return "nan" if math.isnan(o) else ("inf" if o > 0 else "-inf")
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    return o


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def harness_commit() -> str:
    here = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=5)
        if out.returncode == 0:
            dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True, timeout=5).stdout.strip()
            return out.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return os.environ.get("NORMCONF_COMMIT", "unknown")


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def provenance(env: str) -> dict[str, Any]:
    import numpy
    return {
        "kind": "header",
        "schema_version": SCHEMA_VERSION,
        "env": env,
        "harness_version": __version__,
        "harness_commit": harness_commit(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "os": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "hostname": platform.node(),
        "argv": sys.argv,
        "started": utc_now(),
    }


def _aside_name(path: Path) -> Path:
    stamp = utc_now().replace(":", "").replace("-", "")
    for i in range(1000):
        cand = path.with_name(f"{path.name}.{stamp}{'' if i == 0 else f'-{i}'}.bak")
        if not os.path.lexists(cand):
            return cand
    raise FileExistsError(f"no free name to move {path} aside")


class Writer:
    """Streams records to a JSONL file; every line is flushed when written.

    Never truncates a file it did not create: with ``resume`` it appends to an
    existing file (after a header marked ``resumed``); without, an existing file
    is first renamed to ``<name>.<UTC time>.bak`` (``moved_aside``) and a new
    file is created exclusively."""

    def __init__(self, path, env: str, header_extra: dict | None = None, *, resume: bool = False):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.env = env
        self.moved_aside: Path | None = None
        extra = dict(header_extra or {})
        if resume and self.path.is_file():
            self._f = open(self.path, "a", encoding="utf-8")
            if self.path.stat().st_size and not _ends_with_newline(self.path):
                self._f.write("\n")  # a killed run's partial last line stays on its own line
            extra["resumed"] = True
        else:
            while True:
                if os.path.lexists(self.path):
                    self.moved_aside = _aside_name(self.path)
                    os.rename(self.path, self.moved_aside)
                    print(f"normconf: moved the earlier results file {self.path} to {self.moved_aside} "
                          "(use --resume to continue it instead)", file=sys.stderr)
                try:
                    self._f = open(self.path, "x", encoding="utf-8")
                    break
                except FileExistsError:
                    continue
        self._write(json.dumps({**provenance(env), **extra}))

    def _write(self, line: str):
        self._f.write(line + "\n")
        self._f.flush()

    def adapter(self, name: str, versions: dict):
        self._write(json.dumps({"kind": "adapter", "env": self.env, "adapter": name, "versions": versions}))

    def write(self, result: "Result | ClaimResult"):
        self._write(result.to_json())

    def close(self):
        if not self._f.closed:
            self._f.close()


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


@dataclass
class RunFile:
    path: str
    header: dict
    adapters: dict[str, dict]
    results: list[Result]
    problems: list[str]
    claims: list[ClaimResult] = field(default_factory=list)


MAX_LINE_BYTES = 64 * 1024 * 1024
MAX_PROBLEMS_PER_FILE = 50


def _printable(text) -> str:
    from .yamlsource import printable
    return printable(text)


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


def _typed(cls):
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


_CASE_TYPES = {
    "id": _is_str, "description": _is_str, "source": _is_str, "op": _is_str, "layout": _is_str,
    "shape": lambda v: _str_dict(v) and all(_is_int(x) for x in v.values()),
    "dtype": _is_str, "epsilon": _opt(_is_num), "affine": _is_str, "seed": _is_int,
    "input": lambda v: _str_dict(v) and all(_is_num(x) or isinstance(x, str) for x in v.values()),
    "groups": _opt(_is_int), "axes": _opt(_is_str), "affine_axes": _opt(_is_str), "check": _is_str,
    "tags": _list_of(_is_str), "skip": _opt(_is_str), "file": _is_str, "line": _is_int,
}

_RESULT_TYPES = {
    "case_id": _is_str, "adapter": _is_str, "env": _is_str, "status": lambda v: v in STATUSES,
    "versions": _versions, "metrics": _typed(Metrics), "fingerprint": _opt(_typed(Fingerprint)), "message": _is_str,
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


_CASE_SEEN: dict[bytes, str] = {}


def _case_problem(case: dict) -> str:
    """What is wrong with a record's case dict ('' when nothing). Every adapter's record of a case
    carries the same dict, so the verdict is remembered by the dict's exact serialization."""
    try:
        key = orjson.dumps(case, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        key = None
    if key is not None and key in _CASE_SEEN:
        return _CASE_SEEN[key]
    problem = ""
    for k, check in _CASE_TYPES.items():
        if k in case and not check(case[k]):
            problem = f"field 'case.{k}' has a wrong type or value ({type(case[k]).__name__})"
            break
    if key is not None:
        if len(_CASE_SEEN) > 100_000:
            _CASE_SEEN.clear()
        _CASE_SEEN[key] = problem
    return problem


# The fast path for result records, as the writer writes them: every field of Result and no other
# key. Each field's type is compared by class (JSON values are never subclasses), then the values
# that need it are checked: status and outcome in their vocabularies, a finite duration, scalar
# versions, the case dict (remembered by content, see _case_problem). It accepts exactly what
# `_type_problem` accepts; any other record, or one it rejects, goes through `_type_problem`, which
# names the bad key.
_NONE = type(None)
_RESULT_FIELD_TYPES = {
    "case_id": (str,), "adapter": (str,), "env": (str,), "status": (str,), "versions": (dict,),
    "metrics": (dict,), "fingerprint": (dict, _NONE), "message": (str,), "traceback": (str,), "snippet": (str,),
    "duration": (int, float), "case": (dict,), "time": (str,), "outcome": (str,), "expectation": (dict, _NONE),
    "absent": (str,), "kind": (str,),
}
_RESULT_FIELD_TYPE_ITEMS = tuple(_RESULT_FIELD_TYPES.items())
_STATUS_SET = frozenset(STATUSES)
_ABSENT_SET = frozenset(ABSENT)
_metrics_of, _fingerprint_of, _new_result = Metrics.from_dict, Fingerprint.from_dict, object.__new__
_OUTCOME_SET = frozenset(OUTCOMES)
_SCALAR = frozenset((str, int, float, bool, _NONE))
#: the fast path builds a Result without the keyword-argument call of its __init__ (which, generated
#: by dataclass from plain fields, only assigns them and calls __post_init__); it is used only while
#: that holds and every field has a type above
_RESULT_FAST = (set(_RESULT_FIELD_TYPES) == set(_RESULT_FIELDS) and not hasattr(Result, "__slots__")
                and all(f.init for f in fields(Result))
                and list(inspect.signature(Result).parameters) == [f.name for f in fields(Result)])


def _read_result(rec: dict):
    """A Result, or what is wrong with the record (a string)."""
    if _RESULT_FAST and rec.keys() == _RESULT_FIELDS:
        for k, types in _RESULT_FIELD_TYPE_ITEMS:
            if rec[k].__class__ not in types:
                break
        else:
            d, m0, fp0 = rec["duration"], rec["metrics"], rec["fingerprint"]
            if (rec["status"] in _STATUS_SET and rec["outcome"] in _OUTCOME_SET and rec["absent"] in _ABSENT_SET
                    and rec["time"]
                    and (d.__class__ is int or math.isfinite(d))
                    and all(x.__class__ in _SCALAR for x in rec["versions"].values())
                    and not _case_problem(rec["case"])):
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


def _open_regular(path):
    """A binary file object for a regular file, or a reason it is not one. Never blocks on a FIFO."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        return None, f"cannot open ({e.strerror or e})"
    try:
        mode = os.fstat(fd).st_mode
    except OSError as e:
        os.close(fd)
        return None, f"cannot open ({e.strerror or e})"
    if not stat.S_ISREG(mode):
        os.close(fd)
        return None, "is a directory" if stat.S_ISDIR(mode) else "not a regular file"
    return os.fdopen(fd, "rb"), ""


_CHUNK_BYTES = 1 << 22


def _bounded_lines(f, limit):
    """(line number, bytes or None when the line is longer than ``limit``). The file is read in
    chunks of at most ``_CHUNK_BYTES`` and split into lines; at most ``limit`` bytes of a line are
    held, the rest of an over-long line is read past without being kept."""
    n = 0
    pending: list[bytes] = []  # the start of a line that continues in the next chunk
    held = 0
    skipping = False  # inside an over-long line
    while True:
        chunk = f.read(_CHUNK_BYTES)
        if not chunk:
            break
        if skipping:
            i = chunk.find(b"\n")
            if i < 0:
                continue
            skipping = False
            chunk = chunk[i + 1:]
        lines = chunk.split(b"\n")
        last = lines.pop()  # the text after the chunk's last newline (b"" when it ends with one)
        if lines and pending:
            pending.append(lines[0])
            lines[0] = b"".join(pending)
            pending, held = [], 0
        for line in lines:
            n += 1
            yield n, (line if len(line) <= limit else None)
        if last:
            pending.append(last)
            held += len(last)
            if held > limit:
                n += 1
                yield n, None
                pending, held, skipping = [], 0, True
    if pending:
        n += 1
        line = b"".join(pending)
        yield n, (line if len(line) <= limit else None)


def read(path, *, warn: bool = True) -> RunFile:
    """Read one results file, keeping every well-formed record. A bad line (a killed run's
    truncated last line, non-JSON, invalid UTF-8, a wrong type) is skipped and reported in
    ``problems``, and, with ``warn``, on stderr; a file that is not a regular file is skipped."""
    header, adapters, results, problems, claims = {}, {}, [], [], []
    shown = _printable(path)
    extra = 0
    version = SCHEMA_VERSION  # of the records that follow; set by each header
    newer = False  # records after a header of a newer schema are skipped

    def problem(text):
        nonlocal extra
        if len(problems) >= MAX_PROBLEMS_PER_FILE:
            extra += 1
            return
        problems.append(text)
        if warn:
            print(f"normconf: warning: {text}", file=sys.stderr)

    f, why = _open_regular(path)
    if f is None:
        problem(f"{shown}: skipped: {why}")
        return RunFile(str(path), header, adapters, results, problems, claims)
    with f:
        for n, line in _bounded_lines(f, MAX_LINE_BYTES):
            if line is None:
                problem(f"{shown}:{n}: line longer than {MAX_LINE_BYTES} bytes (skipped)")
                continue
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError:
                stripped = line.strip()  # also form feeds and vertical tabs, which JSON does not skip
                if not stripped:
                    continue
                try:
                    if stripped == line.strip(b" \t\r\n"):
                        raise
                    rec = orjson.loads(stripped)
                except orjson.JSONDecodeError as e2:
                    problem(f"{shown}:{n}: unreadable record ({_printable(str(e2).split(':')[0])})")
                    continue
            if rec.__class__ is not dict:
                problem(f"{shown}:{n}: not a JSON object ({type(rec).__name__})")
                continue
            kind = rec.get("kind")
            if kind in ("result", "claim", "adapter") and (newer or version < SCHEMA_VERSION):
                if newer:
                    continue
                rec = upgrade(rec, version)
            if kind == "result":
                try:
                    r = _read_result(rec)
                except (TypeError, ValueError) as e:
                    r = str(e)
                if r.__class__ is str:
                    problem(f"{shown}:{n}: bad result record ({_printable(r)})")
                else:
                    results.append(r)
            elif kind == "header":
                bad = _type_problem(rec, _HEADER_TYPES)
                v = rec.get("schema_version", 1)
                if not bad and (not _is_int(v) or v < 1):
                    bad = f"field 'schema_version' has a wrong type or value ({_printable(repr(v))[:40]})"
                if bad:
                    problem(f"{shown}:{n}: bad header record ({bad})")
                elif v > SCHEMA_VERSION:
                    newer = True
                    problem(f"{shown}:{n}: written with results schema version {v}, newer than this normconf "
                            f"reads ({SCHEMA_VERSION}); its records are skipped (upgrade normconf)")
                else:
                    header, version, newer = rec, v, False
            elif kind == "adapter":
                if not isinstance(rec.get("adapter"), str) or not _versions(rec.get("versions", {})):
                    problem(f"{shown}:{n}: bad adapter record (adapter must be a string, versions an object)")
                else:
                    adapters[rec["adapter"]] = {k: str(v) for k, v in rec.get("versions", {}).items()}
            elif kind == "claim":
                bad = _type_problem(rec, _CLAIM_TYPES, _CLAIM_REQUIRED)
                try:
                    if bad:
                        raise ValueError(bad)
                    claims.append(ClaimResult.from_dict(rec))
                except (TypeError, ValueError) as e:
                    problem(f"{shown}:{n}: bad claim record ({_printable(e)})")
            else:
                problem(f"{shown}:{n}: unknown record kind {_printable(repr(kind))[:80]}")
    if not header:
        problem(f"{shown}: no header record")
    if extra:
        problems.append(f"{shown}: {extra} more problem(s) not shown")
        if warn:
            print(f"normconf: warning: {shown}: {extra} more problem(s) not shown", file=sys.stderr)
    return RunFile(str(path), header, adapters, results, problems, claims)


@dataclass
class Merged:
    headers: dict[str, dict]  # env -> header
    adapters: dict[tuple[str, str], dict]  # (env, adapter) -> versions
    results: dict[tuple[str, str, str], Result]
    problems: list[str]
    claims: dict[tuple[str, str, str], ClaimResult] = field(default_factory=dict)  # (env, adapter, claim id)


def merge(files: Iterable[RunFile]) -> Merged:
    headers, adapters, results, problems, claims = {}, {}, {}, [], {}
    for rf in files:
        env = rf.header.get("env", "unknown")
        if env not in headers or rf.header.get("started", "") >= headers[env].get("started", ""):
            headers[env] = rf.header
        for name, v in rf.adapters.items():
            adapters[(env, name)] = v
        for r in rf.results:
            key = (r.env, r.adapter, r.case_id)
            old = results.get(key)
            if old is None or r.time >= old.time:
                results[key] = r
        for c in rf.claims:
            key = (c.env, c.adapter, c.claim_id)
            old = claims.get(key)
            if old is None or c.time >= old.time:
                claims[key] = c
        problems.extend(rf.problems)
    return Merged(headers, adapters, results, problems, claims)


def read_many(paths) -> Merged:
    return merge(read(p) for p in paths)
