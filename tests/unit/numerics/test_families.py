"""The float64 references of the ops with their own definition (L2 normalization, local response
normalization) against exact arithmetic (fractions, and decimal square roots, logarithms and exponentials
at 80 digits) on hostile inputs: huge, tiny and subnormal values, rows mixing them, constant rows,
zero rows, rows of one element; and the achievable errors."""
from decimal import Decimal, getcontext
from fractions import Fraction

import numpy as np
import pytest

from harness import ops
from harness.numerics import families

U = 2.0 ** -53
TINY = 2.0 ** -1074
getcontext().prec = 80


def _dec(fr: Fraction) -> Decimal:
    return Decimal(fr.numerator) / Decimal(fr.denominator)


def _check(got: float, exact: Decimal, bound_u: float, what: str):
    if exact == 0:
        assert got == 0, what
        return
    if abs(exact) > Decimal(np.finfo(np.float64).max):  # beyond the float64 range: infinite
        assert np.isinf(got) and (got > 0) == (exact > 0), what
        return
    err = abs(Decimal(got) - exact)
    # one ulp of the subnormal range where the result is subnormal
    assert err <= Decimal(bound_u * U) * abs(exact) + Decimal(TINY), f"{what}: got {got!r}, exact {exact:.25e}"


def hostile_rows(rng, m):
    rows = [
        rng.standard_normal(m),
        rng.standard_normal(m) * 1e300,
        rng.standard_normal(m) * 1e-300,
        rng.standard_normal(m) * 2.0 ** -1060,  # subnormal
        np.full(m, 3.0),
        np.zeros(m),
        np.concatenate([[1e300], rng.standard_normal(m - 1) * 1e-300]),
        np.concatenate([[1.7e308], np.full(m - 1, -1.7e308)]),
        rng.standard_normal(m) * 1e-8,
    ]
    return np.array(rows)


def l2_exact(row, eps, clamp):
    fr = [Fraction(float(v)) for v in row]
    s = sum(v * v for v in fr)
    if s == 0:
        return [Decimal(0)] * len(row)
    norm = _dec(s).sqrt()
    e = _dec(Fraction(eps))
    if clamp == "norm":
        den = max(norm, e)
    elif clamp == "squared_norm":
        den = max(_dec(s), e).sqrt()
    else:
        den = norm
    return [_dec(v) / den for v in fr]


@pytest.mark.parametrize("clamp", ["norm", "squared_norm", "none"])
@pytest.mark.parametrize("eps", [1e-12, 1e-3, 1e300, 1e-310])
def test_l2_reference_is_exact_to_a_few_ulps(clamp, eps):
    rng = np.random.default_rng(3)
    for m in (1, 2, 5):
        x = hostile_rows(rng, m)
        f = ops.get("l2_normalize").formula("BF", eps=eps).with_(clamp=clamp)
        y = families.reference(x, f)
        for i, row in enumerate(x):
            for j, ex in enumerate(l2_exact(row, eps, clamp)):
                _check(float(y[i, j]), ex, 2.1, f"row {i} m={m} {clamp} eps={eps}")


def test_l2_conventions_differ_where_the_docs_say():
    f = ops.get("l2_normalize").formula("BF", eps=1e-12)
    x = np.array([[3e-8, 4e-8], [0.0, 0.0], [3.0, 4.0]])
    norm = families.reference(x, f)
    sq = families.reference(x, f.with_(clamp="squared_norm"))
    none = families.reference(x, f.with_(clamp="none"))
    assert norm[0].tolist() == pytest.approx([0.6, 0.8], rel=1e-15)  # the norm 5e-8 is above eps
    assert sq[0].tolist() == pytest.approx([0.03, 0.04], rel=1e-15)  # its square is below eps: / sqrt(eps)
    assert norm[1].tolist() == sq[1].tolist() == none[1].tolist() == [0.0, 0.0]
    assert norm[2].tolist() == sq[2].tolist() == none[2].tolist() == pytest.approx([0.6, 0.8], rel=1e-15)
    below = families.reference(x, f.with_(eps=1e-3))
    assert below[0].tolist() == pytest.approx([3e-5, 4e-5], rel=1e-15)  # x / eps
    assert families.reference(x, f.with_(eps=1e-3, clamp="none"))[0].tolist() == pytest.approx([0.6, 0.8])


