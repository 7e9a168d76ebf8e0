"""tf.keras 2 (TensorFlow 2.15): inference with given moving statistics on the fused (4-D) and non-fused
paths, momentum on training-mode cells, and the reasons where tf.keras, TFA and the GN paper's code have
no such feature."""
from tests.support import run_cells
from tests.training_support import cases


def test_tf_keras_inference_on_both_kernels_and_momentum():
    results = run_cells("tf-keras", cases(["cases/batch_norm/inference.yaml", "cases/batch_norm/momentum.yaml"]))
    ran = [r for r in results if r.status != "unsupported"]
    assert ran and all(r.status == "agree" for r in ran), [(r.case_id, r.message[:200]) for r in ran if
                                                           r.status != "agree"]
    paths = {r.metrics.path for r in ran if r.case["check"] == "inference"}
    assert paths == {"fused", "non-fused"}  # 4-D float32 input takes the fused kernel, the rest does not
    assert all("moving_mean.assign" in r.snippet for r in ran if r.case["check"] == "inference")
    assert any("momentum=0.09999999999999998" in r.snippet for r in ran)  # 1 - 0.9: the old value's weight
    cum = [r for r in results if "cumulative" in r.case_id]
    assert cum and all(r.status == "unsupported" and "no cumulative average" in r.message for r in cum)


def test_apis_without_running_statistics_say_why():
    files = ["cases/instance_norm/inference.yaml", "cases/instance_norm/running_stats.yaml"]
    for adapter, words in (("tf-keras", "keeps no running statistics"), ("tfa", "keeps no running statistics")):
        results = run_cells(adapter, cases(files))
        assert results and all(r.status == "unsupported" and words in r.message for r in results), \
            [(r.case_id, r.message) for r in results][:3]
