"""The shipped hard-input cases on the current frameworks: stable implementations
agree, one-pass variances, NaNs and half-precision statistics diverge with the
right explanation, and the case keys that make such behaviour expressible work."""
from pathlib import Path

import pytest

from harness.cases.load import load_file
from tests.support import run_cells

CASES = Path(__file__).resolve().parents[2] / "cases"


def case(file, case_id):
    return next(c for c in load_file(CASES / file) if c.id == case_id)


LN_HARD = "ln-hard-mean-mean10000-std0.01-eps1e-05-float32"


@pytest.mark.parametrize("adapter", ["torch", "keras-tf", "keras-jax"])
def test_stable_frameworks_agree_where_a_fixed_tolerance_failed_them(adapter):
    (r,) = run_cells(adapter, [case("layer_norm/hard.yaml", LN_HARD)])
    assert r.status == "agree", r.message
    assert r.metrics.max_abs > 1e-2  # a fixed 1e-5 tolerance would have called this a divergence
    assert r.metrics.ratio <= 8


@pytest.mark.parametrize("adapter", ["flax-linen", "jax"])
def test_one_pass_variance_diverges_with_its_explanation(adapter):
    (r,) = run_cells(adapter, [case("layer_norm/hard.yaml", LN_HARD)])
    assert r.status == "diverge" and r.metrics.ratio > 8
    assert r.explanation.startswith("one-pass variance E[x²]−E[x]²"), r.fingerprint


def test_keras_on_torch_returns_nan_and_says_so():
    (r,) = run_cells("keras-torch", [case("batch_norm/hard.yaml", "bn-hard-mean-mean10000-std0.01-eps1e-05-float32")])
    assert r.status == "diverge"
    assert "outputs are NaN" in r.metrics.nonfinite
    assert r.explanation.split(";")[0].endswith("outputs are NaN")


def test_torch_half_precision_batch_norm_keeps_statistics_in_half():
    (r,) = run_cells("torch", [case("batch_norm/hard.yaml", "bn-hard-half-mean100-eps1e-05-float16")])
    assert r.status == "diverge" and r.metrics.ratio > 8
    # torch sums in float32 and stores the mean and 1/sqrt(var + eps) in float16: stored, not accumulated
    assert r.explanation.startswith("statistics accumulated in float32 and stored in float16")


def test_keras_group_count_message_is_backwards():
    (r,) = run_cells("keras-tf", [case("group_norm/errors.yaml", "gn-indivisible-btf-g4-eps1e-05-float32")])
    assert r.status == "diverge"
    assert "must be a multiple of the number of channels" in r.metrics.expected_error


def test_torch_module_raises_as_the_case_expects():
    (r,) = run_cells("torch", [case("group_norm/errors.yaml", "gn-indivisible-btf-g4-eps1e-05-float32")])
    assert r.status == "agree", r.message
    assert r.metrics.raised.startswith("ValueError")


def test_flax_nnx_per_frame_group_norm_differs_from_linen():
    c = case("group_norm/axes.yaml", "gn-per-frame-g3-eps1e-05-float64")
    (linen,) = run_cells("flax-linen", [c])
    (nnx,) = run_cells("flax-nnx", [c])
    assert "reduction_axes=-1" in linen.snippet and "reduction_axes=-1" in nnx.snippet
    assert linen.metrics.max_abs < 1e-9, linen.message  # linen normalizes per frame, as the case asks
    assert nnx.status == "diverge" and nnx.metrics.max_abs > 1.0
    # APIs without reduction axes say so
    (t,) = run_cells("torch", [c])
    assert t.status == "unsupported" and "fold the other axes into the batch" in t.message


def test_default_epsilon_is_recorded_with_its_source():
    c = case("rms_norm/default_epsilon.yaml", "rms-default-eps-eps-default-float16")
    (r,) = run_cells("torch", [c])
    doc = r.metrics.epsilon_default
    assert doc.value == 2.0 ** -23 and "opmath" in doc.quote and doc.source.startswith("https://")
    assert "eps=" not in r.snippet
    assert r.status == "agree", r.message
