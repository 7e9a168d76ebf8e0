"""The oracle: an exact reference, the achievable error of stable implementations,
and a rule that tells rounding from algorithmic weakness."""
from decimal import Decimal, getcontext
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

from harness.fingerprint.forward import fingerprint
from harness.numerics.achievable import achievable_error, one_pass, squares_overflow, stable
from harness.numerics.reference import normalize
from harness.numerics.verdict import FACTOR, compare, judge
from harness.ops.registry import op_semantics

LN = op_semantics("layer_norm", "BTF", eps=1e-5)


def exact_layer_norm(row, eps):
    """Layer norm of one row in exact rational arithmetic, then a 50-digit square root."""
    getcontext().prec = 50
    fr = [Fraction(float(v)) for v in row]
    mean = sum(fr) / len(fr)
    var = sum((v - mean) ** 2 for v in fr) / len(fr) + Fraction(eps)
    root = Decimal(var.numerator) / Decimal(var.denominator)
    root = root.sqrt()
    return [float(Decimal((v - mean).numerator) / Decimal((v - mean).denominator) / root) for v in fr]


def inputs(mean, std, dtype, shape=(2, 3, 16), seed=0):
    g = np.random.default_rng(seed)
    return (mean + std * g.standard_normal(shape)).astype(dtype)


@pytest.mark.parametrize("mean,std", [(0.0, 1.0), (1e4, 1e-2), (1e8, 1.0), (-3e5, 7.0)])
def test_reference_is_exact_at_large_means(mean, std):
    x = inputs(mean, std, np.float64)
    y = normalize(x, LN)
    for idx in [(0, 0), (1, 2)]:
        want = np.array(exact_layer_norm(x[idx], 1e-5))
        # within a few float64 ulp of the exact value, where a plain two-pass loses digits
        np.testing.assert_allclose(y[idx], want, rtol=0, atol=8 * 2.0 ** -52 * np.abs(want).max())


def test_reference_does_not_overflow_where_squares_would():
    x = inputs(0.0, 1.0, np.float64)
    big = x * 1e300
    np.testing.assert_allclose(normalize(big, LN.with_(eps=0.0)), normalize(x, LN.with_(eps=0.0)), rtol=1e-13)
    rms = op_semantics("rms_norm", "BTF", eps=0.0)
    np.testing.assert_allclose(normalize(big, rms), normalize(x, rms), rtol=1e-13)


def test_hand_values_still_hold():
    # [1, 2, 3, 4]: mean 2.5, biased variance 1.25
    x = np.array([[[1.0, 2.0, 3.0, 4.0]]])
    want = (x - 2.5) / np.sqrt(1.25 + 1e-5)
    np.testing.assert_allclose(normalize(x, LN), want, rtol=1e-15)


def test_achievable_error_follows_conditioning():
    easy = inputs(0.0, 1.0, np.float32)
    hard = inputs(1e4, 1e-2, np.float32)
    a_easy = achievable_error(easy, normalize(easy, LN), LN, "float32")
    a_hard = achievable_error(hard, normalize(hard, LN), LN, "float32")
    assert 1e-8 < a_easy < 1e-5
    assert 1e-2 < a_hard < 1.0  # a mean of 1e4 costs float32 about 1e-3 absolute, 0.1 after dividing by 1e-2
    # float64 is not exact either at mean 1e4
    x64 = inputs(1e4, 1e-2, np.float64)
    assert 1e-13 < achievable_error(x64, normalize(x64, LN), LN, "float64") < 1e-8


def test_stable_emulation_is_in_the_dtype_and_careful_with_overflow():
    x = inputs(0.0, 1.0, np.float32)
    y = stable(x, LN, "float32")
    assert np.array_equal(y.astype(np.float32).astype(np.float64), y)
    big = (x.astype(np.float64) * 1e37).astype(np.float32)
    assert squares_overflow(big, "float32") is not None and squares_overflow(x, "float32") is None
    assert np.all(np.isfinite(stable(big, LN, "float32")))
    # half precision accumulates in float32: float16 values near the maximum do not overflow there
    h = (x.astype(np.float64) * 2e4).astype(np.float16)
    assert squares_overflow(h, "float16") is None
    bf = np.asarray(x, np.float32).astype(ml_dtypes.bfloat16)
    assert np.all(np.isfinite(stable(bf, LN, "bfloat16")))


