"""The masked reference (harness/numerics/masked.py) against exact rational arithmetic, and the achievable
error of masked statistics.

The exact definition: per statistics row, the mean and variance of its unmasked elements (divisor n - ddof),
every element (masked ones too) normalized with them; no unmasked element (or n - ddof <= 0, or a zero
denominator): NaN. Bounds as the unmasked reference's (tests/unit/numerics/test_exact.py): 7 u |exact|
plus one subnormal ulp without affine; 8 u |exact xhat * gamma| + u |exact| + 2 subnormal ulps with it.
"""
import math
from decimal import localcontext
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import ops
from harness.numerics import masked
from harness.numerics.achievable import achievable_error, stable
from harness.numerics.masked import normalize_masked
from harness.numerics.reference import normalize, rows
from harness.numerics.verdict import judge
from harness.ops.layouts import Layout
from tests.unit.numerics import oracle
from tests.unit.numerics.test_exact import (
    SETTINGS,
    array,
    op_cases,
    params,
    registry_ops,
)

U = Fraction(1, 2 ** 53)
TINY = oracle.TINY


def exact_xhat(x, sem, mask):
    """The exact masked normalized values (Decimal, or None for NaN), in x's shape."""
    fx = oracle.frac(x)
    flat, back = rows(fx, sem)
    vflat, _ = rows(np.broadcast_to(mask, x.shape), sem)
    out = np.empty(flat.shape, object)
    with localcontext(oracle.CTX):
        for idx in np.ndindex(flat.shape[:-1]):
            r, v = list(flat[idx]), list(vflat[idx])
            valid = [a for a, keep in zip(r, v) if keep]
            n = len(valid) - sem.ddof if sem.center else len(valid)
            s = None
            if valid and n > 0:
                mean = sum(valid, Fraction(0)) / len(valid) if sem.center else Fraction(0)
                var = sum(((a - mean) ** 2 for a in valid), Fraction(0)) / n
                eps = Fraction(sem.eps)
                s = oracle.sqrt(var) + oracle.dec(eps) if sem.eps_outside else oracle.sqrt(var + eps)
                s = None if s == 0 else s
            for j, a in enumerate(r):
                out[idx + (j,)] = None if s is None else oracle.dec(a - mean) / s
    return back(out)


def assert_masked(x, sem, mask, gamma=None, beta=None):
    got = normalize_masked(x, sem, mask, gamma, beta)
    xh = exact_xhat(x, sem, mask)
    want, yg = oracle._affine(xh, sem, gamma, beta) if gamma is not None or beta is not None else (xh, xh)
    for i in np.ndindex(x.shape):
        ex = want[i]
        if ex is None:
            assert math.isnan(got[i]), (i, got[i], sem.describe(), x.tolist(), mask.tolist())
            continue
        if gamma is not None:
            bound = 8 * U * abs(Fraction(yg[i])) + U * abs(Fraction(ex)) + 2 * TINY
        else:
            bound = 7 * U * abs(Fraction(ex)) + TINY
        assert oracle.within(float(got[i]), ex, bound), (
            f"{sem.describe()}: element {i} (unmasked: {bool(np.broadcast_to(mask, x.shape)[i])}): got {got[i]!r}, "
            f"exact {float(ex)!r} ({oracle.ulps(float(got[i]), ex):.3g} ulps); x = {x.tolist()}; "
            f"mask = {np.asarray(mask).tolist()}")


def sem(op, layout="BF", **kw):
    return ops.get(op).semantics(layout, **kw)


# --- hand-computed values ------------------------------------------------------------------------------------

def test_statistics_of_the_unmasked_elements_apply_to_every_element():
    x = np.array([[1.0, 3.0, 100.0, -50.0]])
    mask = np.array([[True, True, False, False]])
    y = normalize_masked(x, sem("layer_norm", eps=0.0), mask)
    # mean 2, variance 1: every element is x - 2
    np.testing.assert_array_equal(y, [[-1.0, 1.0, 98.0, -52.0]])
    r = normalize_masked(x, sem("rms_norm", eps=0.0), mask)  # mean square 5
    np.testing.assert_allclose(r, x / math.sqrt(5.0), rtol=1e-15)
    # batch norm over B: the masked sample does not count
    xb = np.array([[1.0, 10.0], [3.0, 30.0], [7.0, -1.0]])
    mb = np.array([[True], [True], [False]])
    np.testing.assert_array_equal(normalize_masked(xb, sem("batch_norm", eps=0.0), mb),
                                  [[-1.0, -1.0], [1.0, 1.0], [5.0, -2.1]])


def test_a_row_without_unmasked_elements_is_nan_and_a_full_mask_is_the_unmasked_reference():
    x = np.arange(12.0).reshape(3, 4) ** 1.5
    mask = np.array([[True] * 4, [False] * 4, [True, False, True, True]])
    y = normalize_masked(x, sem("layer_norm"), mask)
    assert np.isnan(y[1]).all() and np.isfinite(y[[0, 2]]).all()
    np.testing.assert_array_equal(y[0], normalize(x[:1], sem("layer_norm"))[0])
    gamma, beta = np.linspace(0.5, 2, 4), np.linspace(-1, 1, 4)
    np.testing.assert_array_equal(normalize_masked(x, sem("layer_norm"), np.ones_like(x, bool), gamma, beta),
                                  normalize(x, sem("layer_norm"), gamma, beta))


