"""The float64 references against exact rational arithmetic (tests/unit/numerics/oracle.py), for
every finite float64 input: tiny, subnormal and huge values, rows mixing them, constant rows, rows of
one element; every op of the registry with its variants (statistics axes, groups, centring, ddof,
epsilon outside the square root, epsilon 0 and beyond 1e300, affine); every check (forward, backward
gradients, running statistics).

The bounds asserted, with u = 2**-53 (the derivations are in the modules' docstrings):

* forward, no affine: 7 u |exact| + 2**-1074, i.e. at most 7 ulps of the exact value (the
  deviation's 1.125 u enters twice; square, sum, division by n, + eps, sqrt and the final division add
  one rounding each: 6.25 u, 6.75 u with eps outside the sqrt; a subnormal result may round twice);
* forward with affine: gamma times that, one rounding of ``* gamma`` and one of ``+ beta``:
  8 u |exact xhat * gamma| + u |exact| + 2**-1073. Where ``xhat * gamma + beta`` cancels, the error
  is relative to ``xhat * gamma``: xhat is a rounded float64 before beta is added;
* dx: 32 u (|g| + mean|g| + |z| mean|g xhat|) / s (+ m 2**-1070 max|g| / s), element by element: dx is a
  difference of these terms and the definition itself cancels them (a row's dx sums to 0 and is
  orthogonal to xhat), so an element much smaller than its terms cannot be promised ulps of its own
  by any evaluation that rounds xhat or g once; where the terms do not cancel this is a few ulps;
* dgamma: 10 u sum|dy xhat| (the sum cancels in the same way); dbeta: 1.001 u |exact| + 2**-74 max|dy|;
* running mean: u |exact| + 2**-74 of the batches' spread (2**-100 of their means, for the double-double
  recurrence); running variance: 7.5 u |exact|; inference output: 7.5 u |exact| + that error of the
  mean / sqrt(var + eps), then the affine terms as above.
"""
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import ops
from harness.numerics import backward, reference, running
from harness.numerics.reference import acc_sum, deviations, normalize
from harness.ops.layouts import Layout
from harness.ops.semantics import param_shape
from tests.unit.numerics import oracle

U = Fraction(1, 2 ** 53)
TINY = oracle.TINY
MAX = np.finfo(np.float64).max
SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}


# --- inputs spread over the float64 range ---------------------------------------------------------------

MANTISSAS = st.one_of(st.sampled_from([1.0, 1.5, 1 + 2.0 ** -52, 2 - 2.0 ** -52, 1 + 2.0 ** -26]),
                      st.floats(1.0, 2.0, exclude_max=True))


@st.composite
def spread_values(draw, n: int, base=None):
    """n floats: a base exponent anywhere in the float64 range (subnormals included), a spread of 0 to
    the whole range around it, some zeros, repeats and whole constant arrays."""
    base = draw(st.integers(-1080, 1023)) if base is None else base
    spread = draw(st.sampled_from([0, 1, 3, 20, 60, 300, 2100]))
    mode = draw(st.sampled_from(["mixed", "mixed", "mixed", "constant", "few"]))
    kinds = draw(st.lists(st.integers(0, 11), min_size=n, max_size=n))
    offsets = draw(st.lists(st.integers(-spread, spread), min_size=n, max_size=n))
    mants = draw(st.lists(MANTISSAS, min_size=n, max_size=n))
    signs = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    vals = []
    for kind, off, mant, neg in zip(kinds, offsets, mants, signs):
        if mode == "constant" and vals:
            vals.append(vals[0])
        elif kind == 0:
            vals.append(0.0)
        elif (kind == 1 or mode == "few") and vals:
            vals.append(vals[off % min(len(vals), 3)])
        else:
            vals.append((-1.0 if neg else 1.0) * math.ldexp(mant, min(max(base + off, -1080), 1023)))
    return vals


