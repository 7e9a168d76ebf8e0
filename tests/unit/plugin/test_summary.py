"""The run closes its results file with a summary record: the tally of expected, unexpected and fixed
cells and the harness failures, with node ids and one-line reasons, and the exit status; a run whose
items never started a Runner still writes one."""
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support import FAULTY_CASES as CASES

ROOT = Path(__file__).resolve().parents[3]


#: every cell is expected to diverge: "good" agrees, so it is fixed (an unexpected pass)
EVERY_CELL_DIVERGES = """
expectations:
  - id: "*"
    adapter: faulty
    status: diverge
    reason: "adds 1 on purpose"
"""


def run(tmp_path, *args, expectations=None, broken=False):
    (tmp_path / "cases" / "layer_norm").mkdir(parents=True, exist_ok=True)
    (tmp_path / "cases" / "layer_norm" / "c.yaml").write_text(CASES)
    if broken:
        (tmp_path / "cases" / "broken.yaml").write_text("cases:\n  - id: x\n    op: layer_nrom\n")
    if expectations:
        (tmp_path / "cases" / "expectations").mkdir(exist_ok=True)
        (tmp_path / "cases" / "expectations" / "known.yaml").write_text(expectations)
    env = {**os.environ, "NORMCONF_ADAPTERS": "tests.fault_adapters:SPECS",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("NORMCONF_ADAPTER_NAMES", None)
    return subprocess.run([sys.executable, "-m", "harness", "run", "--env-name", "e", "-p", "no:cacheprovider",
                           "--rootdir", str(tmp_path), "-c", os.devnull, *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)


def records(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def test_summary_tallies_fixed_unexpected_and_harness_failures(tmp_path):
    p = run(tmp_path, "--adapters", "faulty", expectations=EVERY_CELL_DIVERGES, broken=True)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "1 expected (1 of them known divergences or errors), 0 unexpected, 1 fixed, 1 harness failure(s)" \
        in p.stdout
    recs = records(tmp_path / "reports/results/e.jsonl")
    s = recs[-1]
    assert s["kind"] == "summary" and s["env"] == "e" and s["exit_status"] == 2 and not s["interrupted"]
    assert (s["expected"], s["expected_divergent"], s["unexpected"]) == (1, 1, [])
    assert [f["node"] for f in s["fixed"]] == ["cases/layer_norm/c.yaml::good-eps1e-05-float32[faulty]"]
    assert s["fixed"][0]["reason"].startswith("unexpected pass (expected diverge: adds 1 on purpose)")
    (h,) = s["harness_failures"]
    assert h["node"] == "cases/broken.yaml::<invalid case file>"
    assert h["reason"].startswith("cases/broken.yaml:3: key 'op': 'layer_nrom' is not one of")
    # the record the summary counts as fixed carries that outcome
    good = next(r for r in recs if r.get("case_id") == "good-eps1e-05-float32" and r["kind"] == "result")
    assert good["outcome"] == "fixed"


def test_an_unknown_adapter_still_leaves_a_header_and_a_summary(tmp_path):
    p = run(tmp_path, "--adapters", "nosuch")
    assert p.returncode == 2, p.stdout + p.stderr
    recs = records(tmp_path / "reports/results/e.jsonl")
    assert [r["kind"] for r in recs] == ["header", "summary"]
    s = recs[1]
    assert s["exit_status"] == 2 and s["expected"] == 0 and len(s["harness_failures"]) == 2
    assert all(h["reason"].startswith("ValueError: unknown adapter(s) nosuch") for h in s["harness_failures"])
    # --results none writes nothing, not even the summary
    p = run(tmp_path / "none", "--adapters", "nosuch", "--results", "none")
    assert p.returncode == 2 and not (tmp_path / "none" / "reports").exists()


def test_a_clean_run_ends_with_exit_status_0(tmp_path):
    p = run(tmp_path, "--adapters", "faulty", "-k", "good")
    assert p.returncode == 0, p.stdout + p.stderr
    s = records(tmp_path / "reports/results/e.jsonl")[-1]
    assert (s["kind"], s["exit_status"], s["expected"], s["unexpected"], s["fixed"], s["harness_failures"]) == \
        ("summary", 0, 1, [], [], [])
