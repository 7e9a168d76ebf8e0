"""The report's first screen: the answer line, each environment, what changed since the baseline (or
what the moving environments' releases changed), and ``outcome:`` in the page's query."""
import html
import re

from markupsafe import escape

from harness.cli import main
from harness.report import answer, changes
from harness.report.html import render
from harness.report.model import build as build_matrix
from harness.results.read import read_many
from harness.results.write import Summary

from .nightly import VERSIONS, cell, last_night, tonight, write


def first_line(page: str) -> str:
    """The text of the page's h1, tags and entities resolved."""
    h1 = re.search(r"<h1\b[^>]*>(.*?)</h1>", page, re.DOTALL).group(1)
    return html.unescape(re.sub(r"<[^>]+>", "", h1)).strip()


def answer_of(paths, given=None):
    merged = read_many(paths)
    return answer.build(merged, build_matrix(merged), answer.missing_paths(given))


def test_the_first_line_counts_what_is_not_as_expected_per_environment(tmp_path):
    files = tonight(tmp_path)
    a = answer_of(files.values(), files.values())
    assert a.text == ("Not as expected: 3 unexpected cells (latest 2, nightly 1), 1 cell fixed in keras 3.16.0, "
                      "1 claim fixed in keras 3.16.0.dev2026102704, 0 harness failures")
    by_env = {e.env: e for e in a.envs}
    assert [e.env for e in a.envs] == ["current", "legacy", "latest", "nightly"]
    assert by_env["current"].text == "as expected — 10 cells, 2 claims" and by_env["current"].state == "ok"
    assert by_env["latest"].text == "2 unexpected cells; 1 cell fixed in keras 3.16.0 (10 cells, 2 claims)"
    (fixed_cell,) = by_env["latest"].fixed
    assert (fixed_cell.ident, fixed_cell.column, fixed_cell.href) == (
        "gn-4", "keras-tf@latest", "#cell=gn-4|keras-tf@latest")  # it agrees: the drill-down, not details
    assert sorted((i.ident, i.column) for i in by_env["latest"].unexpected_cells) == [
        ("gn-3", "torch@latest"), ("ln-2", "keras-tf@latest")]
    nightly = by_env["nightly"]
    assert nightly.text == "1 unexpected cell; 1 claim fixed in keras 3.16.0.dev2026102704 (10 cells, 2 claims)"
    fixed = nightly.fixed[0]
    assert (fixed.kind, fixed.ident, fixed.href) == ("claim", "T2", "#claim-T2")
    assert "the entry expects fails: documented wrongly" in fixed.why
    assert ("keras", "3.16.0.dev2026102704") in nightly.versions
    page = render(read_many(files.values()))
    assert first_line(page) == a.text
    assert page.index("<h1") < page.index('id="answer-envs"') < page.index('id="top"') < page.index('id="grid"')
    assert "<title>normconf: not as expected" in page


def test_as_expected_only_when_every_run_finished_with_nothing_unexpected(tmp_path):
    files = tonight(tmp_path, envs=("current", "legacy"))
    given = [files["current"], files["legacy"]]
    a = answer_of(given, given)
    assert a.text == "As expected: 2 environments (current, legacy), 15 cells and 2 claims, 0 unexpected, " \
                     "0 harness failures"
    assert a.state == "ok"
    # the same records without the closing summary (a killed run, or an older normconf): not confirmed
    write(tmp_path / "killed" / "legacy.jsonl", "legacy", [cell(c, "tf-keras", "legacy", VERSIONS)
                                                            for c in ("ln-1", "ln-2")], VERSIONS, summary=None)
    a = answer_of([files["current"], tmp_path / "killed" / "legacy.jsonl"])
    assert a.verdict == "Not confirmed" and a.state == "unconfirmed"
    assert "no summary from legacy (run did not finish" in a.line
    legacy = next(e for e in a.envs if e.env == "legacy")
    assert legacy.text.startswith("no summary: the run did not finish")


