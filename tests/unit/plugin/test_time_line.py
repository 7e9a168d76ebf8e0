"""The run's last line: its wall time against the floor (the adapters' summed seconds over the jobs), the
ratio, the judging time and the slowest columns first."""
import os
import re
import subprocess
import sys
from pathlib import Path

from harness.plugin.outcomes import time_line

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
"""
LINE = re.compile(r"normconf: time: wall ([\d.]+) s, floor ([\d.]+) s \(cells ([\d.]+) s / (\d+) jobs\), "
                  r"ratio ([\d.]+); in the workers ([\d.]+) s, judging ([\d.]+) s; per column: (.*?)"
                  r"(?:; (\d+) worker\(s\) added for slow columns)?")


def test_the_run_ends_with_its_time_against_the_floor(tmp_path):
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "c.yaml").write_text(CASES)
    env = {**os.environ, "NORMCONF_ADAPTERS": "tests.parallel_adapters:SLEEPY",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    p = subprocess.run([sys.executable, "-m", "harness", "run", "--env-name", "t", "--results", "none",
                        "--adapters", "sleepy-quick,sleepy-mid", "--jobs", "2", "-p", "no:cacheprovider",
                        "--rootdir", str(tmp_path), "-c", os.devnull],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    (m,) = [LINE.fullmatch(line) for line in p.stdout.splitlines() if line.startswith("normconf: time:")]
    assert m, p.stdout
    wall, floor, cells, jobs, ratio, workers, judging = (float(m[i]) for i in range(1, 8))
    assert jobs == 2 and abs(floor - cells / 2) < 0.11 and abs(wall / ratio - floor) < 0.06  # rounded to 0.1
    assert workers <= cells + 0.1 and workers >= 10 * 0.08 and judging >= 0
    columns = [c.rsplit(" ", 2) for c in m[8].split(", ")]
    assert [c[0] for c in columns] == ["sleepy-mid", "sleepy-quick"]
    assert float(columns[0][1]) >= 10 * 0.08


def test_the_time_line_names_the_slowest_columns_and_counts_the_rest():
    t = {"wall_s": 130.0, "cells_s": 200.0, "adapter_s": 190.0, "jobs": 2, "floor_s": 100.0, "ratio": 1.3,
         "judge_s": 7.25,
         "per_adapter_s": {f"a{i}": 80.0 / 2 ** i for i in range(8)}, "workers_added": 1}
    line = time_line(t, shown=3)
    assert line == ("normconf: time: wall 130.0 s, floor 100.0 s (cells 200.0 s / 2 jobs), ratio 1.30; "
                    "in the workers 190.0 s, judging 7.2 s; per column: a0 80.0 s, a1 40.0 s, a2 20.0 s, "
                    "5 more 19.4 s; 1 worker(s) added for slow columns")
