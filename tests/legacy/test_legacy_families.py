"""tf.keras 2's UnitNormalization and TensorFlow 2.15's core functions on L2 and local response
normalization, in the legacy environment."""
from harness.cases.load import load_file
from tests.support import DATA, run_cells


def results(adapter):
    cs = load_file(DATA / "families.yaml", display="tests/data/families.yaml")
    return {c.id: r for c, r in zip(cs, run_cells(adapter, cs))}


def test_tf_keras_unit_normalization_clamps_the_squared_norm():
    r = results("tf-keras")
    assert r["fam-l2-eps1e-12-float32"].status == "agree"
    tiny = r["fam-l2-tiny-eps1e-12-float32"]
    assert tiny.status == "diverge"
    assert tiny.fingerprint.explanation.startswith("the output fits eps clamps the squared norm")
    assert "UnitNormalization" in tiny.snippet
    assert r["fam-lrn-n3-a0.5-b0.75-k1-float32"].status == "unsupported"


def test_tensorflow_215_core_functions():
    r = results("tensorflow")
    assert r["fam-l2-tiny-eps1e-12-float32"].status == "diverge"
    assert r["fam-lrn-n3-a0.5-b0.75-k1-float32"].status == "agree"
