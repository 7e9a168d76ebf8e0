"""Operators with their own definition (harness.ops.definition): the registry mechanism, the case keys it
adds to the schema, and the refusals of keys such an op does not take."""

import numpy as np
import pytest

from harness import ops
from harness.cases.load import SCHEMA, CaseError
from harness.cases.model import Case, params_text
from harness.fingerprint.forward import fingerprint
from harness.numerics import families
from harness.numerics.verdict import judge
from tests.unit.cases.casefile import load_one

LRN = "size: 3\nalpha: 0.5\nbeta: 0.75\nk: 1.0"


def load(tmp_path, op="local_response_norm", extra=LRN, layout="NCHW", shape="{N: 2, C: 5, H: 2, W: 2}"):
    return load_one(tmp_path, op=op, layout=layout, shape=shape, extra=extra)


def test_definition_keys_reach_the_schema_ids_and_records(tmp_path):
    props = SCHEMA["properties"]["cases"]["items"]["properties"]
    assert {"size", "alpha", "beta", "k"} <= set(props)
    cases = load(tmp_path, extra="size: [3, 4]\nalpha: 0.5\nbeta: 0.75\nk: [1.0, 2.0]")
    assert [c.id for c in cases] == ["c-n3-a0.5-b0.75-k1-float32", "c-n3-a0.5-b0.75-k2-float32",
                                     "c-n4-a0.5-b0.75-k1-float32", "c-n4-a0.5-b0.75-k2-float32"]
    c = cases[0]
    assert c.arg("size") == 3 and c.epsilon is None and c.affine == "none"
    assert Case.from_dict(c.to_dict()) == c
    text = params_text(c.to_dict())
    assert "size=3 alpha=0.5 beta=0.75 k=1" in text and "eps=" not in text and "affine=" not in text
    f = c.semantics
    assert f.op == "local_response_norm" and f.axes == "C" and f.convention("window") == "onnx"
    assert "alpha divided by the window size" in f.describe()


def test_l2_takes_axes_and_epsilon(tmp_path):
    (c,) = load(tmp_path, op="l2_normalize", extra="axes: TF\nepsilon: default", layout="BTF",
                shape="{B: 2, T: 3, F: 4}")
    assert c.semantics.axes == "TF" and c.semantics_with(1e-12).eps == 1e-12
    assert "each framework's documented default" in c.semantics.describe()


@pytest.mark.parametrize("op,extra,match", [
    ("local_response_norm", LRN + "\nepsilon: 1.0e-5", "local_response_norm takes no epsilon"),
    ("local_response_norm", LRN + "\naffine: random", "local_response_norm takes no affine"),
    ("l2_normalize", "affine: ones", "l2_normalize takes no affine"),
    ("local_response_norm", "alpha: 0.5\nbeta: 0.75\nk: 1.0", "local_response_norm needs size"),
    ("local_response_norm", "size: 0\nalpha: 0.5\nbeta: 0.75\nk: 1.0", "size"),
    ("local_response_norm", "size: 3\nalpha: -1\nbeta: 0.75\nk: 1.0", "alpha"),
    ("local_response_norm", "size: 3\nalpha: 1\nbeta: 0\nk: 1.0", "beta"),
    ("layer_norm", "size: 3", "only local_response_norm takes size, not layer_norm"),
    ("l2_normalize", "axes: Q", "must name distinct axes"),
])
def test_refusals_are_one_line(tmp_path, op, extra, match):
    with pytest.raises(CaseError, match=match) as e:
        load(tmp_path, op=op, extra=extra)
    assert "\n" not in str(e.value) and "c.yaml:" in str(e.value)


def test_formula_needs_a_definition_and_semantics_refuses_one():
    with pytest.raises(ValueError, match="semantics, not a formula"):
        ops.get("layer_norm").formula("BTF")
    with pytest.raises(ValueError, match="own definition"):
        ops.get("l2_normalize").semantics("BTF")
    f = ops.get("local_response_norm").formula("NCHW", args=(("size", 3), ("alpha", 1.0), ("beta", 1.0), ("k", 1.0)))
    assert f.eps is None  # no epsilon, whatever is passed
    assert f.with_(alpha="whole").differences(f) == [
        "alpha not divided by the window size: alpha * sum (TensorFlow)"]


