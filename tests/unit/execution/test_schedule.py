"""Scheduling (--jobs): the slowest columns first, lanes that never wait for the main thread, and a slow
column split over two worker processes when a core would idle."""
import threading
import time

import pytest

from harness.cases.model import Case
from harness.execution.runner import Runner
from harness.workers.slots import Slots

SLEEPY = "tests.parallel_adapters:SLEEPY"


@pytest.fixture(autouse=True)
def plugins(monkeypatch):
    monkeypatch.setenv("NORMCONF_ADAPTERS", SLEEPY)


def case(i):
    return Case.from_dict(dict(id=f"c{i}", op="layer_norm", layout="BTF", shape={"B": 2, "T": 3, "F": 4},
                               dtype="float64", epsilon=1e-5, affine="random", seed=i,
                               input={"distribution": "normal", "mean": 0.0, "std": 1.0}))


def _waiters(slots, n, deadline=10.0):
    end = time.monotonic() + deadline
    while slots.waiting() < n and time.monotonic() < end:
        time.sleep(0.01)
    assert slots.waiting() == n


def test_a_free_slot_goes_to_the_urgent_waiter_then_the_highest_priority():
    slots = Slots(1)
    order = []
    holder = threading.Event()
    t = threading.Thread(target=lambda: (slots.acquire(), holder.set()))
    t.start()
    t.join()
    assert holder.is_set()

    def wait(name, urgent, prio):
        slots.acquire(lambda: urgent, lambda: prio)
        order.append(name)
        slots.release()

    threads = []
    for name, urgent, prio in (("low", False, 1.0), ("lower", False, 0.5), ("high", False, 9.0),
                               ("urgent", True, 0.0), ("mid", False, 5.0)):
        threads.append(threading.Thread(target=wait, args=(name, urgent, prio)))
        threads[-1].start()
        _waiters(slots, len(threads))
    slots.release()
    for th in threads:
        th.join(10)
    assert order == ["urgent", "high", "mid", "low", "lower"]


def _take_all(runner, cells):
    return [runner.run_cell(c, a) for c, a in cells]


def test_lanes_run_ahead_of_a_main_thread_waiting_for_a_slow_column():
    """The main thread waits for the slow column's cells in item order; the quick column runs all its cells
    meanwhile (it used to stop a fixed 32 cells ahead of the main thread)."""
    cases = [case(i) for i in range(60)]
    cells = [(c, a) for c in cases for a in ("sleepy-slow", "sleepy-quick")]
    runner = Runner("test", None, ["sleepy-slow", "sleepy-quick"], cell_timeout=60, jobs=2)
    try:
        runner.dispatch(cells)
        assert runner.run_cell(*cells[0]).status == "agree"
        quick = runner.dispatcher.lanes[runner.specs["sleepy-quick"].worker_key]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(quick.done) < len(cases):
            time.sleep(0.05)
        assert len(quick.done) == len(cases), (len(quick.done), quick.consumed)
        assert {r.status for r in _take_all(runner, cells[1:])} == {"agree"}
    finally:
        runner.close()


def test_the_slowest_columns_start_first():
    """Given the durations of an earlier run, the free slots go to the columns with the most work left,
    whatever their place in item order (here last)."""
    names = ["sleepy-quick", "sleepy-quick2", "sleepy-mid", "sleepy-slow"]
    cases = [case(i) for i in range(8)]
    runner = Runner("test", None, names, cell_timeout=60, jobs=2)
    runner._prior = {(a, c.id): s for c in cases for a, s in zip(names, (0.001, 0.001, 0.08, 0.25))}
    try:
        runner.dispatch([(c, a) for c in cases for a in names])
        lanes = runner.dispatcher.lanes
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and any(len(ln.done) < len(cases) for ln in lanes.values()):
            time.sleep(0.05)
        started = {a: runner.pool.worker_for(a).started_at for a in names}
        assert None not in started.values()
        assert max(started["sleepy-slow"], started["sleepy-mid"]) < min(started["sleepy-quick"],
                                                                         started["sleepy-quick2"]), started
    finally:
        runner.close()


def test_a_slow_column_gets_a_second_worker_when_a_core_idles():
    cases = [case(i) for i in range(64)]
    cells = [(c, a) for c in cases for a in ("sleepy-slow", "sleepy-quick")]
    one = Runner("test", None, ["sleepy-slow", "sleepy-quick"], cell_timeout=60, jobs=1)
    try:
        alone = _take_all(one, cells)
    finally:
        one.close()
    runner = Runner("test", None, ["sleepy-slow", "sleepy-quick"], cell_timeout=60, jobs=2)
    try:
        runner.dispatch(cells)
        got = _take_all(runner, cells)
        timing = runner.timing(1.0)
    finally:
        runner.close()
    pids = {a: {r.snippet.rsplit("pid", 1)[1] for r in got if r.adapter == a} for a in ("sleepy-slow", "sleepy-quick")}
    assert len(pids["sleepy-slow"]) == 2 and len(pids["sleepy-quick"]) == 1, pids
    assert timing["workers_added"] == 1
    assert timing["per_adapter_s"]["sleepy-slow"] >= 64 * 0.25
    strip = [(r.case_id, r.adapter, r.status, r.message, r.metrics) for r in alone]
    assert [(r.case_id, r.adapter, r.status, r.message, r.metrics) for r in got] == strip


def test_the_earlier_durations_are_read_from_what_fits_and_nothing_else(tmp_path):
    from harness.execution.runner import _prior_costs

    good = '{"kind": "result", "env": "e", "adapter": "a", "case_id": "c1", "duration": 0.5}'
    lines = [good, '{"kind": "result", "env": "other", "adapter": "a", "case_id": "c2", "duration": 1}',
             '{"kind": "result", "env": "e", "adapter": "a", "case_id": "c3", "duration": NaN}',
             '{"kind": "result", "env": "e", "adapter": "a", "case_id": "c4", "duration": -1}',
             '{"kind": "result", "env": "e", "adapter": "a", "case_id": "c5", "duration": true}',
             '{"kind": "result", "env": "e", "adapter": 7, "case_id": "c6", "duration": 1}',
             '["result"]', '{"kind": "result", "env": "e", "adapter": "b"']
    path = tmp_path / "e.jsonl"
    path.write_bytes("\n".join(lines).encode() + b'\n{"kind": "result", "env": "e", "\xff\xfe": 1}\n')
    assert _prior_costs(path, "e") == {("a", "c1"): 0.5}
    (tmp_path / "dir.jsonl").mkdir()
    assert _prior_costs(tmp_path / "dir.jsonl", "e") == {} and _prior_costs(tmp_path / "none.jsonl", "e") == {}
