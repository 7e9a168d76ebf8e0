"""Given affine values through the tf.keras 2, TensorFlow Addons and GN-paper adapters (TensorFlow 2.15):
each loads the case's gamma and beta into the layer (or passes them to the paper's function)."""
from pathlib import Path

import pytest

from harness.cases.load import load_file
from tests.support import run_cells

CASES = Path(__file__).resolve().parents[2] / "cases" / "affine" / "values.yaml"


@pytest.mark.parametrize("adapter, prefixes", [
    ("tf-keras", ("ln-values", "gn-values", "bn-negative")),
    ("tfa", ("gn-values",)),
    ("gn-paper", ("gn-values",)),
])
def test_given_affine_values_are_set(adapter, prefixes):
    cs = [c for c in load_file(CASES) if c.id.startswith(prefixes)]
    results = run_cells(adapter, cs)
    bad = [f"{c.id}: {r.status} {r.message[:200]}" for c, r in zip(cs, results) if r.status != "agree"]
    assert not bad, "\n".join(bad)
    assert any(c.sets_affine for c in cs)


def test_tf_keras_loses_beta_with_one_feature_and_a_huge_gamma():
    (f32,) = [c for c in load_file(CASES) if c.id.startswith("ln-one-feature") and c.dtype == "float32"]
    (r,) = run_cells("tf-keras", [f32])
    # tf.nn.batch_normalization: x * inv + (beta - mean * inv) cancels to 0 instead of beta = 0.5
    assert r.status == "diverge" and r.metrics.max_abs == pytest.approx(0.5), r.message
