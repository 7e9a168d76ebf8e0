"""Claims on ops with their own definition (L2 normalization, local response normalization): sides with the
op's own keys, an expect naming the definition or its conventions (and the op's key values in the API's own
terms), their one-line refusals, and verdicts measured with the family test adapters (the definition, and
each convention planted), so a claim that states the wrong convention fails."""
import textwrap

import pytest

from harness.cases.load import CaseError
from harness.claims.load import load_claims
from harness.claims.sides import expected_semantics, side_case
from harness.execution.runner import Runner

ADAPTERS = "tests.planted_adapters:FAMILY_SPECS"

L2 = """
claims:
  - id: l2
    framework: NumPy
    adapters: [numpy-family, planted-family-clamp-squared-norm]
    api: L2 normalization over the last axis
    quote: "output = x / sqrt(max(sum(x**2), epsilon))"
    source: "https://example.org"
    relation: reference
    input: {{distribution: normal, mean: 0.0, std: 1.0e-5}}
    layout: BF
    shape: {{B: 3, F: 4}}
    epsilon: 1.0e-3
    variants: []
{extra}
"""

LRN = """
claims:
  - id: lrn
    framework: NumPy
    adapters: [numpy-family, planted-family-window-torch, planted-family-alpha-whole]
    api: local response normalization
    quote: "a formula"
    source: "https://example.org"
    relation: reference
    layout: NCHW
    shape: {{N: 2, C: 8, H: 2, W: 2}}
    variants: []
{extra}
"""


def load(tmp_path, template, extra):
    p = tmp_path / "claims.yaml"
    p.write_text(template.format(extra=textwrap.indent(textwrap.dedent(extra), "    ")))
    return load_claims(p, display="claims.yaml")


def test_a_side_takes_the_ops_own_keys_and_the_expect_its_conventions(tmp_path):
    (c,) = load(tmp_path, LRN, """\
        left: {op: local_response_norm, size: 5, alpha: 0.5, beta: 0.75, k: 1.0}
        expect: {semantics: op, conventions: {alpha: whole, window: radius}, size: 2, alpha: 0.1}""")
    case = side_case(c, dict(c.left), c.inputs[0], frozenset(), "L")
    assert case.op_args == (("size", 5), ("alpha", 0.5), ("beta", 0.75), ("k", 1.0))
    assert case.affine == "none" and case.epsilon is None
    f = expected_semantics(c, case)
    # the expect's own values in TensorFlow's terms, the side's for the keys it leaves out
    assert dict(f.args) == {"axes": "C", "size": 2, "alpha": 0.1, "beta": 0.75, "k": 1.0}
    assert dict(f.conventions) == {"alpha": "whole", "window": "radius"}
    assert c.to_dict()["expect"]["conventions"] == {"alpha": "whole", "window": "radius"}
    # no gamma or beta: the variant that sets them initial is not tried by default
    (d,) = load(tmp_path, LRN.replace("    variants: []\n", ""), """\
        left: {op: local_response_norm, size: 3, alpha: 0.5, beta: 0.75, k: 1.0}
        expect: {semantics: op}""")
    assert "initial-params" not in d.variants and "pinned-epsilon" in d.variants


def test_an_expect_without_conventions_is_the_definition_on_the_sides_axes(tmp_path):
    (c,) = load(tmp_path, L2, """\
        left: {op: l2_normalize, axes: all}
        expect: {semantics: op}""")
    case = side_case(c, dict(c.left), c.inputs[0], frozenset(), "L")
    f = expected_semantics(c, case)
    assert f.axes == "F" and f.eps == 1e-3 and dict(f.conventions) == {"clamp": "norm"}


