"""Timeline files: written by normconf bisect, read back as untrusted input."""
import json
import os

import pytest

from harness.results.timeline import (
    Change,
    Step,
    Timeline,
    TimelineFileError,
    read_timelines,
    write_timeline,
)


def timeline(case="ln-x", first=True):
    steps = (Step("1.0.0", "agree", 0.05, 1.8e-07), Step("1.1.0", "", installed=False, message="no wheel"),
             Step("1.2.0", "diverge", 683.0, 0.002, "epsilon added outside the square root"),
             Step("1.3.0", "diverge", float("nan"), float("inf"), "3 of 3 outputs are NaN"))
    return Timeline(case, "planted-fw", "normconf-planted-fw", steps,
                    Change("1.2.0", "1.0.0", "agree", "diverge") if first else None, ("numpy<2",),
                    {"mode": "resolve", "installs": 4})


def test_round_trip_and_append(tmp_path):
    p = tmp_path / "t.jsonl"
    write_timeline(p, timeline())
    write_timeline(p, timeline("ln-y", first=False))
    lines = p.read_text().splitlines()
    assert json.loads(lines[0])["kind"] == "timeline-header" and len(lines) == 3
    got = read_timelines([p])
    assert [t.case_id for t in got] == ["ln-x", "ln-y"]
    a, b = got
    assert a.first_changed == Change("1.2.0", "1.0.0", "agree", "diverge") and b.first_changed is None
    assert a.steps[:3] == timeline().steps[:3] and a.fixed == ("numpy<2",) and a.info["installs"] == 4
    assert a.steps[3].ratio != a.steps[3].ratio and a.steps[3].error == float("inf")  # nan and inf survive


def test_an_existing_file_that_is_no_timeline_is_not_overwritten(tmp_path):
    p = tmp_path / "results.jsonl"
    p.write_text('{"kind": "header", "env": "current"}\n')
    with pytest.raises(TimelineFileError, match="not a timeline file"):
        write_timeline(p, timeline())
    assert p.read_text() == '{"kind": "header", "env": "current"}\n'


BAD = [
    ('{"kind": "timeline", "case_id": "a"', "unreadable record"),
    ('[1, 2]', "unknown record kind"),
    ('{"kind": "timeline", "case_id": "a", "adapter": "b", "package": "c", "steps": {}}', "'steps' must be a list"),
    ('{"kind": "timeline", "case_id": 3, "adapter": "b", "package": "c", "steps": []}', "'case_id' must be text"),
    ('{"kind": "timeline", "adapter": "b", "package": "c", "steps": []}', "missing field 'case_id'"),
    (('{"kind": "timeline", "case_id": "a", "adapter": "b", "package": "c", "steps": [{"version": "1", '
     '"status": "<b>bad</b>"}]}'), "'steps[0].status' must be one of"),
    (('{"kind": "timeline", "case_id": "a", "adapter": "b", "package": "c", "steps": [{"version": "1", '
     '"status": "agree", "ratio": NaN}]}'), "unreadable record"),
    (('{"kind": "timeline", "case_id": "a", "adapter": "b", "package": "c", "steps": [{"version": "1", '
     '"status": "agree", "ratio": "many"}]}'), "'steps[0].ratio' must be a number"),
    (('{"kind": "timeline", "case_id": "a", "adapter": "b", "package": "c", "steps": [{"version": "1", '
     '"status": "agree", "installed": false}]}'), "must be empty for a release that did not install"),
    (('{"kind": "timeline", "case_id": "a", "adapter": "b", "package": "c", "steps": [], "first_changed": '
     '{"version": 2}}'), "'first_changed.version' must be text"),
    ('{"kind": "timeline", "case_id": "a", "adapter": "b", "package": "c", "steps": [], "fixed": [1]}',
     "'fixed' must be a list"),
    ('{"kind": "timeline", "case_id": "a", "adapter": "b", "package": "c", "steps": [], "info": {"x": []}}',
     "'info' must be an object"),
    ('{"kind": "timeline", "case_id": "\\u001b[31mred", "adapter": "b", "package": "c", "steps": [7]}',
     "'steps[0]' must be an object"),
    (b'\xff\xfe not utf-8', "unreadable record"),
    ("[" * 100000 + "]" * 100000, "unreadable record"),
]


@pytest.mark.parametrize("line,words", BAD)
def test_a_bad_line_is_skipped_with_one_line_naming_file_and_line(tmp_path, capsys, line, words):
    p = tmp_path / "t.jsonl"
    write_timeline(p, timeline("ln-before"))
    with open(p, "ab") as f:
        f.write((line if isinstance(line, bytes) else line.encode()) + b"\n")
    write_timeline(p, timeline("ln-after"))
    problems = []
    got = read_timelines([p], problems=problems)
    assert [t.case_id for t in got] == ["ln-before", "ln-after"]
    err = capsys.readouterr().err
    assert len(problems) == 1 and problems[0].startswith(f"{p}:3: ") and words in problems[0], problems
    assert err.count("\n") == 1 and err.startswith(f"normconf: warning: {p}:3: ") and "\x1b" not in err


def test_files_that_are_no_timelines_are_skipped_whole(tmp_path, capsys):
    results = tmp_path / "r.jsonl"
    results.write_text('{"kind": "header"}\n{"kind": "timeline", "case_id": "a", "adapter": "b", "package": "c", '
                       '"steps": []}\n')
    newer = tmp_path / "n.jsonl"
    newer.write_text('{"kind": "timeline-header", "schema_version": 99}\n' + json.dumps(timeline().to_dict()) + "\n")
    empty = tmp_path / "e.jsonl"
    empty.write_text("")
    problems = []
    assert read_timelines([results, newer, empty, tmp_path, tmp_path / "missing.jsonl"], problems=problems) == []
    assert [p.split(": ", 1)[0] for p in problems] == [f"{results}:1", f"{newer}:1", str(empty), str(tmp_path),
                                                       str(tmp_path / "missing.jsonl")]
    assert "no timeline-header" in problems[0] and "newer" in problems[1]
    assert len(capsys.readouterr().err.splitlines()) == 5


def test_a_fifo_is_not_waited_on(tmp_path):
    fifo = tmp_path / "t.jsonl"
    os.mkfifo(fifo)
    problems = []
    assert read_timelines([fifo], problems=problems, warn=False) == []
    assert problems == [f"{fifo}: skipped: not a regular file"]
