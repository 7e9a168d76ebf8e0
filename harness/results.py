"""Result records, the JSONL writer and reader, provenance and merging.

A results file is JSON Lines: one ``header`` record first (provenance), then
one ``result`` record per cell, written and flushed as each cell finishes, so
an interrupted run keeps everything it computed. Merging is keyed by
(environment, adapter, case id); the newer record wins, which makes merging
files from many environments or machines associative.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

import orjson

from . import __version__

SCHEMA_VERSION = 1
STATUSES = ("agree", "diverge", "error", "crash", "timeout", "unsupported", "skipped")

#: how an `unsupported` message starts when the adapter cannot run in that
#: environment at all (framework not installed, no device): such columns are hidden
NOT_INSTALLED = "not installed"
NOT_AVAILABLE = "not available"


def framework_absent(status: str, message: str) -> bool:
    return status == "unsupported" and message.startswith((NOT_INSTALLED, NOT_AVAILABLE))


@dataclass
class Result:
    case_id: str
    adapter: str
    env: str
    status: str
    versions: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    fingerprint: dict[str, Any] | None = None
    message: str = ""
    traceback: str = ""
    snippet: str = ""
    duration: float = 0.0
    case: dict[str, Any] = field(default_factory=dict)
    time: str = ""
    kind: str = "result"

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")
        if not self.time:
            self.time = utc_now()

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.env, self.adapter, self.case_id)

    def to_json(self) -> str:
        return json.dumps(_clean(asdict(self)), sort_keys=False, allow_nan=False)

    @classmethod
    def from_dict(cls, d: dict) -> "Result":
        return cls(**{k: v for k, v in d.items() if k in _RESULT_FIELDS})


_RESULT_FIELDS = frozenset(Result.__dataclass_fields__)

VERDICTS = ("holds", "fails", "holds only when", "error", "unsupported")


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
    kind: str = "claim"

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")
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


class Writer:
    """Streams records to a JSONL file; every line is flushed when written."""

    def __init__(self, path, env: str, header_extra: dict | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.env = env
        self._f = open(self.path, "w", encoding="utf-8")
        self._write(json.dumps({**provenance(env), **(header_extra or {})}))

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


@dataclass
class RunFile:
    path: str
    header: dict
    adapters: dict[str, dict]
    results: list[Result]
    problems: list[str]
    claims: list[ClaimResult] = field(default_factory=list)


def read(path) -> RunFile:
    """Read one results file. A truncated last line (a killed run) is reported, not fatal."""
    header, adapters, results, problems, claims = {}, {}, [], [], []
    with open(path, "rb") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError as e:
                problems.append(f"{path}:{n}: unreadable record ({str(e).split(':')[0]})")
                continue
            kind = rec.get("kind")
            if kind == "header":
                header = rec
            elif kind == "adapter":
                adapters[rec["adapter"]] = rec.get("versions", {})
            elif kind == "result":
                try:
                    results.append(Result.from_dict(rec))
                except (TypeError, ValueError) as e:
                    problems.append(f"{path}:{n}: bad result record ({e})")
            elif kind == "claim":
                try:
                    claims.append(ClaimResult.from_dict(rec))
                except (TypeError, ValueError) as e:
                    problems.append(f"{path}:{n}: bad claim record ({e})")
            else:
                problems.append(f"{path}:{n}: unknown record kind {kind!r}")
    if not header:
        problems.append(f"{path}: no header record")
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
