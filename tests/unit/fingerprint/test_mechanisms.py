"""Numerical mechanisms: outputs built with emulations of how implementations compute (statistics stored
in or accumulated in half precision, a first stage in float32, group statistics tiled over the channels,
another reduction with a one-pass variance), and the fingerprint telling each apart by name."""
import numpy as np
import pytest

from harness.cases.inputs import round_to
from harness.fingerprint.forward import fingerprint
from harness.numerics.achievable import emulate
from harness.numerics.reference import normalize
from harness.ops.registry import op_semantics

BN = op_semantics("batch_norm", "BF", eps=1e-5)
LN = op_semantics("layer_norm", "BTF", eps=1e-5)
GN_PER_FRAME = op_semantics("group_norm", "BTF", groups=3, axes="F", eps=1e-5)
GN_IMAGES = op_semantics("group_norm", "NCHW", groups=2, eps=1e-5)
#: torch's CPU batch norm in half precision: float32 sums, the mean stored in the dtype, the variance taken
#: about that stored mean, 1/sqrt(var + eps) stored in the dtype, the normalization in float32
STORED_LIKE_TORCH = {"stats": "float32", "store_invstd": True, "about_stored_mean": True, "normalize_in": "float32"}


@pytest.fixture
def rng():
    return np.random.default_rng(11)


def _batch(rng, dtype, n=4096):
    """n samples of 4 channels with means near 100 (a float16 sum of them overflows), between two bfloat16
    values, and small spreads: a mean rounded to the dtype moves the output beyond what the dtype allows."""
    x = np.array([100.28, 117.22, 93.78, 108.27]) + rng.standard_normal((n, 4)) * np.array([0.5, 0.4, 0.3, 0.6])
    g = 1 + 0.5 * rng.standard_normal(4)
    b = 0.5 * rng.standard_normal(4)
    return round_to(x, dtype), round_to(g, dtype), round_to(b, dtype)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_statistics_stored_in_half_precision_are_not_called_accumulated_there(dtype, rng):
    x, g, b = _batch(rng, dtype)
    y = emulate(x, BN, dtype, g, b, store=dtype, **STORED_LIKE_TORCH)
    assert np.all(np.isfinite(y))
    if dtype == "float16":  # summed in float16 the 4096 values overflow: a finite output rules that out
        assert not np.all(np.isfinite(emulate(x, BN, dtype, g, b, stats=dtype)))
    text = fingerprint(x, y, BN, dtype, g, b)["explanation"]
    assert text.startswith(f"statistics accumulated in float32 and stored in {dtype} (mean and 1/sqrt(var + eps) "
                           f"rounded to {dtype}; the variance taken about the rounded mean): an emulation "
                           "reproduces the output"), text
    assert f"accumulated in {dtype}" not in text


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_statistics_accumulated_in_half_precision_are_not_called_stored(dtype, rng):
    x = round_to(100 + rng.standard_normal((2, 3, 64)), dtype)
    y = emulate(x, LN, dtype, stats=dtype, summation="sequential")
    text = fingerprint(x, y, LN, dtype)["explanation"]
    assert text.startswith(f"statistics accumulated in {dtype} (every partial sum rounded to {dtype}"), text
    assert "stored" not in text


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_an_output_neither_half_mechanism_reproduces_claims_neither(dtype, rng):
    x = round_to(100 + rng.standard_normal((2, 3, 64)), dtype)
    stored = emulate(x, LN, dtype, store=dtype, normalize_in=dtype)
    y = round_to(stored + 0.2 * np.sign(rng.standard_normal(x.shape)), dtype).astype(np.float64)
    text = fingerprint(x, y, LN, dtype)["explanation"]
    assert "no emulation reproduces the output" in text, text
    assert not text.startswith(("statistics accumulated", "statistics kept")), text


def test_an_output_both_half_mechanisms_reproduce_claims_neither():
    # bfloat16 at mean 100: pairwise bfloat16 sums and rounded float32 statistics give outputs alike
    x = round_to(100 + np.random.default_rng(5).standard_normal((2, 3, 64)), "bfloat16")
    y = emulate(x, LN, "bfloat16", store="bfloat16", normalize_in="bfloat16")
    text = fingerprint(x, y, LN, "bfloat16")["explanation"]
    assert text.startswith("statistics kept in bfloat16 (accumulated in bfloat16, or accumulated in float32 and "
                           "stored in bfloat16: emulations of both fit)"), text


def _affine(rng, sem, x):
    shape = tuple(x.shape[sem.layout.index(a)] for a in sem.affine_axes)
    return 1 + 0.5 * rng.standard_normal(shape), 0.5 * rng.standard_normal(shape)


