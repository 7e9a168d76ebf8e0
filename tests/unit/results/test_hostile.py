"""Hostile results files: every bad line is skipped with a warning naming file and line on stderr,
every good record is kept, and `normconf report`, `diff` and `claims` never end in a traceback or hang."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

from harness.results.read import read, read_many
from harness.results.record import ClaimResult, Result
from harness.results.write import Writer

ROOT = Path(__file__).resolve().parents[3]

GOOD_RESULT = {"kind": "result", "case_id": "c1", "adapter": "torch", "env": "e", "status": "agree",
               "versions": {"torch": "2.13.0"}, "metrics": {"max_abs": 0.0}, "message": "", "duration": 0.1,
               "case": {"id": "c1", "op": "layer_norm", "layout": "BF", "shape": {"B": 2, "F": 3},
                        "dtype": "float32", "epsilon": 1e-5, "affine": "ones", "seed": 0,
                        "input": {"distribution": "normal", "mean": 0.0, "std": 1.0}, "tags": []},
               "time": "2026-01-01T00:00:00Z"}
GOOD_CLAIM = {"kind": "claim", "claim_id": "T1", "adapter": "torch", "env": "e", "verdict": "holds",
              "claim": {"id": "T1"}, "time": "2026-01-01T00:00:00Z"}
HEADER = {"kind": "header", "env": "e", "started": "2026-01-01T00:00:00Z", "schema_version": 1}


def _with(base, **kw):
    d = json.loads(json.dumps(base))
    for k, v in kw.items():
        if v is _DROP:
            d.pop(k, None)
        else:
            d[k] = v
    return json.dumps(d).encode()


_DROP = object()

#: name -> one bad line (bytes). Each is written between good lines.
BAD_LINES = {
    "not_json": b"this is not json",
    "truncated": b'{"kind": "result", "case_id": "c9", "adap',
    "nan_token": b'{"kind": "result", "case_id": "c9", "adapter": "a", "env": "e", "status": "agree", "duration": NaN}',
    "infinity_token": b'{"kind": "result", "case_id": "c9", "adapter": "a", "env": "e", "status": "agree", '
                      b'"duration": Infinity}',
    "huge_float": b'{"kind": "result", "case_id": "c9", "adapter": "a", "env": "e", "status": "agree", '
                  b'"duration": 1e400}',
    "invalid_utf8": b'{"kind": "result", "case_id": "c\xff\xfe", "adapter": "a", "env": "e", "status": "agree"}',
    "lone_surrogate": b'{"kind": "result", "case_id": "\\ud800", "adapter": "a", "env": "e", "status": "agree"}',
    "deep": b"[" * 5000 + b"]" * 5000,
    "array": b"[1, 2, 3]",
    "string": b'"result"',
    "number": b"12345678901234567890123456789012345678901234567890",
    "null": b"null",
    "unknown_kind": b'{"kind": "\\u001b[2Jevil"}',
    "no_kind": b'{"case_id": "c9"}',
    "kind_not_string": b'{"kind": ["result"]}',
    "missing_case_id": _with(GOOD_RESULT, case_id=_DROP),
    "missing_status": _with(GOOD_RESULT, status=_DROP),
    "bad_status": _with(GOOD_RESULT, status="pwned"),
    "status_list": _with(GOOD_RESULT, status=["agree"]),
    "case_id_number": _with(GOOD_RESULT, case_id=7),
    "adapter_null": _with(GOOD_RESULT, adapter=None),
    "env_object": _with(GOOD_RESULT, env={"a": 1}),
    "versions_list": _with(GOOD_RESULT, versions=["torch"]),
    "versions_nested": _with(GOOD_RESULT, versions={"torch": {"x": 1}}),
    "metrics_string": _with(GOOD_RESULT, metrics="max_abs=1"),
    "fingerprint_list": _with(GOOD_RESULT, fingerprint=[1]),
    "duration_string": _with(GOOD_RESULT, duration="fast"),
    "duration_bool": _with(GOOD_RESULT, duration=True),
    "message_number": _with(GOOD_RESULT, message=3),
    "time_number": _with(GOOD_RESULT, time=20260101),
    "case_list": _with(GOOD_RESULT, case=[1, 2]),
    "case_shape_string": _with(GOOD_RESULT, case={**GOOD_RESULT["case"], "shape": "B2xF3"}),
    "case_shape_float": _with(GOOD_RESULT, case={**GOOD_RESULT["case"], "shape": {"B": 2.5}}),
    "case_tags_string": _with(GOOD_RESULT, case={**GOOD_RESULT["case"], "tags": "a"}),
    "case_seed_string": _with(GOOD_RESULT, case={**GOOD_RESULT["case"], "seed": "0"}),
    "case_input_list": _with(GOOD_RESULT, case={**GOOD_RESULT["case"], "input": [1]}),
    "claim_missing_id": _with(GOOD_CLAIM, claim_id=_DROP),
    "claim_bad_verdict": _with(GOOD_CLAIM, verdict="maybe"),
    "claim_trials_string": _with(GOOD_CLAIM, trials="all"),
    "claim_per_input_nested": _with(GOOD_CLAIM, per_input={"btf": {"x": 1}}),
    "claim_max_diff_string": _with(GOOD_CLAIM, max_diff="big"),
    "claim_claim_string": _with(GOOD_CLAIM, claim="T1"),
    "claim_trial_empty": _with(GOOD_CLAIM, trials=[{}]),
    "claim_trial_variants_string": _with(GOOD_CLAIM, trials=[{"input": "btf", "variants": "x", "holds": True,
                                                              "max_diff": 0.0}]),
    "claim_left_string": _with(GOOD_CLAIM, claim={"id": "T1", "left": "group_norm"}),
    "adapter_record_bad": b'{"kind": "adapter", "adapter": 5, "versions": "x"}',
    "case_record_case_list": b'{"kind": "case", "case_id": "c9", "case": [1]}',
    "case_record_no_case": b'{"kind": "case", "case_id": "c9"}',
    "case_record_id_number": _with({"kind": "case", "case_id": 9, "case": GOOD_RESULT["case"]}),
    "case_record_seed_string": _with({"kind": "case", "case_id": "c9", "case": {**GOOD_RESULT["case"], "seed": "0"}}),
    "header_env_number": _with(HEADER, env=5),
    "control_chars": _with(GOOD_RESULT, status="\x1b[31m\x00"),
}


def _file(path: Path, bad: bytes, env="e"):
    lines = [json.dumps(HEADER).encode(), _with(GOOD_RESULT, env=env), bad,
             _with(GOOD_RESULT, case_id="c2", env=env), _with(GOOD_CLAIM, env=env)]
    path.write_bytes(b"\n".join(lines) + b"\n")


def test_every_bad_line_is_skipped_with_file_and_line_and_the_rest_is_kept(tmp_path, capsys):
    for name, bad in BAD_LINES.items():
        p = tmp_path / f"{name}.jsonl"
        _file(p, bad)
        rf = read(p)
        err = capsys.readouterr().err
        assert sorted(r.case_id for r in rf.results) == ["c1", "c2"], name
        assert [c.claim_id for c in rf.claims] == ["T1"], name
        assert len(rf.problems) == 1, (name, rf.problems)
        assert rf.problems[0].startswith(f"{p}:3: "), (name, rf.problems)
        assert f"normconf: warning: {p}:3: " in err, (name, err)
        assert err.isprintable() or all(line.isprintable() for line in err.splitlines()), name
        for r in rf.results:  # what is kept has the types the report relies on
            assert isinstance(r.case_id, str) and isinstance(r.versions, dict) and isinstance(r.case, dict)


def test_over_long_line_is_skipped_without_reading_it_whole(tmp_path, monkeypatch, capsys):
    import harness.results.read as results
    monkeypatch.setattr(results, "MAX_LINE_BYTES", 1000)
    p = tmp_path / "long.jsonl"
    _file(p, b'{"kind": "result", "message": "' + b"x" * 50_000 + b'"}')
    rf = read(p)
    assert sorted(r.case_id for r in rf.results) == ["c1", "c2"]
    assert rf.problems == [f"{p}:3: line longer than 1000 bytes (skipped)"]


def test_special_files_are_skipped_never_waited_on(tmp_path, capsys):
    os.mkfifo(tmp_path / "fifo.jsonl")
    (tmp_path / "dir.jsonl").mkdir()
    (tmp_path / "zero.jsonl").symlink_to("/dev/zero")
    (tmp_path / "loop.jsonl").symlink_to(tmp_path / "loop.jsonl")
    m = read_many(sorted(tmp_path.glob("*.jsonl")))
    text = "\n".join(m.problems)
    assert "fifo.jsonl: skipped: not a regular file" in text
    assert "dir.jsonl: skipped: is a directory" in text
    assert "zero.jsonl: skipped: not a regular file" in text
    assert "loop.jsonl: skipped: cannot open" in text
    assert not m.results


def test_many_bad_lines_are_summarised(tmp_path, capsys):
    p = tmp_path / "junk.jsonl"
    p.write_bytes(b"junk\n" * 10_000)
    rf = read(p)
    err = capsys.readouterr().err
    assert len(rf.problems) <= 52 and rf.problems[-1].endswith("more problem(s) not shown")
    assert len(err.splitlines()) <= 52


def _normconf(*args, cwd, timeout=120):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, env=env, capture_output=True,
                          timeout=timeout)


def test_report_diff_and_claims_survive_the_whole_corpus(tmp_path):
    d = tmp_path / "results"
    d.mkdir()
    for i, (name, bad) in enumerate(BAD_LINES.items()):
        _file(d / f"{name}.jsonl", bad, env=f"env{i}")
    os.mkfifo(d / "fifo.jsonl")
    (d / "dir.jsonl").mkdir()
    (d / "zero.jsonl").symlink_to("/dev/zero")
    (d / "empty.jsonl").write_bytes(b"")
    (d / "binary.jsonl").write_bytes(bytes(range(256)) * 40)
    os.mkfifo(tmp_path / "named.jsonl")
    for args in (["report", "results", str(tmp_path / "named.jsonl"), "--out", "out/index.html"],
                 ["diff", "results", "results"], ["claims", "results"]):
        p = _normconf(*args, cwd=tmp_path)
        err = p.stderr.decode("utf-8", "replace")
        assert p.returncode == 0, (args, err[-3000:])
        assert b"Traceback" not in p.stderr + p.stdout, (args, err[-3000:])
        assert "\x1b" not in err and "\x00" not in err
        for name in BAD_LINES:
            assert f"results/{name}.jsonl:3: " in err, (args, name)
        for name in ("fifo", "dir", "zero"):
            assert f"results/{name}.jsonl: skipped" in err, (args, name)
        if args[0] == "report":
            assert "named.jsonl: not a regular file (skipped)" in err
            page = (tmp_path / "out" / "index.html").read_text()
            assert "c2" in page
        if args[0] == "claims":
            assert "T1" in p.stdout.decode()


def test_a_well_formed_file_reads_without_problems(tmp_path, capsys):
    w = Writer(tmp_path / "r.jsonl", "e")
    w.write(Result(case_id="c", adapter="a", env="e", status="diverge", metrics={"max_abs": float("nan")},
                   fingerprint={"explanation": "x"}, case=GOOD_RESULT["case"]))
    w.write(ClaimResult(claim_id="T", adapter="a", env="e", verdict="holds only when", condition="x",
                        max_diff=float("inf"), per_input={"btf": "holds"},
                        trials=[{"input": "btf", "variants": ["pinned-epsilon"], "holds": False, "max_diff": float("nan"),
                                 "note": ""}]))
    w.close()
    rf = read(tmp_path / "r.jsonl")
    assert not rf.problems and capsys.readouterr().err == ""
    assert math.isnan(rf.results[0].metrics.max_abs) and rf.claims[0].condition == "x"


def _full_record():
    """A result record as the writer writes it (every field), which the reader checks on its fast path."""
    return json.loads(Result(case_id="c1", adapter="torch", env="e", status="diverge", versions={"torch": "2.13.0"},
                             metrics={"max_abs": 0.5}, fingerprint={"explanation": "x"}, message="m",
                             duration=0.25, case=GOOD_RESULT["case"], time="2026-01-01T00:00:00Z",
                             outcome="expected", expectation={"reason": "r"}).to_json())


VALUES = [None, True, False, 0, 7, 1.5, -0.0, "", "x", "agree", "expected", "unexpected", [], ["a"], {}, {"a": 1},
          {"a": {"b": 1}}, {"a": [1]}, {"a": None}, {"a": True}]


def test_the_fast_check_accepts_exactly_what_the_field_checks_accept():
    import harness.results.validate as results
    assert results._RESULT_FAST
    base = _full_record()
    assert set(base) == set(results.RESULT_FIELDS)
    assert isinstance(results.read_result(dict(base)), Result)
    tried = 0
    for key in base:
        variants = [{**base, key: v} for v in VALUES] + [{k: v for k, v in base.items() if k != key}]
        if key == "case":
            variants += [{**base, "case": {**base["case"], k: v}} for k in base["case"] for v in VALUES]
        for rec in variants:
            slow = results._type_problem(rec, results._RESULT_TYPES, results._RESULT_REQUIRED)
            got = results.read_result(json.loads(json.dumps(rec)))
            assert isinstance(got, Result) == (slow == ""), (key, rec, slow, got)
            if slow:
                assert got == slow  # the message names the same key
            else:
                assert vars(got) == vars(Result.from_dict(rec))
            tried += 1
    assert tried > 500


def test_lines_are_the_same_whatever_the_chunk_size(tmp_path, monkeypatch):
    import harness.results.read as results
    limit = 40
    lines = [b"", b"a" * 40, b"b" * 41, b"", b"c" * 100, b"d", b"e" * 39 + b"\r", b"f" * 200, b"g" * 40]
    for ending in (b"\n", b""):
        data = b"\n".join(lines) + ending
        p = tmp_path / "lines.jsonl"
        p.write_bytes(data)
        pieces = data.split(b"\n")
        if ending:
            pieces.pop()
        want = [(i + 1, x if len(x) <= limit else None) for i, x in enumerate(pieces)]
        for chunk in (1, 2, 3, 7, 40, 41, 64, 1 << 20):
            monkeypatch.setattr(results, "_CHUNK_BYTES", chunk)
            with open(p, "rb") as f:
                assert list(results.bounded_lines(f, limit)) == want, (chunk, ending)


def _case_record(case_id="c1", **fields):
    return {"kind": "case", "case_id": case_id, "case": {**GOOD_RESULT["case"], "id": case_id, **fields}}


def test_results_take_the_case_record_before_them(tmp_path, capsys):
    no_case = {k: v for k, v in GOOD_RESULT.items() if k != "case"}
    lines = [HEADER, _case_record("c1"), {**no_case, "adapter": "a"}, {**no_case, "adapter": "b"},
             _case_record("c1", seed=5), {**no_case, "adapter": "c"},  # a later case record replaces it
             _case_record("c2", seed="0"),  # bad: its results are skipped with it
             {**no_case, "case_id": "c2"}, {**no_case, "case_id": "c3"}]  # c3: no case record (kept, empty)
    p = tmp_path / "r.jsonl"
    p.write_text("".join(json.dumps(x) + "\n" for x in lines))
    rf = read(p)
    got = {(r.case_id, r.adapter): r.case for r in rf.results}
    assert set(got) == {("c1", "a"), ("c1", "b"), ("c1", "c"), ("c3", "torch")}
    assert got[("c1", "a")] is got[("c1", "b")] and got[("c1", "a")]["seed"] == 0  # one shared dict
    assert got[("c1", "c")]["seed"] == 5 and got[("c3", "torch")] == {}
    assert rf.problems == [f"{p}:7: bad case record (field 'case.seed' has a wrong type or value (str))",
                           f"{p}:8: bad result record (its case record (line 7) is bad)"]
    assert capsys.readouterr().err.count("normconf: warning:") == 2


def test_the_writer_writes_each_case_once_and_again_when_it_changes(tmp_path):
    case = dict(GOOD_RESULT["case"])
    w = Writer(tmp_path / "r.jsonl", "e")
    for a in ("a", "b", "c"):
        w.write(Result(case_id="c1", adapter=a, env="e", status="agree", case=case))
    w.write(Result(case_id="c1", adapter="d", env="e", status="agree", case={**case, "epsilon": 1e-3}))
    w.write(Result(case_id="c0", adapter="a", env="e", status="agree"))  # no case at all
    w.close()
    recs = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [r.get("kind") for r in recs] == ["header", "case", "result", "result", "result", "case", "result",
                                             "result"]
    assert ["case" in r for r in recs if r.get("kind") == "result"] == [False] * 4 + [True]  # {} stays inline
    rf = read(tmp_path / "r.jsonl")
    assert not rf.problems
    assert [r.case for r in rf.results] == [case] * 3 + [{**case, "epsilon": 1e-3}, {}]
