"""Shared by the framework tests of the training-time checks: the case files and the expected
outcome of each cell, judged with the harness's own verdicts and fingerprints."""
from __future__ import annotations

from pathlib import Path

from harness.cases.load import load_file

REPO = Path(__file__).resolve().parent.parent
BACKWARD = [f"cases/{op}/backward.yaml" for op in
            ("batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm")]
RUNNING = "cases/batch_norm/running_stats.yaml"


def cases(files, dtype=None):
    out = []
    for f in ([files] if isinstance(files, str) else files):
        out += [c for c in load_file(REPO / f, display=f) if dtype is None or c.dtype == dtype]
    return out


def problems(results, want) -> list[str]:
    """``want(case dict) -> (status, words or None)``: every supported cell ends that way, with
    the words in its fingerprint's explanation."""
    bad = []
    for r in results:
        if r.status == "unsupported":
            continue
        status, words = want(r.case)
        expl = r.explanation
        if r.status != status or (words and words not in expl):
            bad.append(f"{r.case_id}: {r.status} (want {status} {words!r}) {expl[:200]} {r.message[:300]}")
    return bad
