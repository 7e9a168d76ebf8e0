"""Typed result records: metrics, fingerprint and availability are fields; the
schema version is checked on read and older files are upgraded."""
import json

import pytest

from harness.results.parts import SCHEMA_VERSION, Fingerprint, Metrics, RecordError
from harness.results.read import read
from harness.results.record import Result


def _header(version=SCHEMA_VERSION, env="current"):
    return {"kind": "header", "schema_version": version, "env": env, "started": "2026-01-01T00:00:00Z"}


def _result(**kw):
    rec = {"kind": "result", "case_id": "c1", "adapter": "torch", "env": "current", "status": "agree",
           "metrics": {"max_abs": 1e-7, "achievable": 1e-7, "floor": 4e-7, "max_ulp": 1.0},
           "fingerprint": None, "message": "", "traceback": "", "snippet": "", "duration": 0.1,
           "case": {}, "time": "2026-01-01T00:00:01Z", "outcome": "", "expectation": None}
    rec.update(kw)
    return rec


def _write(tmp_path, *recs):
    p = tmp_path / "r.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return p


def test_metrics_and_fingerprint_are_typed_and_round_trip(tmp_path):
    fp = {"explanation": "one-pass variance", "matches": [{"stat_axes": "F"}], "n_matches": 1,
          "variance_probe": {"one_pass_max_abs": 0.1}}
    r = Result("c1", "torch", "current", "diverge",
               metrics={"max_abs": 0.5, "epsilon_default": {"value": 1e-5, "quote": "q", "source": "s"},
                        "outputs": {"dx": {"ok": False, "max_abs": 0.5}}, "output": "dx"},
               fingerprint=fp)
    assert isinstance(r.metrics, Metrics) and r.metrics.max_abs == 0.5 and r.metrics.epsilon_default.value == 1e-5
    assert r.metrics.outputs["dx"].max_abs == 0.5 and r.metrics.outputs["dx"].ok is False
    assert isinstance(r.fingerprint, Fingerprint) and r.explanation == "one-pass variance"
    assert r.fingerprint.details == {"variance_probe": {"one_pass_max_abs": 0.1}}
    p = _write(tmp_path, _header(), json.loads(r.to_json()))
    (back,) = read(p, warn=False).results
    assert back.metrics == r.metrics and back.fingerprint == r.fingerprint
    assert json.loads(back.to_json())["fingerprint"] == fp


@pytest.mark.parametrize("metrics,key", [({"max_abs": "big"}, "metrics.max_abs"),
                                         ({"outputs": {"dx": {"max_abs": []}}}, "metrics.outputs.dx.max_abs"),
                                         ({"epsilon_default": {"value": "x"}}, "metrics.epsilon_default.value"),
                                         ({"worst_index": [1, "a"]}, "metrics.worst_index")])
def test_a_wrong_metrics_field_is_named(tmp_path, metrics, key):
    with pytest.raises(RecordError, match=key.replace(".", r"\.")):
        Metrics.from_dict(metrics)
    p = _write(tmp_path, _header(), _result(metrics=metrics), _result(case_id="c2"))
    rf = read(p, warn=False)
    assert [r.case_id for r in rf.results] == ["c2"]  # the good record is kept
    assert len(rf.problems) == 1 and key in rf.problems[0] and ":2:" in rf.problems[0]


def test_availability_is_a_field_and_version_1_files_are_upgraded(tmp_path):
    v1 = [_result(case_id="a", status="unsupported", message="not installed: No module named 'torch'",
                  metrics={}),
          _result(case_id="b", status="unsupported", message="torch has no rms_norm", metrics={}),
          _result(case_id="c", status="unsupported", message="not available: no CUDA device", metrics={})]
    p = _write(tmp_path, _header(version=1), *v1)
    got = {r.case_id: r.absent for r in read(p, warn=False).results}
    assert got == {"a": "not installed", "b": "", "c": "not available"}
    # version 2 trusts the field, not the words
    p = _write(tmp_path, _header(), _result(case_id="d", status="unsupported", message="not installed: x",
                                            metrics={}, absent=""))
    assert read(p, warn=False).results[0].absent == ""


def test_a_newer_schema_is_refused_in_one_line_and_later_headers_still_read(tmp_path):
    p = _write(tmp_path, _header(version=SCHEMA_VERSION + 1), _result(case_id="new"),
               _header(), _result(case_id="ok"))
    rf = read(p, warn=False)
    assert [r.case_id for r in rf.results] == ["ok"]
    (msg,) = rf.problems
    assert f"schema version {SCHEMA_VERSION + 1}" in msg and ":1:" in msg and "\n" not in msg


@pytest.mark.parametrize("version", ["2", 0, True, None])
def test_a_bad_schema_version_is_a_header_problem(tmp_path, version):
    p = _write(tmp_path, _header(version=version), _result())
    rf = read(p, warn=False)
    assert any("schema_version" in m for m in rf.problems)


def test_unknown_absent_value_is_refused(tmp_path):
    p = _write(tmp_path, _header(), _result(absent="gone fishing"))
    rf = read(p, warn=False)
    assert not rf.results and "absent" in rf.problems[0]


def test_version_2_files_with_a_case_in_every_result_still_read(tmp_path):
    case = {"id": "c1", "op": "layer_norm", "dtype": "float32", "seed": 3}
    p = _write(tmp_path, _header(version=2), _result(case=case), _result(adapter="jax", case=dict(case)))
    rf = read(p, warn=False)
    assert not rf.problems and [r.case for r in rf.results] == [case, case]
