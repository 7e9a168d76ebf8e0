"""Numbers at full precision: every literal reads back to the same value in its dtype."""
import ml_dtypes
import numpy as np
import pytest

from harness.repro import literal


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
def test_arrays_read_back_bit_exactly(dtype):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 4)) * 10.0 ** rng.uniform(-6, 4, (3, 4))
    held = a.astype(ml_dtypes.bfloat16 if dtype == "bfloat16" else dtype)
    held.flat[0] = np.nan
    held.flat[1] = -np.inf
    text = literal.array(held, dtype, "x")
    got = eval(text.split("= ", 1)[1], {"np": np})
    assert got.dtype == np.dtype(literal.HELD_IN[dtype])
    assert np.array_equal(got.astype(np.float64), held.astype(np.float64), equal_nan=True)


def test_values_are_the_shortest_text_of_their_dtype():
    assert literal.value(0.1) == "0.1" and literal.value(1 / 3) == repr(1 / 3)
    assert literal.value(1 / 3, "float32") == "0.33333334"
    assert literal.value(1 / 3, "float16") == "0.3333"
    assert literal.value(1 / 3, "bfloat16") == str(ml_dtypes.bfloat16(1 / 3))
    assert literal.value(7, "float32") == "7.0" and literal.value(1e8, "float16") == "np.inf"
    assert literal.value(float("nan")) == "np.nan" and literal.value(-float("inf"), "float32") == "-np.inf"
    for dtype, t in (("float32", np.float32), ("float16", np.float16)):
        v = float(t(2 / 3))
        assert float(t(float(literal.value(v, dtype)))) == v


def test_tolerance_is_a_number_or_atol_rtol():
    assert literal.tolerance_text(0.25) == "0.25"
    assert literal.tolerance_text((1e-6, 0.001)) == "1e-06 + 0.001 * np.abs(expected)"
