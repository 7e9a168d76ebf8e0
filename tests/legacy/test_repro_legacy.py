"""normconf repro on TensorFlow Addons (TF 2.15): an `expect: raises` cell whose
error message does not say which number must divide which; the script runs
standalone in this environment's Python and exits 1. Gradient and
running-statistics scripts of tf.keras and TFA print each output's error as the
harness recorded it and exit as the cell ended."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cases.load import load_file
from harness.cli import main as cli_main
from harness.execution.runner import Runner

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


@pytest.mark.parametrize("adapter,path,cid,status", [
    # T24: the fused kernel (4-D float32) updates moving_variance with the Bessel-corrected batch variance
    ("tf-keras", "cases/batch_norm/running_stats.yaml", "bn-running-nchw-mom0.1-eps1e-05-float32", "diverge"),
    ("tf-keras", "cases/batch_norm/running_stats.yaml", "bn-running-btf-mom0.1-eps1e-05-float32", "agree"),
    ("tfa", "cases/group_norm/backward.yaml", "gn-grad-btf-g1-eps1e-05-float32", "agree"),
])
def test_training_repro_matches_the_recorded_cell(tmp_path, monkeypatch, adapter, path, cid, status):
    monkeypatch.chdir(REPO)
    c = next(c for c in load_file(REPO / path) if c.id == cid)
    results = tmp_path / "legacy.jsonl"
    runner = Runner("legacy", results, [adapter], cell_timeout=300)
    try:
        r = runner.run_cell(c, adapter)
    finally:
        runner.close()
    assert r.status == status, r.message
    script = tmp_path / "repro.py"
    assert cli_main(["repro", cid, adapter, "--results", str(results), "-o", str(script), "--no-shrink"]) == 0
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    work = tmp_path / "elsewhere"
    work.mkdir()
    p = subprocess.run([sys.executable, "-I", str(script)], cwd=work, env=env, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == (1 if status == "diverge" else 0), p.stdout + p.stderr
    printed = {k: (e, w) for k, e, w in re.findall(
        r"^(\w+): worst element .*\n    error (\S+) \(max abs\).*; (agrees|DIVERGES)$", p.stdout, re.M)}
    assert printed == {k: (f"{o.max_abs:.6g}", "agrees" if o.ok else "DIVERGES") for k, o in r.metrics.outputs.items()}