EPSILONS = [0.0, 1e-5, 1e-3, 1.0, 5e-324, 1e-300, 1e-160, 1e300, MAX]


@st.composite
def op_cases(draw, name: str, check="forward"):
    """A member of op ``name``'s family: layout, sizes (rows of one element included), groups, axes,
    affine axes, epsilon, and (centred ops) ddof and epsilon outside the square root."""
    op = ops.OPS[name]
    layouts = ["BF", "BTF", "NCHW", "NHWC"] if check != "running_stats" else ["BF", "BTF", "NCHW"]
    lay = Layout(draw(st.sampled_from([lo for lo in layouts if not op.needs_spatial or Layout(lo).spatial])))
    sizes = {a: draw(st.integers(1, 3)) for a in lay.axes}
    sizes[lay.channel] = draw(st.sampled_from([1, 2, 4]))
    if len(lay.axes) == 4:
        sizes[lay.spatial[0]] = draw(st.integers(1, 2))
    kw = {}
    if op.grouped:
        kw["groups"] = draw(st.sampled_from([g for g in (1, 2, 4) if sizes[lay.channel] % g == 0]))
        if lay.spatial and draw(st.booleans()):
            kw["axes"] = lay.channel
    elif op.axes_set_statistics:
        kw["axes"] = draw(st.sampled_from([None, "".join(lay.non_batch), lay.axes[0] + lay.axes[-1]]))
        if kw["axes"] and len(kw["axes"]) > 1 and draw(st.booleans()):
            kw["affine_axes"] = lay.channel
    eps = draw(st.sampled_from(EPSILONS))
    sem = op.semantics(lay.name, eps=eps, **kw)
    if sem.center and check != "running_stats":
        sem = sem.with_(ddof=draw(st.sampled_from([0, 0, 1])), eps_outside=draw(st.booleans()))
    return sem, sizes


def registry_ops(check):
    """Every normalization op of the registry that has ``check``: a new op is checked here without a change
    (ops with their own definition: tests/unit/numerics/test_families.py)."""
    return [n for n in ops.NAMES if check in ops.OPS[n].checks and ops.OPS[n].definition is None]


def array(draw, shape, **kw):
    n = int(np.prod(shape))
    return np.array(draw(spread_values(n, **kw)), np.float64).reshape(shape)


def params(draw, sem, sizes):
    """gamma and beta: ones and zeros, or spread like x, or large."""
    shape = param_shape(sem, sizes)
    kind = draw(st.sampled_from(["none", "ones", "spread", "unit"]))
    if kind == "none":
        return None, None
    if kind == "ones":
        return np.ones(shape), (np.zeros(shape) if sem.bias else None)
    base = None if kind == "spread" else 0
    gamma = array(draw, shape, base=base)
    beta = array(draw, shape, base=base) if sem.bias else None
    return gamma, beta


# --- the checks -------------------------------------------------------------------------------------------

def assert_forward(x, sem, gamma=None, beta=None):
    got = normalize(x, sem, gamma, beta)
    want, yg = oracle.forward(x, sem, gamma, beta)
    affine = gamma is not None
    worst = 0.0
    for i in np.ndindex(x.shape):
        ex = want[i]
        if ex is None:
            assert math.isnan(got[i]), (i, got[i], sem)
            continue
        if affine:
            bound = 8 * U * abs(Fraction(yg[i])) + U * abs(Fraction(ex)) + 2 * TINY
        else:
            bound = 7 * U * abs(Fraction(ex)) + TINY
            worst = max(worst, oracle.ulps(float(got[i]), ex))
        assert oracle.within(float(got[i]), ex, bound), (
            f"{sem.describe()}: element {i}: got {got[i]!r}, exact {float(ex)!r} "
            f"({oracle.ulps(float(got[i]), ex):.3g} ulps); x = {x.tolist()}")
    return worst


