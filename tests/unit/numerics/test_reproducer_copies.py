"""The reproducer scripts carry an inline copy of the float64 reference (harness/repro/templates:
forward.py.tmpl, backward.py.tmpl, running.py.tmpl, which need only numpy). The copies must compute
what the package computes, over the whole float64 range: checked here on the edge rows of the exact
tests and on inputs spread over the exponent range, for every op of the registry."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import ops
from harness.numerics import backward, running
from harness.numerics.reference import normalize
from harness.ops.layouts import Layout
from harness.ops.semantics import param_shape
from harness.repro.script import common, op_spec, template
from tests.unit.numerics.test_exact import SETTINGS, assert_grads, spread_values

TEMPLATES = ("forward.py.tmpl", "backward.py.tmpl", "running.py.tmpl")
SIZES = {"B": 2, "N": 2, "T": 3, "L": 3, "H": 2, "W": 2, "D": 2, "F": 4, "C": 4}
EDGE = [[5e-324, 0.0, 1e-323, 2e-323], [1e-300, 2e-300, 3e-300, -7e-301], [1.7976931348623157e308, 1.6e308, 1.79e308, 1.5e308],
        [-1.7976931348623157e308, 1.7976931348623157e308, 1e308, -1e308], [1e300, 1.0, 1e-300, 5e-324],
        [1.0, 1 + 2.0 ** -52, 1 - 2.0 ** -53, 2.0 ** -1000], [3.0, 3.0, 3.0, 3.0], [0.0, 0.0, 0.0, 0.0]]


def script(*helpers):
    """The helpers a float64 script carries, executed: inputs, rows, and the given templates."""
    ns = {}
    exec("import numpy as np\n" + common("float64", *helpers), ns)  # noqa: S102 - the shipped templates
    return ns


FWD = script()
BWD = script("outputs.py.tmpl", "backward.py.tmpl")
RUN = script("outputs.py.tmpl", "running.py.tmpl")


def spec(sem, shape):
    lay = Layout(sem.layout)
    op = op_spec(sem, dict(zip(lay.axes, shape)))
    op["param_dims"] = tuple(i for i, a in enumerate(lay.axes) if a in sem.affine_axes)
    return op


def same(got, want):
    """Equal to 2**-48 relative; NaN where NaN, the same infinities."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.where(np.isinf(want), want, 0), np.where(np.isinf(want), got, 0))
    fin = np.isfinite(want)
    tol = 2.0 ** -48 * np.abs(want[fin]) + 2.0 ** -1070
    assert np.all(np.abs(got[fin] - want[fin]) <= tol), (got, want)


def check(sem, x, gamma, beta, dy):
    """The forward copy against the package; the backward copy within the package's bounds of the exact
    gradients (its terms are summed in another order: where the definition cancels them, the two differ
    within the bound, not to the last ulp)."""
    op = spec(sem, x.shape)
    same(FWD["reference"](x, gamma, beta, op), normalize(x, sem, gamma, beta))
    same(FWD["reference"](x, None, None, op), normalize(x, sem))
    got = BWD["reference_grads"](x, dy, gamma, beta, op)
    assert set(got) == set(backward.grads(x, sem, dy, gamma, beta))
    assert_grads(x, sem, dy, gamma, beta, got=got)


def check_running(sem, x, batches, gamma, beta, momentum):
    got = RUN["reference_running"](x, batches, gamma, beta, spec(sem, x.shape), momentum)
    want = running.reference(x, batches, sem, running.Update(momentum), gamma, beta)
    assert set(got) == set(want)
    for k in want:
        same(got[k], want[k])


def test_the_three_copies_are_one():
    """forward, backward and running templates carry the same block of exact statistics."""
    blocks = []
    for name in TEMPLATES:
        text = template(name).template
        found = re.search(r"# --- exact float64 statistics:.*?# --- end of the exact float64 statistics ---", text, re.DOTALL)
        assert found, name
        blocks.append(found.group(0))
    assert blocks[0] == blocks[1] == blocks[2]


@pytest.mark.parametrize("row", EDGE, ids=range(len(EDGE)))
@pytest.mark.parametrize("op", ["layer_norm", "rms_norm", "layer_norm_no_bias"])
@pytest.mark.parametrize("eps", [1e-5, 0.0, 1e300])
def test_edge_rows(row, op, eps):
    sem = ops.op_semantics(op, "BF", eps=eps)
    x = np.array([row, row[::-1], [row[0]] * 4])
    dy = np.array([row[::-1], [1.0, -2.0, 3.0, 0.5], row])
    gamma, beta = np.array([2.0, 1e300, 1e-300, -1.7e308]), np.array([1e308, -1.0, 5e-324, 1.7e308])
    check(sem, x, gamma, beta if sem.bias else None, dy)
    check(sem, x, None, None, dy)


@pytest.mark.parametrize("momentum", [0.1, 1.0, 1e-3])
def test_edge_batches(momentum):
    sem = ops.op_semantics("batch_norm", "BF", eps=1e-5)
    batches = [np.array(EDGE[i:i + 3]).T.copy() for i in range(0, len(EDGE) - 2, 2)]
    x = np.array(EDGE[1:4]).T.copy()
    check_running(sem, x, batches, None, None, momentum)
    check_running(sem, x, batches, np.array([2.0, 1e300, -1e-300]), np.array([1e308, -1.0, 0.0]), momentum)


@pytest.mark.parametrize("name", [n for n in ops.NAMES if ops.OPS[n].definition is None])
@settings(max_examples=8, **SETTINGS)
@given(data=st.data())
def test_spread_inputs(name, data):
    op = ops.OPS[name]
    layout = "NCHW" if op.needs_spatial or op.grouped else data.draw(st.sampled_from(["BF", "BTF", "NHWC"]))
    lay = Layout(layout)
    kw = {"groups": data.draw(st.sampled_from([1, 2, 4]))} if op.grouped else {}
    sem = op.semantics(layout, eps=data.draw(st.sampled_from([1e-5, 1e-300, 1e300])), **kw)
    shape = lay.shape({a: SIZES[a] for a in lay.axes})
    n = int(np.prod(shape))

    def arr(shape):
        return np.array(data.draw(spread_values(int(np.prod(shape)))), np.float64).reshape(shape)

    x, dy = arr(shape), arr(shape)
    pshape = param_shape(sem, {a: SIZES[a] for a in lay.axes})
    gamma, beta = arr(pshape), (arr(pshape) if sem.bias else None)
    assert n > 0
    check(sem, x, gamma, beta, dy)
    if name == "batch_norm":
        batches = [arr(shape) for _ in range(2)]
        check_running(sem, x, batches, gamma, beta, data.draw(st.sampled_from([0.1, 1.0, 1e-3])))
