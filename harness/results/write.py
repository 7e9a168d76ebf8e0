"""Writing results: the JSON Lines :class:`Writer` and a run's provenance.

A file starts with a ``header`` record (environment, start time, schema version, provenance: harness
version and commit, Python, numpy, platform and CPU), then an ``adapter`` record per adapter with its
framework versions, then a ``case`` record before the first result of each case and the ``result`` and
``claim`` records, one per line, flushed as they are written. When the run's session ends it closes the
file with a ``summary`` record (:class:`Summary`: how many cells and claims ended expected, which ended
unexpected or fixed, the harness failures, the exit status), so a reader can tell a finished run from
one that was killed: a file whose last header is not followed by a summary did not finish.
"""
from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness import __version__

from .parts import SCHEMA_VERSION
from .record import ClaimResult, Result, clean, utc_now


def harness_commit() -> str:
    here = Path(__file__).resolve().parents[2]
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
    import numpy  # only a header needs it: reading results (the report) never imports numpy
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


@dataclass
class Summary:
    """A run's closing ``summary`` record: the tally of its session and its exit status.

    ``unexpected``, ``fixed`` and ``harness_failures`` list ``{"node": pytest node id, "reason": one
    line}``; ``expected`` counts the cells and claims that ended as the expectations say (of them,
    ``expected_divergent`` as a known divergence, error or verdict). ``exit_status`` is the run's
    (0 all expected, 1 something unexpected, 2 a harness failure; pytest's own codes above that);
    ``interrupted`` when the session was stopped (Ctrl-C) before every item ran."""

    env: str
    exit_status: int
    expected: int = 0
    expected_divergent: int = 0
    unexpected: list[dict] = field(default_factory=list)
    fixed: list[dict] = field(default_factory=list)
    harness_failures: list[dict] = field(default_factory=list)
    interrupted: bool = False
    finished: str = ""
    kind: str = "summary"

    def __post_init__(self):
        if not self.finished:
            self.finished = utc_now()

    @classmethod
    def from_dict(cls, d: dict) -> Summary:
        return cls(**{k: v for k, v in d.items() if k in _SUMMARY_FIELDS})

    def to_json(self) -> str:
        return json.dumps(clean(asdict(self)), allow_nan=False)

    @property
    def ok(self) -> bool:
        """Every cell and claim as expected, no harness failure, exit status 0."""
        return (self.exit_status == 0 and not self.interrupted and not self.unexpected and not self.fixed
                and not self.harness_failures)


_SUMMARY_FIELDS = frozenset(Summary.__dataclass_fields__)
#: the longest reason a summary keeps per item (the run's own log has the whole text)
SUMMARY_REASON_CHARS = 300


def summary_item(node: str, reason: str) -> dict:
    """One listed item of a summary: its node id and the first line of its reason, shortened."""
    first = (reason or "").strip().splitlines()
    line = re.sub(r"^E\s+", "", first[0].strip()) if first else ""  # pytest's marker of an exception line
    return {"node": node, "reason": line[:SUMMARY_REASON_CHARS]}


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
        self._write(json.dumps(clean({**provenance(env), **extra}), allow_nan=False))

    def _write(self, line: str):
        self._f.write(line + "\n")
        self._f.flush()

    def adapter(self, name: str, versions: dict):
        self._write(json.dumps(clean({"kind": "adapter", "env": self.env, "adapter": name, "versions": versions}),
                               allow_nan=False))

    def write(self, result: "Result | ClaimResult"):
        """A claim, or a cell's result. A case's fields are written once, in a ``case`` record
        before the first result that refers to it (and again only if they change): every
        adapter's result of a case would otherwise repeat them, which is about half of a
        results file and of the time it takes to read one."""
        if isinstance(result, Result) and result.case:
            text = json.dumps(clean(result.case), allow_nan=False)
            if self._cases.get(result.case_id) != text:
                self._write(f'{{"kind": "case", "case_id": {json.dumps(clean(result.case_id))}, "case": {text}}}')
                self._cases[result.case_id] = text
            self._write(result.to_json(with_case=False))
        else:
            self._write(result.to_json())

    def summary(self, summary: Summary):
        """The closing ``summary`` record of the run."""
        self._write(summary.to_json())

    def close(self):
        if not self._f.closed:
            self._f.close()


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"