def assert_grads(x, sem, dy, gamma=None, beta=None, got=None):
    """The gradients (the package's, or ``got``) within their bounds of the exact ones."""
    got = backward.grads(x, sem, dy, gamma, beta) if got is None else got
    want, allowed = oracle.grads(x, sem, dy, gamma, beta)
    assert set(got) == {k for k in want if k in backward.NAMES}
    for i in np.ndindex(x.shape):
        ex = want["dx"][i]
        bound = None if ex is None else Fraction(allowed[i]) + 2 * TINY
        assert oracle.within(float(got["dx"][i]), ex, bound), (
            f"{sem.describe()}: dx{i}: got {got['dx'][i]!r}, exact {ex}, allowed {float(allowed[i])!r}; "
            f"x = {x.tolist()}, dy = {dy.tolist()}")
    if "dgamma" in want:
        for i in np.ndindex(want["dgamma"].shape):
            ex = want["dgamma"][i]
            bound = None if ex is None else 10 * U * Fraction(want["dgamma_scale"][i]) + 4 * TINY
            assert oracle.within(float(got["dgamma"][i]), ex, bound), (sem.describe(), "dgamma", i)
    if "dbeta" in want:
        for i in np.ndindex(want["dbeta"].shape):
            ex = want["dbeta"][i]
            bound = Fraction(1001, 1000) * U * abs(ex) + Fraction(1, 2 ** 74) * want["dbeta_max"][i] + TINY
            assert oracle.within(float(got["dbeta"][i]), ex, bound), (sem.describe(), "dbeta", i)


def assert_running(x, batches, sem, momentum, ddof, gamma=None, beta=None):
    update = running.Update(momentum, ddof=ddof)
    rm, rv = running.running_stats(batches, sem, update)
    refs = running.reference(x, batches, sem, update, gamma, beta)
    np.testing.assert_array_equal(refs["running_mean"], rm)
    np.testing.assert_array_equal(refs["running_var"], rv)
    erm, erv, ey, eout, spread = oracle.running(x, batches, sem, momentum, ddof, gamma, beta)
    for c in range(len(erm)):
        assert oracle.within(float(rm[c]), erm[c], U * abs(erm[c]) + spread[c] / 2 ** 74 + TINY), \
            ("running_mean", c, rm[c], float(erm[c]))
        # the average of per-instance variances (instance norm) adds two roundings
        vb = Fraction(19, 2) if running.per_instance(sem) else Fraction(15, 2)
        assert oracle.within(float(rv[c]), erv[c], vb * U * abs(erv[c]) + 2 * TINY), \
            ("running_var", c, rv[c], float(erv[c]))
    lay = Layout(sem.layout)
    ch = lay.index(lay.channel)
    g = None if gamma is None else np.broadcast_to(
        np.asarray(gamma).reshape([-1 if i == ch else 1 for i in range(x.ndim)]), x.shape)
    for i in np.ndindex(x.shape):
        if ey[i] is None:
            continue
        c = i[ch]
        den = oracle.sqrt(erv[c] + Fraction(sem.eps))
        slack = Fraction(spread[c]) / 2 ** 74 / Fraction(den)
        bound = Fraction(15, 2) * U * abs(Fraction(ey[i])) + slack
        if g is not None:
            gi = abs(Fraction(float(g[i])))
            bound = bound * gi + U * abs(Fraction(ey[i])) * gi + U * abs(Fraction(eout[i]))
        assert oracle.within(float(refs["y"][i]), eout[i], bound + 2 * TINY), \
            ("y", i, refs["y"][i], float(eout[i]), sem.describe())


# --- explicit edge cases ----------------------------------------------------------------------------------

def sem(op, layout="BF", **kw):
    kw.setdefault("eps", 1e-5)
    return ops.op_semantics(op, layout, **kw)


