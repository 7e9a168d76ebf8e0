"""Reading results files (JSON Lines) and merging them.

Readers treat every file as untrusted: only regular files are opened (a FIFO,
a device or a directory is skipped without blocking), lines are bounded, and a
line that is not JSON, not UTF-8, or has a missing field or a field of the
wrong type is skipped with a warning naming the file and line, on stderr and
in ``problems``. A case's fields come in a ``case`` record that the results
after it refer to by ``case_id`` (older files repeat them in every result);
a result whose case record was bad is skipped with it. Every header carries the results schema version
(:mod:`harness.results.parts`): the records of a file written with a newer version
are skipped, saying so in one line; those of an older one are upgraded as they
are read. Merging is keyed by (environment, adapter, case id); the newer record
wins, which makes merging files from many environments or machines associative.

A run closes its file with a ``summary`` record (:class:`~harness.results.write.Summary`); it is
validated like the other kinds (a bad one is a one-line warning) and kept as ``RunFile.summary``,
``None`` when the file has none after its last header: the run was killed, is still running, or an
older normconf wrote it. ``Merged.runs`` says, per file read, its environment, how many cells and
claims it holds and its summary.
"""
from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass, field
from typing import Iterable

import orjson

from harness.text.inert import printable

from .parts import SCHEMA_VERSION, upgrade
from .record import ClaimResult, Result
from .validate import (
    adapter_ok,
    case_record,
    claim_problem,
    header_problem,
    read_result,
    summary_problem,
)
from .write import Summary


@dataclass
class RunFile:
    path: str
    header: dict
    adapters: dict[str, dict]
    results: list[Result]
    problems: list[str]
    claims: list[ClaimResult] = field(default_factory=list)
    #: the closing summary after the file's last header; None when the run did not finish (or predates it)
    summary: Summary | None = None

    @property
    def env(self) -> str:
        """The environment the file was written for ('' when it names none)."""
        env = self.header.get("env")
        if env.__class__ is str:
            return env
        for r in self.results:
            return r.env
        return self.summary.env if self.summary is not None else ""


@dataclass
class RunInfo:
    """What one results file says about its run: where it is, its environment, how many cells and
    claims it holds, and its closing summary (None: the run did not finish, or an older normconf
    wrote the file)."""
    path: str
    env: str
    cells: int
    claims: int
    summary: Summary | None


MAX_LINE_BYTES = 64 * 1024 * 1024
MAX_PROBLEMS_PER_FILE = 50


def open_regular(path):
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


def bounded_lines(f, limit):
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
    summary = None
    cases: dict[str, dict | int] = {}  # case id -> its fields from the latest case record (its line if bad)
    shown = printable(path)
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

    f, why = open_regular(path)
    if f is None:
        problem(f"{shown}: skipped: {why}")
        return RunFile(str(path), header, adapters, results, problems, claims)
    with f:
        for n, line in bounded_lines(f, MAX_LINE_BYTES):
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
                    problem(f"{shown}:{n}: unreadable record ({printable(str(e2).split(':')[0])})")
                    continue
            if rec.__class__ is not dict:
                problem(f"{shown}:{n}: not a JSON object ({type(rec).__name__})")
                continue
            kind = rec.get("kind")
            if kind in ("result", "case", "claim", "adapter") and (newer or version < SCHEMA_VERSION):
                if newer:
                    continue
                rec = upgrade(rec, version)
            if kind == "result":
                try:
                    if "case" in rec:
                        r = read_result(rec)
                    else:  # the case record before it carries the case (a record with neither keeps {})
                        shared = cases.get(rec.get("case_id")) if rec.get("case_id").__class__ is str else None
                        if shared.__class__ is int:
                            r = f"its case record (line {shared}) is bad"
                        else:
                            if shared is not None:
                                rec["case"] = shared
                            r = read_result(rec, case_checked=shared is not None)
                except (TypeError, ValueError) as e:
                    r = str(e)
                if r.__class__ is str:
                    problem(f"{shown}:{n}: bad result record ({printable(r)})")
                else:
                    results.append(r)
            elif kind == "case":
                c = case_record(rec)
                if c.__class__ is str:
                    problem(f"{shown}:{n}: bad case record ({printable(c)})")
                    if rec.get("case_id").__class__ is str:
                        cases[rec["case_id"]] = n
                else:
                    cases[c[0]] = c[1]
            elif kind == "header":
                bad = header_problem(rec)
                v = rec.get("schema_version", 1)
                if bad:
                    problem(f"{shown}:{n}: bad header record ({bad})")
                elif v > SCHEMA_VERSION:
                    newer = True
                    problem(f"{shown}:{n}: written with results schema version {v}, newer than this normconf "
                            f"reads ({SCHEMA_VERSION}); its records are skipped (upgrade normconf)")
                else:
                    header, version, newer = rec, v, False
                    summary = None  # a resumed run's header: its own summary comes after it
            elif kind == "adapter":
                if not adapter_ok(rec):
                    problem(f"{shown}:{n}: bad adapter record (adapter must be a string, versions an object)")
                else:
                    adapters[rec["adapter"]] = {k: str(v) for k, v in rec.get("versions", {}).items()}
            elif kind == "claim":
                bad = claim_problem(rec)
                try:
                    if bad:
                        raise ValueError(bad)
                    claims.append(ClaimResult.from_dict(rec))
                except (TypeError, ValueError) as e:
                    problem(f"{shown}:{n}: bad claim record ({printable(e)})")
            elif kind == "summary":
                bad = summary_problem(rec)
                if bad:
                    problem(f"{shown}:{n}: bad summary record ({printable(bad)})")
                elif not newer:
                    summary = Summary.from_dict(rec)
            else:
                problem(f"{shown}:{n}: unknown record kind {printable(repr(kind))[:80]}")
    if not header:
        problem(f"{shown}: no header record")
    if extra:
        problems.append(f"{shown}: {extra} more problem(s) not shown")
        if warn:
            print(f"normconf: warning: {shown}: {extra} more problem(s) not shown", file=sys.stderr)
    return RunFile(str(path), header, adapters, results, problems, claims, summary)


@dataclass
class Merged:
    headers: dict[str, dict]  # env -> header
    adapters: dict[tuple[str, str], dict]  # (env, adapter) -> versions
    results: dict[tuple[str, str, str], Result]
    problems: list[str]
    claims: dict[tuple[str, str, str], ClaimResult] = field(default_factory=dict)  # (env, adapter, claim id)
    runs: list[RunInfo] = field(default_factory=list)  # one per file read, in the order read


def merge(files: Iterable[RunFile]) -> Merged:
    headers, adapters, results, problems, claims, runs = {}, {}, {}, [], {}, []
    for rf in files:
        runs.append(RunInfo(rf.path, rf.env, len(rf.results), len(rf.claims), rf.summary))
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
    return Merged(headers, adapters, results, problems, claims, runs)


def read_many(paths) -> Merged:
    return merge(read(p) for p in paths)
