"""Running-statistics keys: momentum on every batch-norm check, momentum: null (the cumulative average),
check: inference with statistics, instance norm's running statistics; their ids, records, inputs and
one-line refusals."""

import numpy as np
import pytest

from harness import ops
from harness.cases.inputs import STREAM_MEAN, draw, make_inputs, rng
from harness.cases.load import CaseError
from harness.cases.model import Case
from tests.unit.cases.casefile import load_one


def load(tmp_path, extra="", op="batch_norm", layout="NCHW", shape="{N: 2, C: 3, H: 2, W: 2}"):
    return load_one(tmp_path, op=op, layout=layout, shape=shape, extra=extra)


def refused(tmp_path, extra, **kw) -> str:
    with pytest.raises(CaseError) as e:
        load(tmp_path, extra, **kw)
    text = str(e.value)
    assert "\n" not in text and text.startswith(str(tmp_path / "c.yaml") + ":")
    return text


def test_momentum_on_forward_and_backward_cells_and_its_ids(tmp_path):
    cases = load(tmp_path, "momentum: [0.1, 0.9, null]")
    assert [c.id for c in cases] == ["c-mom0.1-eps1e-05-float32", "c-mom0.9-eps1e-05-float32",
                                     "c-mom-cumulative-eps1e-05-float32"]
    assert [c.momentum for c in cases] == [0.1, 0.9, ops.CUMULATIVE]
    assert [c.cumulative for c in cases] == [False, False, True]
    (c,) = load(tmp_path, "check: backward\nmomentum: null")
    assert c.check == "backward" and c.cumulative and c.steps is None
    (c,) = load(tmp_path, "check: running_stats\nmomentum: null\nsteps: 2")
    assert c.cumulative and c.steps == 2
    (c,) = load(tmp_path, "check: running_stats")
    assert c.momentum == 0.1 and c.steps == 3  # the documented defaults
    # a record keeps the word, and reads back as the same case
    for c in cases:
        d = c.to_dict()
        assert d["momentum"] == c.momentum
        assert Case.from_dict(d) == c


def test_momentum_and_steps_refusals(tmp_path):
    assert "momentum applies to check: forward, backward and running_stats only (this case checks inference)" \
        in refused(tmp_path, "check: inference\nmomentum: 0.1")
    assert "steps applies to check: running_stats only" in refused(tmp_path, "steps: 2")
    assert "only batch_norm and instance_norm take momentum, not layer_norm" in refused(
        tmp_path, "momentum: 0.1", op="layer_norm", layout="BTF", shape="{B: 2, T: 3, F: 4}")
    assert "momentum" in refused(tmp_path, "momentum: 0")
    assert "momentum" in refused(tmp_path, "momentum: cumulative")


def test_instance_norm_takes_running_statistics_and_inference(tmp_path):
    (c,) = load(tmp_path, "check: running_stats\nmomentum: null", op="instance_norm")
    assert c.op == "instance_norm" and c.cumulative
    (c,) = load(tmp_path, "check: inference", op="instance_norm")
    inputs = make_inputs(c)
    assert inputs.running_mean.shape == (3,) and inputs.running_var.shape == (3,)


def test_statistics_forms_ids_and_inputs(tmp_path):
    cases = load(tmp_path, """\
        check: inference
        dtype: float16
        statistics:
          - {mean: 1000, var: 1.0e-8}
          - {mean: [1, 2, 3], var: {distribution: uniform, low: 0.5, high: 2}}
          - {var: 0.25}
        """)
    assert [c.id for c in cases] == ["c-stats-mean1000-var1e-08-eps1e-05-float16",
                                     "c-stats-mean1_2_3-varuniform0.5_2-eps1e-05-float16",
                                     "c-stats-var0.25-eps1e-05-float16"]
    a, b, d = (make_inputs(c) for c in cases)
    assert a.running_mean.dtype == np.float16 and np.all(a.running_mean == 1000)
    assert np.all(a.running_var == np.float16(1e-8))  # rounded to the case dtype like x
    assert list(b.running_mean) == [1, 2, 3] and np.all((b.running_var >= 0.5) & (b.running_var <= 2))
    # left out: the mean drawn from the documented default, normal(0, 1), stream 4
    want = draw(ops.DEFAULT_STATISTICS["mean"], (3,), rng(cases[2].seed, STREAM_MEAN)).astype(np.float16)
    assert np.array_equal(d.running_mean, want) and np.all(d.running_var == np.float16(0.25))
    assert cases[2].statistics_spec["mean"] == ops.DEFAULT_STATISTICS["mean"]
    for c in cases:
        assert Case.from_dict(c.to_dict()) == c
    assert "statistics=mean1000-var1e-08" in __import__("harness.cases.model", fromlist=["x"]).params_text(
        cases[0].to_dict())


@pytest.mark.parametrize("extra, words", [
    ("check: inference\nstatistics: {mean: [1, 2]}", "key 'statistics.mean': 2 values for 3 channels"),
    ("check: inference\nstatistics: {var: -1}", "a variance is never negative"),
    ("check: inference\nstatistics: {var: [1, -2, 3]}", "a variance is never negative"),
    ("check: inference\nstatistics: {var: {distribution: normal, mean: 1, std: 1}}", "normal distribution draws"),
    ("check: inference\nstatistics: {mean: {distribution: normal, mean: 1}}", "takes mean and std"),
    ("check: inference\nstatistics: {var: {distribution: uniform, low: 2, high: 1}}", "above high"),
    ("check: inference\nstatistics: {mean: {distribution: constant, value: 1}}", "statistics"),
    ("check: inference\nstatistics: {median: 1}", "unknown key"),
    ("statistics: {mean: 1}", "statistics applies to check: inference only (this case checks forward)"),
])
def test_statistics_refusals(tmp_path, extra, words):
    assert words in refused(tmp_path, extra)