def test_rms_norm_of_a_tiny_constant_row_is_x_over_sqrt_eps():
    """RMSNorm of a constant row of 1e-300, eps 1e-5: 1e-300 / sqrt(1e-5) = 3.162e-298 (the square of
    1e-300 underflows; a reference that scales the squares and then forms eps / s**2 returns 0)."""
    x = np.full((2, 8), 1e-300)
    got = normalize(x, sem("rms_norm"))
    exact = oracle.dec(Fraction(1e-300)) / oracle.sqrt(Fraction(1e-300) ** 2 + Fraction(1e-5))
    assert float(exact) == pytest.approx(3.1622776601683794e-298, rel=1e-15)
    for v in got.ravel():
        assert oracle.ulps(float(v), exact) <= 1
    assert_forward(x, sem("rms_norm"))


@pytest.mark.parametrize("op", ["layer_norm", "rms_norm", "batch_norm"])
@pytest.mark.parametrize("row", [
    [5e-324, 0.0, 1e-323, 2e-323],                             # subnormals only
    [2.2250738585072014e-308, 5e-324, -1e-310, 3e-320],        # subnormal and the smallest normal
    [1e-300, 2e-300, 3e-300, -7e-301],                         # tiny normal values
    [1.7976931348623157e308, 1.6e308, 1.79e308, 1.5e308],      # near the maximum: the sum overflows
    [-1.7976931348623157e308, 1.7976931348623157e308, 1e308, -1e308],  # differences overflow
    [1e300, 1.0, 1e-300, 5e-324],                              # every magnitude at once
    [1.0, 1 + 2.0 ** -52, 1 - 2.0 ** -53, 2.0 ** -1000],       # deviations far below the mean's ulp
    [3.0, 3.0, 3.0, 3.0],                                      # constant
])
@pytest.mark.parametrize("eps", [0.0, 1e-5, 1e300])
def test_edge_rows_forward(op, row, eps):
    x = np.array([row, row[::-1]])
    s = sem(op, eps=eps)
    if op == "batch_norm":
        x = x.T.copy()
    assert_forward(x, s)
    assert_forward(x, s.with_(eps_outside=True))
    if s.center:
        assert_forward(x, s.with_(ddof=1))


def test_deviations_below_the_means_ulp_are_recomputed_exactly(monkeypatch):
    """[1, 1 + 2**-52, 1 - 2**-53]: the mean's deviation from the first value is -2**-53 / 3, far below
    what a float64 mean (or a corrected two-pass one) can resolve; the row takes the exact path."""
    calls = []
    real = reference._exact_row
    monkeypatch.setattr(reference, "_exact_row", lambda row, k: calls.append(1) or real(row, k))
    x = np.array([[1.0, 1 + 2.0 ** -52, 1 - 2.0 ** -53], [1.0, 2.0, 4.0], [1.0, 2.0, 3.0]])
    dev = deviations(x, True)
    assert len(calls) == 1  # the other rows are proven exact enough without it (2 - mean is exactly 0)
    assert dev.d[0, 0] == -(2.0 ** -53) / 3 and dev.d[2, 1] == 0.0  # correctly rounded
    assert_forward(x, sem("layer_norm", eps=0.0))


@pytest.mark.parametrize("eps,want", [(0.0, np.nan), (1e-5, 0.0)])
def test_what_the_definition_gives_for_constant_rows_and_rows_of_one(eps, want):
    """eps > 0: a constant row normalizes to 0 (then beta); eps == 0: 0/0, NaN. A row of one element is
    constant; with ddof=1 its variance has no divisor: NaN whatever eps."""
    for value in (0.0, 5e-324, 1e-300, 3.0, 1.7976931348623157e308):
        for op in ("layer_norm", "rms_norm"):
            y = normalize(np.full((2, 5), value), sem(op, eps=eps))
            if op == "rms_norm" and value != 0:
                continue
            np.testing.assert_array_equal(y, np.full((2, 5), want))
        np.testing.assert_array_equal(normalize(np.full((3, 1), value), sem("layer_norm", eps=eps)),
                                      np.full((3, 1), want))
    assert np.isnan(normalize(np.array([[1.0], [2.0]]), sem("layer_norm").with_(ddof=1))).all()
    g = backward.grads(np.full((2, 3), 2.0), sem("layer_norm", eps=eps), np.ones((2, 3)) * [[1, 2, 3]])
    if eps == 0:
        assert np.isnan(g["dx"]).all()
    else:  # a constant row: dx = (g - mean g) / sqrt(eps)
        np.testing.assert_allclose(g["dx"], np.array([[-1, 0, 1], [-1, 0, 1]]) / np.sqrt(eps), rtol=1e-15)