def test_a_missing_environment_is_named_and_the_report_is_still_written(tmp_path, capsys):
    files = tonight(tmp_path / "res", envs=("current", "legacy", "latest"))
    out = tmp_path / "out" / "index.html"
    assert main(["report", *map(str, files.values()), "--out", str(out)]) == 0
    page = out.read_text()
    missing = f"{files['nightly']} is missing: the environment did not install or its run did not start"
    assert first_line(page) == "Not as expected: 2 unexpected cells (latest 2), 1 cell fixed in keras 3.16.0, " \
                               "0 harness failures; no results from nightly"
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert f"nightly: no results — {missing}" in text
    assert "no results at" in capsys.readouterr().err


def test_a_file_without_a_cell_says_why(tmp_path):
    files = tonight(tmp_path, envs=("current",))
    # a run whose every item was a harness failure (an unknown adapter): a header and a summary, no cell
    failures = [{"node": "cases/x.yaml::ln-1[nosuch]", "reason": "ValueError: unknown adapter(s) nosuch"}]
    write(tmp_path / "nightly.jsonl", "nightly", [], VERSIONS, Summary("nightly", 2, harness_failures=failures))
    write(tmp_path / "latest.jsonl", "latest", [], VERSIONS, summary=None)  # killed before its first cell
    a = answer_of([files["current"], tmp_path / "latest.jsonl", tmp_path / "nightly.jsonl"])
    assert a.verdict == "Not as expected"
    assert "1 harness failure (nightly 1)" in a.line and "no results from latest, nightly" in a.line
    by_env = {e.env: e for e in a.envs}
    assert by_env["nightly"].text == (
        f"no results — {tmp_path / 'nightly.jsonl'} holds no cell: its run ended with 1 harness failure "
        "(the first: ValueError: unknown adapter(s) nosuch)")
    assert by_env["nightly"].harness == [("cases/x.yaml::ln-1[nosuch]", "ValueError: unknown adapter(s) nosuch")]
    assert by_env["latest"].text == f"no results — {tmp_path / 'latest.jsonl'} holds no cell: its run did not finish"


def test_harness_failures_and_exit_status_of_a_finished_run(tmp_path):
    recs = [cell(c, "torch", "current", VERSIONS) for c in ("ln-1", "ln-2")]
    bad = [{"node": "cases/broken.yaml::<invalid case file>", "reason": "cases/broken.yaml:3: key 'op': bad"}]
    write(tmp_path / "current.jsonl", "current", recs, VERSIONS, Summary("current", 2, expected=2, harness_failures=bad))
    a = answer_of([tmp_path / "current.jsonl"])
    assert a.text == "Not as expected: 0 unexpected cells, 1 harness failure (current 1)"
    # a non-zero exit that nothing listed explains (a stale entry under --strict) is said too
    write(tmp_path / "strict.jsonl", "current", recs, VERSIONS, Summary("current", 2, expected=2))
    a = answer_of([tmp_path / "strict.jsonl"])
    assert a.text == "Not as expected: 0 unexpected cells, 0 harness failures; current exited 2"


