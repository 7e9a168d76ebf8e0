"""The float64 reference, pinned by hand-computed values and identities."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from harness.numerics.reference import normalize
from harness.ops.registry import op_semantics, paper_layer_norm
from harness.ops.semantics import Semantics, param_shape

# x[b=0] = [[1, 3], [5, 11]]  (T=2 rows, F=2 columns)
X = np.array([[[1.0, 3.0], [5.0, 11.0]]])


# --- the definitions on [B, T, F], written out literally: independent formulas that pin the rule ---

def seed_batch_norm(x, eps):
    m = x.mean(axis=(0, 1), keepdims=True)
    v = ((x - m) ** 2).mean(axis=(0, 1), keepdims=True)
    return (x - m) / np.sqrt(v + eps)


def seed_layer_norm(x, eps):
    m = x.mean(axis=2, keepdims=True)
    v = ((x - m) ** 2).mean(axis=2, keepdims=True)
    return (x - m) / np.sqrt(v + eps)


def seed_group_norm(x, groups, eps):
    B, T, F = x.shape
    xg = x.reshape(B, T, groups, F // groups)
    m = xg.mean(axis=(1, 3), keepdims=True)
    v = ((xg - m) ** 2).mean(axis=(1, 3), keepdims=True)
    return ((xg - m) / np.sqrt(v + eps)).reshape(B, T, F)


def seed_paper_layer_norm(x, eps):
    m = x.mean(axis=(1, 2), keepdims=True)
    v = ((x - m) ** 2).mean(axis=(1, 2), keepdims=True)
    return (x - m) / np.sqrt(v + eps)



def sem(op, layout="BTF", **kw):
    kw.setdefault("eps", 0.0)
    return op_semantics(op, layout, **kw)


def test_layer_norm_by_hand():
    x = np.array([[1.0, 2.0, 3.0, 4.0]])
    y = normalize(x, sem("layer_norm", "BF"))
    np.testing.assert_allclose(y, [[-1.5, -0.5, 0.5, 1.5]] / np.sqrt(1.25), rtol=1e-15)
    y = normalize(x, sem("layer_norm", "BF", eps=0.75))  # var 1.25 + 0.75 = 2
    np.testing.assert_allclose(y, [[-1.5, -0.5, 0.5, 1.5]] / np.sqrt(2.0), rtol=1e-15)


def test_btf_ops_by_hand():
    # LN over F: frame means 2 and 8, variances 1 and 9
    np.testing.assert_allclose(normalize(X, sem("layer_norm")), [[[-1, 1], [-1, 1]]], rtol=1e-15)
    # GN(1) over T and F: mean 5, deviations -4 -2 0 6, variance 56/4 = 14
    np.testing.assert_allclose(normalize(X, sem("group_norm", groups=1)),
                               [[[-4, -2], [0, 6]]] / np.sqrt(14.0), rtol=1e-15)
    # BN over B and T: feature 0 is [1, 5] (mean 3, var 4), feature 1 is [3, 11] (mean 7, var 16)
    np.testing.assert_allclose(normalize(X, sem("batch_norm")), [[[-1, -1], [1, 1]]], rtol=1e-15)
    # IN over T equals BN here (one sample)
    np.testing.assert_allclose(normalize(X, sem("instance_norm")), [[[-1, -1], [1, 1]]], rtol=1e-15)
    # RMS over F: mean squares 5 and 73
    np.testing.assert_allclose(normalize(X, sem("rms_norm")),
                               [[[1 / np.sqrt(5), 3 / np.sqrt(5)], [5 / np.sqrt(73), 11 / np.sqrt(73)]]],
                               rtol=1e-15)


def test_affine_is_per_channel_for_group_norm_and_per_element_for_layer_norm():
    g = np.array([2.0, 3.0])
    b = np.array([1.0, -1.0])
    y = normalize(X, sem("group_norm", groups=1), g, b)
    np.testing.assert_allclose(y, [[[-4 * 2, -2 * 3], [0, 6 * 3]]] / np.sqrt(14.0) + b, rtol=1e-15)
    s = sem("layer_norm", axes="TF")
    assert param_shape(s, {"B": 1, "T": 2, "F": 2}) == (2, 2)
    g2 = np.array([[1.0, 2.0], [3.0, 4.0]])
    y = normalize(X, s, g2, np.zeros((2, 2)))
    np.testing.assert_allclose(y, normalize(X, s) * g2, rtol=1e-15)


def test_rms_norm_has_no_bias():
    s = sem("rms_norm")
    np.testing.assert_allclose(normalize(X, s, np.ones(2), np.full(2, 100.0)), normalize(X, s))


def test_variants_eps_outside_and_unbiased():
    x = np.array([[1.0, 2.0, 3.0, 4.0]])
    base = sem("layer_norm", "BF", eps=0.5)
    np.testing.assert_allclose(normalize(x, base.with_(eps_outside=True)),
                               [[-1.5, -0.5, 0.5, 1.5]] / (np.sqrt(1.25) + 0.5), rtol=1e-15)
    np.testing.assert_allclose(normalize(x, base.with_(eps=0.0, ddof=1)),
                               [[-1.5, -0.5, 0.5, 1.5]] / np.sqrt(5.0 / 3.0), rtol=1e-15)


def test_seed_definitions_match_the_general_rule():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 6))
    eps = 1e-3
    np.testing.assert_allclose(normalize(x, sem("batch_norm", eps=eps)), seed_batch_norm(x, eps), rtol=1e-13)
    np.testing.assert_allclose(normalize(x, sem("layer_norm", eps=eps)), seed_layer_norm(x, eps), rtol=1e-13)
    for g in (1, 2, 3, 6):
        np.testing.assert_allclose(normalize(x, sem("group_norm", groups=g, eps=eps)),
                                   seed_group_norm(x, g, eps), rtol=1e-13)
    np.testing.assert_allclose(normalize(x, paper_layer_norm("BTF", eps=eps)),
                               seed_paper_layer_norm(x, eps), rtol=1e-13)


@pytest.mark.parametrize("layout,shape", [("BTF", (2, 5, 6)), ("NCHW", (2, 6, 3, 4)), ("NHWC", (2, 3, 4, 6))])
def test_gn_with_one_group_per_channel_is_instance_norm(layout, shape):
    x = np.random.default_rng(1).standard_normal(shape)
    C = 6
    np.testing.assert_allclose(normalize(x, sem("group_norm", layout, groups=C, eps=1e-5)),
                               normalize(x, sem("instance_norm", layout, eps=1e-5)), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layout,shape,axes", [("BTF", (2, 5, 6), "TF"), ("NCHW", (2, 6, 3, 4), "CHW"),
                                               ("NHWC", (2, 3, 4, 6), "HWC")])
def test_gn_one_group_is_layer_norm_over_all_non_batch_axes(layout, shape, axes):
    x = np.random.default_rng(2).standard_normal(shape)
    gn = normalize(x, sem("group_norm", layout, groups=1, eps=1e-5))
    np.testing.assert_allclose(gn, normalize(x, sem("layer_norm", layout, axes=axes, eps=1e-5)), rtol=1e-12)
    np.testing.assert_allclose(gn, normalize(x, paper_layer_norm(layout, eps=1e-5)), rtol=1e-12)


def test_gn_one_group_is_not_framework_layer_norm_when_t_gt_1():
    x = np.random.default_rng(3).standard_normal((2, 5, 6))
    diff = np.abs(normalize(x, sem("group_norm", groups=1, eps=1e-5)) - normalize(x, sem("layer_norm", eps=1e-5)))
    assert diff.max() > 0.1


def test_gn_one_group_on_time_folded_into_batch_is_layer_norm():
    # [B, T, F] -> [B*T, F, 1]: one "sample" per frame, F as channels, a spatial axis of size 1
    x = np.random.default_rng(4).standard_normal((2, 5, 6))
    folded = x.reshape(10, 6, 1)
    gn = normalize(folded, sem("group_norm", "NCL", groups=1, eps=1e-5)).reshape(2, 5, 6)
    np.testing.assert_allclose(gn, normalize(x, sem("layer_norm", eps=1e-5)), rtol=1e-12)


def test_batch_norm_on_bf_is_layer_norm_of_the_transpose():
    x = np.random.default_rng(5).standard_normal((7, 4))
    bn = normalize(x, sem("batch_norm", "BF", eps=1e-5))
    ln_t = normalize(x.T, sem("layer_norm", "BF", eps=1e-5)).T
    np.testing.assert_allclose(bn, ln_t, rtol=1e-12)


def test_layouts_are_transposes_of_each_other():
    x = np.random.default_rng(6).standard_normal((2, 6, 3, 4))
    nhwc = x.transpose(0, 2, 3, 1)
    for op, kw in [("group_norm", {"groups": 3}), ("instance_norm", {}), ("batch_norm", {})]:
        a = normalize(x, sem(op, "NCHW", eps=1e-5, **kw))
        b = normalize(nhwc, sem(op, "NHWC", eps=1e-5, **kw)).transpose(0, 3, 1, 2)
        np.testing.assert_allclose(a, b, rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(2, 5)),
              elements=st.floats(-1e3, 1e3)),
       st.floats(1e-6, 1e-1))
def test_normalized_statistics(x, eps):
    """After normalization with gamma=1, beta=0 each group has mean 0 and
    variance var/(var+eps) < 1: the defining property, on arbitrary inputs."""
    y = normalize(x, sem("layer_norm", eps=eps))
    var = x.var(axis=-1, keepdims=True)
    np.testing.assert_allclose(y.mean(axis=-1), 0.0, atol=1e-9)
    np.testing.assert_allclose(y.var(axis=-1, keepdims=True), var / (var + eps), rtol=1e-7, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(-100, 100), st.floats(0.01, 100))
def test_shift_and_scale_invariance_without_eps(seed, shift, scale):
    x = np.random.default_rng(seed).standard_normal((2, 3, 4))
    s = Semantics("BTF", ("T", "F"), ("F",), groups=2, eps=0.0)
    np.testing.assert_allclose(normalize(x * scale + shift, s), normalize(x, s), rtol=1e-6, atol=1e-6)


def test_bad_groups_and_rank():
    with pytest.raises(ValueError, match="does not divide"):
        normalize(np.zeros((1, 2, 6)), sem("group_norm", groups=4))
    with pytest.raises(ValueError, match="rank"):
        normalize(np.zeros((2, 6)), sem("group_norm", groups=1))
    with pytest.raises(ValueError, match="spatial"):
        op_semantics("instance_norm", "BF")


def test_describe_names_the_axes():
    assert "statistics over {T,F}" in sem("group_norm", groups=1).describe()
    assert "statistics over {F}" in sem("layer_norm").describe()
    assert "RMS" in sem("rms_norm").describe()


@pytest.mark.parametrize("op,kw", [("layer_norm", {"axes": "TQ"}), ("rms_norm", {"affine_axes": "Z"}),
                                   ("group_norm", {"groups": 1, "axes": "X"})])
def test_unknown_axis_letters_are_refused_not_dropped(op, kw):
    with pytest.raises(ValueError, match="not an axis of layout BTF"):
        op_semantics(op, "BTF", **kw)
    with pytest.raises(ValueError, match="not an axis of layout BTF"):
        Semantics("BTF", ("F", "Q"), ("F",))


@pytest.mark.parametrize("value", [0.0, 0.1, 1.0, 10000.1, -3.3e-7, 1.7e308])  # the last: a sum that overflows
@pytest.mark.parametrize("op,kw", [("layer_norm", {}), ("batch_norm", {}), ("group_norm", {"groups": 2}),
                                   ("instance_norm", {})])
def test_a_constant_row_normalizes_to_exactly_beta(op, kw, value):
    layout = "NCHW" if op == "instance_norm" else "BTF"
    sem = op_semantics(op, layout, eps=1e-5, **kw)
    shape = (2, 4, 3, 5) if layout == "NCHW" else (3, 7, 4)
    x = np.full(shape, value)
    sizes = dict(zip(layout, shape))
    gamma = np.linspace(0.5, 2.0, num=int(np.prod(param_shape(sem, sizes)))).reshape(param_shape(sem, sizes))
    beta = np.linspace(-1.0, 1.0, num=gamma.size).reshape(gamma.shape)
    y = normalize(x, sem, gamma, beta)
    lay_idx = [layout.index(a) for a in sem.affine_axes]
    bshape = [shape[i] if i in lay_idx else 1 for i in range(len(shape))]
    np.testing.assert_array_equal(y, np.broadcast_to(beta.reshape(bshape), shape))
