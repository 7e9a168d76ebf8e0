"""Reproducer scripts of forward cells and claims: standalone, the harness's inputs, reference and
verdict, hostile strings inert.

The fault-injection adapter (tests/fault_adapters.py) computes with numpy, so its reproducer's call is
numpy code and the scripts run with a Python that has numpy only (``python -I``).
"""
import ast
import json
import re
from dataclasses import replace

import ml_dtypes
import numpy as np
import pytest

from harness.cases.inputs import make_inputs
from harness.execution.runner import Runner
from harness.numerics.achievable import achievable_error
from harness.numerics.reference import normalize
from harness.numerics.verdict import judge
from harness.repro.find import ReproError, validated_case
from harness.text.inert import comment, md
from tests.unit.repro.support import (
    imports_of,
    mk,
    record,
    repro,
    run_script,
    script_for,
)


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


def test_comment_and_markdown_escapes():
    assert comment("a\nb\r\x1b[0m\u2028c\u202e") == "a b [0m c"
    assert "\n" not in md("x\n# heading") and md("<b>&") == "&lt;b&gt;&amp;"
    assert md("[a](javascript:x)") == "\\[a\\](javascript:x)"
    with pytest.raises(ReproError):
        validated_case({"id": "x y"})


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
