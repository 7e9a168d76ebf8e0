"""The Keras 3 adapters (layers and keras.ops, on the TensorFlow, JAX and torch
backends) against the reference, in the environment that has Keras.

Keras genuinely diverges from the reference on some smoke cells. Those cells
are pinned here, not hidden: each must still fail in the recorded way, so a
Keras release that fixes one makes the pin fail and the pin can be dropped.

* ``float64`` on the JAX and torch backends: ``keras.backend.result_type``
  maps float64 to float32 on every backend but TensorFlow, so the layers and
  ``ops.layer_normalization``/``ops.rms_normalization`` compute a float64
  input in float32 and cast the result back to float64 (error ~1e-7).
* ``RMSNormalization(axis=1)`` (any backend) multiplies by its ``(C,)`` scale
  without broadcasting it to the axis: channels-first input raises (or, when
  the last axis also has C elements, applies the scale along the wrong axis).
* torch backend: ``layer_normalization``/``rms_normalization`` with a
  non-trailing axis call ``F.layer_norm``/``F.rms_norm``, which normalize the
  trailing axes: channels-first input raises (or, when the last axis also has
  C elements, silently normalizes the wrong axis).
"""
import pytest

from harness.cases.load import load_file
from harness.ops.layouts import Layout
from tests.support import check_smoke, run_cells, smoke_cases, snippet_reproduces

NO_OPS = ("group_norm", "instance_norm")  # keras.ops has neither


def _non_trailing(case) -> bool:
    """layer_norm/rms_norm over axes that are not the layout's trailing axes."""
    if case.op not in ("layer_norm", "rms_norm"):
        return False
    lay = Layout(case.layout)
    return not lay.name.endswith(case.axes or lay.axes[-1])


def known_keras_bug(adapter: str, case):
    """The status a smoke cell is pinned to by a genuine Keras bug, or None."""
    backend = adapter.rsplit("-", 1)[1]
    layers = not adapter.startswith("keras-ops-")
    if _non_trailing(case) and (backend == "torch" or (layers and case.op == "rms_norm")):
        return "error"
    if case.dtype == "float64" and backend in ("jax", "torch") and (layers or case.op in ("layer_norm", "rms_norm")):
        return "diverge"
    return None


def check_keras_smoke(adapter, unsupported_ops=()):
    """tests.support.check_smoke, with the genuine Keras divergences pinned; the
    float64-computed-as-float32 pins must also stay at float32-sized errors."""
    results = check_smoke(adapter, unsupported_ops=unsupported_ops, pinned=lambda c: known_keras_bug(adapter, c))
    for r in results:
        if r.status == "diverge":
            assert r.metrics.max_abs < 1e-5, f"{r.case_id}: float64-in-float32 error should be ~1e-7"
    return results


def _versions_ok(results, backend):
    v = results[0].versions
    assert v["keras"].startswith("3.")
    assert v["backend"] == backend
    assert v[backend]


@pytest.mark.parametrize("adapter, backend", [
    ("keras-tf", "tensorflow"), ("keras-jax", "jax"), ("keras-torch", "torch"),
])
def test_keras_layers_smoke(adapter, backend):
    _versions_ok(check_keras_smoke(adapter), backend)


@pytest.mark.parametrize("adapter, backend", [
    ("keras-ops-tf", "tensorflow"), ("keras-ops-jax", "jax"), ("keras-ops-torch", "torch"),
])
def test_keras_ops_smoke(adapter, backend):
    results = check_keras_smoke(adapter, unsupported_ops=NO_OPS)
    _versions_ok(results, backend)
    reasons = {r.message for r in results if r.status == "unsupported"}
    assert all("keras.layers.GroupNormalization" in m for m in reasons), reasons


def test_snippet_is_what_ran():
    nchw = next(c for c in smoke_cases() if c.id.startswith("smoke-gn-nchw-g2") and c.dtype == "float32")
    nhwc = next(c for c in smoke_cases() if c.id.startswith("smoke-gn-nhwc-g2") and c.dtype == "float32")
    r_cf, r_cl = run_cells("keras-tf", [nchw, nhwc])
    assert r_cf.status == r_cl.status == "agree"
    # the recorded calls (channel axis named, parameters assigned) give the same outputs
    for c in (nchw, nhwc):
        snippet_reproduces("keras-tf", c)


_C_EQUALS_W = """\
defaults: {source: test, description: C equals W, affine: random, epsilon: 1.0e-3, dtype: float32, seed: 3}
cases:
  - id: cw-ln
    op: layer_norm
    layout: NCHW
    shape: {N: 2, C: 4, H: 3, W: 4}
    axes: C
  - id: cw-rms
    op: rms_norm
    layout: NCHW
    shape: {N: 2, C: 4, H: 3, W: 4}
    axes: C
"""


def test_non_trailing_axis_bugs_are_silent_when_sizes_match(tmp_path):
    """With C == W the Keras axis bugs above raise nothing and give wrong numbers."""
    p = tmp_path / "cw.yaml"
    p.write_text(_C_EQUALS_W)
    ln, rms = load_file(p)
    r_ln, r_rms = run_cells("keras-torch", [ln, rms])
    assert r_ln.status == "diverge" and r_ln.metrics.max_abs > 0.1  # normalized over W, not C
    assert r_rms.status == "diverge" and r_rms.metrics.max_abs > 0.1
    r_ln, r_rms = run_cells("keras-tf", [ln, rms])
    assert r_ln.status == "agree"
    assert r_rms.status == "diverge" and r_rms.metrics.max_abs > 0.1  # scale applied along W