@pytest.mark.parametrize("sem,shape", [(GN_IMAGES, (2, 4, 3, 3)), (LN, (2, 3, 16))])
@pytest.mark.parametrize("variance", ["one-pass", "two-pass"])
def test_a_float32_first_stage_of_a_float64_case_is_named(sem, shape, variance, rng):
    x = 300 + rng.standard_normal(shape)
    g, b = _affine(rng, sem, x)
    # ONNX's function bodies with stash_type=1: statistics and normalization in float32, scale and bias in float64
    y = emulate(x, sem, "float64", g, b, stats="float32", variance=variance, normalize_in="float32",
                affine_in="float64", invert=False)
    text = fingerprint(x, y, sem, "float64", g, b)["explanation"]
    assert text.startswith("first stage computed in float32 (as ONNX's stash_type=1 specifies): statistics and "
                           "normalization in float32, scale and bias in float64"), text
    assert ("one-pass variance" in text) == (variance == "one-pass"), text


def test_a_float32_first_stage_of_the_size_of_a_one_pass_variance_is_named_by_size(rng):
    x = 1000 + 0.01 * rng.standard_normal((2, 4, 3, 3))
    g, b = _affine(rng, GN_IMAGES, x)
    # summed in order: cancellation makes it differ from every emulation, but not in size
    y = emulate(x, GN_IMAGES, "float64", g, b, stats="float32", variance="one-pass", summation="sequential",
                normalize_in="float32", affine_in="float64")
    text = fingerprint(x, y, GN_IMAGES, "float64", g, b)["explanation"]
    assert text.startswith("first stage computed in float32 (as ONNX's stash_type=1 specifies) with a one-pass "
                           "variance E[x²]−E[x]²: the error"), text


def test_a_one_pass_variance_in_float64_is_not_called_a_float32_first_stage(rng):
    x = 1000 + 0.01 * rng.standard_normal((2, 4, 3, 3))
    g, b = _affine(rng, GN_IMAGES, x)
    y = emulate(x, GN_IMAGES, "float64", g, b, stats="float64", variance="one-pass")
    text = fingerprint(x, y, GN_IMAGES, "float64", g, b)["explanation"]
    assert text.startswith("one-pass variance E[x²]−E[x]² accumulated in float64"), text


@pytest.mark.parametrize("dtype,kw,words", [
    ("float64", {"stats": "float64"}, None),
    ("float32", {"stats": "float32", "variance": "one-pass"}, "one-pass variance E[x²]−E[x]² in float32"),
])
def test_group_statistics_tiled_over_the_channels_are_named(dtype, kw, words, rng):
    # flax.nnx.GroupNorm(reduction_axes=-1) on [B,T,C]: per frame and group, then repeated along the wrong axis
    x = round_to(rng.standard_normal((2, 5, 6)), dtype)
    g, b = _affine(rng, GN_PER_FRAME, x)
    y = emulate(x, GN_PER_FRAME, dtype, g, b, tiled_groups=True, **kw)
    fp = fingerprint(x, y, GN_PER_FRAME, dtype, g, b)
    assert fp["explanation"].startswith(
        "channel c normalized with the statistics of group c mod 3 (the 3 group statistics tiled over the 6 "
        "channels instead of each repeated over its own 2); the statistics themselves are over {F} per group as "
        "the case expects"), fp["explanation"]
    assert fp["best"]["tiled_groups"] is True
    if words:
        assert words in fp["explanation"]
    else:
        assert "one-pass" not in fp["explanation"]


@pytest.mark.parametrize("expected,reduced,start", [
    (LN, ("T", "F"), "normalized over {T,F}; the case expects {F}; "),
    (GN_PER_FRAME, ("T", "F"), "normalized over {T,F} in 3 channel groups; the case expects {F} in 3 groups; "),
])
def test_another_reduction_with_a_one_pass_variance_names_the_reduction(expected, reduced, start, rng):
    shape = (2, 5, 16) if expected is LN else (2, 5, 6)
    x = round_to(1000 + rng.standard_normal(shape), "float32")
    y = emulate(x, expected.with_(stat_axes=reduced), "float32", stats="float32", variance="one-pass")
    text = fingerprint(x, y, expected, "float32")["explanation"]
    assert text.startswith(start + "one-pass variance E[x²]−E[x]² in float32: an emulation reproduces the output"), \
        text


@pytest.mark.parametrize("sem,shape", [(LN, (2, 3, 8)), (GN_IMAGES, (2, 4, 3, 3)), (BN, (6, 4))])
def test_emulated_in_float64_a_member_is_its_reference(sem, shape, rng):
    x = rng.standard_normal(shape)
    g, b = _affine(rng, sem, x)
    assert np.allclose(emulate(x, sem, "float64", g, b, stats="float64"), normalize(x, sem, g, b), rtol=1e-12,
                       atol=1e-12)
