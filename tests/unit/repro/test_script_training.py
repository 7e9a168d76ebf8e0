"""Reproducer scripts of backward and running-statistics cells."""
import numpy as np
import pytest

from harness.cases.inputs import make_inputs
from harness.cli import main as cli_main
from tests.unit.repro.support import (
    TRAIN_ADAPTERS,
    imports_of,
    load_script,
    printed_outputs,
    record_on,
    run_script,
    tmk,
)


@pytest.mark.parametrize("adapter,case,status", [
    ("numpy-train", tmk("t-ln"), "agree"),
    ("planted-constant-stats-grad", tmk("t-gn", op="group_norm", layout="NCHW", groups=2,
                                        shape={"N": 2, "C": 4, "H": 3, "W": 2}), "diverge"),
    ("numpy-train", tmk("t-bn-run", check="running_stats"), "agree"),
    ("planted-unbiased-running-var", tmk("t-bn-run-unbiased", check="running_stats"), "diverge"),
    ("planted-old-weight-momentum", tmk("t-bn-run-old", check="running_stats", layout="BF", shape={"B": 6, "F": 5},
                                        affine="none", dtype="float64"), "diverge"),
], ids=lambda v: v if isinstance(v, str) else v.id)
def test_training_script_reproduces_the_recorded_verdict(tmp_path, monkeypatch, adapter, case, status):
    monkeypatch.setenv("NORMCONF_ADAPTERS", TRAIN_ADAPTERS)
    results, (r,) = record_on(tmp_path, adapter, [case], "t.jsonl")
    assert r.status == status, r.message
    script, issue = tmp_path / "t.py", tmp_path / "t.md"
    assert cli_main(["repro", case.id, adapter, "--results", str(results), "-o", str(script), "--issue", str(issue),
                     "--no-shrink"]) == 0
    text = script.read_text()
    assert imports_of(text) <= {"numpy", "sys", "contextlib"}
    p = run_script(script, tmp_path)
    assert p.returncode == (1 if status == "diverge" else 0), p.stdout + p.stderr
    # every named output: the error and achievable error the harness recorded, and the same verdict
    want = {k: (f"{o.max_abs:.6g}", f"{o.achievable:.6g}", "agrees" if o.ok else "DIVERGES")
            for k, o in r.metrics.outputs.items()}
    assert printed_outputs(p.stdout) == want, p.stdout
    assert f"worst output: {r.metrics.output};" in p.stdout
    assert p.stdout.rstrip().endswith("DIVERGES" if status == "diverge" else "agrees")
    body = issue.read_text()
    for k, o in r.metrics.outputs.items():
        assert f"- `{k}` {'agrees' if o.ok else '**diverges**'}: error (max abs) {o.max_abs:.4g};" in body
    assert ("diverge from their definition" if status == "diverge" else "agree with their definition") in body


TRAIN_CASES = [
    tmk("p1"),
    tmk("p2", dtype="bfloat16", op="group_norm", layout="NCHW", groups=2, shape={"N": 2, "C": 4, "H": 3, "W": 2}),
    tmk("p3", dtype="float16", op="rms_norm", affine="ones"),
    tmk("p4", dtype="float64", op="instance_norm", layout="NHWC", shape={"N": 2, "H": 3, "W": 2, "C": 3},
        affine="none"),
    tmk("p5", op="layer_norm", axes="TF", affine_axes="F"),
    tmk("p6", op="layer_norm_no_bias", input={"distribution": "normal", "mean": 1e4, "std": 0.01}),
    tmk("p7", op="batch_norm", layout="NCL", shape={"N": 3, "C": 4, "L": 5}, dtype="float16"),
    tmk("q1", check="running_stats"),
    tmk("q2", check="running_stats", layout="BF", shape={"B": 6, "F": 5}, dtype="float64", affine="none",
        momentum=0.5, steps=1),
    tmk("q3", check="running_stats", layout="NHWC", shape={"N": 2, "H": 2, "W": 3, "C": 3}, dtype="bfloat16",
        input={"distribution": "uniform", "low": -3.0, "high": 100.0}),
    tmk("q4", check="running_stats", dtype="float16", momentum=0.01, steps=8, epsilon=1e-3),
]


