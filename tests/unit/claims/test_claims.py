"""The claims engine, measured with the NumPy fault-injection adapter (which
computes the reference semantics exactly, like a correct framework)."""
import pytest

from harness.cases.load import CaseError
from harness.claims.load import load_claims
from harness.cli import main
from harness.execution.runner import Runner
from harness.report.html import render
from harness.results.read import merge, read


@pytest.fixture(autouse=True)
def plugins(monkeypatch):
    monkeypatch.setenv("NORMCONF_ADAPTERS", "tests.fault_adapters:SPECS")


CLAIMS = """
claims:
  - id: gn1-is-ln
    catalog: T2
    framework: NumPy
    adapters: [faulty]
    api: GroupNorm(1) vs LayerNorm(last axis)
    quote: "GroupNorm with one group is LayerNorm"
    source: "javascript:alert(1)"
    relation: equal
    left: {op: group_norm, groups: 1}
    right: {op: layer_norm}
  - id: gnC-is-in
    framework: NumPy
    adapters: [faulty]
    api: GroupNorm(C) vs InstanceNorm
    quote: "GN becomes IN if G = C"
    source: "https://arxiv.org/abs/1803.08494"
    relation: equal
    left: {op: group_norm, groups: C}
    right: {op: instance_norm}
  - id: gn1-is-paper-ln
    framework: NumPy
    adapters: [faulty]
    api: GroupNorm(1) vs the GN paper's LN (Eq. 4)
    quote: "GN becomes LN if we set the group number as G = 1."
    source: "https://arxiv.org/abs/1803.08494"
    relation: reference
    left: {op: group_norm, groups: 1}
    expect: {semantics: paper_layer_norm}
  - id: gn1-is-rms
    framework: NumPy
    adapters: [faulty]
    api: GroupNorm(1) vs RMS norm over all axes
    quote: "a false claim"
    source: "nowhere"
    relation: reference
    left: {op: group_norm, groups: 1}
    expect: {semantics: op, op: rms_norm, axes: all}
    variants: [initial-params]
  - id: bad-groups-raise
    framework: NumPy
    adapters: [faulty]
    api: GroupNorm(4) on 6 channels
    quote: "channels must be divisible by groups"
    source: "https://example.org"
    relation: raises
    left: {op: group_norm, groups: 4}
    error: {type: ValueError, contains: "does not divide"}
  - id: eps-defaults-differ
    framework: NumPy
    adapters: [faulty]
    api: GroupNorm(1, eps=1e-3) vs GroupNorm(1, eps=1e-5) on tiny-variance input
    quote: "same layer"
    source: "https://example.org"
    relation: equal
    left: {op: group_norm, groups: 1, epsilon: 1.0e-3}
    right: {op: group_norm, groups: 1, epsilon: 1.0e-5}
    variants: [pinned-epsilon]
"""


def run_claims(tmp_path):
    p = tmp_path / "claims.yaml"
    p.write_text(CLAIMS)
    claims = {c.id: c for c in load_claims(p, display="claims.yaml")}
    out = tmp_path / "r.jsonl"
    runner = Runner("test", out, ["faulty"])
    try:
        results = {cid: runner.run_claim(c, "faulty") for cid, c in claims.items()}
    finally:
        runner.close()
    return results, out


def test_verdicts(tmp_path):
    r, _ = run_claims(tmp_path)
    gn1 = r["gn1-is-ln"]
    assert gn1.verdict == "holds only when"
    assert "folded into the batch" in gn1.condition
    assert "every non-batch axis and parameters are at their initial values" in gn1.condition
    assert gn1.per_input["bf"] == "holds" and gn1.per_input["btf"].startswith("fails")
    assert "left normalizes over {T,F}, right over {F}" in gn1.explanation
    assert gn1.max_diff > 0.1
    assert r["gnC-is-in"].verdict == "holds"
    assert "bf" not in r["gnC-is-in"].per_input  # instance norm needs a spatial axis
    assert r["gn1-is-paper-ln"].verdict == "holds"
    rms = r["gn1-is-rms"]
    assert rms.verdict == "fails"
    assert "centred (mean subtracted)" in rms.explanation
    raises = r["bad-groups-raise"]
    assert raises.verdict == "holds" and "ValueError" in raises.explanation


def test_pinned_epsilon_condition(tmp_path):
    r, _ = run_claims(tmp_path)
    eps = r["eps-defaults-differ"]
    # unit-variance inputs: epsilon 1e-3 vs 1e-5 changes outputs by ~5e-4, beyond float32 tolerance
    assert eps.verdict == "holds only when" and "same epsilon" in eps.condition
    assert "epsilon 0.001 vs 1e-05" in eps.explanation


def test_claim_records_stream_and_print(tmp_path, capsys):
    _, out = run_claims(tmp_path)
    rf = read(out)
    assert {c.claim_id for c in rf.claims} >= {"gn1-is-ln", "bad-groups-raise"}
    assert main(["claims", str(out)]) == 0
    text = capsys.readouterr().out
    assert "gn1-is-ln (T2) NumPy: GroupNorm(1) vs LayerNorm(last axis)" in text
    assert "holds only when" in text and "explanation: on [B,T,F]" in text
    page = render(merge([rf]))
    assert 'id="claims"' in page and "GroupNorm with one group is LayerNorm" in page
    assert "measurements</summary>" in page and "fold-spatial" in page
    assert 'href="javascript:' not in page
    assert 'href="https://arxiv.org/abs/1803.08494"' in page


BAD = [
    ("claims:\n  - id: x\n    framework: f\n    adapters: [faulty]\n    api: a\n    quote: q\n    source: s\n"
     "    relation: equal\n    left: {op: group_norm, groups: 1}\n", "claims.yaml:2: key 'right': relation equal needs"),
    ("claims:\n  - id: x\n    framework: f\n    adapters: [faulty]\n    api: a\n    quote: q\n    source: s\n"
     "    relation: equal\n    left: {op: group_norm, grups: 1}\n    right: {op: layer_norm}\n",
     "claims.yaml:9: key 'grups': unknown key"),
    ("claims:\n  - id: x\n    framework: f\n    adapters: [faulty]\n    api: a\n    quote: q\n    source: s\n"
     "    relation: same\n    left: {op: group_norm}\n", "claims.yaml:8: key 'relation':"),
]


@pytest.mark.parametrize("text,expected", BAD)
def test_bad_claims_files_give_one_line(tmp_path, text, expected):
    p = tmp_path / "claims.yaml"
    p.write_text(text)
    with pytest.raises(CaseError) as ei:
        load_claims(p, display="claims.yaml")
    assert str(ei.value).startswith(expected), str(ei.value)
    assert "\n" not in str(ei.value)