@pytest.mark.parametrize("template, extra, where, words", [
    (LRN, "left: {op: local_response_norm, size: 3, alpha: 0.5, beta: 0.75}\nexpect: {semantics: op}",
     "claims.yaml:13: key 'left.k'", "local_response_norm needs k"),
    (LRN, ("left: {op: local_response_norm, size: 3, alpha: 0.5, beta: 0.75, k: 1.0, epsilon: 1.0e-5}\n"
          "expect: {semantics: op}"), "key 'left.epsilon'", "local_response_norm does not take epsilon"),
    (LRN, "left: {op: local_response_norm, size: 0, alpha: 0.5, beta: 0.75, k: 1.0}\nexpect: {semantics: op}",
     "key 'left.size'", "less than the minimum"),
    (LRN, ("left: {op: local_response_norm, size: 3, alpha: 0.5, beta: 0.75, k: 1.0}\n"
          "expect: {semantics: op, conventions: {clamp: none}}"),
     "key 'expect.conventions.clamp'", "local_response_norm has no convention clamp (its conventions: alpha, window)"),
    (LRN, ("left: {op: local_response_norm, size: 3, alpha: 0.5, beta: 0.75, k: 1.0}\n"
          "expect: {semantics: op, conventions: {window: sideways}}"), "key 'expect.conventions.window'",
     "is not one of"),
    (LRN, ("left: {op: local_response_norm, size: 3, alpha: 0.5, beta: 0.75, k: 1.0}\nexpect: {semantics: op}\n"
          "epsilon: 1.0e-5"), "key 'epsilon'", "no side takes an epsilon"),
    (LRN, ("left: {op: local_response_norm, size: 3, alpha: 0.5, beta: 0.75, k: 1.0}\nexpect: {semantics: op}\n"
          "affine: {gamma: 2.0}"), "key 'affine'", "the left side's local_response_norm has no gamma or beta"),
    (L2, "left: {op: l2_normalize}\nexpect: {semantics: op, op: rms_norm}", "key 'expect.op'",
     "l2_normalize has its own definition: a l2_normalize side is measured against it, not against rms_norm"),
    (L2, "left: {op: rms_norm}\nexpect: {semantics: op, op: l2_normalize}", "key 'expect.op'",
     "not against another op"),
    (L2, "left: {op: l2_normalize}\nexpect: {semantics: paper_layer_norm}", "key 'expect.semantics'",
     "l2_normalize has its own definition: expect semantics: op"),
    (L2, "left: {op: l2_normalize}\nexpect: {semantics: op, size: 3}", "key 'expect.size'",
     "expect op l2_normalize does not take size"),
    (L2, "left: {op: layer_norm}\nexpect: {semantics: op, conventions: {clamp: none}}", "key 'expect.conventions'",
     "expect op layer_norm does not take conventions"),
])
def test_refusals_name_the_line_and_key(tmp_path, template, extra, where, words):
    with pytest.raises(CaseError) as e:
        load(tmp_path, template, extra)
    msg = str(e.value)
    assert where in msg and words in msg and "\n" not in msg, msg


def _verdicts(tmp_path, monkeypatch, template, extra):
    monkeypatch.setenv("NORMCONF_ADAPTERS", ADAPTERS)
    (c,) = load(tmp_path, template, extra)
    runner = Runner("test", None, list(c.adapters))
    try:
        return {a: runner.run_claim(c, a) for a in c.adapters}
    finally:
        runner.close()


def test_a_claim_holds_only_with_the_convention_it_states(tmp_path, monkeypatch):
    v = _verdicts(tmp_path, monkeypatch, L2, """\
        left: {op: l2_normalize}
        expect: {semantics: op, conventions: {clamp: squared_norm}}""")
    assert v["planted-family-clamp-squared-norm"].verdict == "holds", v["planted-family-clamp-squared-norm"]
    bad = v["numpy-family"]
    assert bad.verdict == "fails" and bad.per_input["bf-B3xF4"].startswith("fails")
    assert "the output fits eps clamps the norm" in bad.explanation
    assert "the claim states eps clamps the squared norm" in bad.explanation


def test_an_lrn_claim_in_the_apis_own_terms(tmp_path, monkeypatch):
    # TensorFlow's formula with depth_radius=2 and alpha=0.1 is the definition with size 5 and alpha 0.5
    v = _verdicts(tmp_path, monkeypatch, LRN, """\
        left: {op: local_response_norm, size: 5, alpha: 0.5, beta: 0.75, k: 1.0}
        expect: {semantics: op, conventions: {alpha: whole, window: radius}, size: 2, alpha: 0.1}""")
    assert v["numpy-family"].verdict == "holds", v["numpy-family"]
    assert v["planted-family-alpha-whole"].verdict == "fails"
    # an odd size: PyTorch's window is ONNX's, so the planted torch window holds too
    assert v["planted-family-window-torch"].verdict == "holds"


def test_an_even_window_claim_fails_where_the_window_differs(tmp_path, monkeypatch):
    v = _verdicts(tmp_path, monkeypatch, LRN, """\
        left: {op: local_response_norm, size: 4, alpha: 0.5, beta: 0.75, k: 1.0}
        expect: {semantics: op, conventions: {window: docs}}""")
    for name in ("numpy-family", "planted-family-window-torch"):
        assert v[name].verdict == "fails", v[name]
    assert "the output fits window from c-size//2 to c+(size-1)//2" in v["planted-family-window-torch"].explanation


def test_equal_sides_of_an_op_with_its_own_definition(tmp_path, monkeypatch):
    monkeypatch.setenv("NORMCONF_ADAPTERS", ADAPTERS)
    p = tmp_path / "c.yaml"
    p.write_text(LRN.format(extra="").replace("relation: reference", "relation: equal") + textwrap.indent(
        "left: {op: local_response_norm, size: 3, alpha: 0.5, beta: 0.75, k: 1.0}\n"
        "right: {op: local_response_norm, size: 3, alpha: 0.5, beta: 0.75, k: 2.0}\n", "    "))
    (c,) = load_claims(p)
    runner = Runner("test", None, ["numpy-family"])
    try:
        r = runner.run_claim(c, "numpy-family")
    finally:
        runner.close()
    assert r.verdict == "fails" and "left computes" in r.explanation and "k=2" in r.explanation, r.explanation