def test_huge_gamma_and_beta_stay_finite_where_the_result_is():
    """xhat * gamma overflows for xhat = 1.22 and gamma = 1.6e308, but beta = -1.7e308 brings it back."""
    x = np.array([[1.0, 2.0, 3.0]])
    s = sem("layer_norm", eps=0.0)
    gamma, beta = np.full(3, 1.6e308), np.full(3, -1.7e308)
    y = normalize(x, s, gamma, beta)
    assert np.isfinite(y[0, 2]) and y[0, 0] == -np.inf
    assert_forward(x, s, gamma, beta)


@pytest.mark.parametrize("op", ["layer_norm", "rms_norm"])
def test_a_normalized_value_below_the_float64_range_keeps_its_digits_for_gamma(op):
    """In [-3.2e206, 4e-205, 3.2e206] the middle value normalizes to about 1e-411, below the float64
    range, and the scaling of the row rounds it away; gamma = 3.9e230 brings it back to 4e-181, and
    dy = 1e300 brings dy * xhat back into dgamma: both need its own digits, not 0."""
    x = np.array([[-3.210532166472396e+206, 3.9868779804390266e-205, 3.210532166472396e+206],
                  [1.0, 2.0 ** -1060, -1.0]])
    s = sem(op, eps=1e-3)
    gamma = np.array([1.0, 3.9e230, 1.0])
    y = normalize(x, s, gamma)
    assert 1e-182 < abs(y[0, 1]) < 1e-180
    assert_forward(x, s, gamma)
    dy = np.array([[1.0, 1e300, 1.0], [0.0, 1e300, 0.0]])
    assert_grads(x, s, dy, gamma, np.zeros(3) if s.bias else None)


def test_gradients_at_the_edges():
    s = sem("layer_norm", eps=1e-5)
    x = np.array([[1e-300, 3e-300, -2e-300, 5e-324], [1.7e308, -1.7e308, 1e308, 0.0]])
    dy = np.array([[1e300, -1e300, 1.0, 5e-324], [1.0, 2.0, -3.0, 1e-300]])
    gamma, beta = np.array([1e300, 1e-300, 1.0, -1.7e308]), np.array([1e308, -1e308, 1.0, 0.0])
    for variant in (s, s.with_(eps=0.0), s.with_(eps_outside=True), s.with_(ddof=1),
                    sem("rms_norm"), sem("rms_norm", eps=0.0)):
        assert_grads(x, variant, dy, gamma, beta if variant.bias else None)
        assert_grads(x, variant, dy)


