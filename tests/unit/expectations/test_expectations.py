"""Expectations as data and the outcomes CI trusts: exit 0 when everything is as
expected, 1 naming each unexpected cell, 2 on a harness failure."""
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from harness.cases.load import CaseError
from harness.expectations.entry import Entry, version_in
from harness.expectations.load import load_file
from harness.expectations.outcomes import Expectations, outcome
from tests.support import FAULTY_CASES as CASES

ROOT = Path(__file__).resolve().parents[3]


KNOWN = """
expectations:
  - id: "wrong-*"
    adapter: faulty
    status: diverge
    reason: "adds 1 on purpose"
    url: "https://example.org/issues/1"
"""


def project(tmp_path, expectations=KNOWN, extra_cases=None):
    (tmp_path / "cases" / "layer_norm").mkdir(parents=True, exist_ok=True)
    (tmp_path / "cases" / "layer_norm" / "c.yaml").write_text(CASES)
    exp = tmp_path / "cases" / "expectations"
    exp.mkdir(exist_ok=True)
    for f in exp.glob("*.yaml"):
        f.unlink()
    if expectations is not None:
        (exp / "known.yaml").write_text(expectations)
    if extra_cases:
        (tmp_path / "cases" / "layer_norm" / "extra.yaml").write_text(extra_cases)
    return tmp_path


