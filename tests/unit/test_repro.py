"""normconf repro: standalone scripts, their verdicts, hostile strings, shrinking.

The fault-injection adapter (tests/fault_adapters.py) computes with numpy, so
its reproducer's call is numpy code and the scripts run with a Python that has
numpy only, outside the repository and without PYTHONPATH (``python -I``).
"""
import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

from harness.cases.inputs import make_inputs
from harness.cases.model import Case
from harness.cli import main as cli_main
from harness.execution.runner import Runner
from harness.numerics.achievable import achievable_error
from harness.numerics.reference import normalize
from harness.numerics.verdict import judge
from harness.repro.find import validated_case
from harness.repro.script import case_script
from harness.repro.shrink import masked, shrink
from harness.text.inert import comment, md
from tests.fault_adapters import Faulty

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def plugins(monkeypatch):
    monkeypatch.setenv("NORMCONF_ADAPTERS", "tests.fault_adapters:SPECS")
    monkeypatch.chdir(REPO)


def mk(cid="r-ln", tags=(), **kw):
    d = dict(id=cid, description="repro test", source="tests", op="layer_norm", layout="BTF",
             shape={"B": 2, "T": 3, "F": 4}, dtype="float32", epsilon=1e-5, affine="random", seed=1,
             input={"distribution": "normal", "mean": 0.0, "std": 1.0}, tags=list(tags))
    d.update(kw)
    return Case.from_dict(d)


def record(tmp_path, cases, name="r.jsonl"):
    out = tmp_path / name
    runner = Runner("unit", out, ["faulty"], cell_timeout=60)
    try:
        results = [runner.run_cell(c, "faulty") for c in cases]
    finally:
        runner.close()
    return out, results


