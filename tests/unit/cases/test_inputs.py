"""Seeded inputs: the pinned generator stream, dtype rounding, affine kinds and distributions."""
import ml_dtypes
import numpy as np

from harness.cases.inputs import make_inputs, rng, round_to
from harness.cases.model import Case


def case(**kw):
    d = dict(id="c", op="group_norm", layout="BTF", shape={"B": 2, "T": 3, "F": 4}, dtype="float32",
             epsilon=1e-5, affine="random", seed=11, input={"distribution": "normal", "mean": 0.0, "std": 1.0},
             groups=2)
    d.update(kw)
    return Case.from_dict(d)



def test_generator_stream_is_pinned():
    # PCG64 seeded through SeedSequence: these values must never change, or
    # every stored result would stop being reproducible from its seed.
    np.testing.assert_array_equal(np.round(rng(0, 0).standard_normal(3), 8), [1.44369095, -0.89594598, 0.73595567])
    np.testing.assert_array_equal(np.round(rng(7, 1).standard_normal(2), 8), [1.40191012, 0.85342033])


def test_inputs_are_deterministic_and_dtype_rounded():
    a, b = make_inputs(case()), make_inputs(case())
    np.testing.assert_array_equal(a.x, b.x)
    assert a.x.dtype == np.float32 and a.x.shape == (2, 3, 4)
    assert a.gamma.shape == (4,) and a.beta.shape == (4,)
    c = make_inputs(case(seed=12))
    assert not np.array_equal(a.x, c.x)
    bf = make_inputs(case(dtype="bfloat16"))
    assert bf.x.dtype == ml_dtypes.bfloat16
    # the rounded values are exactly representable: a round trip through float64 is lossless
    np.testing.assert_array_equal(bf.x.astype(np.float64).astype(ml_dtypes.bfloat16), bf.x)


def test_affine_kinds():
    assert make_inputs(case(affine="none")).gamma is None
    ones = make_inputs(case(affine="ones"))
    np.testing.assert_array_equal(ones.gamma, 1.0)
    np.testing.assert_array_equal(ones.beta, 0.0)
    rms = make_inputs(case(op="rms_norm", groups=None, axes="F"))
    assert rms.beta is None and rms.gamma.shape == (4,)
    ln = make_inputs(case(op="layer_norm", groups=None, axes="TF"))
    assert ln.gamma.shape == (3, 4)


def test_distributions():
    u = make_inputs(case(input={"distribution": "uniform", "low": 2.0, "high": 3.0}, dtype="float64")).x
    assert u.min() >= 2.0 and u.max() < 3.0
    k = make_inputs(case(input={"distribution": "constant", "value": 1.5}, dtype="float64")).x
    assert (k == 1.5).all()
    n = make_inputs(case(input={"distribution": "normal", "mean": 100.0, "std": 0.01}, dtype="float64",
                         shape={"B": 20, "T": 30, "F": 40})).x
    assert abs(n.mean() - 100) < 1e-3 and abs(n.std() - 0.01) < 1e-3


def test_round_to():
    assert round_to(np.array([1 + 2**-30]), "float32")[0] == 1.0
    assert round_to(np.array([1 + 2**-30]), "float64")[0] == 1 + 2**-30
