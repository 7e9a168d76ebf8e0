"""Backward and running-statistics cells of the legacy TensorFlow adapters (tf.keras 2.15, TFA, the
GN paper's code) against the float64 reference."""
from tests.support import run_cells
from tests.training_support import BACKWARD, RUNNING, cases, problems


def test_tf_keras_backward_agrees():
    results = run_cells("tf-keras", cases(BACKWARD))
    assert sum(r.status == "agree" for r in results) >= 10
    assert not problems(results, lambda c: ("agree", None))


def test_tf_keras_running_statistics_fused_and_not():
    """T24: the fused kernel (4-D float32 input) updates the moving variance with Bessel's correction,
    the non-fused path (rank 2 and 3, float64) with the biased variance; float64 moving averages use a
    float32 decay (1 - momentum)."""
    import numpy as np
    assert np.float32(0.1) != 0.1 and np.float32(0.5) == 0.5
    results = run_cells("tf-keras", cases(RUNNING))

    def want(c):
        if c["dtype"] == "float64":  # 0.5 is exact in float32
            return ("agree", None) if c["momentum"] == 0.5 else ("diverge", "momentum weight rounded to float32")
        if c["layout"] in ("NCHW", "NHWC"):
            return "diverge", "running variance updated with the unbiased (n/(n-1)"
        return "agree", None

    assert not problems(results, want)
    paths = {(r.case["layout"], r.case["dtype"]): r.metrics.path for r in results}
    assert paths[("NCHW", "float32")] == "fused" and paths[("BTF", "float32")] == "non-fused"
    assert paths[("NHWC", "float64")] == "non-fused"


def test_tfa_and_gn_paper_backward_agree():
    for adapter in ("tfa", "gn-paper"):
        results = run_cells(adapter, cases(BACKWARD))
        assert any(r.status == "agree" for r in results)
        assert not problems(results, lambda c: ("agree", None)), adapter
