"""The ONNX columns against the reference, in the environment that has onnx,
onnxruntime and onnxscript: the reference evaluator and onnxruntime at
opset 23 and 18, MeanVarianceNormalization, and torch.onnx.export."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cases.load import load_file
from harness.cli import main as cli_main
from harness.execution.runner import Runner
from tests.support import run_cells

REPO = Path(__file__).resolve().parents[2]
RUNTIMES = ["onnx-ref", "onnxruntime", "onnx-ref-opset18", "onnxruntime-opset18"]


def cases_from(tmp_path, text: str, name="c.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return load_file(path, display=name)


# 2**-17 is exact in float32, so the float32 epsilon attribute changes nothing
PLAIN_LN = """
cases:
  - id: onnx-plain-ln
    description: plain float64 LayerNorm
    source: test
    op: layer_norm
    layout: BTF
    shape: {B: 2, T: 3, F: 8}
    dtype: float64
    epsilon: 7.62939453125e-06
    affine: random
    seed: 3
"""


@pytest.mark.parametrize("adapter", RUNTIMES + ["torch-onnx"])
def test_plain_float64_case_agrees(tmp_path, adapter):
    (case,) = cases_from(tmp_path, PLAIN_LN)
    (r,) = run_cells(adapter, [case])
    assert r.status == "agree", (r.status, r.message[:500])
    assert r.metrics.max_abs < 1e-14
    assert "LayerNormalization" in r.snippet or "torch.onnx.export" in r.snippet
    assert r.versions.get("onnx") and r.versions.get("opset")


@pytest.mark.parametrize("adapter", ["onnx-ref-mvn", "onnxruntime-mvn"])
def test_mean_variance_normalization_agrees_in_float32(tmp_path, adapter):
    cases = cases_from(tmp_path, """
cases:
  - id: onnx-plain-mvn-ln
    description: LayerNorm as MeanVarianceNormalization
    source: test
    op: layer_norm
    layout: BTF
    shape: {B: 2, T: 3, F: 16}
    dtype: float32
    epsilon: default
    affine: random
    seed: 3
  - id: onnx-plain-mvn-in
    description: InstanceNorm as MeanVarianceNormalization
    source: test
    op: instance_norm
    layout: NCHW
    shape: {N: 2, C: 3, H: 4, W: 2}
    dtype: float32
    epsilon: default
    affine: random
    seed: 3
  - id: onnx-mvn-eps
    description: an explicit epsilon cannot be passed to MeanVarianceNormalization
    source: test
    op: layer_norm
    layout: BTF
    shape: {B: 2, T: 3, F: 4}
    dtype: float32
    epsilon: 1.0e-5
    affine: random
    seed: 3
""")
    rs = run_cells(adapter, cases)
    assert [r.status for r in rs[:2]] == ["agree", "agree"], [(r.status, r.message[:300]) for r in rs]
    assert "MeanVarianceNormalization" in rs[0].snippet and "'Mul'" in rs[0].snippet
    assert rs[2].status == "unsupported" and "no epsilon attribute" in rs[2].message


GN_SCALE = """
defaults:
  source: test
  description: GroupNorm parameters
  op: group_norm
  layout: NCHW
  shape: {N: 2, C: 6, H: 3, W: 2}
  epsilon: 1.0e-5
  dtype: float32
  seed: 11
cases:
  - id: gn-per-channel
    groups: 2
    affine: random
  - id: gn-ones
    groups: 2
    affine: ones
  - id: gn-instance
    groups: 6
    affine: random
"""


def test_group_normalization_opset_18_takes_per_group_parameters(tmp_path):
    cases = cases_from(tmp_path, GN_SCALE)
    for adapter in ("onnx-ref", "onnxruntime"):
        rs = run_cells(adapter, cases)
        assert [r.status for r in rs] == ["agree"] * 3, [(r.status, r.message[:300]) for r in rs]
        assert "GroupNormalization-21" in rs[0].snippet
    for adapter in ("onnx-ref-opset18", "onnxruntime-opset18"):
        per_channel, ones, instance = run_cells(adapter, cases)
        # six per-channel values cannot be one scale per group of GroupNormalization-18
        assert per_channel.status == "error", (per_channel.status, per_channel.message[:300])
        assert per_channel.message
        assert "GroupNormalization-18" in per_channel.snippet and "per-channel" in per_channel.snippet
        # gamma=1, beta=0 written as [num_groups] vectors, and G = C, are the same in both versions
        assert ones.status == "agree" and "np.ones(2, X.dtype)" in ones.snippet
        assert instance.status == "agree", (instance.status, instance.message[:300])


def test_missing_kernel_or_op_is_a_cell_not_a_crash(tmp_path):
    cases = cases_from(tmp_path, """
defaults:
  source: test
  description: kernels
  layout: NCHW
  shape: {N: 2, C: 3, H: 3, W: 2}
  affine: random
  epsilon: 1.0e-3
  seed: 5
cases:
  - id: in-f64
    op: instance_norm
    dtype: float64
  - id: rms-f32
    op: rms_norm
    dtype: float32
  - id: ln-f32
    op: layer_norm
    dtype: float32