def test_running_statistics_at_the_edges():
    s = sem("batch_norm", eps=1e-5)
    batches = [np.array([[1e308, 1e-300], [1.7e308, -1e-300], [1.79e308, 5e-324]]),
               np.array([[-1e308, 1e-300], [1.7e308, 3e-300], [0.0, 0.0]])]
    x = np.array([[1.7e308, 2e-300], [-1.7e308, 0.0]])
    for ddof in (0, 1):
        for momentum in (0.1, 1.0, 1e-3):
            assert_running(x, batches, s, momentum, ddof)
            assert_running(x, batches, s, momentum, ddof, np.array([2.0, 1e300]), np.array([-1e308, 1.0]))
    # (x - mean) / sqrt(var + eps) = 1e200 / 1e-150, beyond the float64 range; gamma brings it back
    still = [np.zeros((3, 2)), np.zeros((3, 2))]
    x = np.array([[1e200, -1e200], [3.0, 1e-300]])
    for momentum in (0.1, 1.0):
        assert_running(x, still, s.with_(eps=1e-300), momentum, 0, np.array([1e-100, 1e-250]), np.array([1.0, 0.0]))
    y = running.reference(x, still, s.with_(eps=1e-300), running.Update(1.0), np.array([1e-100, 1e-250]),
                          np.array([1.0, 0.0]))["y"]
    assert np.isfinite(y).all() and y[0, 0] == pytest.approx(1e250, rel=1e-15)
    # y about -3e142 times a subnormal gamma: a normal product, all of gamma's digits kept
    x = np.full((2, 4), -2.9416089917056874e+142)
    batches = [np.array([[64.0, 0, 0, 0], [0, 64.0, 0, 0]]), np.array([[0, 0, 2.0000000000000004, 0], [0, 0, 2.0, 0]])]
    gamma, beta = np.array([1.265e-321, 3.16e-322, 6.3e-322, 2e-323]), np.array([-1.0, 0.0, 0.0, -1.0])
    assert_running(x, batches, s.with_(eps=1e-300), 0.1, 0, gamma, beta)
    # a running variance below the float64 range (1e-620): y = 1e310, beyond it, times gamma = 1e-320
    batches = [np.array([[1e-310], [-1e-310]])]
    x = np.array([[1.0], [-3.0]])
    assert_running(x, batches, s.with_(eps=0.0), 1.0, 0, np.array([1e-320]), np.array([0.5]))
    y = running.reference(x, batches, s.with_(eps=0.0), running.Update(1.0), np.array([1e-320]))["y"]
    assert y[0, 0] == pytest.approx(1e-320 / 1e-310, rel=1e-15)  # 1e-320 is subnormal: about 9.9999e-11


# --- every op, every check, the whole range ----------------------------------------------------------------

@pytest.mark.parametrize("name", registry_ops("forward"))
@settings(max_examples=15, **SETTINGS)
@given(data=st.data())
def test_forward_is_exact_to_a_few_ulps(name, data):
    s, sizes = data.draw(op_cases(name, "forward"))
    shape = Layout(s.layout).shape(sizes)
    x = array(data.draw, shape)
    assert_forward(x, s)
    gamma, beta = params(data.draw, s, sizes)
    if gamma is not None:
        assert_forward(x, s, gamma, beta)


@pytest.mark.parametrize("name", registry_ops("backward"))
@settings(max_examples=10, **SETTINGS)
@given(data=st.data())
def test_gradients_are_exact_to_the_scale_of_their_terms(name, data):
    s, sizes = data.draw(op_cases(name, "backward"))
    shape = Layout(s.layout).shape(sizes)
    x = array(data.draw, shape)
    dy = array(data.draw, shape)
    gamma, beta = params(data.draw, s, sizes)
    assert_grads(x, s, dy, gamma, beta)


@pytest.mark.parametrize("name", registry_ops("running_stats"))
@settings(max_examples=25, **SETTINGS)
@given(data=st.data())
def test_running_statistics_are_exact_to_a_few_ulps(name, data):
    s, sizes = data.draw(op_cases(name, "running_stats"))
    s = s.with_(eps=data.draw(st.sampled_from([1e-5, 1.0, 1e-300, 1e300])))
    shape = Layout(s.layout).shape(sizes)
    batches = [array(data.draw, shape) for _ in range(data.draw(st.integers(1, 3)))]
    x = array(data.draw, shape)
    momentum = data.draw(st.sampled_from([0.1, 0.5, 1.0, 1e-3, None]) | st.floats(1e-6, 1.0))
    gamma, beta = params(data.draw, s, sizes)
    assert_running(x, batches, s, momentum, data.draw(st.sampled_from([0, 1])), gamma, beta)


