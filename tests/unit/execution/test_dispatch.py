"""Concurrent dispatch (--jobs): cells go to every worker at once, records stay as a sequential run writes
them, and the run still stops cleanly (-x, Ctrl-C, deselection)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cases.model import Case
from harness.execution.runner import Runner

ROOT = Path(__file__).resolve().parents[3]
ADAPTERS = "tests.fault_adapters:SPECS,tests.parallel_adapters:SPECS"

CASES = """\
defaults:
  description: d
  source: s
  op: layer_norm
  layout: BTF
  shape: {B: 2, T: 3, F: 4}
cases:
  - id: grid
    seed: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    dtype: [float32, float64]
  - id: wrong
    tags: [wrong]
    seed: [0, 1]
  - id: raise
    tags: [raise]
  - id: segfault
    tags: [segfault]
  - id: after
    seed: [0, 1, 2]
  - id: exit
    tags: [exit]
  - id: later
    skip: "waiting for a fix"
  - id: last
    op: group_norm
    groups: 1
"""
N_CELLS = (20 + 2 + 1 + 1 + 3 + 1 + 1 + 1) * 2


def project(tmp_path, cases=CASES):
    (tmp_path / "cases").mkdir(exist_ok=True)
    (tmp_path / "cases" / "c.yaml").write_text(cases)
    return tmp_path


def start(tmp_path, *extra):
    env = {**os.environ, "NORMCONF_ADAPTERS": ADAPTERS,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("NORMCONF_ENV", None)
    env["PYTHONFAULTHANDLER"] = "1"  # a run that hangs shows its threads' stacks on SIGABRT
    cmd = [sys.executable, "-m", "harness", "run", "--adapters", "steady-a,steady-b", "--env-name", "t",
           "--rootdir", str(tmp_path), "-c", os.devnull, "-p", "no:cacheprovider", *extra]
    return subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, text=True,
                            preexec_fn=_default_sigint if os.name == "posix" else None)


def _default_sigint():
    """Ctrl-C as a terminal gives it to a run: a test suite started in the background (``cmd &`` in a
    script, nohup) inherits SIGINT ignored, and a Python started so ignores Ctrl-C for good."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _still_running(p) -> str:
    """Why a run did not end: whether the run itself is alive (then its threads' stacks, from
    faulthandler on SIGABRT) or only processes it left behind hold its output open; all are killed."""
    alive = p.poll() is None
    left = subprocess.run(["ps", "-o", "pid,stat,args", "-g", str(p.pid)], capture_output=True, text=True).stdout
    if alive:
        os.kill(p.pid, signal.SIGABRT)
        time.sleep(2)
    os.killpg(p.pid, signal.SIGKILL)
    out, err = p.communicate(timeout=30)
    return (f"the run {'is still running' if alive else f'exited ({p.returncode})'} 60 s after SIGINT; "
            f"processes of its session:\n{left}\nstdout:\n{out[-3000:]}\nstderr:\n{err[-12000:]}")


def run(tmp_path, *extra, timeout=300):
    p = start(tmp_path, *extra)
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out + err


def records(path):
    """The adapter and result records, in file order, without their times and durations."""
    out = []
    for line in Path(path).read_text().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue  # a line being written
        if rec.get("kind") in ("result", "adapter"):
            out.append({k: v for k, v in rec.items() if k not in ("time", "duration")})
    return out


def test_records_are_the_same_with_and_without_concurrency(tmp_path):
    project(tmp_path)
    runs = {}
    for name, jobs in (("one", ["--jobs", "1"]), ("default", []), ("four", ["--jobs", "4"])):
        rc, out = run(tmp_path, "--results", f"{name}.jsonl", *jobs)
        assert rc == 1, out[-3000:]  # the injected faults are unexpected
        runs[name] = records(tmp_path / f"{name}.jsonl")
    one = runs["one"]
    assert len([r for r in one if r["kind"] == "result"]) == N_CELLS
    statuses = {(r["case_id"], r["adapter"]): r["status"] for r in one if r["kind"] == "result"}
    assert statuses[("segfault-eps1e-05-float32", "steady-b")] == "crash"
    assert statuses[("after-seed0-eps1e-05-float32", "steady-b")] == "agree"
    assert statuses[("wrong-seed0-eps1e-05-float32", "steady-a")] == "diverge"
    assert statuses[("raise-eps1e-05-float32", "steady-a")] == "error"
    assert runs["default"] == one
    assert runs["four"] == one


