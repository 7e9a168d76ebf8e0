"""Version-aware expectations: since which version a divergence holds, from which it is fixed, moving
environments judged by the pinned ones they follow, and `update` narrowing an entry instead of
deleting it."""
import pytest

from harness.cases.yamlsource import CaseError
from harness.expectations.check import check
from harness.expectations.entry import (
    COVERS,
    FIXED,
    NONE,
    Entry,
    framework_package,
    version_in,
)
from harness.expectations.load import load_document, load_file
from harness.expectations.outcomes import Expectations, why_unexpected
from harness.expectations.update import update
from harness.results.read import Merged
from harness.results.record import ClaimResult, Result
from harness.results.write import Writer

KERAS = {"keras": "3.15.1", "backend": "jax", "jax": "0.10.2"}


def cell(env, status, keras="3.15.1", case="ln-x-float32", adapter="keras-jax"):
    return Result(case_id=case, adapter=adapter, env=env, status=status,
                  versions={**KERAS, "keras": keras}, case={"dtype": "float32"})


def merged(*records):
    return Merged(headers={}, adapters={}, problems=[],
                  results={(r.env, r.adapter, r.case_id): r for r in records if isinstance(r, Result)},
                  claims={(c.env, c.adapter, c.claim_id): c for c in records if isinstance(c, ClaimResult)})


def test_pre_releases_and_development_builds_are_versions_like_any_other():
    assert version_in("3.16.0.dev2026102704", ">=3")
    assert version_in("2.23.0-dev20261026", ">=2.21")  # TensorFlow's spelling of a nightly
    assert not version_in("3.16.0.dev2026102704", ">=3.16.0")  # a dev build comes before its release
    assert version_in("2.13.0+cpu", "==2.13.0") and not version_in("nightly", ">=1")


def test_since_and_fixed_bound_what_an_entry_covers():
    e = Entry("ln-*", "keras-*", "r", status=("diverge",), since=(("keras", "3.10.0"),),
              fixed=(("keras", "3.16.0.dev2026102704"),))
    rel = lambda keras, **kw: e.relation("ln-x", "keras-jax", "current", {"keras": keras}, **kw)
    assert rel("3.9.2") == NONE  # before the divergence began
    assert rel("3.10.0") == COVERS and rel("3.15.1") == COVERS
    assert rel("3.16.0.dev2026102704") == FIXED and rel("3.16.0") == FIXED
    assert e.relation("ln-x", "keras-jax", "current", {}) == NONE  # no keras: not this entry's cell
    assert e.package_in(KERAS) == "keras"
    assert framework_package({"backend": "jax", "opset": "23", "onnxruntime": "1.32.0"}) == "onnxruntime"


def test_a_moving_environment_is_judged_by_the_entries_of_the_environments_it_follows(tmp_path):
    f = tmp_path / "e.yaml"
    f.write_text("environments:\n  nightly: {follows: [current, legacy]}\n"
                 "expectations:\n  - id: ln-*\n    adapter: keras-jax\n    env: current\n"
                 "    status: diverge\n    reason: one-pass variance\n")
    ex = Expectations.load([f])
    assert ex.follows("nightly") == ("current", "legacy") and ex.follows("current") == ()
    r = cell("nightly", "diverge", keras="3.16.0.dev2026102704")
    ex.judge(r)
    assert r.outcome == "expected" and r.expectation["reason"] == "one-pass variance"
    other = cell("elsewhere", "diverge")
    ex.judge(other)
    assert other.outcome == "unexpected" and why_unexpected(other) == "new divergence"


def test_an_unexpected_pass_is_fixed_naming_the_version_and_after_the_fix_agreeing_is_expected():
    entry = Entry("ln-*", "keras-jax", "one-pass variance", status=("diverge",), file="f.yaml", line=3)
    ex = Expectations([entry])
    r = cell("nightly", "agree", keras="3.16.0.dev2026102704")
    ex.judge(r)
    assert r.outcome == "fixed" and r.expectation["fixed_in"] == {"keras": "3.16.0.dev2026102704"}
    assert why_unexpected(r) == ("unexpected pass (expected diverge: one-pass variance): "
                                 "fixed in keras 3.16.0.dev2026102704 [f.yaml:3]")
    narrowed = Expectations([Entry("ln-*", "keras-jax", "r", status=("diverge",), fixed=(("keras", "3.16.0"),),
                                   file="f.yaml", line=3)])
    after, before, again = cell("latest", "agree", "3.16.1"), cell("current", "diverge"), cell("n", "diverge", "3.17")
    for rec in (after, before, again):
        narrowed.judge(rec)
    assert after.outcome == "expected" and not narrowed.stale()
    assert before.outcome == "expected"
    assert again.outcome == "unexpected" and why_unexpected(again).startswith(
        "diverge again although fixed in keras 3.16.0 (with keras 3.17")