def assert_inference(x, mean, var, sem, gamma=None, beta=None):
    """running.inference against the exact definition: 5 u |exact xhat|, then the affine terms."""
    got = running.inference(x, mean, var, sem, gamma, beta)
    ey, eout = oracle.inference(x, mean, var, sem, gamma, beta)
    lay = Layout(sem.layout)
    ch = lay.index(lay.channel)
    g = None if gamma is None else np.broadcast_to(
        np.asarray(gamma).reshape([-1 if i == ch else 1 for i in range(x.ndim)]), x.shape)
    for i in np.ndindex(x.shape):
        if ey[i] is None:
            continue
        bound = 5 * U * abs(Fraction(ey[i]))
        if g is not None:
            gi = abs(Fraction(float(g[i])))
            bound = bound * gi + U * abs(Fraction(ey[i])) * gi + U * abs(Fraction(eout[i]))
        assert oracle.within(float(got[i]), eout[i], bound + 2 * TINY), \
            ("y", i, got[i], float(eout[i]), sem.describe())


@settings(max_examples=60, **SETTINGS)
@given(st.sampled_from(registry_ops("inference")), st.data())
def test_inference_with_given_statistics_is_exact_to_a_few_ulps(name, data):
    """check: inference: x, the given mean and variance spread over the float64 range (huge, tiny,
    subnormal, constant), every epsilon."""
    s, sizes = data.draw(op_cases(name, "running_stats"))
    s = s.with_(eps=data.draw(st.sampled_from(EPSILONS)))
    shape = Layout(s.layout).shape(sizes)
    c = sizes[Layout(s.layout).channel]
    x = array(data.draw, shape)
    mean = array(data.draw, (c,))
    var = np.abs(array(data.draw, (c,)))
    gamma, beta = params(data.draw, s, sizes)
    assert_inference(x, mean, var, s, gamma, beta)


def test_inference_at_the_edges():
    """A large mean with a tiny variance (x - mean exact, the quotient beyond float32), a variance of 0
    with epsilon 0 skipped, a variance beyond the float64 range's square, huge and subnormal gammas."""
    s = sem("batch_norm", eps=1e-5)
    x = np.array([[1e4 + 2.0 ** -30, 1.0], [1e4, -1e300], [1e4 - 1e-3, 5e-324]])
    mean = np.array([1e4, -1e300])
    var = np.array([1e-30, 1e300])
    assert_inference(x, mean, var, s)
    assert_inference(x, mean, var, s, np.array([1e300, 1e-320]), np.array([-1.0, 1e308]))
    assert_inference(x, mean, np.array([0.0, MAX]), s.with_(eps=1e-300))
    y = running.inference(x, mean, var, s)
    assert y[0, 0] == pytest.approx(2.0 ** -30 / math.sqrt(1e-30 + 1e-5), rel=1e-15)
    # instance norm normalizes every instance with its channel's statistics
    si = sem("instance_norm", layout="NCHW", eps=1e-3)
    x = np.arange(16.0).reshape(2, 2, 2, 2) * 1e6
    assert_inference(x, np.array([3e6, -1.0]), np.array([4.0, 0.0]), si, np.array([2.0, 0.5]), np.array([0.0, 1.0]))


@settings(max_examples=40, **SETTINGS)
@given(st.integers(1, 40).flatmap(lambda n: st.lists(spread_values(n), min_size=2, max_size=2)))
def test_acc_sum_is_within_its_stated_bound(rows_):
    a = np.array(rows_)
    s, err = acc_sum(a)
    for r in range(len(a)):
        exact = sum((Fraction(v) for v in a[r]), Fraction(0))
        if abs(exact) >= oracle.OVER:
            assert math.isinf(s[r, 0])
            continue
        assert abs(Fraction(float(s[r, 0])) - exact) <= Fraction(float(err[r, 0]))
        assert err[r, 0] <= 1.0001 * 2.0 ** -53 * abs(s[r, 0]) + 2.0 ** -74 * np.abs(a[r]).max() + 2.0 ** -1060