@pytest.mark.parametrize("mean,std", [(1e3, 1e-2), (1e4, 1e-2), (1e4, 1.0), (1e3, 1.0)])
def test_one_pass_variance_diverges_and_two_pass_agrees(mean, std):
    x = inputs(mean, std, np.float32)
    good = stable(x, LN, "float32", summation="sequential")
    c_good, _ = judge(good, x, LN, "float32")
    assert c_good.ok and c_good.ratio < 2
    bad = one_pass(x, LN, "float32")
    c_bad, _ = judge(bad, x, LN, "float32")
    assert not c_bad.ok and c_bad.ratio > FACTOR
    fp = fingerprint(x, bad, LN, "float32", achievable=c_bad.achievable)
    assert fp["explanation"].startswith("one-pass variance E[x²]−E[x]² accumulated in float32")


def test_float64_computed_in_float32_diverges_with_its_explanation():
    x = inputs(1e3, 1.0, np.float64)
    y = stable(x.astype(np.float32), LN, "float32")
    c, _ = judge(y, x, LN, "float64")
    assert not c.ok and c.ratio > 1e4
    fp = fingerprint(x, y, LN, "float64", achievable=c.achievable)
    assert "computed in float32" in fp["explanation"]


def test_half_precision_with_half_accumulation_diverges():
    x = inputs(1e2, 1.0, np.float16, shape=(2, 3, 64))
    ok, _ = judge(stable(x, LN, "float16"), x, LN, "float16")
    assert ok.ok
    # statistics accumulated in float16 itself: what float32 accumulation avoids
    xs = x.astype(np.float16)
    mean = xs.mean(axis=-1, keepdims=True, dtype=np.float16)
    var = ((xs - mean) ** 2).mean(axis=-1, keepdims=True, dtype=np.float16)
    y = ((xs - mean) / np.sqrt(var + np.float16(1e-5))).astype(np.float16)
    bad, _ = judge(y, x, LN, "float16")
    assert not bad.ok, bad


def test_nan_output_is_told_plainly_and_never_explained_by_a_nan_member():
    x = np.full((2, 3, 4), 0.1, np.float32)  # constant: epsilon 0 would give 0/0 = NaN
    y = np.full(x.shape, np.nan, np.float32)
    fp = fingerprint(x, y, LN, "float32")
    assert fp["explanation"].startswith("24 of 24 outputs are NaN")
    assert not fp["matches"] and "epsilon 0" not in fp["explanation"]


def test_nan_from_an_unclipped_one_pass_variance_is_named():
    g = np.random.default_rng(3)
    x = (1e4 + 1e-2 * g.standard_normal((4, 5, 32))).astype(np.float32)
    y = one_pass(x, LN.with_(eps=1e-7), "float32", clip=False).astype(np.float32)
    assert np.isnan(y).any()
    fp = fingerprint(x, y, LN.with_(eps=1e-7), "float32")
    assert "outputs are NaN" in fp["explanation"] and "one-pass variance" in fp["explanation"]


def test_overflowing_squares_are_named():
    x = np.linspace(-3e38, 3e38, 24, dtype=np.float32).reshape(2, 3, 4)
    with np.errstate(all="ignore"):
        naive = ((x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)).astype(np.float32)
    c, ref = judge(naive, x, LN, "float32")
    assert np.all(np.isfinite(ref)) and not c.ok and c.nonfinite
    fp = fingerprint(x, naive, LN, "float32", achievable=c.achievable)
    assert "x² overflows float32" in fp["explanation"]


def test_rule_ignores_where_only_rounding_differs():
    x = inputs(1e4, 1e-2, np.float32)
    ref = normalize(x, LN)
    c = compare(ref.astype(np.float32), ref, "float32", achievable=achievable_error(x, ref, LN, "float32"))
    assert c.ok