def run_script(path, tmp_path):
    """Run a script the way a maintainer would: isolated (-I: no PYTHONPATH, no user site), outside the repo."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NORMCONF_ADAPTERS")}
    work = tmp_path / "elsewhere"
    work.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-I", str(path)], cwd=work, env=env, capture_output=True, text=True,
                          timeout=120)


def repro(tmp_path, results, cid, *extra, name="repro_script.py"):
    script = tmp_path / name
    code = cli_main(["repro", cid, "faulty", "--results", str(results), "-o", str(script), *extra])
    return code, script


def imports_of(text):
    mods = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            mods |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            mods.add((node.module or "").split(".")[0])
    return mods


def load_script(text, tmp_path, name="loaded_script"):
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def script_for(case, tmp_path, name="s"):
    parts = Faulty().repro(case)
    text = case_script(case, "faulty", parts, eps=case.epsilon, epsilon_doc=None, record=None, header_lines=[],
                       recorded_metrics=None)
    return load_script(text, tmp_path, name)


# --- standalone scripts and their verdicts ------------------------------------------------------

def test_divergent_cell_script_is_standalone_and_exits_1(tmp_path):
    results, (r,) = record(tmp_path, [mk("r-wrong", ["wrong"])])
    assert r.status == "diverge"
    code, script = repro(tmp_path, results, "r-wrong", "--no-shrink")
    assert code == 0
    text = script.read_text()
    assert imports_of(text) <= {"numpy", "sys", "contextlib"}
    assert "harness" not in text.split("# ---", 1)[0].split("import numpy", 1)[1]  # no normconf import
    p = run_script(script, tmp_path)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "DIVERGES" in p.stdout and "worst element [" in p.stdout and "ratio" in p.stdout
    # the script measures what the harness recorded
    assert f"error {r.metrics.max_abs:.6g}" in p.stdout


def test_agreeing_cell_script_exits_0(tmp_path):
    results, (r,) = record(tmp_path, [mk("r-ok", dtype="float64", layout="NCHW",
                                         shape={"N": 2, "C": 6, "H": 3, "W": 2}, op="group_norm", groups=3)])
    assert r.status == "agree"
    code, script = repro(tmp_path, results, "r-ok")
    assert code == 0
    p = run_script(script, tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "agrees" in p.stdout
    assert "not shrunk: the cell is agree" in script.read_text()


def test_error_case_expecting_a_raise(tmp_path):
    c = mk("r-raise", ["raise"], expect={"raises": "ValueError", "message": ["injected"]})
    results, _ = record(tmp_path, [c, replace(c, id="r-raise-other", expect=(("raises", "TypeError"),))])
    code, script = repro(tmp_path, results, "r-raise", "--no-shrink")
    assert code == 0
    p = run_script(script, tmp_path)
    assert p.returncode == 0 and "raised as expected" in p.stdout, p.stdout + p.stderr
    code, script = repro(tmp_path, results, "r-raise-other", "--no-shrink", name="other.py")
    p = run_script(script, tmp_path)
    assert p.returncode == 1 and "DIVERGES: expected TypeError" in p.stdout, p.stdout + p.stderr


def test_unknown_cell_is_exit_2(tmp_path, capsys):
    results, _ = record(tmp_path, [mk("r-ok2")])
    code, script = repro(tmp_path, results, "no-such-case")
    assert code == 2 and not script.exists()
    assert "no record" in capsys.readouterr().err


# --- the script's pieces against the harness -----------------------------------------------------

INPUT_CASES = [
    mk("i1"),
    mk("i2", dtype="bfloat16", input={"distribution": "normal", "mean": 3.0, "std": 1e-3}),
    mk("i3", dtype="float16", affine="ones", input={"distribution": "uniform", "low": -3.0, "high": 100.0}),
    mk("i4", dtype="float64", op="rms_norm", affine="random"),
    mk("i5", affine="none", input={"distribution": "constant", "value": 10000.1}),
    mk("i6", op="group_norm", layout="NCHW", shape={"N": 2, "C": 6, "H": 3, "W": 2}, groups=2, dtype="bfloat16"),
    mk("i7", op="layer_norm", layout="NHWC", shape={"N": 2, "C": 3, "H": 4, "W": 2}, axes="HWC",
       input={"distribution": "normal", "mean": 1e4, "std": 0.01}),
    mk("i8", op="batch_norm", layout="NCL", shape={"N": 3, "C": 4, "L": 5}, dtype="float16", seed=9),
    mk("i9", op="instance_norm", layout="NDHWC", shape={"N": 2, "D": 2, "H": 3, "W": 2, "C": 3}),
    mk("i10", op="layer_norm", axes="TF", affine_axes="F"),
]


@pytest.mark.parametrize("case", INPUT_CASES, ids=lambda c: c.id)
def test_script_rebuilds_the_exact_inputs_reference_and_achievable(case, tmp_path):
    s = script_for(case, tmp_path, f"s_{case.id}")
    x, g, b = s.make_inputs(s.INPUTS)
    want = make_inputs(case)
    for got, exp in ((x, want.x), (g, want.gamma), (b, want.beta)):
        if exp is None:
            assert got is None
            continue
        assert np.array_equal(got, exp.astype(np.float64)), case.id  # bit-exact, bfloat16 included
    x, g, b = s.in_dtype(x), s.in_dtype(g), s.in_dtype(b)
    ref = s.reference(x, g, b, s.OP)
    sem = case.semantics
    hx = want.x
    href = normalize(hx, sem, want.gamma, want.beta)
    np.testing.assert_allclose(ref, href, rtol=1e-13, atol=1e-13)
    ach = s.achievable(x, g, b, s.OP, ref)
    hach = achievable_error(hx, href, sem, case.dtype, want.gamma, want.beta)
    assert hach / 2 <= ach <= hach * 2, (case.id, ach, hach)


def test_bfloat16_rounding_matches_ml_dtypes(tmp_path):
    s = script_for(mk("bf", dtype="bfloat16"), tmp_path, "s_bf")
    rng = np.random.default_rng(0)
    a = rng.standard_normal(200000) * 10.0 ** rng.uniform(-30, 30, 200000)
    a = np.concatenate([a, [1 + 2**-8, 1 + 2**-8 + 2**-40, 1 + 3 * 2**-8, -(1 + 2**-8), 0.0, -0.0]])
    assert np.array_equal(s.round_to_dtype(a), a.astype(ml_dtypes.bfloat16).astype(np.float64))


@pytest.mark.parametrize("shift,expect_ok", [(0.0, True), (2.0, False), (0.25, True)])
def test_script_verdict_is_the_harness_verdict(tmp_path, shift, expect_ok):
    case = mk("v", input={"distribution": "normal", "mean": 100.0, "std": 0.1})
    s = script_for(case, tmp_path, f"s_v{int(shift * 100)}")
    inp = make_inputs(case)
    ref64 = normalize(inp.x, case.semantics, inp.gamma, inp.beta)
    allowed = judge(ref64.astype(np.float32), inp.x, case.semantics, "float32", inp.gamma, inp.beta)[0].allowed
    y = (ref64 + shift * allowed).astype(np.float32)  # off by a multiple of what the rule allows
    c, _ = judge(y, inp.x, case.semantics, "float32", inp.gamma, inp.beta)
    x, g, b = [s.in_dtype(a) for a in s.make_inputs(s.INPUTS)]
    ref = s.reference(x, g, b, s.OP)
    v = s.judge(y.astype(np.float64), ref, s.achievable(x, g, b, s.OP, ref))
    assert v["ok"] == c.ok == expect_ok
    y[0, 0, 0] = np.nan
    v = s.judge(y.astype(np.float64), ref, s.achievable(x, g, b, s.OP, ref))
    assert not v["ok"] and v["n_nonfinite"] == 1


# --- hostile strings -------------------------------------------------------------------------------

HOSTILE = ("x\n__import__('pathlib').Path({m!r}).touch()\n# \r\x1b[31m\u2028\u202e\"\"\"''' "
           "<script>alert(1)</script> ](javascript:alert(1)) ``` {{x}}")


def test_hostile_strings_stay_inert(tmp_path):
    marker = tmp_path / "pwned"
    text = HOSTILE.format(m=str(marker))
    c = mk("r-hostile", ["wrong"], description=text, source=text)
    results, _ = record(tmp_path, [c])
    # a hostile snippet in the record is never used: the call is regenerated by the adapter
    lines = results.read_text().splitlines()
    recs = [json.loads(ln) for ln in lines]
    for rec in recs:
        if rec.get("kind") == "result":
            rec["snippet"] = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    results.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    issue = tmp_path / "issue.md"
    code, script = repro(tmp_path, results, "r-hostile", "--no-shrink", "--issue", str(issue))
    assert code == 0
    body = script.read_text()
    ast.parse(body)
    # every line that carries the hostile text is a comment
    for ln in body.splitlines():
        if "touch()" in ln or "alert(1)" in ln:
            assert ln.lstrip().startswith("#"), ln
    assert "\x1b" not in body and "\u202e" not in body and "\u2028" not in body and "\r" not in body
    p = run_script(script, tmp_path)
    assert p.returncode == 1, p.stdout + p.stderr
    assert not marker.exists()
    md_text = issue.read_text()
    prose, fenced = md_text.split("````python\n", 1)  # the script's own backticks lengthen the fence
    assert fenced.rstrip().endswith("````") and "````" not in fenced.rstrip()[:-4]
    assert "<script>" not in prose and "&lt;script&gt;" in prose
    assert not re.search(r"(?<!\\)\]\(javascript:", prose)  # only escaped brackets: no link
    assert "\x1b" not in md_text and "\u202e" not in md_text


@pytest.mark.parametrize("field,value", [("dtype", "float32')\nimport os\n#"), ("groups", "2); import os; ("),
                                         ("layout", "BTF; import os"), ("epsilon", "1e-5); import os; ("),
                                         ("input", {"distribution": "normal", "mean": "0) or __import__('os')",
                                                    "std": 1.0}),
                                         ("axes", "F') + __import__('os').name + ('")])
def test_hostile_record_fields_are_refused(tmp_path, field, value, capsys):
    results, _ = record(tmp_path, [mk("r-bad")])
    recs = [json.loads(ln) for ln in results.read_text().splitlines()]
    for rec in recs:
        if "case" in rec:  # a case record (or a result that carries its case)
            rec["case"][field] = value
    results.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    code, script = repro(tmp_path, results, "r-bad", "--no-shrink")
    assert code == 2 and not script.exists()
    err = capsys.readouterr().err
    # refused by the results reader (the record is skipped) or by the reproducer's own validation
    assert "recorded case" in err or ("bad result record" in err and "no record" in err), err


def test_comment_and_markdown_escapes():
    assert comment("a\nb\r\x1b[0m\u2028c\u202e") == "a b [0m c"
    assert "\n" not in md("x\n# heading") and md("<b>&") == "&lt;b&gt;&amp;"
    assert md("[a](javascript:x)") == "\\[a\\](javascript:x)"
    with pytest.raises(Exception):
        validated_case({"id": "x y"})


# --- shrinking -------------------------------------------------------------------------------------

def test_shrinking_keeps_the_explanation(tmp_path):
    # statistics over {T,F} where the case asks for {F}: invisible once T is 1
    c = mk("r-shrink", ["stats-all"], shape={"B": 3, "T": 6, "F": 8})
    runner = Runner("unit", None, ["faulty"], cell_timeout=60)
    try:
        s = shrink(c, "faulty", runner, budget=40)
    finally:
        runner.close()
    assert s.original_result.status == "diverge"
    before = s.original_result.explanation
    assert "normalized over {T,F}" in before
    assert s.calls <= 40
    assert s.changed
    size = s.case.size
    assert size["T"] >= 2 and size["B"] == 1 and size["F"] < 8, size
    assert s.result.status == "diverge"
    assert masked(s.result.explanation) == masked(before)
    # T=1 was tried and rejected: it agrees
    assert any(t.startswith("B3xT1xF8") and "same explanation" not in t for t in s.tried)


def test_repro_script_says_what_was_shrunk(tmp_path):
    c = mk("r-shrink2", ["stats-all"], shape={"B": 3, "T": 6, "F": 8})
    results, _ = record(tmp_path, [c])
    issue = tmp_path / "i.md"
    code, script = repro(tmp_path, results, "r-shrink2", "--issue", str(issue))
    assert code == 0
    text = script.read_text()
    header = " ".join(ln[2:] for ln in text.splitlines() if ln.startswith("# "))
    assert "shrunk from B3xT6xF8 to B1xT" in header
    assert "same explanation: normalized over {T,F}; the case expects {F}" in header
    p = run_script(script, tmp_path)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "shrunk from B3xT6xF8" in issue.read_text()


def test_nothing_smaller_keeps_the_original(tmp_path):
    c = mk("r-tiny", ["wrong"], shape={"B": 1, "T": 1, "F": 1})
    runner = Runner("unit", None, ["faulty"], cell_timeout=60)
    try:
        s = shrink(c, "faulty", runner)
    finally:
        runner.close()
    assert not s.changed and s.case == c and "not shrunk" in s.note


# --- claims ----------------------------------------------------------------------------------------

CLAIMS = """\
claims:
  - id: U1-gn1-is-ln
    framework: Faulty
    adapters: [faulty]
    api: "GroupNorm(1) vs LayerNorm"
    quote: "GroupNorm with one group is LayerNorm"
    source: "https://example.org/docs"
    relation: equal
    left: {op: group_norm, groups: 1}
    right: {op: layer_norm}
    inputs: [bf, btf]
    variants: []
  - id: U2-gn1-is-paper-ln
    framework: Faulty
    adapters: [faulty]
    api: "GroupNorm(1)"
    quote: "GN with G=1 is the paper's LN"
    source: "https://example.org/paper"
    relation: reference
    left: {op: group_norm, groups: 1}
    expect: {semantics: paper_layer_norm}
    inputs: [btf]
    variants: []
