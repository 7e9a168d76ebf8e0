"""Adapters that return odd things, start processes of their own or hang while starting:
each cell still ends in one record, nothing outlives the run, and no cell waits twice."""
import os
import time

import pytest

from harness.cases.model import Case
from harness.execution.runner import Runner
from harness.results.read import read


@pytest.fixture(autouse=True)
def plugins(monkeypatch):
    monkeypatch.setenv("NORMCONF_ADAPTERS", "tests.fault_adapters:SPECS,tests.hostile_adapters:SPECS")


def case(cid, *tags):
    return Case.from_dict(dict(id=cid, op="layer_norm", layout="BTF", shape={"B": 2, "T": 3, "F": 4},
                               dtype="float64", epsilon=1e-5, affine="random", seed=1,
                               input={"distribution": "normal", "mean": 0.0, "std": 1.0}, tags=list(tags)))


ODD = [("out-object", "builtins.object, not a numpy array"), ("out-strings", "dtype <U"),
       ("out-complex", "dtype complex128"), ("out-object-array", "dtype object"), ("out-bool", "dtype bool"),
       ("out-list", "builtins.list, not a numpy array"), ("out-none", "NoneType, not an Output"),
       ("out-structured", "not a real numeric array"), ("out-datetime", "datetime64"),
       ("out-unpicklable", "cannot pickle this"), ("out-unreadable", "unreadable reply from the worker")]


def test_any_output_type_becomes_an_error_record_and_the_run_goes_on(tmp_path):
    out = tmp_path / "r.jsonl"
    runner = Runner("test", out, ["oddout"], cell_timeout=60)
    cells = []
    for tag, _ in ODD:
        cells += [case(f"odd-{tag}", tag), case(f"ok-after-{tag}")]
    try:
        results = {c.id: runner.run_cell(c, "oddout") for c in cells}
    finally:
        runner.close()
    for tag, text in ODD:
        r = results[f"odd-{tag}"]
        assert r.status == "error", (tag, r.status, r.message)
        assert text in r.message, (tag, r.message)
        assert results[f"ok-after-{tag}"].status == "agree", tag
    rf = read(out)
    assert [r.case_id for r in rf.results] == [c.id for c in cells]
    assert not rf.problems


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_dead(pids, seconds=10.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end and any(_alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to see processes")
def test_timeout_kills_the_workers_whole_process_tree(tmp_path, monkeypatch):
    pidfile = tmp_path / "pids"
    monkeypatch.setenv("NORMCONF_TEST_PIDFILE", str(pidfile))
    runner = Runner("test", None, ["spawner"], cell_timeout=6)
    try:
        r = runner.run_cell(case("hang", "spawn-hang"), "spawner")
        assert r.status == "timeout"
        pids = [int(p) for p in pidfile.read_text().split()]
        assert len(pids) == 2
        assert _wait_dead(pids) == []  # also the one that started its own session
        assert runner.run_cell(case("after"), "spawner").status == "agree"
    finally:
        runner.close()


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to see processes")
def test_crash_kills_what_the_worker_started_in_its_group(tmp_path, monkeypatch):
    pidfile = tmp_path / "pids"
    monkeypatch.setenv("NORMCONF_TEST_PIDFILE", str(pidfile))
    runner = Runner("test", None, ["spawner"], cell_timeout=30)
    try:
        r = runner.run_cell(case("crash", "spawn-crash"), "spawner")
        assert r.status == "crash" and "SIGSEGV" in r.message
        in_group, own_session = [int(p) for p in pidfile.read_text().split()]
        assert _wait_dead([in_group]) == []
    finally:
        runner.close()
        if _alive(own_session):  # left its group and lost its parent: nothing can find it; clean up here
            os.kill(own_session, 9)


def test_a_worker_that_hangs_at_startup_is_waited_for_once(tmp_path):
    runner = Runner("test", None, ["slowstart"], cell_timeout=5, startup_timeout=2)
    try:
        t0 = time.monotonic()
        first = runner.run_cell(case("a"), "slowstart")
        t1 = time.monotonic()
        later = [runner.run_cell(case(f"b{i}"), "slowstart") for i in range(5)]
        t2 = time.monotonic()
    finally:
        runner.close()
    assert first.status == "crash" and "did not start within 2s" in first.message
    assert 1.5 < t1 - t0 < 30
    assert all(r.status == "crash" and "not started again" in r.message for r in later)
    assert t2 - t1 < 1.0
