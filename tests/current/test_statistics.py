"""Momentum on training-mode cells, the cumulative average, instance-norm running statistics and inference
with given running statistics, in the current frameworks: each API's new call agrees where the framework is
right, each known difference diverges with its explanation, and APIs without the feature say why."""
import pytest

from tests.support import run_cells
from tests.training_support import cases, problems

INFER = ["cases/batch_norm/inference.yaml", "cases/instance_norm/inference.yaml"]
MOMENTUM = "cases/batch_norm/momentum.yaml"
IN_RUNNING = "cases/instance_norm/running_stats.yaml"
LOWER = "computed in float32 although the case is float64"
F32_EPS = "epsilon rounded to float32"


def _infer_float64(words):
    """float64 inference cells diverge with ``words`` where a large-mean input hides nothing."""
    def want(c):
        if c["dtype"] == "float64" and "large-mean" not in c["id"]:
            return "diverge", words
        return "agree", None
    return want


INFER_WANT = {
    "torch": lambda c: ("agree", None),
    "torch-functional": lambda c: ("agree", None),
    "keras-tf": lambda c: ("agree", None),
    "keras-ops-jax": lambda c: ("agree", None),
    "keras-jax": lambda c: ("diverge", LOWER) if c["dtype"] == "float64" else ("agree", None),
    "flax-linen": lambda c: ("agree", None),
    "flax-nnx": _infer_float64("the running statistics held in float32"),
    "jax": lambda c: ("agree", None),
    "onnx-ref": _infer_float64(F32_EPS),
    "onnxruntime": _infer_float64(F32_EPS),
    "torch-onnx": _infer_float64(F32_EPS),
}


@pytest.mark.parametrize("adapter", sorted(INFER_WANT))
def test_inference_with_given_statistics(adapter):
    results = run_cells(adapter, cases(INFER))
    assert sum(r.status == "agree" for r in results) >= 4, [(r.case_id, r.status, r.message[:200]) for r in results]
    assert not problems(results, INFER_WANT[adapter])
    done = [r for r in results if r.status != "unsupported"]
    assert all("running_mean" in r.snippet and "running_var" in r.snippet for r in done)  # the call shows them
    if adapter.startswith("torch") or adapter == "jax":  # instance norm with tracked (or given) statistics
        assert any(r.case["op"] == "instance_norm" and r.status == "agree" for r in results)
    else:
        assert all(r.status == "unsupported" and ("running statistics" in r.message or "has no instance" in r.message)
                   for r in results if r.case["op"] == "instance_norm")


def test_momentum_does_not_change_training_outputs_and_apis_without_it_say_why():
    for adapter in ("torch", "flax-linen", "onnx-ref"):
        results = run_cells(adapter, cases(MOMENTUM))
        fwd = [r for r in results if r.case["check"] in ("forward", "backward")]
        ran = [r for r in fwd if r.status != "unsupported"]
        assert ran and all(r.status == "agree" for r in ran), [(r.case_id, r.message[:200]) for r in ran]
        assert ("momentum=None" in ran[-1].snippet) == (adapter == "torch")
        if adapter != "torch":  # the cumulative average is PyTorch's
            cumulative = [r for r in fwd if "cumulative" in r.case_id and r.case["check"] == "forward"]
            assert cumulative and all(r.status == "unsupported" and "no cumulative average" in r.message
                                      for r in cumulative)
    (r,) = [r for r in run_cells("jax", cases(MOMENTUM)) if r.case_id == "bn-momentum-btf-mom0.1-eps1e-05-float32"]
    assert r.status == "unsupported" and "takes no momentum" in r.message


def test_cumulative_average_and_instance_norm_running_statistics_in_torch():
    results = run_cells("torch", [c for c in cases(MOMENTUM) if c.check == "running_stats"] + cases(IN_RUNNING))
    for r in results:
        if r.case_id.startswith("in-running-cumulative"):
            # InstanceNorm takes momentum=None as 0.0: the running statistics never move
            assert r.status == "diverge" and "never updated" in r.explanation
            continue
        # the running mean is free of the variance estimator: cumulative average and instance averaging are right
        assert r.metrics.outputs["running_mean"].ok, r.case_id
        assert r.status == "diverge" and "unbiased (n/(n-1)" in r.explanation, (r.case_id, r.explanation)
        per = "instance" if r.case["op"] == "instance_norm" else "channel"
        assert f"values per {per}" in r.explanation
    fn = run_cells("torch-functional", cases(IN_RUNNING))
    assert all(r.status == "unsupported" and "take momentum as a float" in r.message
               for r in fn if r.case_id.startswith("in-running-cumulative"))


def test_inference_reproducers_carry_the_statistics_and_exit_as_the_cell(tmp_path, monkeypatch):
    """normconf repro of a check: inference cell: the script holds the given running statistics and the
    call that takes them, runs standalone, and exits 1 for ONNX's float32 epsilon, 0 for torch."""
    import os
    import subprocess
    import sys

    from harness.cli import main as cli_main
    from harness.execution.runner import Runner
    from tests.training_support import REPO

    monkeypatch.chdir(REPO)
    cid = "bn-infer-nchw-eps1e-05-float64"
    (c,) = [c for c in cases("cases/batch_norm/inference.yaml") if c.id == cid]
    for adapter, code in (("onnxruntime", 1), ("torch", 0)):
        out = tmp_path / f"{adapter}.jsonl"
        runner = Runner("current", out, [adapter], cell_timeout=300)
        try:
            runner.run_cell(c, adapter)
        finally:
            runner.close()
        script = tmp_path / f"{adapter}.py"
        assert cli_main(["repro", cid, adapter, "--results", str(out), "-o", str(script), "--no-shrink"]) == 0
        text = script.read_text()
        assert "RUNNING_MEAN = np.array([" in text and "running_var" in text.split("def call", 1)[1]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        p = subprocess.run([sys.executable, "-I", str(script)], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=600)
        assert p.returncode == code, p.stdout + p.stderr
