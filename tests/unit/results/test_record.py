"""Results files: streaming, provenance, tolerant reading, associative merge."""
import json

import pytest

from harness.results.read import merge, read
from harness.results.record import STATUSES, Result
from harness.results.write import Writer


def res(case, adapter="a", env="e", status="agree", time="2026-01-01T00:00:00Z", **kw):
    return Result(case_id=case, adapter=adapter, env=env, status=status, time=time, **kw)


def write(path, env, results, started="2026-01-01T00:00:00Z"):
    w = Writer(path, env)
    for r in results:
        w.write(r)
    w.close()
    return read(path)


def test_status_vocabulary_is_fixed():
    assert STATUSES == ("agree", "diverge", "error", "crash", "timeout", "unsupported", "skipped")
    with pytest.raises(ValueError):
        res("c", status="pass")


def test_header_has_provenance(tmp_path):
    rf = write(tmp_path / "r.jsonl", "current", [res("c1")])
    h = rf.header
    for k in ("schema_version", "env", "harness_commit", "python", "os", "cpu", "started", "numpy"):
        assert h.get(k), k
    assert rf.results[0].case_id == "c1"


def test_non_finite_metrics_survive_json(tmp_path):
    rf = write(tmp_path / "r.jsonl", "e", [res("c", status="diverge", metrics={"max_abs": float("inf")})])
    assert rf.results[0].metrics.max_abs == float("inf")
    for line in (tmp_path / "r.jsonl").read_text().splitlines():
        json.loads(line)  # strict JSON, no Infinity literals


def test_truncated_last_line_keeps_everything_before_it(tmp_path):
    p = tmp_path / "r.jsonl"
    write(p, "e", [res("c1"), res("c2")])
    with open(p, "a") as f:
        f.write('{"kind": "result", "case_id": "c3", "adap')  # killed mid-write
    rf = read(p)
    assert [r.case_id for r in rf.results] == ["c1", "c2"]
    assert len(rf.problems) == 1 and "unreadable" in rf.problems[0]


def test_merge_is_associative_and_newest_wins(tmp_path):
    a = write(tmp_path / "a.jsonl", "current", [res("c1", env="current"), res("c2", env="current")])
    b = write(tmp_path / "b.jsonl", "legacy", [res("c1", env="legacy", status="diverge")])
    c = write(tmp_path / "c.jsonl", "current",
              [res("c2", env="current", status="error", time="2026-02-01T00:00:00Z")])

    def flat(m):
        return {k: (r.status, r.time) for k, r in m.results.items()}

    left = merge([a, b, c])
    right = merge([c, b, a])
    assert flat(left) == flat(right)
    assert left.results[("current", "a", "c2")].status == "error"
    assert left.results[("legacy", "a", "c1")].status == "diverge"
    assert set(left.headers) == {"current", "legacy"}