def lrn_exact(x, size, alpha, beta, k, before, after, per_size=True):
    """x: (N, C) exact LRN along C."""
    a = Fraction(alpha) / size if per_size else Fraction(alpha)
    out = []
    for row in x:
        fr = [Fraction(float(v)) for v in row]
        C = len(fr)
        res = []
        for c in range(C):
            s = sum(fr[i] ** 2 for i in range(max(0, c - before), min(C, c + after + 1)))
            t = Fraction(k) + a * s
            if t == 0:
                res.append(None)
                continue
            d = (_dec(t).ln() * _dec(Fraction(beta))).exp()
            res.append(_dec(fr[c]) / d)
        out.append(res)
    return out


@pytest.mark.parametrize("window,before_after", [("onnx", lambda n: ((n - 1) // 2, n // 2)),
                                                 ("torch", lambda n: (n // 2, (n - 1) // 2)),
                                                 ("symmetric", lambda n: ((n - 1) // 2, (n - 1) // 2)),
                                                 ("radius", lambda n: (n, n))])
@pytest.mark.parametrize("beta", [0.75, 2.0, 1 / 3])
@pytest.mark.parametrize("alpha,k", [(1e-4, 1.0), (3.0, 0.0), (1e-300, 1.0)])
def test_lrn_reference_is_exact_to_a_few_ulps(window, before_after, beta, alpha, k):
    rng = np.random.default_rng(5)
    x = hostile_rows(rng, 6)
    for size in (1, 3, 4):
        f = ops.get("local_response_norm").formula(
            "BF", args=(("size", size), ("alpha", alpha), ("beta", beta), ("k", k))).with_(window=window)
        y = families.reference(x, f)
        b, a = before_after(size)
        for i, row in enumerate(lrn_exact(x, size, alpha, beta, k, b, a)):
            for c, ex in enumerate(row):
                what = f"row {i} c={c} size={size} {window} alpha={alpha} beta={beta} k={k}"
                if ex is None:
                    assert np.isnan(y[i, c]), what
                else:
                    _check(float(y[i, c]), ex, 4.1 * beta + 4, what)


def test_lrn_alpha_convention_and_windows():
    f = ops.get("local_response_norm").formula(
        "NCL", args=(("size", 4), ("alpha", 1.0), ("beta", 1.0), ("k", 1.0)))
    x = np.array([[[1.0], [2.0], [3.0], [4.0], [5.0]]])  # N=1, C=5, L=1
    y = families.reference(x, f)[0, :, 0]
    # ONNX window of 4 around c=2: channels 1..4 -> 4 + 9 + 16 + 25 = 54; alpha/4
    assert y[2] == pytest.approx(3.0 / (1 + 54 / 4))
    yt = families.reference(x, f.with_(window="torch"))[0, :, 0]  # channels 0..3 -> 30
    assert yt[2] == pytest.approx(3.0 / (1 + 30 / 4))
    yw = families.reference(x, f.with_(alpha="whole"))[0, :, 0]
    assert yw[2] == pytest.approx(3.0 / (1 + 54))


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_achievable_errors_are_rounding_sized(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 7)).astype(dtype)
    u = {"float16": 2.0 ** -11, "float32": 2.0 ** -24, "float64": 2.0 ** -53}[dtype]
    for f in (ops.get("l2_normalize").formula("BF", eps=1e-12),
              ops.get("local_response_norm").formula(
                  "BF", args=(("size", 3), ("alpha", 0.5), ("beta", 0.75), ("k", 1.0)))):
        ref = families.reference(x, f)
        ach = families.achievable_error(x, ref, f, dtype)
        assert 0 < ach < 16 * u, (f.op, ach)
