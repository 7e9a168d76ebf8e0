"""The full conformance run of an environment: its wall time against the floor, per column.

    PYTHONPATH=. .tox/current/bin/python benchmarks/full_run.py [--env-name current] [--jobs N]
        [--prior FILE] [--out FILE] [-- ARGS for normconf run, e.g. --adapters torch,jax cases/group_norm]

Run it with the Python of the environment (e.g. .tox/current/bin/python for ``current``), from the
repository root. It runs ``normconf run`` on every shipped case and claim with every adapter (or what the
ARGS after ``--`` select), writing the results to a temporary file, and records:

* the process's wall time, and the session's (what the run's own time line says);
* the floor: the cells' summed recorded durations (the inputs, the call in the worker and the verdict: the
  ``duration`` of each record) divided by the jobs;
* the ratio of the session's wall time to the floor;
* the seconds per column (adapter, the same durations), slowest first, the worker processes added for
  slow columns, and apart, the inputs and calls alone and the main thread's judging (reference,
  achievable error, fingerprint, record), which runs beside the workers.

With ``--prior FILE`` (an earlier results file of the same environment) the run starts from its durations,
as a run that finds its previous results file does; without it, as from a fresh clone. Figures are printed
and written as JSON (--out); nothing is asserted.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

TIMING_ENV = "NORMCONF_BENCH_TIMING"


def pytest_terminal_summary(config):
    """Loaded into the run as a pytest plugin (``-p full_run``): writes the run's timing as JSON."""
    from harness.plugin.session import made_runner, wall_seconds

    path = os.environ.get(TIMING_ENV)
    r = made_runner(config)
    if path and r is not None:
        Path(path).write_text(json.dumps(r.timing(wall_seconds(config)), indent=1) + "\n")


def main(argv=None):
    from run_speed import machine, timed

    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env-name", default="current")
    ap.add_argument("--jobs", type=int, default=None, help="normconf run --jobs (default: its own, the cores)")
    ap.add_argument("--prior", default=None, help="an earlier results file of the environment")
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="normconf-full-") as d:
        results, timing = Path(d) / f"{a.env_name}.jsonl", Path(d) / "timing.json"
        if a.prior:
            shutil.copy(a.prior, results)
        env = {**os.environ, TIMING_ENV: str(timing),
               "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "benchmarks"), os.environ.get("PYTHONPATH", "")])}
        env.pop("NORMCONF_ENV", None)
        cmd = [sys.executable, "-m", "harness", "run", "--env-name", a.env_name, "--results", str(results),
               "-p", "full_run", "-p", "no:cacheprovider", "-q", "--no-header", "-rN", *extra]
        if a.jobs:
            cmd += ["--jobs", str(a.jobs)]
        fig = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "env": a.env_name,
               "command": " ".join(cmd[1:]), "prior": bool(a.prior)}
        print("machine:", fig["machine"], flush=True)
        t = timed(cmd, env, ROOT)
        fig["process"] = {k: v for k, v in t.items() if k != "tail"}
        fig["machine_after"] = machine()
        if t["rc"] not in (0, 1) or not timing.is_file():
            print(t["tail"])
            print(f"the run failed (exit status {t['rc']})")
            return 1
        run = json.loads(timing.read_text())
        cells = sum(1 for line in results.read_text().splitlines() if '"kind": "result"' in line
                    or '"kind":"result"' in line)
    fig.update(cells=cells, wall_s=round(run["wall_s"], 1), floor_s=round(run["floor_s"], 1),
               ratio=round(run["ratio"], 3) if run["ratio"] else None, jobs=run["jobs"],
               cells_s=round(run["cells_s"], 1), adapter_s=round(run["adapter_s"], 1),
               judge_s=round(run["judge_s"], 1),
               workers_added=run["workers_added"],
               per_adapter_s={k: round(v, 1) for k, v in run["per_adapter_s"].items()})
    print(f"cells: {cells}; wall {fig['wall_s']} s (process {t['wall_s']} s), floor {fig['floor_s']} s "
          f"({fig['cells_s']} s / {fig['jobs']} jobs), ratio {fig['ratio']} (goal <= 1.15, wall <= 300 s); "
          f"in the workers {fig['adapter_s']} s, judging in the main thread {fig['judge_s']} s; "
          f"workers added {fig['workers_added']}")
    print("per column:", ", ".join(f"{k} {v}" for k, v in fig["per_adapter_s"].items()))
    if a.out:
        Path(a.out).write_text(json.dumps(fig, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
