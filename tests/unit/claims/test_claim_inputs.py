"""Claims on chosen inputs: a claim's own input distribution, layout and shape, affine values and a side's
options; a numerical claim that fails where it matters (the planted one-pass adapter) and holds on the
default input, where no numerical claim could fail."""
import textwrap

import pytest

from harness.cases.load import CaseError
from harness.claims.load import INPUT, load_claims
from harness.claims.sides import side_case
from harness.execution.runner import Runner

ADAPTERS = "tests.planted_adapters:SPECS"

CLAIM = """
claims:
  - id: stable
    framework: NumPy
    adapters: [numpy-stable, planted-one-pass]
    api: LayerNorm over the last axis
    quote: "computes the variance accurately"
    source: "https://example.org"
    relation: reference
    left: {{op: layer_norm}}
    expect: {{semantics: op, op: layer_norm, axes: last}}
    variants: []
{extra}
"""


def claims(tmp_path, extra=""):
    p = tmp_path / "claims.yaml"
    p.write_text(CLAIM.format(extra=textwrap.indent(textwrap.dedent(extra), "    ")))
    return load_claims(p, display="claims.yaml")


@pytest.mark.parametrize("extra, where, words", [
    ("input: {distribution: normal, mean: 1000.0}", "claims.yaml:13: key 'input'", "distribution normal needs std"),
    ("input: {distribution: uniform, low: 0.0, high: 1.0, mean: 2.0}", "key 'input.mean'",
     "distribution uniform does not take mean"),
    ("input: {mean: [1.0, 2.0], std: 1.0}", "key 'input.mean'", "is not of type 'number'"),
    ("layout: BTF", "key 'shape'", "needs both layout and shape"),
    ("layout: BTF\nshape: {B: 2, F: 3}", "key 'shape'", "needs a size for each of B, T, F"),
    ("layout: BF\nshape: {B: 2, F: 3}\ninputs: [btf]", "key 'inputs'", "runs on that input only"),
    ("layout: BF\nshape: {B: 1000, F: 1000}", "key 'shape'", "more than 65536 elements"),
    ("affine: {gamma: [1.0, 2.0]}", "key 'affine.gamma'", "not a list"),
    ("affine: {gamma: 1.0e+39}", "key 'affine.gamma'", "do not fit float32"),
    ("affine: {gamma: {distribution: normal, mean: 1.0}}", "key 'affine.gamma'", "'std' is a required property"),
])
def test_refusals_name_the_line_and_key(tmp_path, extra, where, words):
    with pytest.raises(CaseError) as e:
        claims(tmp_path, extra)
    msg = str(e.value)
    assert where in msg and words in msg and "\n" not in msg, msg


def test_side_refusals(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(CLAIM.format(extra="").replace("left: {op: layer_norm}", "left: {op: rms_norm}")
                 .replace("op: layer_norm, axes", "op: rms_norm, axes") + "    affine: {beta: 1.0}\n")
    with pytest.raises(CaseError, match="key 'affine.beta': the left side's rms_norm has no bias"):
        load_claims(p)
    p.write_text(CLAIM.format(extra="").replace("left: {op: layer_norm}",
                                                "left: {op: layer_norm, options: {use_fast_varianc: true}}"))
    with pytest.raises(CaseError, match="use_fast_varianc"):
        load_claims(p)


def test_sides_use_the_claims_input_affine_and_options(tmp_path):
    (c,) = claims(tmp_path, """\
        input: {distribution: uniform, low: 999.0, high: 1001.0}
        layout: NLC
        shape: {N: 2, L: 3, C: 8}
        affine: {gamma: -2.0, beta: {magnitude: 1.0e+3}}""")
    assert c.inputs == ("nlc-N2xL3xC8",) and c.input_table["nlc-N2xL3xC8"][2] == "[N,L,C] N2xL3xC8"
    left = dict(c.left, options={"use_fast_variance": False})
    case = side_case(c, left, "nlc-N2xL3xC8", frozenset(), "L")
    assert case.layout == "NLC" and case.size == {"N": 2, "L": 3, "C": 8}
    assert case.input_spec == {"distribution": "uniform", "low": 999.0, "high": 1001.0}
    assert str(case.affine) == "{gamma:-2,beta:magnitude(1000)}" and case.sets_affine
    assert case.option_spec == {"use_fast_variance": False}
    # the initial-params variant still means gamma=1, beta=0
    assert side_case(c, left, "nlc-N2xL3xC8", frozenset({"initial-params"}), "L").affine == "ones"
    d = c.to_dict()
    assert d["input"]["low"] == 999.0 and d["layout"] == "NLC" and d["affine"]["gamma"] == -2.0


def test_default_input_is_unchanged(tmp_path):
    (c,) = claims(tmp_path)
    assert c.input_spec == INPUT and c.affine == "random" and len(c.inputs) == 4
    assert "input" not in c.to_dict() and "affine" not in c.to_dict()


def _verdicts(tmp_path, monkeypatch, extra):
    monkeypatch.setenv("NORMCONF_ADAPTERS", ADAPTERS)
    (c,) = claims(tmp_path, extra)
    runner = Runner("test", None, ["numpy-stable", "planted-one-pass"])
    try:
        return {a: runner.run_claim(c, a) for a in ("numpy-stable", "planted-one-pass")}
    finally:
        runner.close()


def test_a_numerical_claim_fails_only_where_it_matters(tmp_path, monkeypatch):
    # the default input (mean 0.5, spread 1): the one-pass variance is as good as any, the claim holds
    plain = _verdicts(tmp_path, monkeypatch, "")
    assert plain["numpy-stable"].verdict == "holds" and plain["planted-one-pass"].verdict == "holds"
    # at mean 1e4 the one-pass variance cancels: the claim fails there, and the stable adapter still holds
    hard = _verdicts(tmp_path, monkeypatch, """\
        input: {distribution: normal, mean: 10000.0, std: 1.0}
        layout: BTF
        shape: {B: 2, T: 3, F: 16}""")
    assert hard["numpy-stable"].verdict == "holds", hard["numpy-stable"].explanation
    bad = hard["planted-one-pass"]
    assert bad.verdict == "fails" and bad.per_input["btf-B2xT3xF16"].startswith("fails")
    assert "one-pass variance" in bad.explanation and "[B,T,F] B2xT3xF16" in bad.explanation


def test_a_side_option_the_adapter_lacks_is_unsupported(tmp_path, monkeypatch):
    monkeypatch.setenv("NORMCONF_ADAPTERS", ADAPTERS)
    p = tmp_path / "c.yaml"
    p.write_text(CLAIM.format(extra="").replace("left: {op: layer_norm}",
                                                "left: {op: layer_norm, options: {use_fast_variance: false}}"))
    (c,) = load_claims(p)
    runner = Runner("test", None, ["numpy-stable"])
    try:
        r = runner.run_claim(c, "numpy-stable")
    finally:
        runner.close()
    assert r.verdict == "unsupported" and "numpy-stable has no option use_fast_variance" in r.error