@pytest.mark.parametrize("case", TRAIN_CASES, ids=lambda c: c.id)
def test_training_script_pieces_are_the_harness_pieces(case, tmp_path):
    from harness.numerics import running
    from harness.numerics.achievable_backward import achievable_grad_errors
    from harness.numerics.backward import grads
    from harness.repro.script_training import training_script
    from tests.training_adapters import NumpyTrain

    text = training_script(case, "numpy-train", NumpyTrain().repro(case), eps=case.epsilon, epsilon_doc=None,
                           header_lines=[], recorded_metrics=None)
    s = load_script(text, tmp_path, f"t_{case.id}")
    want = make_inputs(case)
    x, g, b = s.make_inputs(s.INPUTS)
    for got, exp in ((x, want.x), (g, want.gamma), (b, want.beta)):
        assert (got is None and exp is None) or np.array_equal(got, exp.astype(np.float64))
    x, g, b = s.in_dtype(x), s.in_dtype(g), s.in_dtype(b)
    sem = case.semantics
    if case.check == "backward":
        dy = s.upstream_gradient(s.INPUTS)
        assert np.array_equal(dy, want.dy.astype(np.float64))  # bit-exact, half precision included
        refs = s.reference_grads(x, s.in_dtype(dy), g, b, s.OP)
        hrefs = grads(want.x, sem, want.dy, want.gamma, want.beta)
        ach = s.achievable_grads(x, s.in_dtype(dy), g, b, s.OP, refs)
        hach = achievable_grad_errors(want.x, hrefs, sem, case.dtype, want.dy, want.gamma, want.beta)
    else:
        batches = s.training_batches(s.INPUTS, s.STEPS)
        assert len(batches) == case.steps
        assert all(np.array_equal(p, q.astype(np.float64)) for p, q in zip(batches, want.batches))
        batches = [s.in_dtype(p) for p in batches]
        update = running.Update(case.momentum)
        refs = s.reference_running(x, batches, g, b, s.OP, s.MOMENTUM)
        hrefs = running.reference(want.x, want.batches, sem, update, want.gamma, want.beta)
        ach = s.achievable_running(x, batches, g, b, s.OP, s.MOMENTUM, refs)
        hach = running.achievable_errors(want.x, want.batches, hrefs, sem, case.dtype, update, want.gamma, want.beta)
    assert list(refs) == list(hrefs)
    for k in hrefs:
        assert refs[k].shape == hrefs[k].shape, k
        np.testing.assert_allclose(refs[k], hrefs[k], rtol=1e-12, atol=1e-12 * float(np.max(np.abs(hrefs[k]))),
                                   err_msg=k)
        assert ach[k] == pytest.approx(hach[k], rel=1e-9), (k, ach[k], hach[k])


@pytest.mark.parametrize("tol", [None, {"factor": 100.0}, {"atol": 1e-4}, {"rtol": 1e-3, "atol": 1e-6}])
def test_training_verdict_is_the_harness_rule(tmp_path, tol):
    from harness.numerics.achievable_backward import achievable_grad_errors
    from harness.numerics.backward import grads
    from harness.numerics.verdict import compare
    from harness.repro.script_training import training_script
    from tests.training_adapters import NumpyTrain

    case = tmk("v-t", **({"tolerance": {"reason": "test", **tol}} if tol else {}))
    s = load_script(training_script(case, "numpy-train", NumpyTrain().repro(case), eps=case.epsilon, epsilon_doc=None,
                                    header_lines=[], recorded_metrics=None), tmp_path, f"v_{len(tol or ())}")
    inp = make_inputs(case)
    refs = grads(inp.x, case.semantics, inp.dy, inp.gamma, inp.beta)
    ach = achievable_grad_errors(inp.x, refs, case.semantics, "float32", inp.dy, inp.gamma, inp.beta)
    verdicts = []
    for name, ref in refs.items():
        for shift in (0.0, 1e-6, 3e-5, 1e-3, 0.1):
            y = (ref + shift).astype(np.float32)
            want = compare(y, ref, "float32", achievable=ach[name], tolerance=case.tolerance_spec)
            got = s.judge_output(name, y, ref, ach[name], s.TOLERANCE)
            assert got["ok"] == want.ok and got["error"] == want.max_abs, (name, shift)
            verdicts.append(want.ok)
        y = ref.astype(np.float32)
        y.flat[0] = np.nan
        assert not s.judge_output(name, y, ref, ach[name], s.TOLERANCE)["ok"]
    assert True in verdicts and False in verdicts  # the shifts straddle what the rule allows
    missing = s.judge_output("dbeta", None, refs["dbeta"], 0.0, s.TOLERANCE)
    assert not missing["ok"] and missing["problem"] == "the call left no dbeta"