def test_cells_run_concurrently_and_faults_stay_in_their_cell(tmp_path, monkeypatch):
    monkeypatch.setenv("NORMCONF_ADAPTERS", ADAPTERS)

    def case(cid, *tags):
        return Case.from_dict(dict(id=cid, op="layer_norm", layout="BTF", shape={"B": 2, "T": 3, "F": 4},
                                   dtype="float64", epsilon=1e-5, affine="random", seed=1,
                                   input={"distribution": "normal", "mean": 0.0, "std": 1.0}, tags=list(tags)))

    cases = [case("ok-0"), case("hang", "hang"), case("ok-1"), case("abort", "abort"), case("ok-2")]
    cells = [(c, a) for c in cases for a in ("steady-a", "steady-b", "faulty")]
    results = {}
    for jobs in (1, 3):
        runner = Runner("test", None, ["steady-a", "steady-b", "faulty"], cell_timeout=3, jobs=jobs)
        try:
            runner.dispatch(cells)
            assert (runner.dispatcher is not None) == (jobs > 1)
            results[jobs] = [(c.id, a, runner.run_cell(c, a).status) for c, a in cells]
        finally:
            runner.close()
    assert results[3] == results[1]
    got = {(c, a): s for c, a, s in results[3]}
    assert got[("hang", "faulty")] == "timeout" and got[("abort", "steady-b")] == "crash"
    assert {got[("ok-2", a)] for a in ("steady-a", "steady-b", "faulty")} == {"agree"}


def test_exitfirst_stops_the_prefetch_at_once(tmp_path):
    """-x after the first unexpected cell: the cells sent ahead (one hangs far past the run's patience)
    are abandoned, their workers killed, and the records end at the failing cell."""
    cases = CASES.replace("  - id: raise\n    tags: [raise]\n", "  - id: raise\n    tags: [hang]\n")
    project(tmp_path, cases.replace("cases:\n", "cases:\n  - id: first-wrong\n    tags: [wrong]\n"))
    t0 = time.monotonic()
    rc, out = run(tmp_path, "--results", "r.jsonl", "--jobs", "2", "-x", "--cell-timeout", "600", timeout=120)
    assert rc == 1, out[-3000:]
    assert time.monotonic() - t0 < 100
    recs = [r for r in records(tmp_path / "r.jsonl") if r["kind"] == "result"]
    assert [(r["case_id"], r["adapter"]) for r in recs] == [("first-wrong-eps1e-05-float32", "steady-a")]


def test_deselected_cells_are_not_run(tmp_path):
    project(tmp_path)
    rc, out = run(tmp_path, "--results", "r.jsonl", "--jobs", "2", "-k", "grid and steady-b")
    assert rc == 0, out[-3000:]
    recs = [r for r in records(tmp_path / "r.jsonl") if r["kind"] == "result"]
    assert {r["adapter"] for r in recs} == {"steady-b"} and len(recs) == 20


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_during_prefetch_ends_the_run(tmp_path):
    project(tmp_path, CASES.replace("  - id: raise\n    tags: [raise]\n", "  - id: raise\n    tags: [hang]\n"))
    p = start(tmp_path, "--results", "r.jsonl", "--jobs", "2", "--cell-timeout", "600")
    path = tmp_path / "r.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and p.poll() is None:
        if path.exists() and len([r for r in records(path) if r["kind"] == "result"]) >= 10:
            break
        time.sleep(0.05)
    assert p.poll() is None
    time.sleep(0.5)
    os.kill(p.pid, signal.SIGINT)
    try:
        out, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(_still_running(p))
    assert p.returncode == 2, (out + err)[-3000:]  # pytest: interrupted
    assert "KeyboardInterrupt" in out + err
