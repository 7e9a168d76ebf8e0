"""The deployment columns against the reference, in the deploy environment (OpenVINO, LiteRT): a few real
cells each, the conversions' known behaviour pinned (a converted BatchNorm in training mode normalizes with
its running statistics), and their documented defaults."""
from __future__ import annotations

import pytest

from harness.cases.load import load_file
from tests.current.test_defaults_data import check_adapter, make_adapter
from tests.support import run_cells

DEPLOY = ("openvino-onnx", "openvino-torch", "litert", "litert-fp16")

CASES = """
cases:
  - id: dep-ln
    description: LayerNorm over the last axis
    source: test
    op: layer_norm
    layout: BTF
    shape: {B: 2, T: 3, F: 8}
    dtype: float32
    epsilon: 1.0e-5
    affine: random
    seed: 3
  - id: dep-bn-infer
    description: BatchNorm with given running statistics
    source: test
    op: batch_norm
    layout: NHWC
    shape: {N: 2, H: 3, W: 3, C: 4}
    dtype: float32
    epsilon: 1.0e-3
    affine: random
    check: inference
    seed: 4
  - id: dep-bn-train
    description: BatchNorm with batch statistics
    source: test
    op: batch_norm
    layout: NCHW
    shape: {N: 4, C: 3, H: 2, W: 2}
    dtype: float32
    epsilon: 1.0e-3
    affine: ones
    seed: 5
  - id: dep-ln-f64
    description: float64 LayerNorm
    source: test
    op: layer_norm
    layout: BTF
    shape: {B: 2, T: 3, F: 8}
    dtype: float64
    epsilon: 1.0e-5
    seed: 6
"""

#: adapter -> case id -> the status it must have (what the conversion does, see cases/expectations/deploy.yaml)
WANT = {
    "openvino-onnx": {"dep-ln": "agree", "dep-bn-infer": "agree", "dep-bn-train": "agree", "dep-ln-f64": "diverge"},
    "openvino-torch": {"dep-ln": "agree", "dep-bn-infer": "agree", "dep-bn-train": "diverge",
                       "dep-ln-f64": "diverge"},
    "litert": {"dep-ln": "agree", "dep-bn-infer": "agree", "dep-bn-train": "diverge", "dep-ln-f64": "unsupported"},
    "litert-fp16": {"dep-ln": "diverge", "dep-bn-infer": "diverge", "dep-bn-train": "diverge",
                    "dep-ln-f64": "unsupported"},
}


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    path = tmp_path_factory.mktemp("deploy") / "deploy.yaml"
    path.write_text(CASES)
    return load_file(path, display="deploy.yaml")


@pytest.mark.parametrize("adapter", DEPLOY)
def test_cells_end_as_the_conversion_makes_them(adapter, cases):
    results = run_cells(adapter, cases)
    got = {c.id.split("-eps")[0]: r.status for c, r in zip(cases, results)}
    assert got == WANT[adapter], {c.id: r.message.splitlines()[0] for c, r in zip(cases, results) if r.message}
    assert all(r.versions for r in results if r.status != "unsupported")


@pytest.mark.parametrize("adapter", DEPLOY)
def test_documented_defaults(adapter):
    assert check_adapter(adapter, make_adapter(adapter)) == []
