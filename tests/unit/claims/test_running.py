"""Running-statistics claims: loading (one-line errors with file, line and key) and verdicts on the
numpy test adapters of tests/training_adapters.py."""
import pytest

from harness.cases.yamlsource import CaseError
from harness.claims.load import load_claims
from harness.execution.runner import Runner

ADAPTERS = "tests.training_adapters:SPECS"

CLAIM = """claims:
  - id: rv
    framework: numpy
    adapters: [numpy-train]
    api: numpy batch norm
    quote: "running variance is the biased batch variance"
    source: tests
    relation: reference
    left: {op: batch_norm, check: running_stats, momentum: 0.1, steps: 3}
    expect: {semantics: running_stats, running_var: %s}
"""


def load(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return load_claims(p, display="c.yaml")


def test_the_catalog_file_loads():
    claims = load_claims("cases/claims/running_stats.yaml")
    assert {c.catalog for c in claims} == {"T8", "T9", "T24", "T30", "T35"}
    for c in claims:
        assert dict(c.left)["check"] == "running_stats" and c.variants == ()


@pytest.mark.parametrize("text,key,words", [
    (CLAIM.replace("check: running_stats, ", "") % "biased", "left.momentum", "applies to check: running_stats"),
    (CLAIM.replace("running_var: %s", "running_var: %s, axes: F") % "biased", "expect.axes", "does not take axes"),
    (CLAIM.replace("momentum: 0.1", "momentum: null") % "biased", "left.momentum",
     "None is not of type 'number'"),
    (CLAIM.replace("expect: {semantics: running_stats, running_var: %s}", "expect: {semantics: op}"),
     "left.check", "needs relation: reference with expect"),
    (CLAIM.replace("op: batch_norm, check", "op: layer_norm, check") % "biased", "left.check",
     "layer_norm does not take check"),
    (CLAIM.replace("expect: {semantics: running_stats, running_var: %s}", "expect: {semantics: running_stats}"),
     "expect", "names running_var or momentum_argument"),
])
def test_bad_running_claims_are_one_line_errors(tmp_path, text, key, words):
    with pytest.raises(CaseError) as e:
        load(tmp_path, text)
    msg = str(e.value)
    assert msg.startswith("c.yaml:") and "\n" not in msg, msg
    assert key in msg and words in msg, msg


@pytest.fixture()
def runner(monkeypatch):
    monkeypatch.setenv("NORMCONF_ADAPTERS", ADAPTERS)
    r = Runner("test", None, ["numpy-train", "planted-unbiased-running-var"])
    yield r
    r.close()


def test_running_claim_verdicts(tmp_path, runner):
    biased, = load(tmp_path, CLAIM % "biased")
    assert runner.run_claim(biased, "numpy-train").verdict == "holds"
    r = runner.run_claim(biased, "planted-unbiased-running-var")
    assert r.verdict == "fails"
    assert "unbiased (n/(n-1)" in r.explanation, r.explanation
    unbiased, = load(tmp_path, (CLAIM % "unbiased").replace("id: rv", "id: rv2"))
    assert runner.run_claim(unbiased, "planted-unbiased-running-var").verdict == "holds"
    assert runner.run_claim(unbiased, "numpy-train").verdict == "fails"
