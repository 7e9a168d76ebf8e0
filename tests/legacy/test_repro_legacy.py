"""normconf repro on TensorFlow Addons (TF 2.15): an `expect: raises` cell whose
error message does not say which number must divide which; the script runs
standalone in this environment's Python and exits 1."""
import os
import subprocess
import sys
from pathlib import Path

from harness.cases import load_file
from harness.cli import main as cli_main
from harness.runner import Runner

REPO = Path(__file__).resolve().parents[2]


def test_tfa_indivisible_groups_repro_exits_1(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    cid = "gn-indivisible-btf-g4-eps1e-05-float32"
    c = next(c for c in load_file(REPO / "cases/group_norm/errors.yaml") if c.id == cid)
    results = tmp_path / "legacy.jsonl"
    runner = Runner("legacy", results, ["tfa"], cell_timeout=300)
    try:
        r = runner.run_cell(c, "tfa")
    finally:
        runner.close()
    assert r.status == "diverge" and "ValueError" in r.metrics.expected_error
    script, issue = tmp_path / "repro_tfa.py", tmp_path / "tfa.md"
    assert cli_main(["repro", cid, "tfa", "--results", str(results), "-o", str(script), "--issue", str(issue),
                     "--no-shrink"]) == 0
    text = script.read_text()
    assert "import tensorflow_addons as tfa" in text and "tfa.layers.GroupNormalization(groups=4" in text
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    work = tmp_path / "elsewhere"
    work.mkdir()
    p = subprocess.run([sys.executable, "-I", str(script)], cwd=work, env=env, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "raised ValueError" in p.stdout and "the message lacks" in p.stdout
    assert "Expected `ValueError`" in issue.read_text()