"""


def test_claim_reproducers(tmp_path):
    from harness.claims.load import load_claims

    path = tmp_path / "claims.yaml"
    path.write_text(CLAIMS)
    claims = load_claims(path)
    out = tmp_path / "c.jsonl"
    runner = Runner("unit", out, ["faulty"], cell_timeout=60)
    try:
        verdicts = {c.id: runner.run_claim(c, "faulty").verdict for c in claims}
    finally:
        runner.close()
    assert verdicts == {"U1-gn1-is-ln": "holds only when", "U2-gn1-is-paper-ln": "holds"}
    issue = tmp_path / "c.md"
    code, script = repro(tmp_path, out, "U1-gn1-is-ln", "--issue", str(issue), name="claim1.py")
    assert code == 0
    text = script.read_text()
    assert "def call_left" in text and "def call_right" in text
    p = run_script(script, tmp_path)
    assert p.returncode == 1 and "FAILS" in p.stdout, p.stdout + p.stderr
    body = issue.read_text()
    assert "> GroupNorm with one group is LayerNorm" in body and "(https://example.org/docs)" in body
    code, script = repro(tmp_path, out, "U2-gn1-is-paper-ln", name="claim2.py")
    p = run_script(script, tmp_path)
    assert p.returncode == 0 and "holds" in p.stdout, p.stdout + p.stderr


# --- training-time checks: backward and running statistics ----------------------------------------

TRAIN_ADAPTERS = "tests.fault_adapters:SPECS,tests.training_adapters:SPECS"


def tmk(cid, check="backward", **kw):
    """A backward (or running-statistics) case; running_stats cases are batch norm, 3 steps, momentum 0.1."""
    if check == "running_stats":
        kw = {"op": "batch_norm", "layout": "NCHW", "shape": {"N": 2, "C": 3, "H": 2, "W": 3}, "momentum": 0.1,
              "steps": 3, **kw}
    return mk(cid, check=check, input=kw.pop("input", {"distribution": "normal", "mean": 0.5, "std": 2.0}), **kw)


def record_on(tmp_path, adapter, cases, name):
    out = tmp_path / name
    runner = Runner("unit", out, [adapter], cell_timeout=60)
    try:
        return out, [runner.run_cell(c, adapter) for c in cases]
    finally:
        runner.close()


def printed_outputs(stdout):
    """name -> (error, achievable, verdict word) from a training script's report."""
    found = re.findall(r"^(\w+): worst element .*\n    error (\S+) \(max abs\), achievable (\S+), .*; "
                       r"(agrees|DIVERGES)$", stdout, re.M)
    return {k: (e, a, w) for k, e, a, w in found}


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


