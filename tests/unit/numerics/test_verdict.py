"""The verdict rule and error metrics: achievable-scaled bounds, case tolerances, NaN/inf, ULPs."""
import ml_dtypes
import numpy as np
import pytest

from harness.cases.model import Tolerance
from harness.numerics.verdict import FACTOR, FLOOR, compare, ulp_distance


def test_ulp_distance():
    one = np.float32(1.0)
    nxt = np.nextafter(one, np.float32(2))
    assert ulp_distance(np.array([nxt]), np.array([1.0]), "float32")[0] == 1
    assert ulp_distance(np.array([-0.0], np.float32), np.array([0.0]), "float32")[0] == 0
    tiny = np.nextafter(np.float32(0), np.float32(1))
    assert ulp_distance(np.array([-tiny]), np.array([float(tiny)]), "float32")[0] == 2
    assert ulp_distance(np.array([1.0 + 2**-52]), np.array([1.0]), "float64")[0] == 1
    bf = np.array([1.0078125], ml_dtypes.bfloat16)  # 1 + 2**-7: the next bfloat16 after 1
    assert ulp_distance(bf, np.array([1.0]), "bfloat16")[0] == 1


def test_compare_agree_and_diverge():
    e = np.linspace(-2, 2, 24).reshape(2, 3, 4)
    ok = compare(e.astype(np.float32), e, "float32")
    assert ok.ok and ok.max_abs < 1e-6 and ok.max_ulp <= 0.5
    bad = e.copy()
    bad[1, 2, 3] += 0.5
    r = compare(bad, e, "float64", achievable=1e-15)
    assert not r.ok and r.n_bad == 1 and r.worst_index == [1, 2, 3]
    assert r.max_abs == pytest.approx(0.5) and r.worst_expected == pytest.approx(2.0)
    assert r.ratio == pytest.approx(0.5e15) and r.allowed == pytest.approx(FACTOR * 1e-15 + FLOOR["float64"])


def test_rule_scales_with_the_achievable_error():
    e = np.array([0.0, 1.0])
    ach = 0.1
    limit = FACTOR * ach + FLOOR["float32"]
    assert compare(np.array([0.0, 1.0 + 0.99 * limit]), e, "float32", achievable=ach).ok
    r = compare(np.array([0.0, 1.0 + 1.01 * limit]), e, "float32", achievable=ach)
    assert not r.ok and r.ratio == pytest.approx(1.01 * limit / ach)
    # with nothing achievable to speak of, only the floor remains
    assert compare(np.array([0.0, 1.0 + 0.9 * FLOOR["float32"]]), e, "float32").ok
    assert not compare(np.array([0.0, 1.0 + 1.1 * FLOOR["float32"]]), e, "float32").ok


def test_case_tolerance_factor_and_atol():
    e = np.array([0.0, 1.0])
    y = np.array([0.0, 1.5])
    assert not compare(y, e, "float32", achievable=0.01).ok
    r = compare(y, e, "float32", achievable=0.01, tolerance=Tolerance("known loose", factor=100))
    assert r.ok and r.rule == "factor" and r.factor == 100
    r = compare(y, e, "float32", tolerance=Tolerance("abs", atol=0.4, rtol=0.2))
    assert r.ok and r.rule == "atol/rtol"
    assert not compare(y, e, "float32", tolerance=Tolerance("abs", atol=0.4, rtol=0.05)).ok


def test_compare_nan_inf_and_shape():
    e = np.array([np.nan, np.inf, 1.0])
    assert compare(np.array([np.nan, np.inf, 1.0]), e, "float64").ok
    r = compare(np.array([np.nan, np.inf, np.nan]), e, "float64", achievable=np.inf)
    assert not r.ok and r.max_abs == np.inf and r.worst_index == [2]
    assert not compare(np.array([np.nan, -np.inf, 1.0]), e, "float64").ok
    r = compare(np.zeros((3, 2)), np.zeros((2, 3)), "float32")
    assert not r.ok and "shape" in r.shape_mismatch


def test_nonfinite_outputs_are_counted_first():
    e = np.ones(6)
    r = compare(np.array([np.nan, np.nan, np.inf, 1, 1, 1]), e, "float32", achievable=10.0)
    assert not r.ok and r.n_nan == 2 and r.n_inf == 1
    assert r.nonfinite == "2 of 6 outputs are NaN; 1 of 6 outputs are inf"
    r = compare(np.ones(2), np.array([np.nan, 1.0]), "float32", achievable=10.0)
    assert not r.ok and r.nonfinite == "1 of 2 outputs are finite where the reference is not"


def test_ulp_is_measured_in_the_spacing_at_the_expected_value_not_across_zero():
    e = np.array([0.0, 1.0, 2.0])
    # 1e-17 away from an expected 0 is not 10**9 ulp: elements near zero are left out
    r = compare(np.array([1e-17, 1.0, 2.0]), e, "float64")
    assert r.max_ulp == 0.0
    r = compare(np.array([0.0, 1.0 + 2 ** -52, 2.0]), e, "float64")
    assert r.max_ulp == pytest.approx(1.0)
    r = compare(np.array([0.0, 1.0, 2.0 + 2 ** -22]), e, "float32")
    assert r.max_ulp == pytest.approx(1.0)
    assert compare(np.zeros(3), np.zeros(3), "float32").max_ulp is None


def test_relative_error_ignores_tiny_references():
    e = np.array([1e-12, 1.0])
    r = compare(np.array([2e-12, 1.0]), e, "float32")
    assert r.ok and r.max_rel == 0.0
