"""A worker's reuse of compiled OpenVINO models and LiteRT interpreters, in the environment that has them:
a reused artefact gives the output a fresh one gives, bit for bit, and the cache hits only where the graph
is the same."""
import dataclasses

from harness.adapters import _cache, load_adapter, registry
from harness.cases.inputs import make_inputs
from harness.cases.load import discover, load_tree
from tests.current.test_cache import REPO, caching, check_reuse
from tests.support import smoke_cases


def _smoke(prefix):
    return next(c for c in smoke_cases() if c.id.startswith(prefix))


def test_openvino_onnx_reuses_compiled_models():
    # the ONNX model feeds its parameters: other values reuse the compiled model, another epsilon does not
    for cid in ("smoke-gn-nhwc-g2-eps0.001-float32", "smoke-ln-over-TF-eps0.001-float32"):
        check_reuse("openvino-onnx", _smoke(cid), "openvino compiled models", params=(), fed=("gamma", "beta"))


def test_openvino_torch_reuses_converted_modules():
    for cid in ("smoke-gn-nhwc-g2-eps0.001-float32", "smoke-bn-nchw-eps0.001-float32"):
        check_reuse("openvino-torch", _smoke(cid), "openvino compiled models", params=("gamma", "beta"))


def test_litert_reuses_interpreters():
    for adapter in ("litert", "litert-fp16"):
        for cid in ("smoke-ln-over-TF-eps0.001-float32", "smoke-bn-nhwc-eps0.001-float32"):
            check_reuse(adapter, _smoke(cid), "litert interpreters", params=("gamma", "beta"))


def test_openvino_onnx_training_steps_on_one_compiled_model():
    """running_stats runs one training-mode model per step: reused within the cell, the steps' statistics and
    the output are the fresh ones."""
    cases, _ = load_tree(discover(REPO / "cases"))
    ad = load_adapter(registry()["openvino-onnx"])
    case = next(c for c in cases if c.check == "running_stats" and ad.supports(c) is None and (c.steps or 0) > 1)
    inputs = make_inputs(case)
    assert len(inputs.batches) > 1
    with caching(False):
        fresh = ad.run(case, inputs)
    with caching(True):
        _cache.clear_all()
        reused = ad.run(case, dataclasses.replace(inputs))
        assert _cache._CACHES["openvino compiled models"].hits >= len(inputs.batches) - 1
    assert reused.y.tobytes() == fresh.y.tobytes()
    assert set(reused.arrays) == set(fresh.arrays) == {"running_mean", "running_var"}
    for k in fresh.arrays:
        assert reused.arrays[k].tobytes() == fresh.arrays[k].tobytes(), k
