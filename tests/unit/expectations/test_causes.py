"""Root causes: declared once under ``causes:``, named by entries with ``cause:``, validated with one-line
errors (file, line, key), and complete in the shipped data: every entry names a declared cause and every
cause has a classification, a repository and an upstream state."""
from pathlib import Path

import pytest

from harness.cases.yamlsource import CaseError
from harness.expectations import Expectations, discover
from harness.expectations.load import load_document
from harness.results.record import Result

ROOT = Path(__file__).resolve().parents[3]

CAUSE = """\
causes:
  - id: lib-one-pass
    name: one-pass variance
    mechanism: the variance is E[x²]−E[x]².
    classification: bug
    repository: owner/lib
    affects: [{package: lib, versions: ">=1.0", apis: [lib.LayerNorm]}]
    upstream: {url: "https://github.com/owner/lib/issues/1", state: open}
"""
ENTRY = """\
expectations:
  - id: ln-*
    adapter: lib
    status: diverge
    reason: one-pass variance
    cause: {cause}
"""


def write(tmp_path, name, text):
    p = tmp_path / "expectations" / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def test_an_entry_names_a_cause_declared_in_another_file(tmp_path):
    write(tmp_path, "causes/lib.yaml", CAUSE)
    write(tmp_path, "known.yaml", ENTRY.format(cause="lib-one-pass"))
    exp = Expectations.load(discover(tmp_path))
    assert exp.errors == []
    (entry,) = exp.entries
    cause = exp.cause_of(entry)
    assert (cause.id, cause.classification_text, cause.repository) == ("lib-one-pass", "bug", "owner/lib")
    assert cause.reported and not cause.fileable
    assert cause.upstream.text() == "https://github.com/owner/lib/issues/1 (open)"
    # a judged record carries the cause's id, so reports and filing can group cells by it
    rec = Result(case_id="ln-a", adapter="lib", env="current", status="diverge", case={"dtype": "float32"})
    exp.judge(rec)
    assert rec.outcome == "expected" and rec.expectation["cause"] == "lib-one-pass"
    assert exp.cause_of(rec.expectation) is cause


def test_an_unknown_cause_is_one_error_naming_the_entry(tmp_path):
    write(tmp_path, "causes/lib.yaml", CAUSE)
    p = write(tmp_path, "known.yaml", ENTRY.format(cause="lib-two-pass"))
    exp = Expectations.load(discover(tmp_path))
    (err,) = exp.errors
    assert err.file == str(p) and err.line == 2 and err.key == "cause"
    assert "no root cause 'lib-two-pass'" in str(err)


def test_a_cause_declared_twice_is_refused(tmp_path):
    write(tmp_path, "a.yaml", CAUSE)
    write(tmp_path, "b.yaml", CAUSE)
    exp = Expectations.load(discover(tmp_path))
    assert [e.key for e in exp.errors] == ["id"] and "declared twice" in str(exp.errors[0])


@pytest.mark.parametrize("change, line, key, words", [
    ("classification: bug", 5, "classification", "is not one of"),
    ("    upstream: {url: \"https://github.com/owner/lib/issues/1\", state: open}", 8, "upstream",
     "is not valid under any of the given schemas"),
    ("    repository: owner/lib", 2, None, "'repository' is a required property"),
    ("    affects: [{package: lib, versions: \">=1.0\", apis: [lib.LayerNorm]}]", 7, "affects.versions",
     "is not a version range"),
])
def test_a_bad_cause_is_one_line_naming_line_and_key(tmp_path, change, line, key, words):
    replacement = {
        "classification: bug": "classification: feature",
        "    upstream: {url: \"https://github.com/owner/lib/issues/1\", state: open}":
            "    upstream: {state: open}",
        "    repository: owner/lib": "",
        "    affects: [{package: lib, versions: \">=1.0\", apis: [lib.LayerNorm]}]":
            "    affects: [{package: lib, versions: \"from 1.0\", apis: [lib.LayerNorm]}]",
    }[change]
    p = write(tmp_path, "c.yaml", CAUSE.replace(change, replacement))
    with pytest.raises(CaseError) as e:
        load_document(p)
    assert (e.value.line, e.value.key) == (line, key) and words in e.value.message
    assert "\n" not in str(e.value)


def test_documented_behaviour_must_quote_the_docs(tmp_path):
    p = write(tmp_path, "c.yaml", CAUSE.replace("classification: bug", "classification: documented"))
    with pytest.raises(CaseError, match="'docs' is a required property"):
        load_document(p)
    ok = CAUSE.replace("classification: bug", "classification: documented") + (
        "    docs: [{url: \"https://lib.example/docs\", quote: \"uses E[x²]−E[x]²\"}]\n")
    p.write_text(ok, encoding="utf-8")
    (cause,) = load_document(p)[2]
    assert cause.docs[0].quote == "uses E[x²]−E[x]²" and cause.classification_text == "documented behaviour"


def test_a_harness_limitation_has_no_repository_and_no_upstream(tmp_path):
    harness = CAUSE.replace("classification: bug", "classification: harness").replace(
        "    repository: owner/lib\n", "")
    p = write(tmp_path, "c.yaml", harness)
    with pytest.raises(CaseError):  # nothing upstream to point at
        load_document(p)
    p.write_text(harness.replace('    upstream: {url: "https://github.com/owner/lib/issues/1", state: open}\n', ""),
                 encoding="utf-8")
    (cause,) = load_document(p)[2]
    assert cause.upstream_text() == "not applicable (a harness limitation)" and not cause.fileable


def test_none_found_needs_the_date_and_the_queries(tmp_path):
    none = CAUSE.replace('{url: "https://github.com/owner/lib/issues/1", state: open}',
                         '{none_found: "2026-12-07"}')
    p = write(tmp_path, "c.yaml", none)
    with pytest.raises(CaseError):
        load_document(p)
    p.write_text(none.replace('none_found: "2026-12-07"', 'none_found: "2026-12-07", searched: [lib variance]'),
                 encoding="utf-8")
    (cause,) = load_document(p)[2]
    assert cause.upstream.text() == "none found (searched 2026-12-07)" and cause.fileable


def test_the_shipped_entries_all_name_a_declared_complete_cause():
    exp = Expectations.load(discover(ROOT / "cases"), relative_to=ROOT)
    assert exp.errors == []
    missing = [e.where for e in exp.entries if not e.cause]
    assert missing == [], f"entries without a cause: {missing[:10]}"
    for c in exp.causes.values():
        assert c.classification and c.upstream_text() != "not searched", c.where
        assert c.repository or c.classification == "harness", c.where
    used = {e.cause for e in exp.entries}
    assert sorted(set(exp.causes) - used) == [], "causes no entry names"