def test_changed_since_the_baseline_groups_by_environment_and_version_change(tmp_path):
    merged = read_many(tonight(tmp_path / "t").values())
    base = read_many(last_night(tmp_path / "b").values())
    shown = changes.build(merged, base)
    ch = shown[0]
    assert ch.id == "baseline" and ch.scope == "current, latest, nightly"
    assert ch.counts == "3 new divergences, 1 fix, 1 claim verdict change"
    assert ch.not_compared == ["legacy (not in the baseline)"]
    groups = [(g.env, g.versions, g.counts_text) for g in ch.groups]
    assert groups[:3] == [
        ("latest", "keras 3.15.1 -> 3.16.0", "1 new divergence, 1 fix"),
        ("nightly", "keras 3.16.0.dev2026102604 -> 3.16.0.dev2026102704", "1 new divergence, 1 claim verdict change"),
        ("latest", "torch 2.13.0 -> 2.14.0", "1 new divergence")]
    assert [c.case_id for c in ch.groups[1].changes] == ["ln-1"]
    assert ch.groups[1].claims == [("nightly", "keras-tf", "T2", "fails", "holds",
                                    "keras 3.16.0.dev2026102604 -> 3.16.0.dev2026102704")]
    page = render(merged, base)
    top = page[page.index('id="changes-top"'):page.index("<nav")]
    assert "Changed since the baseline" in top and "3 new divergences, 1 fix, 1 claim verdict change" in top
    assert html.escape("keras 3.15.1 -> 3.16.0") in top
    # the comparison of the moving environments with current follows, in the Changes section
    assert [c.id for c in shown] == ["baseline", "releases"] and 'id="diff-releases"' in page


def test_without_a_baseline_the_moving_environments_are_compared_with_the_pinned_one(tmp_path):
    merged = read_many(tonight(tmp_path).values())
    (ch,) = changes.build(merged, None)
    assert ch.id == "releases" and ch.scope == "latest and nightly against current, by adapter and case id"
    assert ch.diff.pairs == (("current", "latest"), ("current", "nightly"))
    got = {(g.env, g.versions): g.counts_text for g in ch.groups}
    assert got[("latest", "keras 3.15.1 -> 3.16.0")] == "1 new divergence, 1 fix"
    assert got[("latest", "torch 2.13.0 -> 2.14.0")] == "1 new divergence"
    assert got[("nightly", "keras 3.15.1 -> 3.16.0.dev2026102704")] == "1 new divergence, 1 claim verdict change"
    assert ch.diff.unchanged == 16
    # pinned environments alone: nothing to compare, and the page says no baseline was given
    pinned = read_many(tonight(tmp_path / "p", envs=("current", "legacy")).values())
    assert changes.build(pinned, None) == []
    assert "no baseline given" in render(pinned)