def test_a_claim_that_holds_again_is_fixed():
    ex = Expectations([Entry("T1-*", "torch", "docs say otherwise", verdict="fails")])
    c = ClaimResult(claim_id="T1-a", adapter="torch", env="latest", verdict="holds", versions={"torch": "2.14.1"},
                    claim={"dtype": "float32"})
    ex.judge(c)
    assert c.outcome == "fixed" and c.expectation["fixed_in"] == {"torch": "2.14.1"}


@pytest.mark.parametrize("text,where", [
    ("expectations:\n  - id: x\n    adapter: y\n    status: diverge\n    reason: r\n    fixed: {keras: soon}\n",
     ":6: key 'fixed.keras'"),
    ("expectations:\n  - id: x\n    adapter: y\n    status: diverge\n    reason: r\n    since: {}\n", ":6: key 'since'"),
    ("environments:\n  latest: {follows: latest}\n", ":2: key 'environments.latest.follows'"),
    ("environments:\n  latest: {tracks: current}\n", ":2: key 'tracks'"),
    ("environments:\n  'bad name': {follows: current}\n", "environments"),
])
def test_bad_version_fields_and_environments_are_one_line_errors(tmp_path, text, where):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(CaseError) as e:
        load_document(f)
    assert where in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_update_narrows_an_entry_of_another_file_in_place_keeping_its_comments(tmp_path):
    other = tmp_path / "numerical.yaml"
    other.write_text("# one-pass variances\nexpectations:\n  # the Keras one\n  - id: ln-*\n    adapter: keras-jax\n"
                     "    status: diverge\n    reason: \"one-pass variance\"  # upstream: not yet\n")
    out = tmp_path / "known.yaml"
    got = update(merged(cell("current", "diverge"), cell("nightly", "agree", "3.16.0.dev2026102704"),
                        cell("latest", "agree", "3.16.1")), out, [other, out])
    ((entry, fixed),) = got["narrowed"]
    assert fixed == {"keras": "3.16.0.dev2026102704"} and entry.line == 4
    text = other.read_text()
    assert "# one-pass variances" in text and "# the Keras one" in text and "# upstream: not yet" in text
    (e,) = load_file(other)
    assert e.fixed == (("keras", "3.16.0.dev2026102704"),) and e.reason == "one-pass variance"
    assert got["added"] == 0 and load_file(out) == []
    # judged again, nothing is unexpected any more
    ex = Expectations.load([other])
    for r in (cell("current", "diverge"), cell("nightly", "agree", "3.16.0.dev2026102704")):
        ex.judge(r)
        assert r.outcome == "expected"


def test_update_does_not_narrow_when_versions_do_not_separate_passes_from_divergences(tmp_path):
    out = tmp_path / "known.yaml"
    out.write_text("expectations:\n  - id: ln-*\n    adapter: keras-jax\n    status: diverge\n    reason: r\n")
    got = update(merged(cell("current", "diverge", case="ln-a"), cell("current", "agree", case="ln-b")), out, [out])
    assert got["narrowed"] == [] and load_file(out)[0].fixed == ()
    # when every covered cell agrees, the entry is narrowed, not dropped
    got = update(merged(cell("current", "agree", case="ln-a"), cell("current", "agree", "3.15.0", case="ln-b")),
                 out, [out])
    assert got["dropped"] == [] and load_file(out)[0].fixed == (("keras", "3.15.0"),)


def test_a_new_divergence_of_a_moving_environment_gets_since_and_no_environment(tmp_path):
    envs = tmp_path / "environments.yaml"
    envs.write_text("environments:\n  nightly: {follows: current}\n")
    out = tmp_path / "known.yaml"
    update(merged(cell("current", "agree"), cell("nightly", "diverge", "3.16.0.dev2026102704"),
                  cell("legacy", "diverge", adapter="tf-keras", case="ln-y")), out, [envs, out])
    new, pinned = sorted(load_file(out), key=lambda e: e.adapter)
    assert new.env == "" and new.since == (("keras", "3.16.0.dev2026102704"),) and new.status == ("diverge",)
    assert pinned.env == "legacy" and pinned.since == ()


def test_check_names_fixed_cells_and_fails(tmp_path, capsys):
    exp = tmp_path / "known.yaml"
    exp.write_text("environments:\n  nightly: {follows: current}\nexpectations:\n  - id: ln-*\n    adapter: keras-jax\n"
                   "    env: current\n    status: diverge\n    reason: one-pass variance\n")
    results = tmp_path / "nightly.jsonl"
    w = Writer(results, env="nightly")
    w.write(cell("nightly", "agree", "3.16.0.dev2026102704"))
    w.write(cell("nightly", "diverge", case="ln-z"))
    w.close()
    assert check([results], [exp]) == 1
    out = capsys.readouterr().out
    assert "fixed: ln-x-float32 [keras-jax@nightly]: unexpected pass (expected diverge: one-pass variance): " \
           "fixed in keras 3.16.0.dev2026102704" in out
    assert "2 records, 1 unexpected (1 of them fixed)" in out
