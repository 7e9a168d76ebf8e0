"""No loss and resume: a rerun never truncates an earlier results file, and runs killed with
SIGKILL at several points, then resumed, end with the same records as an uninterrupted run."""
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

CASES = """\
defaults:
  description: d
  source: s
  op: layer_norm
  layout: BTF
  shape: {B: 2, T: 3, F: 4}
cases:
  - id: grid
    seed: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    dtype: [float32, float64]
  - id: other
    input: {distribution: normal, mean: 0.0, std: 1.0}
    seed: [0, 1, 2]
  - id: later
    skip: "waiting for a fix"
"""
N_CELLS = 12 * 2 + 3 + 1  # one adapter


def project(tmp_path):
    (tmp_path / "cases").mkdir(exist_ok=True)
    (tmp_path / "cases" / "c.yaml").write_text(CASES)
    return tmp_path


def start(tmp_path, *extra, version="1.0"):
    env = {**os.environ, "NORMCONF_ADAPTERS": "tests.fault_adapters:SPECS,tests.hostile_adapters:SPECS",
           "NORMCONF_TEST_VERSION": version,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("NORMCONF_ENV", None)
    cmd = [sys.executable, "-m", "harness", "run", "--adapters", "slow", "--env-name", "t",
           "--results", "r.jsonl", "--rootdir", str(tmp_path), "-c", os.devnull, *extra]
    return subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, text=True)


def run(tmp_path, *extra, version="1.0"):
    p = start(tmp_path, *extra, version=version)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, (out + err)[-3000:]
    return out + err


def records(path):
    out = []
    for line in Path(path).read_bytes().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("kind") == "result":
            out.append(rec)
    return out


def cells(recs):
    return {(r["case_id"], r["adapter"], r["status"]) for r in recs}


def kill_after(tmp_path, n_results):
    """Start a run and SIGKILL it (the whole pytest process group) once n_results records are on disk."""
    p = start(tmp_path)
    path = tmp_path / "r.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and p.poll() is None:
        if path.exists() and (n_results == 0 and path.stat().st_size > 0 or len(records(path)) >= n_results > 0):
            break
        time.sleep(0.01)
    assert p.poll() is None, "the run ended before it could be killed"
    os.killpg(p.pid, signal.SIGKILL)
    p.communicate()
    return len(records(path))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    d = project(tmp_path_factory.mktemp("full"))
    run(d)
    recs = records(d / "r.jsonl")
    assert len(recs) == N_CELLS
    return cells(recs)


@pytest.mark.parametrize("kill_at", [0, 5, 19])
def test_sigkill_then_resume_gives_the_uninterrupted_records(tmp_path, uninterrupted, kill_at):
    project(tmp_path)
    kept = kill_after(tmp_path, kill_at)
    assert kept < N_CELLS
    before = {r["case_id"]: r["time"] for r in records(tmp_path / "r.jsonl")}
    if kill_at == 5:  # what a kill during a write leaves: a partial last line
        with open(tmp_path / "r.jsonl", "a") as f:
            f.write('{"kind": "result", "case_id": "grid-seed')
    out = run(tmp_path, "--resume")
    recs = records(tmp_path / "r.jsonl")
    counts = Counter((r["case_id"], r["adapter"]) for r in recs)
    assert max(counts.values()) == 1, [k for k, v in counts.items() if v > 1]  # no duplicates
    assert cells(recs) == uninterrupted
    assert f"resumed: {kept} cell(s)" in out
    for r in recs:  # the records kept through the kill were not rerun
        if r["case_id"] in before:
            assert r["time"] == before[r["case_id"]]
    assert not list(tmp_path.glob("r.jsonl.*.bak"))  # resume appends, never moves or truncates


def test_resume_reruns_cells_whose_case_or_versions_changed(tmp_path):
    project(tmp_path)
    run(tmp_path)
    (tmp_path / "cases" / "c.yaml").write_text(CASES.replace("std: 1.0}", "std: 2.0}"))
    out = run(tmp_path, "--resume")
    recs = records(tmp_path / "r.jsonl")
    again = Counter(r["case_id"] for r in recs)
    assert {k for k, v in again.items() if v == 2} == {k for k in again if k.startswith("other-")}
    assert len([k for k in again if k.startswith("other-")]) == 3
    assert f"resumed: {N_CELLS - 3} cell(s)" in out
    out = run(tmp_path, "--resume", version="2.0")  # a framework upgrade: everything but the skip runs again
    assert "resumed: 1 cell(s)" in out
    assert len(records(tmp_path / "r.jsonl")) == N_CELLS + 3 + N_CELLS - 1


def test_rerun_without_resume_moves_the_earlier_file_aside(tmp_path):
    project(tmp_path)
    (tmp_path / "r.jsonl").write_text("precious earlier results\n")
    out = run(tmp_path)
    aside = list(tmp_path.glob("r.jsonl.*.bak"))
    assert len(aside) == 1 and aside[0].read_text() == "precious earlier results\n"
    assert "moved the earlier results file" in out
    assert len(records(tmp_path / "r.jsonl")) == N_CELLS
    run(tmp_path)
    assert len(list(tmp_path.glob("r.jsonl.*.bak"))) == 2
