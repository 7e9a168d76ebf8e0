"""The fuzzer draws the running-statistics keys: momentum on every batch-norm check (null included),
instance norm's running statistics, check: inference with statistics; and a drawn case survives the trip
through a case file (entry_of, base_id)."""
from harness import ops
from harness.fuzz import strategies as fs
from tests.unit.fuzz.test_fuzz import draw_cases


def test_draws_cover_the_running_statistics_keys():
    cases = draw_cases(300, op_names=["batch_norm", "instance_norm"])
    checks = {(c.op, c.check) for c in cases}
    assert {("batch_norm", "inference"), ("instance_norm", "running_stats"), ("instance_norm", "inference")} <= checks
    assert any(c.cumulative for c in cases)
    assert any(c.momentum not in (None, ops.CUMULATIVE) and c.check == "forward" for c in cases)
    infer = [c for c in cases if c.statistics is not None]
    assert infer and all(c.check == "inference" for c in infer)
    assert all(c.statistics is None for c in cases if c.check != "inference")
    assert all(c.steps is None for c in cases if c.check != "running_stats")
    assert any("stats-" in c.id for c in infer) and any("mom-cumulative" in c.id for c in cases)
    builder = fs.Builder()
    try:
        for c in [c for c in cases if c.statistics is not None or c.momentum is not None][:20]:
            again = builder.rebuild(c)
            assert (again.momentum, again.steps, again.statistics, again.check) == \
                (c.momentum, c.steps, c.statistics, c.check)
    finally:
        builder.close()