def test_constant_unmasked_elements():
    """eps > 0: the unmasked elements normalize to 0, a masked one to its deviation / sqrt(eps);
    eps == 0: 0/0 and d/0, no value (NaN) for the whole row."""
    x = np.array([[3.0, 3.0, 5.0]])
    mask = np.array([[True, True, False]])
    y = normalize_masked(x, sem("layer_norm", eps=0.25), mask)
    np.testing.assert_array_equal(y, [[0.0, 0.0, 4.0]])
    assert np.isnan(normalize_masked(x, sem("layer_norm", eps=0.0), mask)).all()


def test_masked_deviations_close_to_the_mean_take_the_exact_path(monkeypatch):
    calls = []
    real = masked._exact_deviation
    monkeypatch.setattr(masked, "_exact_deviation", lambda *a: calls.append(a) or real(*a))
    x = np.array([[1.0, 1 + 2.0 ** -52, 1 - 2.0 ** -53, 1 + 2.0 ** -60, 7.0]])
    mask = np.array([[True, True, True, False, False]])
    assert_masked(x, sem("layer_norm", eps=0.0), mask)
    assert len(calls) == 1  # 1 + 2**-60 sits within 2**-52 of the mean; 7 does not


@pytest.mark.parametrize("masked_value", [1e300, -1.7976931348623157e308, 5e-324, 0.0, 1e-300])
@pytest.mark.parametrize("row", [[1e-300, 2e-300, 3e-300], [1.0, 2.0, 4.0], [1e300, 1.0, -1e300], [3.0, 3.0, 3.0]])
@pytest.mark.parametrize("op", ["layer_norm", "rms_norm"])
def test_masked_values_far_outside_the_unmasked_range(op, row, masked_value):
    x = np.array([row + [masked_value], [masked_value] + row[::-1]])
    mask = np.array([[True] * len(row) + [False], [False] + [True] * len(row)])
    for eps in (0.0, 1e-5, 1e300):
        s = sem(op, eps=eps)
        assert_masked(x, s, mask)
        assert_masked(x, s, mask, np.array([1e-300, 3.0, 1e200, 0.5]))
        if s.center:
            assert_masked(x, s.with_(ddof=1, eps_outside=True), mask)


# --- every op, the whole range, random masks -------------------------------------------------------------------

@pytest.mark.parametrize("name", registry_ops("forward"))
@settings(max_examples=15, **SETTINGS)
@given(data=st.data())
def test_masked_forward_is_exact_to_a_few_ulps(name, data):
    s, sizes = data.draw(op_cases(name, "forward"))
    lay = Layout(s.layout)
    shape = lay.shape(sizes)
    x = array(data.draw, shape)
    pshape = tuple(1 if a == lay.channel else sizes[a] for a in lay.axes)
    bits = data.draw(st.lists(st.booleans(), min_size=int(np.prod(pshape)), max_size=int(np.prod(pshape))))
    mask = np.array(bits, bool).reshape(pshape)
    assert_masked(x, s, mask)
    gamma, beta = params(data.draw, s, sizes)
    if gamma is not None:
        assert_masked(x, s, mask, gamma, beta)


# --- the achievable error with a mask ---------------------------------------------------------------------------

def test_stable_masked_statistics_and_the_achievable_error():
    rng = np.random.default_rng(0)
    x = (1000.0 + rng.standard_normal((2, 6, 4))).astype(np.float32)
    mask = np.ones((2, 6, 1), bool)
    mask[0, 4:] = False
    mask[1, 2:] = False
    s = ops.get("batch_norm").semantics("BTF")
    ref = normalize_masked(x, s, mask)
    y = stable(x, s, "float32", mask=mask)
    err = float(np.max(np.abs(y - ref)))
    assert 0 < err < 1e-3
    ach = achievable_error(x, ref, s, "float32", mask=mask)
    assert err <= ach < 1e-3
    # the unmasked statistics are far off: a framework ignoring the mask diverges
    cmp, _ = judge(normalize(x, s).astype(np.float32), x, s, "float32", mask=mask)
    assert not cmp.ok and cmp.ratio > 100
    cmp, _ = judge(y.astype(np.float32), x, s, "float32", mask=mask)
    assert cmp.ok


def test_fully_masked_rows_are_left_out_of_the_achievable_error_and_must_be_nan():
    x = np.arange(12.0, dtype=np.float32).reshape(2, 6, 1) * np.ones((1, 1, 3), np.float32)
    mask = np.zeros((2, 6, 1), bool)
    mask[0, :3] = True
    s = ops.get("layer_norm").semantics("BTF", axes="TF")
    ref = normalize_masked(x, s, mask)
    assert np.isnan(ref[1]).all() and np.isfinite(ref[0]).all()
    assert np.isfinite(achievable_error(x, ref, s, "float32", mask=mask))
    cmp, _ = judge(ref.astype(np.float32), x, s, "float32", mask=mask)
    assert cmp.ok
    finite = np.where(np.isnan(ref), 0.0, ref).astype(np.float32)
    cmp, _ = judge(finite, x, s, "float32", mask=mask)
    assert not cmp.ok and "finite where the reference is not" in cmp.nonfinite