""")
    runner = Runner("test", None, ["onnxruntime", "onnxruntime-opset18", "onnx-ref-mvn"])
    try:
        inst, rms, ln = [runner.run_cell(c, "onnxruntime") for c in cases]
        inst18, rms18, ln18 = [runner.run_cell(c, "onnxruntime-opset18") for c in cases]
        mvn = runner.run_cell(cases[0].__class__.from_dict({**cases[0].to_dict(), "epsilon": "default"}),
                              "onnx-ref-mvn")
    finally:
        runner.close()
    # onnxruntime 1.32 has no float64 InstanceNormalization kernel: the refusal is the cell's error
    assert inst.status == "error" and "NOT_IMPLEMENTED" in inst.message, (inst.status, inst.message[:300])
    assert inst18.status == "error"
    # RMSNormalization does not exist at opset 18: n/a with the reason
    assert rms.status == "agree" and rms18.status == "unsupported" and "opset 23" in rms18.message
    # the worker survived: later cells still run
    assert ln.status == "agree" and ln18.status == "agree"
    # MeanVarianceNormalization's function body adds a float constant to a float64 tensor
    assert mvn.status == "error" and "mismatch" in mvn.message, (mvn.status, mvn.message[:300])


def test_float32_epsilon_attribute_is_named(tmp_path):
    (case,) = cases_from(tmp_path, PLAIN_LN.replace("7.62939453125e-06", "1.0e-5")
                         .replace("affine: random", "affine: random\n    input: {distribution: normal, mean: 0.5, "
                                                    "std: 0.01}"))
    (r,) = run_cells("onnx-ref", [case])
    assert r.status == "diverge"
    assert "epsilon rounded to float32" in r.explanation, r.fingerprint


RUNNING = """
cases:
  - id: onnx-running
    description: BatchNormalization-15 in training mode, then inference with its running statistics
    source: test
    op: batch_norm
    check: running_stats
    layout: NCHW
    shape: {N: 2, C: 3, H: 2, W: 2}
    momentum: MOMENTUM
    steps: 3
    dtype: DTYPE
    epsilon: EPS
    affine: random
    seed: 5
    input: {distribution: normal, mean: 0.5, std: 2.0}
"""


@pytest.mark.parametrize("adapter", RUNTIMES)
def test_training_mode_running_statistics_agree_where_the_attributes_are_exact(tmp_path, adapter):
    # momentum 0.5 and epsilon 2**-17 are exact in float32: in float64 too every output agrees
    for dtype in ("float32", "float64"):
        (case,) = cases_from(tmp_path, RUNNING.replace("MOMENTUM", "0.5").replace("DTYPE", dtype)
                             .replace("EPS", "7.62939453125e-06"))
        (r,) = run_cells(adapter, [case])
        assert r.status == "agree", (dtype, r.status, r.message[:800])
        assert set(r.metrics.outputs) == {"y", "running_mean", "running_var"}
        assert "training_mode=training" in r.snippet


def test_float32_momentum_and_epsilon_attributes_are_named(tmp_path):
    (case,) = cases_from(tmp_path, RUNNING.replace("MOMENTUM", "0.1").replace("DTYPE", "float64")
                         .replace("EPS", "1.0e-5"))
    (r,) = run_cells("onnxruntime", [case])
    assert r.status == "diverge"
    assert "momentum weight rounded to float32" in r.explanation, r.explanation
    assert "epsilon rounded to float32" in r.explanation, r.explanation
    (case,) = cases_from(tmp_path, RUNNING.replace("MOMENTUM", "0.5").replace("DTYPE", "float64")
                         .replace("EPS", "1.0e-5"))
    (r,) = run_cells("onnx-ref", [case])
    assert r.status == "diverge" and "momentum" not in r.explanation.split("(")[0], r.explanation
    assert "running_mean, running_var agree" in r.explanation, r.explanation


def test_export_column_runs(tmp_path):
    cases = cases_from(tmp_path, """
defaults:
  source: test
  description: export
  dtype: float32
  epsilon: 1.0e-5
  affine: random
  seed: 9
cases:
  - id: gn
    op: group_norm
    layout: BTF
    shape: {B: 2, T: 3, F: 6}
    groups: 2
  - id: rms
    op: rms_norm
    layout: BTF
    shape: {B: 2, T: 3, F: 6}
  - id: bn
    op: batch_norm
    layout: NCHW
    shape: {N: 4, C: 3, H: 2, W: 2}
""")
    gn, rms, bn = run_cells("torch-onnx", cases)
    for r in (gn, rms):
        assert r.status == "agree", (r.status, r.message[:300])
        assert "torch.onnx.export(m, (xin,), dynamo=True" in r.snippet and "InferenceSession" in r.snippet
    assert gn.versions["onnxscript"] and gn.versions["onnxruntime"]
    # BatchNorm in training mode (batch statistics) is exported with its running statistics
    assert bn.status == "diverge", (bn.status, bn.message[:300])


@pytest.mark.parametrize("adapter,eps,code", [("onnxruntime", "7.62939453125e-06", 0),
                                              ("onnx-ref", "1.0e-5", 1)])
def test_repro_script_runs_standalone(tmp_path, monkeypatch, adapter, eps, code):
    monkeypatch.chdir(REPO)
    (case,) = cases_from(tmp_path, PLAIN_LN.replace("7.62939453125e-06", eps))
    results = tmp_path / "r.jsonl"
    runner = Runner("current", results, [adapter])
    try:
        r = runner.run_cell(case, adapter)
    finally:
        runner.close()
    script = tmp_path / "repro.py"
    assert cli_main(["repro", case.id, adapter, "--results", str(results), "-o", str(script), "--no-shrink"]) == 0
    text = script.read_text()
    assert "helper.make_node('LayerNormalization'" in text and "harness" not in text.split("import numpy")[1]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    (tmp_path / "elsewhere").mkdir()
    p = subprocess.run([sys.executable, "-I", str(script)], cwd=tmp_path / "elsewhere", env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == code, (r.status, p.stdout + p.stderr)
