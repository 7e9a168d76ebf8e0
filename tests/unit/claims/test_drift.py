"""Claim drift: a quote that no longer appears where it lives in the installed
framework turns the verdict into `stale`, naming the path and the versions."""
import pytest

from harness.claims.load import load_claims
from harness.execution.runner import Runner
from harness.results.record import verdict_text
from harness.workers.main import _normal_text, find_quote

CLAIM = """
claims:
  - id: mean-doc
    framework: numpy
    adapters: [faulty]
    api: "layer norm vs the reference"
    quote: {quote!r}
    source: "https://numpy.org/doc/stable/reference/generated/numpy.mean.html"
    quote_in: {path}
    relation: reference
    left: {{op: layer_norm}}
    expect: {{semantics: op, op: layer_norm}}
    inputs: [btf]
    variants: []
"""


@pytest.fixture(autouse=True)
def plugins(monkeypatch):
    monkeypatch.setenv("NORMCONF_ADAPTERS", "tests.fault_adapters:SPECS")


def verdict(tmp_path, quote, path):
    f = tmp_path / "c.yaml"
    f.write_text(CLAIM.format(quote=quote, path=path))
    (claim,) = load_claims(f)
    runner = Runner("test", None, ["faulty"])
    try:
        return runner.run_claim(claim, "faulty")
    finally:
        runner.close()


def test_quote_present_keeps_the_measured_verdict(tmp_path):
    r = verdict(tmp_path, "Compute the arithmetic mean along the specified axis.", "numpy.mean")
    assert r.verdict == "holds", r


def test_quote_gone_is_stale_with_path_and_versions(tmp_path):
    r = verdict(tmp_path, "Compute the harmonic mean of every axis.", "numpy.mean")
    assert r.verdict == "stale"
    assert verdict_text(r).startswith("stale: the quote no longer appears in numpy.mean (faulty 1.0")
    assert "measured against the quoted behaviour: holds" in r.explanation


def test_object_that_moved_is_stale(tmp_path):
    r = verdict(tmp_path, "anything", "numpy.no_such_function")
    assert r.verdict == "stale" and "no such object" in r.explanation


def test_quote_matching_ignores_markup_layout_and_elisions():
    assert _normal_text("``a``  :attr:`b`\n  >>> # c") == "a b c"
    assert find_quote("numpy.mean", "Compute the arithmetic mean … along the specified axis.").y
    assert not find_quote("numpy.mean", "Compute the geometric mean").y


def test_error_verdicts_name_their_status_once():
    from harness.results.record import ClaimResult
    said = [verdict_text(ClaimResult(claim_id="c", adapter="a", env="e", verdict=v, error=err))
            for v, err in (("error", "error: ValueError: bad axis"), ("error", "crash: exit code -11"),
                           ("unsupported", "not installed"))]
    assert said == ["error: ValueError: bad axis", "error: crash: exit code -11", "unsupported: not installed"]
