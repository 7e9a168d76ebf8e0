"""Result records, provenance and the JSONL writer.

A results file is JSON Lines: one ``header`` record first (provenance), then
one ``result`` record per cell, written and flushed as each cell finishes, so
an interrupted run keeps everything it computed. A cell's case (its id, op,
shape, dtype, ... as the case file gave them) is written once, in a ``case``
record before the first result that refers to it by ``case_id``.

The writer never truncates a file it did not create: an existing results file
is moved aside (``<name>.jsonl.<UTC time>.bak``) unless the run resumes it, in
which case new records are appended after a second header.

Every header carries the results schema version (:mod:`harness.records`): a
reader skips the records of a file written with a newer version, saying so in
one line, and upgrades the records of an older one as it reads them.

Reading and merging files is :mod:`harness.results_read`; checking records
:mod:`harness.record_checks`.
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
from typing import Any

from . import __version__
from .records import ABSENT, SCHEMA_VERSION, Fingerprint, Metrics
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

    def to_json(self, with_case: bool = True) -> str:
        """The record as one JSON line; without ``with_case`` it leaves out the case, which a
        ``case`` record before it in the same file carries (see Writer)."""
        d = self.to_dict()
        if not with_case:
            del d["case"]
        return json.dumps(_clean(d), sort_keys=False, allow_nan=False)

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
        self._cases: dict[str, str] = {}  # case id -> the case's fields as last written
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
        """A claim, or a cell's result. A case's fields are written once, in a ``case`` record
        before the first result that refers to it (and again only if they change): every
        adapter's result of a case would otherwise repeat them, which is about half of a
        results file and of the time it takes to read one."""
        if isinstance(result, Result) and result.case:
            text = json.dumps(_clean(result.case), allow_nan=False)
            if self._cases.get(result.case_id) != text:
                self._write(f'{{"kind": "case", "case_id": {json.dumps(result.case_id)}, "case": {text}}}')
                self._cases[result.case_id] = text
            self._write(result.to_json(with_case=False))
        else:
            self._write(result.to_json())

    def close(self):
        if not self._f.closed:
            self._f.close()


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"