def run(tmp_path, *args):
    env = {**os.environ, "NORMCONF_ADAPTERS": "tests.fault_adapters:SPECS", "NORMCONF_ADAPTER_NAMES": "faulty",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "harness", "run", "--env-name", "e", "-p", "no:cacheprovider",
                           *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def test_known_divergence_exits_0_and_is_marked(tmp_path):
    p = run(project(tmp_path), "--junitxml=reports/j.xml")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "1 of them known divergences" in p.stdout
    recs = [json.loads(x) for x in (tmp_path / "reports/results/e.jsonl").read_text().splitlines()]
    recs = [r for r in recs if r.get("kind") == "result"]
    wrong = next(r for r in recs if r["case_id"].startswith("wrong"))
    assert wrong["status"] == "diverge" and wrong["outcome"] == "expected"
    assert wrong["expectation"]["reason"] == "adds 1 on purpose" and wrong["expectation"]["url"].startswith("https")
    good = next(r for r in recs if r["case_id"].startswith("good"))
    assert good["outcome"] == "expected" and good["expectation"] is None
    # JUnit carries status, metrics and the expectation per cell
    cases = {tc.get("name"): tc for tc in ET.parse(tmp_path / "reports/j.xml").getroot().iter("testcase")}
    props = {p.get("name"): p.get("value") for p in cases["wrong-eps1e-05-float32[faulty]"].iter("property")}
    assert props["status"] == "diverge" and props["outcome"] == "expected"
    assert props["expectation"] == "adds 1 on purpose" and float(props["max_abs"]) == pytest.approx(1.0)


def test_deleting_an_entry_exits_1_naming_the_cell(tmp_path):
    p = run(project(tmp_path, expectations=None))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "unexpected: cases/layer_norm/c.yaml::wrong-eps1e-05-float32[faulty]: new divergence" in p.stdout


def test_an_expected_divergence_that_now_agrees_is_an_unexpected_pass(tmp_path):
    p = run(project(tmp_path, expectations=KNOWN.replace('"wrong-*"', '"*"')))
    assert p.returncode == 1
    assert "good-eps1e-05-float32[faulty]: unexpected pass (expected diverge: adds 1 on purpose)" in p.stdout


def test_broken_case_file_exits_2(tmp_path):
    p = run(project(tmp_path, extra_cases="cases:\n  - id: x\n    op: layer_nrom\n"))
    assert p.returncode == 2, p.stdout + p.stderr
    assert "harness failure: cases/layer_norm/extra.yaml" in p.stdout


def test_broken_expectations_file_exits_2_with_one_line(tmp_path):
    p = run(project(tmp_path, expectations=KNOWN.replace("status: diverge", "status: divergent")))
    assert p.returncode == 2
    assert "cases/expectations/known.yaml:" in p.stdout and "Traceback" not in p.stdout


#: the known entries plus one whose case no longer exists
STALE = KNOWN + '''
  - id: "no-such-case"
    adapter: faulty
    status: diverge
    reason: "gone"
'''


def test_stale_entries_warn_and_fail_with_strict(tmp_path):
    project(tmp_path, expectations=STALE)
    p = run(tmp_path)
    assert p.returncode == 0 and "warning: stale expectation cases/expectations/known.yaml:9" in p.stdout
    p = run(tmp_path, "--strict")
    assert p.returncode == 2 and "error: stale expectation" in p.stdout
    # a partial run cannot tell what is stale
    assert run(tmp_path, "--strict", "-k", "good").returncode == 0


def test_expectations_update_keeps_reasons_and_makes_the_run_expected(tmp_path):
    project(tmp_path, expectations=None)
    assert run(tmp_path).returncode == 1
    out = tmp_path / "cases/expectations/known.yaml"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    u = subprocess.run([sys.executable, "-m", "harness", "expectations", "update", "reports/results/e.jsonl",
                        "-o", str(out)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert u.returncode == 0 and "1 added" in u.stdout, u.stdout + u.stderr
    (entry,) = load_file(out)
    assert entry.id == "wrong-eps1e-05-float32" and entry.status == ("diverge",)
    data = yaml.safe_load(out.read_text())
    data["expectations"][0]["reason"] = "a reason a person wrote"
    out.write_text(yaml.safe_dump(data))
    assert run(tmp_path).returncode == 0
    u = subprocess.run([sys.executable, "-m", "harness", "expectations", "update", "reports/results/e.jsonl",
                        "-o", str(out)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert "1 entries kept, 0 added" in u.stdout
    assert load_file(out)[0].reason == "a reason a person wrote"


def test_entries_match_by_glob_version_env_and_dtype(tmp_path):
    f = tmp_path / "e.yaml"
    f.write_text("""
expectations:
  - id: "ln-*-float64"
    adapter: "keras-*"
    env: current
    versions: {keras: ">=3.0,<4"}
    dtype: float64
    status: [diverge, error]
    reason: "float64 computed in float32"
""")
    (e,) = load_file(f)
    assert e.matches("ln-x-float64", "keras-jax", "current", {"keras": "3.15.1"}, "float64")
    assert not e.matches("ln-x-float64", "keras-jax", "legacy", {"keras": "3.15.1"}, "float64")
    assert not e.matches("ln-x-float64", "keras-jax", "current", {"keras": "2.15.0"}, "float64")
    assert not e.matches("ln-x-float64", "keras-jax", "current", {}, "float64")
    assert not e.matches("ln-x-float64", "torch", "current", {"keras": "3.15.1"}, "float64")
    assert not e.matches("ln-x-float64", "keras-jax", "current", {"keras": "3.15.1"}, "float64", kind="claim")
    assert version_in("2.13.0+cpu", ">=2.4") and not version_in("garbage", ">=1")
    assert outcome("error", e) == "expected" and outcome("crash", e) == "unexpected"
    assert outcome("agree", e) == "unexpected" and outcome("agree", None) == "expected"
    assert outcome("diverge", None) == "unexpected" and outcome("unsupported", e) == "expected"


@pytest.mark.parametrize("text,where", [
    ("expectations:\n  - id: x\n    adapter: y\n    status: diverge\n", ":2: 'reason' is a required"),
    ("expectations:\n  - id: x\n    adapter: y\n    status: diverge\n    reason: r\n    color: red\n", ":6: key 'color'"),
    ("expectations:\n  - id: x\n    adapter: y\n    status: diverge\n    reason: r\n    versions: {torch: 'soon'}\n",
     ":6: key 'versions.torch'"),
    ("expectations:\n  - id: x\n    adapter: y\n    status: diverge\n    reason: r\n    url: 'javascript:alert(1)'\n",
     "key 'url'"),
])
def test_bad_expectations_are_one_line_errors(tmp_path, text, where):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(CaseError) as e:
        load_file(f)
    assert where in str(e.value) and "\n" not in str(e.value)


def test_first_matching_entry_wins_and_is_marked_used():
    ex = Expectations([Entry("a*", "t", "r1", status=("diverge",)), Entry("*", "t", "r2", status=("error",))])
    assert ex.find("ab", "t").reason == "r1"
    assert [e.reason for e in ex.stale()] == ["r2"]


def test_unexpected_cells_get_reproducers_the_report_links(tmp_path):
    project(tmp_path, expectations=None)
    assert run(tmp_path).returncode == 1
    env = {**os.environ, "NORMCONF_ADAPTERS": "tests.fault_adapters:SPECS",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    p = subprocess.run([sys.executable, "-m", "harness", "repro", "--unexpected", "--results", "reports/results",
                        "--out-dir", "reports/repro", "--no-shrink"], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    name = "wrong-eps1e-05-float32__faulty"
    script = tmp_path / "reports/repro" / f"{name}.py"
    assert script.is_file() and (tmp_path / "reports/repro" / f"{name}.md").is_file()
    assert not (tmp_path / "reports/repro" / "good-eps1e-05-float32__faulty.py").exists()
    ran = subprocess.run([sys.executable, "-I", str(script)], cwd=tmp_path / "reports", capture_output=True,
                         text=True, timeout=120)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    p = subprocess.run([sys.executable, "-m", "harness", "report", "reports/results", "--out", "reports/index.html"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    page = (tmp_path / "reports/index.html").read_text()
    assert json.dumps(name) in page or name in page


def test_other_tests_failing_in_the_same_session_keep_pytest_exit_status(tmp_path):
    """The outcome mapping must never turn an ordinary failing test into a pass."""
    (tmp_path / "test_plain.py").write_text("def test_ok():\n    pass\n\ndef test_fails():\n    assert False\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "harness.plugin", "-p", "no:cacheprovider",
                        "-c", os.devnull, "test_plain.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 1, p.stdout + p.stderr
    (tmp_path / "test_plain.py").write_text("def test_ok():\n    pass\n")
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "harness.plugin", "-p", "no:cacheprovider",
                        "-c", os.devnull, "test_plain.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr


def test_a_run_of_one_file_does_not_call_other_entries_stale(tmp_path):
    project(tmp_path, expectations=STALE)
    p = run(tmp_path, "--strict", "cases/layer_norm/c.yaml")
    assert p.returncode == 0 and "stale" not in p.stdout, p.stdout
    assert run(tmp_path, "--strict", "cases").returncode == 2


@pytest.mark.parametrize("verdict,error", [("fails", ""), ("error", "ValueError: bad call")])
def test_update_writes_entries_for_claims_without_an_explanation(tmp_path, verdict, error):
    from harness.expectations.update import update
    from harness.results.read import Merged
    from harness.results.record import ClaimResult

    c = ClaimResult(claim_id="K1", adapter="torch", env="current", verdict=verdict, error=error,
                    claim={"dtype": "float32"})
    merged = Merged(headers={}, adapters={}, results={}, problems=[], claims={("current", "torch", "K1"): c})
    out = tmp_path / "e.yaml"
    counts = update(merged, out)
    (entry,) = load_file(out)
    assert entry.id == "K1" and entry.adapter == "torch" and counts
    assert entry.reason.startswith("observed: ") and (error in entry.reason if error else verdict in entry.reason)
