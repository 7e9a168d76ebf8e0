"""Training-time checks without a framework: the running-statistics reference by hand,
the new input streams, and the verdicts and fingerprints on test-only numpy adapters
(one correct, others with a planted bug each)."""
import json

import numpy as np
import pytest

from harness.cases.inputs import make_inputs
from harness.cases.model import Case, params_text
from harness.numerics import running
from harness.ops.registry import op_semantics
from tests.support import run_cells

ADAPTERS = "tests.training_adapters:SPECS"


@pytest.fixture(autouse=True)
def plugins(monkeypatch):
    monkeypatch.setenv("NORMCONF_ADAPTERS", ADAPTERS)


def case(**kw):
    d = dict(id="t", op="batch_norm", layout="NCHW", shape={"N": 2, "C": 3, "H": 2, "W": 2}, dtype="float32",
             epsilon=1e-5, affine="random", seed=4, input={"distribution": "normal", "mean": 0.5, "std": 2.0},
             check="running_stats", momentum=0.1, steps=3)
    d.update(kw)
    if d["check"] != "running_stats":
        d.pop("momentum", None)
        d.pop("steps", None)
    return Case.from_dict(d)


# --- the reference, by hand ---------------------------------------------------------------

def test_running_stats_by_hand():
    """[B, F] batches with one channel: b1 = [1, 3] (mean 2, biased var 1), b2 = [0, 4] (mean 2, var 4).
    momentum 0.1: rm = 0.9*0 + 0.1*2 = 0.2, then 0.9*0.2 + 0.1*2 = 0.38;
    rv = 0.9*1 + 0.1*1 = 1.0, then 0.9*1.0 + 0.1*4 = 1.3."""
    sem = op_semantics("batch_norm", "BF", eps=0.0)
    b1, b2 = np.array([[1.0], [3.0]]), np.array([[0.0], [4.0]])
    rm, rv = running.running_stats([b1, b2], sem, running.Update(0.1))
    np.testing.assert_allclose(rm, [0.38], rtol=1e-15)
    np.testing.assert_allclose(rv, [1.3], rtol=1e-15)
    # unbiased (n-1 = 1): batch variances 2 and 8 -> rv = 0.9*(0.9 + 0.2) + 0.8 = 1.79
    _, rv1 = running.running_stats([b1, b2], sem, running.Update(0.1, ddof=1))
    np.testing.assert_allclose(rv1, [1.79], rtol=1e-15)
    # momentum as the weight of the old value: rm = 0.1*(0.9*2) + 0.9*2 = 1.98
    rm_old, _ = running.running_stats([b1, b2], sem, running.Update(0.1, old_weight=True))
    np.testing.assert_allclose(rm_old, [1.98], rtol=1e-15)
    # inference: (x - 0.38) / sqrt(1.3 + eps) * gamma + beta
    y = running.inference(np.array([[1.0]]), rm, rv, sem.with_(eps=0.2), np.array([2.0]), np.array([1.0]))
    np.testing.assert_allclose(y, [[0.62 / np.sqrt(1.5) * 2 + 1]], rtol=1e-15)


def test_stable_running_stats_are_close_but_not_exact_in_float32():
    c = case()
    inp = make_inputs(c)
    sem = c.semantics
    refs = running.reference(inp.x, inp.batches, sem, running.Update(0.1), inp.gamma, inp.beta)
    ach = running.achievable_errors(inp.x, inp.batches, refs, sem, "float32", running.Update(0.1), inp.gamma,
                                     inp.beta)
    for k in running.NAMES:
        assert 0 < ach[k] < 1e-5, (k, ach[k])


def test_new_input_streams():
    c = case(steps=3)
    a, b = make_inputs(c), make_inputs(c)
    assert len(a.batches) == 3 and a.dy is None
    for x, y in zip(a.batches, b.batches):
        np.testing.assert_array_equal(x, y)  # deterministic
        assert x.shape == a.x.shape and x.dtype == a.x.dtype
    assert not np.array_equal(a.batches[0], a.batches[1]) and not np.array_equal(a.batches[0], a.x)
    # a forward case's x is the same whatever the check: streams are independent
    np.testing.assert_array_equal(make_inputs(case(check="forward")).x, a.x)
    bw = make_inputs(case(check="backward", dtype="float64"))
    assert bw.dy.shape == bw.x.shape and bw.dy.dtype == np.float64 and not bw.batches


def test_params_text_shows_the_check():
    text = params_text(case().to_dict())
    assert "check=running_stats" in text and "momentum=0.1" in text and "steps=3" in text


# --- verdicts and fingerprints on numpy adapters -----------------------------------------------------

BACKWARD = [
    case(check="backward", op="layer_norm", layout="BTF", shape={"B": 2, "T": 3, "F": 5}),
    case(check="backward", op="group_norm", groups=2, layout="NHWC", shape={"N": 2, "C": 4, "H": 2, "W": 3},
         dtype="float64"),
    case(check="backward", op="rms_norm", layout="BTF", shape={"B": 2, "T": 3, "F": 4}, axes="TF",
         affine_axes="F"),
    case(check="backward", op="batch_norm", layout="BTF", shape={"B": 3, "T": 2, "F": 4}, affine="none"),
    case(check="backward", op="layer_norm_no_bias", layout="BF", shape={"B": 3, "F": 6}, dtype="float64"),
]
RUNNING = [case(), case(layout="BTF", shape={"B": 4, "T": 3, "F": 2}, momentum=0.3, steps=2, dtype="float64")]


def test_correct_adapter_agrees_on_every_output():
    results = run_cells("numpy-train", BACKWARD + RUNNING)
    for c, r in zip(BACKWARD + RUNNING, results):
        assert r.status == "agree", r.message
        outs = r.metrics.outputs
        if c.check == "running_stats":
            assert set(outs) == {"y", "running_mean", "running_var"}
        else:
            want = {"dx"} | ({"dgamma"} if c.affine != "none" else set()) \
                | ({"dbeta"} if c.affine != "none" and c.spec.bias else set())
            assert set(outs) == want, c.id
        assert r.metrics.output in outs
        for m in outs.values():
            assert m.ok and m.max_abs <= m.allowed
        json.dumps(r.metrics.to_dict())  # the record travels as JSON


def test_planted_unbiased_running_variance_is_named():
    r, = run_cells("planted-unbiased-running-var", [case()])
    assert r.status == "diverge"
    assert r.metrics.output in ("running_var", "y")
    assert r.metrics.outputs["running_mean"].ok and not r.metrics.outputs["running_var"].ok
    expl = r.explanation
    assert "unbiased (n/(n-1), n=8 values per channel)" in expl, expl
    assert "momentum" not in expl.split("(")[0]
    assert "worst output" in r.message and "running_var DIVERGES" in r.message


def test_planted_momentum_convention_is_named():
    r, = run_cells("planted-old-weight-momentum", [case()])
    assert r.status == "diverge"
    expl = r.explanation
    assert expl.startswith("momentum 0.1 applied as the weight of the old value"), expl
    assert "unbiased" not in expl
    # momentum 0.5 weighs old and new alike: both conventions agree
    r, = run_cells("planted-old-weight-momentum", [case(momentum=0.5)])
    assert r.status == "agree", r.message


def test_planted_constant_statistics_gradient_is_named():
    results = run_cells("planted-constant-stats-grad", BACKWARD[:2])
    for r in results:
        assert r.status == "diverge"
        assert r.metrics.output == "dx"
        assert r.metrics.outputs["dgamma"].ok
        assert "mean and variance treated as constants" in r.explanation
