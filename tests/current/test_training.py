"""Backward and running-statistics cells of the current frameworks (torch, Keras 3 on each backend,
Flax, JAX) against the float64 reference: every cell agrees where the framework is right, and each
known difference diverges with its explanation."""
import pytest

from tests.support import run_cells
from tests.training_support import BACKWARD, RUNNING, cases, problems

LOWER = "computed in float32 although the case is float64"


def _float32_backend(c):
    """Keras on JAX and torch computes float64 in float32 (keras.backend.result_type)."""
    return ("diverge", LOWER) if c["dtype"] == "float64" else ("agree", None)


BACKWARD_WANT = {
    "torch": lambda c: ("agree", None),
    "torch-functional": lambda c: ("agree", None),
    "keras-tf": lambda c: ("agree", None),
    "keras-ops-tf": lambda c: ("agree", None),
    "keras-jax": _float32_backend,
    "keras-torch": _float32_backend,
    # keras.ops: moments + batch_normalization keep float64, layer/rms_normalization do not
    "keras-ops-jax": lambda c: ("agree", None) if c["op"] == "batch_norm" else _float32_backend(c),
    "keras-ops-torch": lambda c: ("agree", None) if c["op"] == "batch_norm" else _float32_backend(c),
    "flax-linen": lambda c: ("agree", None),
    # nnx GroupNorm(reduction_axes=-1, num_groups=2) differs already in the forward pass
    "flax-nnx": lambda c: ("diverge", "no member of the family") if c["id"].startswith("gn-grad-frame")
    else ("agree", None),
    "jax": lambda c: ("agree", None),
}


@pytest.mark.parametrize("adapter", sorted(BACKWARD_WANT))
def test_backward(adapter):
    results = run_cells(adapter, cases(BACKWARD))
    assert sum(r.status == "agree" for r in results) >= 5
    assert not problems(results, BACKWARD_WANT[adapter])
    for r in results:
        if r.status in ("agree", "diverge"):
            assert r.metrics.output in r.metrics.outputs and "dx" in r.metrics.outputs


RUNNING_WANT = {
    # T8: the running variance is the unbiased batch variance
    "torch": lambda c: ("diverge", "running variance updated with the unbiased (n/(n-1)"),
    "torch-functional": lambda c: ("diverge", "running variance updated with the unbiased (n/(n-1)"),
    "keras-tf": lambda c: ("agree", None),
    "keras-jax": _float32_backend,
    "keras-torch": _float32_backend,
    # Flax creates batch_stats in float32 whatever the dtype (nnx keeps them there; linen's running
    # variance carries float32 rounding, its mean does not, and momentum 0.5 stays within float64 tolerance)
    "flax-linen": lambda c: ("diverge", LOWER) if c["dtype"] == "float64" and c["momentum"] != 0.5
    else ("agree", None),
    "flax-nnx": lambda c: ("diverge", "the running statistics are held in float32") if c["dtype"] == "float64"
    else ("agree", None),
}


@pytest.mark.parametrize("adapter", sorted(RUNNING_WANT))
def test_running_statistics(adapter):
    results = run_cells(adapter, cases(RUNNING))
    assert all(r.status != "unsupported" for r in results), [r.message for r in results][:2]
    assert not problems(results, RUNNING_WANT[adapter])
    if adapter.startswith("torch"):
        for r in results:  # the running mean, free of the estimator, agrees: the momentum convention is right
            assert r.metrics.outputs["running_mean"].ok, r.case_id


def test_stateless_apis_say_why_they_have_no_running_statistics():
    for adapter in ("keras-ops-tf", "jax"):
        r, = run_cells(adapter, cases(RUNNING)[:1])
        assert r.status == "unsupported" and r.message