def test_training_script_is_shrunk_and_still_diverges(tmp_path, monkeypatch):
    monkeypatch.setenv("NORMCONF_ADAPTERS", TRAIN_ADAPTERS)
    case = tmk("t-shrink", shape={"B": 3, "T": 4, "F": 5})
    results, (r,) = record_on(tmp_path, "planted-constant-stats-grad", [case], "s.jsonl")
    assert r.status == "diverge"
    script = tmp_path / "s.py"
    assert cli_main(["repro", case.id, "planted-constant-stats-grad", "--results", str(results),
                     "-o", str(script)]) == 0
    header = " ".join(ln[2:] for ln in script.read_text().splitlines() if ln.startswith("# "))
    assert "shrunk from B3xT4xF5 to" in header
    p = run_script(script, tmp_path)
    assert p.returncode == 1 and "dx: worst element" in p.stdout and "worst output: dx;" in p.stdout, p.stdout


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


@pytest.mark.parametrize("field,value,words", [
    ("check", "sideways", "has no check"), ("momentum", 2.0, "momentum must be in"), ("steps", 0, "steps is not"),
    ("steps", "3", "steps is not"), ("momentum", "0.1); import os; (", "momentum is not")])
def test_hostile_training_fields_are_refused(field, value, words):
    d = tmk("h", check="running_stats").to_dict()
    d[field] = value
    with pytest.raises(Exception) as e:
        validated_case(d)
    assert words in str(e.value)


def test_cells_the_adapter_cannot_reproduce_are_one_line(tmp_path, capsys):
    from harness.repro.find import ReproError
    from harness.repro.script_training import check_call

    results, _ = record(tmp_path, [mk("t-fwd")])
    recs = [json.loads(ln) for ln in results.read_text().splitlines()]
    for rec in recs:
        if "case" in rec:
            rec["case"]["check"] = "backward"  # faulty runs forward cells only
    results.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    code, script = repro(tmp_path, results, "t-fwd", "--no-shrink")
    err = capsys.readouterr().err
    assert code == 2 and not script.exists()
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "t-fwd with faulty" in err and "does not run check backward" in err, err
    # an adapter whose reproducer writes a forward call for a backward cell is refused by name
    with pytest.raises(ReproError, match=r"t-b with some-adapter: .* leaves no dx"):
        check_call(tmk("t-b"), "some-adapter", {"call": "y = x * 2"})
