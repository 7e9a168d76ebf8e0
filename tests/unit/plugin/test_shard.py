"""--shard K/N: every cell runs in exactly one shard, and merging the shards equals one run."""
import os
import subprocess
import sys
from pathlib import Path

from harness.results.read import read_many

ROOT = Path(__file__).resolve().parents[3]

CASES = """\
defaults:
  description: d
  source: s
  op: layer_norm
  layout: BTF
  shape: {B: 2, T: 3, F: 4}
cases:
  - id: grid
    seed: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    dtype: [float32, float64]
  - id: wrong
    tags: [wrong]
    seed: [0, 1, 2]
"""


def run(tmp_path, *extra):
    env = {**os.environ, "NORMCONF_ADAPTERS": "tests.fault_adapters:SPECS",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("NORMCONF_ENV", None)
    cmd = [sys.executable, "-m", "harness", "run", "--adapters", "faulty,missing", "--env-name", "t",
           "--rootdir", str(tmp_path), "-c", os.devnull, *extra]
    p = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    # 1 when the shard holds one of the deliberately wrong cells (unexpected), never a harness failure
    assert p.returncode in (0, 1), (p.stdout + p.stderr)[-3000:]
    return p.stdout


def outcome(paths):
    m = read_many(paths)
    return {k: (r.status, r.metrics.max_abs) for k, r in m.results.items()}


def test_merged_shards_equal_one_run(tmp_path):
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "c.yaml").write_text(CASES)
    run(tmp_path, "--results", "full.jsonl")
    full = outcome([tmp_path / "full.jsonl"])
    assert len(full) == (20 + 3) * 2
    sizes = []
    for k in (1, 2, 3):
        run(tmp_path, "--shard", f"{k}/3")
        part = outcome([tmp_path / "reports" / "results" / f"t.shard-{k}-of-3.jsonl"])
        sizes.append(len(part))
    assert sum(sizes) == len(full) and all(sizes)  # each cell in exactly one shard, no shard empty
    shards = sorted((tmp_path / "reports" / "results").glob("t.shard-*-of-3.jsonl"))
    assert outcome(shards) == full


def test_bad_shard_is_a_usage_error(tmp_path):
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "c.yaml").write_text(CASES)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "harness", "run", "--shard", "4/3", "--rootdir", str(tmp_path),
                        "-c", os.devnull], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 4 and "K must be between 1 and N" in p.stderr
