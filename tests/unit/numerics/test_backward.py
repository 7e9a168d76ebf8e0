"""The analytic float64 reference gradients against central finite differences of
the forward reference, for every op of the registry, and the achievable error of
the backward pass."""
import numpy as np
import pytest

from harness import ops
from harness.numerics.achievable_backward import achievable_grad_errors, grad_sensitivity, stable_grads
from harness.numerics.backward import grads
from harness.numerics.reference import normalize
from harness.ops.layouts import Layout
from harness.ops.semantics import param_shape

SIZES = {"B": 2, "N": 2, "T": 3, "L": 3, "H": 2, "W": 3, "D": 2, "F": 4, "C": 4}


def _loss(x, sem, dy, gamma, beta):
    return float(np.sum(normalize(x, sem, gamma, beta) * dy))


def _numeric(sem, x, dy, gamma, beta, h=1e-6):
    """Central differences of sum(y * dy) by x, gamma and beta."""
    out = {}
    for name, arr in (("dx", x), ("dgamma", gamma), ("dbeta", beta)):
        if arr is None or (name == "dbeta" and not sem.bias):
            continue
        g = np.zeros_like(arr)
        for i in np.ndindex(arr.shape):
            a0 = arr[i]
            arr[i] = a0 + h
            up = _loss(x, sem, dy, gamma, beta)
            arr[i] = a0 - h
            down = _loss(x, sem, dy, gamma, beta)
            arr[i] = a0
            g[i] = (up - down) / (2 * h)
        out[name] = g
    return out


def _setup(sem, seed=0, affine=True):
    lay = Layout(sem.layout)
    sizes = {a: SIZES[a] for a in lay.axes}
    gen = np.random.default_rng(seed)
    x = gen.standard_normal(lay.shape(sizes)) * 1.5 + 0.3
    dy = gen.standard_normal(x.shape)
    gamma = beta = None
    if affine:
        gamma = 1 + 0.5 * gen.standard_normal(param_shape(sem, sizes))
        beta = 0.5 * gen.standard_normal(param_shape(sem, sizes)) if sem.bias else None
    return x, dy, gamma, beta


def _registry_cases():
    """(label, semantics) for every normalization op in the registry, over layouts and its keys (the ops
    with their own definition have no gradients here: tests/unit/numerics/test_families.py)."""
    for name, op in ops.OPS.items():
        if op.definition is not None:
            continue
        for layout in ("BTF", "NCHW", "NHWC", "BF"):
            if op.needs_spatial and not Layout(layout).spatial:
                continue
            kws = [{}]
            if op.grouped:
                kws = [{"groups": 1}, {"groups": 2}, {"groups": 4}]
                if Layout(layout).spatial:
                    kws.append({"groups": 2, "axes": Layout(layout).channel})
            elif op.axes_set_statistics:
                non_batch = "".join(Layout(layout).non_batch)
                kws = [{}, {"axes": non_batch}]
                if len(non_batch) > 1:
                    kws.append({"axes": non_batch, "affine_axes": Layout(layout).channel})  # decoupled affine
            for kw in kws:
                yield f"{name}-{layout}-{kw}", op.semantics(layout, eps=1e-3, **kw)


CASES = list(_registry_cases())


def test_every_registry_op_is_covered():
    assert {label.split("-")[0] for label, _ in CASES} == {n for n in ops.NAMES if ops.OPS[n].definition is None}


@pytest.mark.parametrize("label,sem", CASES, ids=[c[0] for c in CASES])
def test_matches_finite_differences(label, sem):
    for affine in (True, False):
        x, dy, gamma, beta = _setup(sem, affine=affine)
        got = grads(x, sem, dy, gamma, beta)
        want = _numeric(sem, x.copy(), dy, None if gamma is None else gamma.copy(),
                        None if beta is None else beta.copy())
        assert set(got) == set(want)
        for k in want:
            np.testing.assert_allclose(got[k], want[k], rtol=1e-6, atol=1e-7, err_msg=f"{label} {k}")


@pytest.mark.parametrize("variant", [dict(ddof=1), dict(eps_outside=True), dict(center=False, bias=False)])
def test_family_members_match_finite_differences(variant):
    """The fingerprint judges candidate members by their gradients: those must be right too."""
    sem = ops.op_semantics("group_norm", "NCHW", groups=2, eps=1e-2).with_(**variant)
    x, dy, gamma, beta = _setup(sem, seed=3)
    got = grads(x, sem, dy, gamma, beta)
    want = _numeric(sem, x.copy(), dy, gamma.copy(), None if beta is None else beta.copy())
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-6, atol=1e-7, err_msg=k)


def test_layer_norm_dx_by_hand():
    """x = [1, 2, 3, 4], dy = [1, 0, 0, 0], eps 0: s = sqrt(1.25), xhat = [-1.5, -.5, .5, 1.5] / s;
    dx = (dy - mean(dy) - xhat * mean(dy * xhat)) / s."""
    sem = ops.op_semantics("layer_norm", "BF", eps=0.0)
    x = np.array([[1.0, 2.0, 3.0, 4.0]])
    dy = np.array([[1.0, 0.0, 0.0, 0.0]])
    s = np.sqrt(1.25)
    xhat = np.array([-1.5, -0.5, 0.5, 1.5]) / s
    want = (np.array([1.0, 0, 0, 0]) - 0.25 - xhat * (xhat[0] / 4)) / s
    np.testing.assert_allclose(grads(x, sem, dy)["dx"][0], want, rtol=1e-14)
    # the gradient of a normalized row sums to zero, and is orthogonal to xhat
    assert abs(want.sum()) < 1e-15 and abs(want @ xhat) < 1e-15


def test_stable_backward_in_float64_is_close_and_float32_is_not_exact():
    sem = ops.op_semantics("group_norm", "BTF", groups=2, eps=1e-5)
    x, dy, gamma, beta = _setup(sem, seed=1)
    ref = grads(x, sem, dy, gamma, beta)
    g64 = stable_grads(x, sem, "float64", dy, gamma, beta)
    g32 = stable_grads(x.astype(np.float32), sem, "float32", dy.astype(np.float32), gamma.astype(np.float32),
                       beta.astype(np.float32))
    for k in ref:
        assert np.max(np.abs(g64[k] - ref[k])) < 1e-13
        e32 = np.max(np.abs(g32[k] - grads(x.astype(np.float32), sem, dy.astype(np.float32),
                                           gamma.astype(np.float32), beta.astype(np.float32))[k]))
        assert 0 < e32 < 1e-5


def test_achievable_error_per_gradient_and_sensitivity():
    sem = ops.op_semantics("batch_norm", "NCHW", eps=1e-5)
    x, dy, gamma, beta = _setup(sem, seed=2)
    x, dy, gamma, beta = (a.astype(np.float32) for a in (x, dy, gamma, beta))
    ref = grads(x, sem, dy, gamma, beta)
    ach = achievable_grad_errors(x, ref, sem, "float32", dy, gamma, beta)
    sens = grad_sensitivity(x, sem, "float32", dy, gamma)
    assert set(ach) == {"dx", "dgamma", "dbeta"}
    for k in ach:
        assert sens[k] <= ach[k] < 1e-4
    # an unbiased-variance backward is far outside 8 x the achievable error
    wrong = grads(x, sem.with_(ddof=1), dy, gamma, beta)
    assert np.max(np.abs(wrong["dx"] - ref["dx"])) > 100 * ach["dx"]
