"""A run's closing summary record: written by the Writer, read back and validated like every other
record, kept per file (``RunFile.summary``) and per run in a merge (``Merged.runs``)."""
import json

from harness.results.read import merge, read
from harness.results.record import Result
from harness.results.write import Summary, Writer, summary_item


def res(case, env="current"):
    return Result(case_id=case, adapter="torch", env=env, status="agree", time="2026-01-01T00:00:00Z")


def write(path, env, results, summary=None, resume=False):
    w = Writer(path, env, resume=resume)
    for r in results:
        w.write(r)
    if summary is not None:
        w.summary(summary)
    w.close()
    return path


def test_summary_round_trip(tmp_path):
    s = Summary("current", 1, expected=3, expected_divergent=1,
                unexpected=[summary_item("cases/x.yaml::a[torch]", "new divergence: one-pass variance\nmore")],
                fixed=[summary_item("cases/claims/c.yaml::T2[keras-tf]", "unexpected pass")],
                harness_failures=[summary_item("cases/bad.yaml::<invalid case file>", "E   cases/bad.yaml:3: key 'op'")])
    rf = read(write(tmp_path / "r.jsonl", "current", [res("a")], s))
    got = rf.summary
    assert got is not None and rf.problems == []
    assert (got.env, got.exit_status, got.expected, got.expected_divergent) == ("current", 1, 3, 1)
    assert got.unexpected == [{"node": "cases/x.yaml::a[torch]", "reason": "new divergence: one-pass variance"}]
    assert got.harness_failures[0]["reason"] == "cases/bad.yaml:3: key 'op'"  # pytest's "E   " marker dropped
    assert got.finished and not got.ok
    assert Summary("current", 0, expected=4).ok
    runs = merge([rf]).runs
    assert [(r.env, r.cells, r.claims, r.summary.exit_status) for r in runs] == [("current", 1, 0, 1)]


def test_a_file_without_a_summary_did_not_finish(tmp_path):
    rf = read(write(tmp_path / "r.jsonl", "current", [res("a"), res("b")]))
    assert rf.summary is None and rf.problems == []
    assert merge([rf]).runs[0].summary is None


def test_a_resumed_run_needs_its_own_summary(tmp_path):
    p = write(tmp_path / "r.jsonl", "current", [res("a")], Summary("current", 0, expected=1))
    write(p, "current", [res("b")], resume=True)  # resumed, then killed: its header is the last one
    assert read(p).summary is None
    write(p, "current", [], Summary("current", 0, expected=2), resume=True)
    assert read(p).summary.expected == 2


def test_a_bad_summary_is_one_warning_and_no_summary(tmp_path, capsys):
    p = write(tmp_path / "r.jsonl", "current", [res("a")])
    bad = [{"kind": "summary", "env": "current"},  # no exit status
           {"kind": "summary", "env": "current", "exit_status": "0"},
           {"kind": "summary", "env": "current", "exit_status": 0, "expected": -1},
           {"kind": "summary", "env": "current", "exit_status": 0, "unexpected": [{"node": 3}]},
           {"kind": "summary", "env": "current", "exit_status": 0, "harness_failures": "all of them"},
           {"kind": "summary", "env": "current", "exit_status": 0, "interrupted": "no"}]
    with open(p, "a") as f:
        f.writelines(json.dumps(rec) + "\n" for rec in bad)
    rf = read(p)
    assert rf.summary is None and [r.case_id for r in rf.results] == ["a"]
    assert len(rf.problems) == len(bad)
    keys = ["missing field 'exit_status'", "field 'exit_status'", "field 'expected'", "field 'unexpected'",
            "field 'harness_failures'", "field 'interrupted'"]
    for n, (problem, key) in enumerate(zip(rf.problems, keys)):
        assert problem.startswith(f"{p}:{n + 3}: bad summary record (") and key in problem, problem
    err = capsys.readouterr().err.splitlines()
    assert len(err) == len(bad) and all(line.startswith("normconf: warning: ") for line in err)
