"""normconf repro on the real frameworks: the scripts run standalone in this
environment's Python (isolated: no PYTHONPATH, outside the repository) and
exit 1 for the known divergences, 0 for agreeing cells; gradient and
running-statistics scripts print each output's error as the harness recorded it."""
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


def case(path, cid):
    return next(c for c in load_file(REPO / path, display=path) if c.id == cid)


def record(tmp_path, adapter, cases):
    out = tmp_path / f"{adapter}.jsonl"
    runner = Runner("current", out, [adapter], cell_timeout=300)
    try:
        results = [runner.run_cell(c, adapter) for c in cases]
    finally:
        runner.close()
    return out, results


def repro_and_run(tmp_path, adapter, results, cid, *extra):
    script = tmp_path / f"repro_{adapter.replace('-', '_')}.py"
    issue = tmp_path / f"{adapter}.md"
    assert cli_main(["repro", cid, adapter, "--results", str(results), "-o", str(script), "--issue", str(issue),
                     *extra]) == 0
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    work = tmp_path / "elsewhere"
    work.mkdir(exist_ok=True)
    p = subprocess.run([sys.executable, "-I", str(script)], cwd=work, env=env, capture_output=True, text=True,
                       timeout=600)
    return p, script.read_text(), issue.read_text()


@pytest.fixture(autouse=True)
def _cwd(monkeypatch):
    monkeypatch.chdir(REPO)


def test_flax_one_pass_variance_repro_exits_1_and_is_shrunk(tmp_path):
    cid = "ln-hard-mean-mean10000-std0.01-eps1e-05-float32"
    results, (r,) = record(tmp_path, "flax-linen", [case("cases/layer_norm/hard.yaml", cid)])
    assert r.status == "diverge" and "one-pass variance" in r.explanation
    p, text, issue = repro_and_run(tmp_path, "flax-linen", results, cid)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "DIVERGES" in p.stdout
    assert "import flax.linen as nn" in text and "harness" not in text.split("def main", 1)[0].split("import numpy")[1]
    header = " ".join(ln[2:] for ln in text.splitlines() if ln.startswith("# "))
    assert "shrunk from B2xT5xF16 to" in header and "same explanation: one-pass variance" in header
    assert "## Versions" in issue and "| flax |" in issue and "one-pass variance" in issue


def test_keras_torch_nan_repro_exits_1(tmp_path):
    cid = "bn-hard-mean-mean10000-std0.01-eps1e-05-float32"
    results, (r,) = record(tmp_path, "keras-torch", [case("cases/batch_norm/hard.yaml", cid)])
    assert r.status == "diverge" and "NaN" in r.explanation
    p, text, _ = repro_and_run(tmp_path, "keras-torch", results, cid, "--no-shrink")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "outputs are NaN or inf" in p.stdout
    assert "os.environ['KERAS_BACKEND'] = 'torch'" in text


def test_torch_agreeing_cells_exit_0(tmp_path):
    hard = "ln-hard-mean-mean10000-std0.01-eps1e-05-float32"
    dflt = "ln-default-eps-eps-default-bfloat16"
    results, rs = record(tmp_path, "torch", [case("cases/layer_norm/hard.yaml", hard),
                                             case("cases/layer_norm/default_epsilon.yaml", dflt)])
    assert [r.status for r in rs] == ["agree", "agree"]
    p, _, _ = repro_and_run(tmp_path, "torch", results, hard, "--no-shrink")
    assert p.returncode == 0 and "agrees" in p.stdout, p.stdout + p.stderr
    p, text, _ = repro_and_run(tmp_path, "torch", results, dflt, "--no-shrink")
    assert p.returncode == 0 and "agrees" in p.stdout, p.stdout + p.stderr
    assert "eps=" not in text.split("# --- the call", 1)[1].split("# ---", 1)[0]  # the call omits epsilon
    assert "documented default 1e-05" in " ".join(text.splitlines()[:20])


# --- gradients and running statistics ------------------------------------------------------------

def _outputs(stdout):
    """name -> (error, verdict word) from a training-time script's report."""
    return {k: (e, w) for k, e, w in re.findall(
        r"^(\w+): worst element .*\n    error (\S+) \(max abs\).*; (agrees|DIVERGES)$", stdout, re.M)}


def _recorded(r):
    return {k: (f"{o.max_abs:.6g}", "agrees" if o.ok else "DIVERGES") for k, o in r.metrics.outputs.items()}


@pytest.mark.parametrize("adapter,path,cid,status", [
    # T8: torch updates running_var with the unbiased batch variance; the running mean agrees
    ("torch", "cases/batch_norm/running_stats.yaml", "bn-running-nchw-mom0.1-eps1e-05-float32", "diverge"),
    # autograd on (the forward calls run under torch.no_grad)
    ("torch", "cases/batch_norm/backward.yaml", "bn-grad-nchw-eps1e-05-float32", "agree"),
    ("flax-linen", "cases/layer_norm/backward.yaml", "ln-grad-decoupled-eps1e-05-float32", "agree"),
    # Keras on JAX computes float64 in float32, gradients included
    ("keras-jax", "cases/rms_norm/backward.yaml", "rms-grad-eps1e-05-float64", "diverge"),
    ("keras-tf", "cases/batch_norm/running_stats.yaml", "bn-running-nchw-mom0.1-eps1e-05-float32", "agree"),
])
def test_training_repro_matches_the_recorded_cell(tmp_path, adapter, path, cid, status):
    results, (r,) = record(tmp_path, adapter, [case(path, cid)])
    assert r.status == status, r.message
    p, text, issue = repro_and_run(tmp_path, adapter, results, cid, "--no-shrink")
    assert p.returncode == (1 if status == "diverge" else 0), p.stdout + p.stderr
    assert _outputs(p.stdout) == _recorded(r), p.stdout
    assert f"worst output: {r.metrics.output};" in p.stdout
    assert "harness" not in text.split("def main", 1)[0].split("import numpy")[1]
    assert "## Expected vs actual" in issue and f"`{r.metrics.output}`" in issue
    if adapter == "torch" and status == "diverge":
        assert "running_var" in _outputs(p.stdout) and _outputs(p.stdout)["running_mean"][1] == "agrees"