def test_diff_pairs_two_single_environment_files_by_adapter_and_case_id(tmp_path, capsys):
    files = tonight(tmp_path)
    assert main(["diff", str(files["current"]), str(files["latest"])]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (f"normconf diff: {files['current']} -> {files['latest']} (environments paired, cells matched "
                      "by adapter and case id: current -> latest)")
    assert "with keras 3.15.1 -> 3.16.0 (keras-tf@latest): 1 regression, 1 improvement" in out
    assert "    gn-4 [keras-tf@latest]: diverge 0.5 abs -> agree 1e-7 abs" in out
    assert "    ln-2 [keras-tf@latest]: agree 1e-7 abs -> diverge 0.5 abs" in out
    assert out[-1] == "unchanged: 7"
    assert main(["diff", "--strict", str(files["current"]), str(files["latest"])]) == 1


def test_diff_pair_option_for_files_of_several_environments(tmp_path, capsys):
    files = tonight(tmp_path / "t")
    both = tmp_path / "t"
    assert main(["diff", str(both), str(both), "--pair", "current=nightly", "--pair", "current=latest"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("(environments paired, cells matched by adapter and case id: current -> nightly, "
                           "current -> latest)")
    assert "with keras 3.15.1 -> 3.16.0.dev2026102704 (keras-tf@nightly): 1 regression" in out
    assert "  claim T2 [keras-tf@nightly]: fails -> holds" in out
    assert not any("legacy" in line for line in out)  # only the paired environments are compared
    # without --pair, the same directories match by environment name: nothing changed
    assert main(["diff", str(both), str(both)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "unchanged: 35"
    # a pair naming an environment a side does not hold is refused in one line
    assert main(["diff", str(files["current"]), str(both), "--pair", "legacy=latest"]) == 2
    assert capsys.readouterr().err.strip() == \
        "normconf: --pair legacy=latest: OLD has no environment 'legacy' (it has: current)"
    assert main(["diff", str(both), str(both), "--pair", "current"]) == 2
    assert "--pair wants OLD_ENV=NEW_ENV" in capsys.readouterr().err


def test_outcome_letters_mark_rows_for_the_query(tmp_path):
    page = render(read_many(tonight(tmp_path).values()))
    rows = dict(re.findall(r'<tr data-r="\d+" data-id="([^"]+)" data-s="\w+"(?: data-o="([^"]*)")?>', page))
    # columns: torch@current, torch@latest, torch@nightly, keras-tf@current, keras-tf@latest, keras-tf@nightly,
    # tf-keras@legacy
    assert rows["ln-2"] == "xxxxuxx" and rows["gn-3"] == "xuxxxxx" and rows["ln-1"] == "xxxxxux"
    assert rows["gn-4"] == "xxxxfxx"
    assert rows["gn-5"] == ""  # every cell as expected: no data-o
    assert page.count('class="d ux"') == 2 and page.count('class="e ux"') == 1 and page.count('class="a fx"') == 1
    assert "<code>outcome:</code> (expected, unexpected, fixed)" in page
    assert 'href="#q=outcome:unexpected,fixed%20env:latest"' in page


def test_hostile_strings_in_summaries_and_paths_stay_inert(tmp_path):
    evil = '<script>alert(1)</script>"onmouseover=alert(2)'
    write(tmp_path / "current.jsonl", "current", [cell("ln-1", "torch", "current", VERSIONS)], VERSIONS,
          Summary("current", 2, harness_failures=[{"node": evil, "reason": evil}]))
    merged = read_many([tmp_path / "current.jsonl"])
    missing = [(str(tmp_path / f"{evil}.jsonl"), answer.MISSING)]
    page = render(merged, missing=missing)
    markup = re.sub(r'<script type="application/json" id="data">.*?</script>', "", page, flags=re.DOTALL)
    assert "<script>alert" not in markup and '"onmouseover=' not in markup
    assert str(escape(evil)) in markup and markup.count(str(escape(evil))) >= 3  # node, reason, path


def test_a_baseline_that_could_not_be_fetched_is_said_and_the_releases_still_compared(tmp_path):
    files = tonight(tmp_path / "t")
    out = tmp_path / "index.html"
    gone = tmp_path / "last-night"
    assert main(["report", str(tmp_path / "t"), "--baseline", str(gone), "--out", str(out)]) == 0
    text = html.unescape(re.sub(r"<[^>]+>", "", out.read_text()))
    assert f"Changed since the baseline: cannot tell: the baseline {gone} is missing." in text
    assert "Changed by the new releases (latest and nightly against current, by adapter and case id)" in text
    assert len(files) == 4 and "no baseline given" not in text


def test_report_names_an_expected_environment_without_results_and_follows_the_expectations_data(tmp_path, capsys):
    files = tonight(tmp_path / "r", envs=("current", "latest"))
    cases = tmp_path / "cases"
    (cases / "expectations").mkdir(parents=True)
    out = tmp_path / "index.html"
    args = ["report", str(tmp_path / "r"), "--out", str(out), "--cases", str(cases),
            "--expect-env", "current,latest,nightly"]
    # no environments declared: nothing is a moving environment, so nothing is compared by release
    assert main(args) == 0
    page = out.read_text()
    assert first_line(page).endswith("; no results from nightly")
    assert "nightly has no results in" in page and "the environment did not install" in page
    assert "Changed by the new releases" not in page
    # the data file declares latest as following current: its new releases are compared
    (cases / "expectations" / "environments.yaml").write_text("environments:\n  latest: {follows: current}\n")
    assert main(args) == 0
    assert "Changed by the new releases" in out.read_text()
    # a broken expectations file warns and the report is still written
    (cases / "expectations" / "environments.yaml").write_text("environments: [1]\n")
    assert main(args) == 0 and "warning:" in capsys.readouterr().err and out.exists()
    assert files["latest"].exists()