def _lrn(**conv):
    return ops.get("local_response_norm").formula(
        "NCHW", args=(("size", 3), ("alpha", 0.5), ("beta", 0.75), ("k", 1.0))).with_(**conv)


@pytest.mark.parametrize("conv,words", [
    ({"alpha": "whole"}, "alpha not divided by the window size"),
    ({"window": "radius"}, "depth_radius=size channels on each side"),
])
def test_fingerprint_names_the_lrn_convention_of_a_synthetic_output(conv, words):
    x = np.random.default_rng(1).standard_normal((2, 6, 2, 2)).astype(np.float32)
    expected = _lrn()
    y = families.reference(x, _lrn(**conv)).astype(np.float32)
    cmp, _ = judge(y, x, expected, "float32")
    assert not cmp.ok
    fp = fingerprint(x, y, expected, "float32")
    assert fp["explanation"].startswith(f"the output fits {words}") or words in fp["explanation"].split(";")[0]
    assert "the case expects" in fp["explanation"]
    # the definition's own output agrees and its fingerprint would name nothing else
    ok, _ = judge(families.reference(x, expected).astype(np.float32), x, expected, "float32")
    assert ok.ok


@pytest.mark.parametrize("clamp,eps,words", [
    ("squared_norm", 1e-12, "eps clamps the squared norm"),
    ("none", 1e-3, "no epsilon: x / ||x||"),
])
def test_fingerprint_names_the_l2_epsilon_convention(clamp, eps, words):
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((3, 4)) * np.array([[1.0], [1e-8], [1e-5]])).astype(np.float64)
    expected = ops.get("l2_normalize").formula("BF", eps=eps)
    y = families.reference(x, expected.with_(clamp=clamp))
    cmp, _ = judge(y, x, expected, "float64")
    assert not cmp.ok
    fp = fingerprint(x, y, expected, "float64")
    assert fp["explanation"].startswith(f"the output fits {words}"), fp["explanation"]
    assert "eps clamps the norm" in fp["explanation"]  # what the case expects


def test_fingerprint_names_an_epsilon_lost_in_float16():
    x = np.zeros((2, 4), np.float16)
    expected = ops.get("l2_normalize").formula("BF", eps=1e-12)
    y = np.full((2, 4), np.nan, np.float16)
    fp = fingerprint(x, y, expected, "float16")
    assert "8 of 8 outputs are NaN" in fp["explanation"]
    assert "epsilon 1e-12 rounds to 0 in float16" in fp["explanation"]


def test_fingerprint_says_unknown_when_nothing_fits():
    x = np.random.default_rng(3).standard_normal((2, 6, 2, 2))
    y = x * 0.5
    fp = fingerprint(x, y, _lrn(), "float64")
    assert "cause unknown" in fp["explanation"] and not fp["matches"]


def test_fingerprint_names_a_float64_result_computed_in_float32():
    x = np.random.default_rng(4).standard_normal((3, 5))
    expected = ops.get("l2_normalize").formula("BF", eps=1e-12)
    y = (x.astype(np.float32) / np.linalg.norm(x.astype(np.float32), axis=-1, keepdims=True) * np.float32(1 + 2 ** -22)
         ).astype(np.float64)
    fp = fingerprint(x, y, expected, "float64")
    assert "computed in float32" in fp["explanation"], fp["explanation"]


def test_fingerprint_names_a_symmetric_window_of_size_minus_one_for_an_even_size():
    """An even window of size - 1 channels centred on c (OpenVINO's LRN for size 4) is told apart from the
    ONNX window (one more channel after c), PyTorch's (one more before) and the docstring's (one more each)."""
    x = np.random.default_rng(2).standard_normal((2, 8, 2, 2)).astype(np.float32)
    expected = ops.get("local_response_norm").formula(
        "NCHW", args=(("size", 4), ("alpha", 0.5), ("beta", 0.75), ("k", 1.0)))
    y = families.reference(x, expected.with_(window="symmetric")).astype(np.float32)
    cmp, _ = judge(y, x, expected, "float32")
    assert not cmp.ok
    fp = fingerprint(x, y, expected, "float32")
    assert fp["explanation"].startswith("the output fits window from c-(size-1)//2 to c+(size-1)//2"), fp
    assert fp["best"]["window"] == "symmetric"
