"""Where results are: the files a path names, and the file name of a cell's reproducer.

Every command that reads results finds its files here. ``normconf report``, ``diff``, ``claims`` and
``expectations`` take several paths and skip, with a warning, one that is not there
(:func:`collect`); ``normconf repro`` takes one and stops when it is not there (:func:`result_paths`).
"""
from __future__ import annotations

import sys
from pathlib import Path

from harness.text.inert import comment, file_name, printable


class ResultsNotFound(FileNotFoundError):
    """A path that holds no results file."""


def result_paths(path) -> list[Path]:
    """The results files of one path: the file itself, or a directory's ``*.jsonl`` files, sorted."""
    p = Path(path)
    if p.is_dir():
        return sorted(q for q in p.glob("*.jsonl") if q.is_file())
    if p.is_file():
        return [p]
    raise ResultsNotFound(f"no results at {comment(p, 200)}")


def collect(items) -> list[Path]:
    """The results files of several paths (files, or directories' ``*.jsonl``); a path that is missing or
    not a regular file is skipped with a line on stderr."""
    out = []
    for it in items:
        p = Path(it)
        if p.is_dir():
            out += sorted(p.glob("*.jsonl"))
        elif p.is_file():
            out.append(p)
        elif p.exists():
            print(f"normconf: warning: {printable(p)}: not a regular file (skipped)", file=sys.stderr)
        else:
            print(f"normconf: no results at {printable(p)} (skipped)", file=sys.stderr)
    return out


def repro_name(ident: str, adapter: str) -> str:
    """The file name (without suffix) of a cell's reproducer in a batch directory."""
    return file_name(f"{ident}__{adapter}", 180)
