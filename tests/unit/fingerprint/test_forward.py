"""Fingerprinting: feed outputs of known members of the family and find them again."""
import numpy as np
import pytest

from harness.fingerprint.family import candidates, difference
from harness.fingerprint.forward import fingerprint
from harness.numerics.reference import normalize
from harness.ops.registry import op_semantics
from harness.ops.semantics import Semantics

X = np.random.default_rng(0).standard_normal((2, 5, 6)).astype(np.float32)


@pytest.fixture
def rng():
    """A generator of the test's own: no test's draws depend on which tests ran before it."""
    return np.random.default_rng(1)


def test_gn1_output_is_recognised_against_the_ln_expectation():
    ln = op_semantics("layer_norm", "BTF", eps=1e-5)
    gn1 = op_semantics("group_norm", "BTF", groups=1, eps=1e-5).with_(affine_axes=("F",))
    y = normalize(X, gn1).astype(np.float32)
    fp = fingerprint(X, y, ln, "float32")
    assert fp["best"]["stat_axes"] == "TF"
    assert fp["explanation"].startswith("normalized over {T,F}; the case expects {F}")


@pytest.mark.parametrize("variant,text", [
    ({"eps": 1e-3}, "epsilon 0.001 instead of 1e-05"),
    ({"eps_outside": True}, "epsilon added outside the square root"),
    ({"ddof": 1}, "unbiased (n-1) variance"),
    ({"center": False, "bias": False}, "not centred (RMS)"),
])
def test_numeric_variants_are_named(variant, text, rng):
    expected = op_semantics("layer_norm", "BTF", axes="TF", eps=1e-5)
    x = rng.standard_normal((2, 5, 6)) * 0.05 + 0.01  # small variance: eps variants are visible
    y = normalize(x, expected.with_(**variant))
    fp = fingerprint(x, y, expected, "float64")
    assert text in fp["explanation"], fp["explanation"]


def test_grouping_is_found(rng):
    expected = op_semantics("group_norm", "NCHW", groups=4, eps=1e-5)
    x = rng.standard_normal((2, 8, 3, 3))
    y = normalize(x, expected.with_(groups=2))
    fp = fingerprint(x, y, expected, "float64")
    assert fp["best"]["groups"] == 2 and "in 2 channel groups" in fp["explanation"]


def test_near_ties_are_all_reported(rng):
    # T=1: statistics over {F} and over {T,F} are the same set of elements
    x = rng.standard_normal((3, 1, 8))
    expected = op_semantics("layer_norm", "BTF", eps=1e-5)
    y = normalize(x, expected.with_(eps=1e-3))
    fp = fingerprint(x, y, expected, "float64")
    axes = {m["semantics"]["stat_axes"] for m in fp["matches"]}
    assert {"F", "TF"} <= axes
    assert fp["n_matches"] >= 2
    assert "epsilon 0.001" in fp["explanation"]


def test_precision_noise_is_called_numerical(rng):
    # float32 output with errors: not float16-representable, so not "computed in float16"
    expected = op_semantics("layer_norm", "BTF", eps=1e-5)
    y = normalize(X, expected) + 1e-3 * rng.standard_normal(X.shape)
    fp = fingerprint(X, y, expected, "float32")
    assert not fp["matches"]
    assert "numerical difference, not a different formula" in fp["explanation"]


def test_ignored_affine(rng):
    expected = op_semantics("group_norm", "BTF", groups=2, eps=1e-5)
    g, b = rng.standard_normal(6) + 1, rng.standard_normal(6)
    y = normalize(X, expected)  # the framework dropped gamma/beta
    fp = fingerprint(X, y, expected, "float32", g, b)
    assert "without the affine transform" in fp["explanation"]


def test_candidates_cover_every_axis_subset():
    sems = list(candidates(op_semantics("layer_norm", "BTF"), 6))
    assert {tuple(s.stat_axes) for s in sems} >= {("F",), ("T", "F"), ("B", "T"), ("B", "T", "F")}


def test_difference_of_identical_is_expected():
    s = Semantics("BTF", ("F",), ("F",))
    assert difference(s, s) == "the expected semantics"


def test_float64_computed_in_float32_is_named(rng):
    expected = op_semantics("layer_norm", "BTF", eps=1e-5)
    x = rng.standard_normal((2, 5, 6))
    y = normalize(x, expected).astype(np.float32).astype(np.float64)  # a float64 output holding float32 values
    fp = fingerprint(x, y, expected, "float64")
    assert fp["computed_in"] == "float32"
    assert "the float64 result was computed in float32" in fp["explanation"]


def test_one_pass_variance_is_recognised_by_its_size(rng):
    from harness.numerics.achievable import one_pass, stable
    expected = op_semantics("layer_norm", "BTF", eps=1e-5)
    x = (100.0 + rng.standard_normal((2, 4, 64))).astype(np.float32)
    y = one_pass(x, expected, "float32").astype(np.float32)
    fp = fingerprint(x, y, expected, "float32")
    assert fp["variance_probe"]["one_pass_like"]
    assert fp["explanation"].startswith("one-pass variance E[x²]−E[x]² accumulated in float32")
    # a stable two-pass computation in float32 is not flagged
    y2 = stable(x, expected, "float32").astype(np.float32) + 3e-5
    fp2 = fingerprint(x, y2, expected, "float32")
    assert not fp2.get("variance_probe", {}).get("one_pass_like")


def test_output_collapsed_to_beta_is_said_so():
    expected = op_semantics("layer_norm", "BTF", eps=1e-5)
    x = np.linspace(-6e4, 6e4, 2 * 4 * 8).astype(np.float16).reshape(2, 4, 8)
    beta = np.linspace(-1, 1, 8)
    y = np.broadcast_to(beta, x.shape).astype(np.float16)
    fp = fingerprint(x, y, expected, "float16", np.ones(8), beta)
    assert fp["explanation"].startswith("every normalized value is 0 (the output is beta): x² overflows float16")


def test_numerical_variants_do_not_explain_rounding_noise(rng):
    # an output just outside tolerance must not be "explained" by epsilon 1.001e-5 or eps outside the sqrt
    expected = op_semantics("layer_norm", "BTF", eps=1e-5)
    y = normalize(X, expected) + 1.5e-5 * np.sign(rng.standard_normal(X.shape))
    fp = fingerprint(X, y, expected, "float32")
    assert "epsilon" not in fp["explanation"]
