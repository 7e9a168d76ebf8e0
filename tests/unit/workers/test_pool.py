"""Isolation: a fault in one cell becomes that cell's status; every other cell still runs."""
import json

import pytest

from harness.cases.model import Case
from harness.execution.runner import Runner
from harness.results.read import read


@pytest.fixture(autouse=True)
def plugins(monkeypatch):
    monkeypatch.setenv("NORMCONF_ADAPTERS", "tests.fault_adapters:SPECS")


def case(cid, *tags):
    return Case.from_dict(dict(id=cid, op="layer_norm", layout="BTF", shape={"B": 2, "T": 3, "F": 4},
                               dtype="float64", epsilon=1e-5, affine="random", seed=1,
                               input={"distribution": "normal", "mean": 0.0, "std": 1.0}, tags=list(tags)))


FAULTS = [("segfault", "crash", "SIGSEGV"), ("abort", "crash", "SIGABRT"), ("exit", "crash", "exited with code 7"),
          ("memory", "crash", "MemoryError"), ("raise", "error", "ValueError"), ("wrong", "diverge", "(max abs)"),
          ("unsupported", "unsupported", "faulty skips")]


def test_each_fault_is_contained_and_the_run_goes_on(tmp_path):
    out = tmp_path / "r.jsonl"
    runner = Runner("test", out, ["faulty"], cell_timeout=30)
    cells = [case("ok-first")]
    for tag, _, _ in FAULTS:
        cells += [case(f"f-{tag}", tag), case(f"ok-after-{tag}")]
    try:
        results = {c.id: runner.run_cell(c, "faulty") for c in cells}
    finally:
        runner.close()
    for tag, status, text in FAULTS:
        r = results[f"f-{tag}"]
        assert r.status == status, (tag, r.status, r.message)
        assert text in r.message, (tag, r.message)
        assert results[f"ok-after-{tag}"].status == "agree", tag
    pids = {r.snippet.split("pid ")[1] for r in results.values() if r.status == "agree"}
    assert len(pids) >= 4  # segfault, abort, exit and MemoryError each restarted the worker
    # streamed: every cell is in the file, after one header
    rf = read(out)
    assert rf.header["env"] == "test" and not rf.problems
    assert [r.case_id for r in rf.results] == [c.id for c in cells]
    assert rf.adapters["faulty"]["faulty"] == "1.0"


def test_hang_becomes_timeout_and_the_worker_restarts(tmp_path):
    runner = Runner("test", None, ["faulty"], cell_timeout=2)
    try:
        r = runner.run_cell(case("hang", "hang"), "faulty")
        assert r.status == "timeout" and "2s" in r.message
        assert 1.5 < r.duration < 30
        assert runner.run_cell(case("after"), "faulty").status == "agree"
    finally:
        runner.close()


def test_missing_framework_is_unsupported_not_an_error():
    runner = Runner("test", None, ["missing"])
    try:
        r = runner.run_cell(case("a"), "missing")
    finally:
        runner.close()
    assert r.status == "unsupported"
    assert r.message.startswith("not installed") and "normconf_no_such_framework" in r.message


def test_import_failure_of_an_installed_framework_is_an_error_with_its_traceback():
    runner = Runner("test", None, ["broken"])
    try:
        r = runner.run_cell(case("a"), "broken")
    finally:
        runner.close()
    assert r.status == "error"
    assert "ModuleNotFoundError" in r.message and "normconf_no_such_dependency" in r.message
    assert "fault_adapters_broken.py" in r.traceback


def test_worker_gets_the_adapters_environment():
    runner = Runner("test", None, ["envcheck"])
    try:
        assert runner.run_cell(case("a"), "envcheck").status == "agree"
    finally:
        runner.close()


def test_no_framework_in_the_harness_process():
    import sys
    runner = Runner("test", None, ["faulty"])
    try:
        runner.run_cell(case("a"), "faulty")
    finally:
        runner.close()
    # the registry reads AdapterSpec objects only; adapter code runs in the worker
    for mod in ("torch", "tensorflow", "jax", "keras", "flax"):
        assert mod not in sys.modules, mod


def test_unknown_adapter_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown adapter"):
        Runner("test", None, ["no-such-adapter"])


def test_results_are_flushed_as_cells_finish(tmp_path):
    out = tmp_path / "r.jsonl"
    runner = Runner("test", out, ["faulty"])
    try:
        runner.run_cell(case("one"), "faulty")
        lines = out.read_text().splitlines()  # readable while the run is still open
        assert json.loads(lines[0])["kind"] == "header"
        assert json.loads(lines[-1])["case_id"] == "one"
    finally:
        runner.close()


def test_adapters_without_decoupled_affine_say_why():
    from harness.adapters.base import Adapter

    class Plain(Adapter):
        name = "plain"
        ops = frozenset({"layer_norm"})

    c = Case.from_dict(dict(id="c", op="layer_norm", layout="BTF", shape={"B": 2, "T": 3, "F": 4}, dtype="float32",
                            epsilon=1e-5, affine="random", seed=1, axes="TF", affine_axes="F",
                            input={"distribution": "normal", "mean": 0.0, "std": 1.0}))
    assert "cannot put them on F alone" in Plain().supports(c)
    assert Plain().supports(Case.from_dict({**c.to_dict(), "affine_axes": None})) is None


def test_entry_point_plugins_are_registered(tmp_path, monkeypatch):
    """A third-party package's `normconf.adapters` entry point adds an adapter
    without any change to the harness."""
    monkeypatch.delenv("NORMCONF_ADAPTERS")
    dist = tmp_path / "normconf_test_plugin-0.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: normconf-test-plugin\nVersion: 0.0\n")
    (dist / "entry_points.txt").write_text("[normconf.adapters]\nfaulty = tests.fault_adapters:EP_SPECS\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from harness.adapters import registry
    assert "faulty-ep" in registry()
    runner = Runner("test", None, ["faulty-ep"])
    try:
        assert runner.run_cell(case("a"), "faulty-ep").status == "agree"
        assert runner.run_cell(case("b", "exit"), "faulty-ep").status == "crash"
    finally:
        runner.close()


def test_a_missing_framework_answers_every_cell_alike_and_workers_yield_the_cores_to_the_harness():
    import os

    from harness.workers.main import NICENESS

    runner = Runner("test", None, ["missing", "faulty"])
    try:
        first, second = (runner.run_cell(case(f"m{i}"), "missing") for i in range(2))
        runner.run_cell(case("a"), "faulty")
        nice = [os.getpriority(os.PRIO_PROCESS, w.proc.pid) for w in runner.pool._workers.values()]
    finally:
        runner.close()
    # the second cell of an adapter the worker could not load gets the worker's answer without asking it
    assert (first.status, first.message, first.absent) == (second.status, second.message, second.absent)
    assert second.status == "unsupported"
    # the harness judges and writes in item order: busy workers never take the cores from it
    assert nice and all(n == min(19, os.getpriority(os.PRIO_PROCESS, 0) + NICENESS) for n in nice), nice
