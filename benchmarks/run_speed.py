"""Speed and scale of `normconf run`, measured against a plain sequential loop over the same adapter calls.

    python benchmarks/run_speed.py [--cases cases/layer_norm cases/group_norm]
        [--adapters torch,keras-tf,keras-jax,flax-linen,jax] [--scale 10] [--scale-cases PATHS] [--out FILE]

Run it with the Python of an environment that has the frameworks (e.g. .tox/current/bin/python, with
PYTHONPATH at the repository root). It measures, on the same cases in the same environment:

* wall time of `normconf run` (default --jobs, i.e. the cores) and of `--jobs 1`;
* wall time of a plain loop: for each adapter, one subprocess (one after the other) that imports the
  adapter class, and for every case makes the inputs, runs the adapter and compares with the float64
  reference -- what a hand-written script would do;
* per-cell harness overhead: (`--jobs 1` wall - loop wall) / cells;
* 1x vs Nx cases (a temporary copy of the case files with N times the seeds): wall time, and peak memory
  sampled from /proc every 0.1 s (the harness process alone, and the whole process tree);
* determinism: three runs (--jobs 1, default, default) compared record by record apart from time and
  duration.

Figures are printed and written as JSON (--out); nothing is asserted.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LOOP = r'''
import os, sys
from pathlib import Path
import numpy as np
from harness.adapters import load_adapter, registry
from harness.cases import load_file
from harness.cases.inputs import make_inputs
from harness.numerics.reference import normalize

name, files = sys.argv[1], sys.argv[2:]
spec = registry()[name]
os.environ.update(dict(spec.env))
ad = load_adapter(spec)
n = ran = 0
for f in files:
    for case in load_file(Path(f)):
        if case.skip:
            continue
        n += 1
        if ad.supports(case):
            continue
        inputs = make_inputs(case)
        try:
            y = ad.run(case, inputs).y
        except Exception:
            continue
        ran += 1
        try:
            eps = case.epsilon if case.epsilon is not None else float(ad.documented_epsilon(case)["value"])
            ref = normalize(np.asarray(inputs.x, np.float64), case.semantics_with(eps),
                            None if inputs.gamma is None else np.asarray(inputs.gamma, np.float64),
                            None if inputs.beta is None else np.asarray(inputs.beta, np.float64))
            float(np.max(np.abs(np.asarray(y, np.float64) - ref)))
        except Exception:
            pass
print(n, ran)
'''


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def timed(cmd, env=None, cwd=None) -> dict:
    """Run cmd; wall time, exit code, peak RSS of the process itself and of its whole tree (MiB)."""
    from harness.workers.proctree import descendants

    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = {"self": 0, "tree": 0}
    done = threading.Event()

    def sample():
        while not done.is_set():
            own = _rss_kib(p.pid)
            tree = own + sum(_rss_kib(c) for c in descendants(p.pid))
            peak["self"] = max(peak["self"], own)
            peak["tree"] = max(peak["tree"], tree)
            done.wait(0.1)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out, _ = p.communicate()
    wall = time.perf_counter() - t0
    done.set()
    th.join()
    return {"wall_s": round(wall, 2), "rc": p.returncode, "peak_self_mib": round(peak["self"] / 1024, 1),
            "peak_tree_mib": round(peak["tree"] / 1024, 1), "tail": out[-1500:]}


def case_files(paths) -> list[Path]:
    out = []
    for p in paths:
        p = Path(p)
        out += sorted(p.rglob("*.yaml")) if p.is_dir() else [p]
    return out


def project(tmp: Path, paths, scale: int) -> list[str]:
    """A copy of the case files (and the expectations) under tmp/cases, each case with ``scale`` times the
    seeds; returns the copied paths relative to tmp."""
    import yaml

    shutil.copytree(ROOT / "cases" / "expectations", tmp / "cases" / "expectations")
    rel = []
    for f in case_files(paths):
        r = Path(f).resolve().relative_to(ROOT)
        dst = tmp / r
        dst.parent.mkdir(parents=True, exist_ok=True)
        if scale == 1:
            shutil.copy(f, dst)
        else:
            doc = yaml.safe_load(Path(f).read_text())
            defaults = doc.setdefault("defaults", {}) or {}
            doc["defaults"] = defaults
            base = defaults.get("seed", 0)
            for c in doc.get("cases", []):
                seeds = c.get("seed", base)
                seeds = seeds if isinstance(seeds, list) else [seeds]
                c["seed"] = [s + 1000 * k for k in range(scale) for s in seeds]
            dst.write_text(yaml.safe_dump(doc, sort_keys=False))
        rel.append(str(r))
    return rel


def harness_cmd(tmp: Path, rel, adapters, results, jobs=None):
    cmd = [sys.executable, "-m", "harness", "run", *rel, "--adapters", adapters, "--env-name", "bench",
           "--results", str(results), "--rootdir", str(tmp), "-c", os.devnull, "-p", "no:cacheprovider", "-q"]
    return cmd + (["--jobs", str(jobs)] if jobs else [])


def records(path):
    out = []
    for line in Path(path).read_text().splitlines():
        rec = json.loads(line)
        if rec.get("kind") in ("result", "adapter", "claim"):
            out.append({k: v for k, v in rec.items() if k not in ("time", "duration")})
    return out


def n_results(path) -> int:
    return sum(1 for r in records(path) if r["kind"] == "result")


def machine() -> str:
    model = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next((ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("Model name")), "")
    except OSError:
        pass
    mem = ""
    try:
        kib = int(next(ln.split()[1] for ln in open("/proc/meminfo") if ln.startswith("MemTotal")))
        mem = f"{kib / 2**20:.0f} GiB"
    except (OSError, StopIteration):
        pass
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, {model}, {mem}, Python {platform.python_version()}, load average {load}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=["cases/layer_norm", "cases/group_norm"])
    ap.add_argument("--adapters", default="torch,keras-tf,keras-jax,flax-linen,jax")
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--scale-cases", nargs="+", default=None,
                    help="case files for the 1x vs Nx comparison (default: --cases)")
    ap.add_argument("--skip", default="", help="comma-separated parts to leave out: loop,jobs1,determinism,scale")
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    skip = set(filter(None, a.skip.split(",")))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("NORMCONF_ENV", None)
    fig = {"machine": machine(), "cases": a.cases, "adapters": a.adapters}
    print("machine:", fig["machine"], flush=True)
    with tempfile.TemporaryDirectory(prefix="normconf-speed-") as d:
        tmp = Path(d) / "x1"
        rel = project(tmp, [ROOT / c for c in a.cases], 1)
        h = timed(harness_cmd(tmp, rel, a.adapters, tmp / "default-1.jsonl"), env, tmp)
        cells = n_results(tmp / "default-1.jsonl")
        fig["cells"] = cells
        fig["harness_default"] = {k: v for k, v in h.items() if k != "tail"}
        print(f"cells: {cells}\nnormconf run (default jobs): {h['wall_s']} s, rc {h['rc']}", flush=True)
        if h["rc"] not in (0, 1):
            print(h["tail"])
        if "loop" not in skip:
            loop_wall, per = 0.0, {}
            for name in a.adapters.split(","):
                t = timed([sys.executable, "-c", LOOP, name, *[str(tmp / r) for r in rel]], env, tmp)
                per[name] = t["wall_s"]
                loop_wall += t["wall_s"]
                if t["rc"]:
                    print(f"loop {name} failed:", t["tail"])
            fig["loop"] = {"wall_s": round(loop_wall, 2), "per_adapter_s": per}
            fig["ratio_harness_to_loop"] = round(h["wall_s"] / loop_wall, 3)
            print(f"sequential loop: {loop_wall:.2f} s {per}\nratio harness/loop: "
                  f"{fig['ratio_harness_to_loop']} (goal <= 0.75)", flush=True)
        if "jobs1" not in skip:
            j1 = timed(harness_cmd(tmp, rel, a.adapters, tmp / "jobs1.jsonl", jobs=1), env, tmp)
            fig["harness_jobs1"] = {k: v for k, v in j1.items() if k != "tail"}
            print(f"normconf run --jobs 1: {j1['wall_s']} s", flush=True)
            if "loop" in fig:
                fig["overhead_ms_per_cell"] = round(1000 * (j1["wall_s"] - fig["loop"]["wall_s"]) / cells, 1)
                print(f"per-cell harness overhead (--jobs 1 vs loop): {fig['overhead_ms_per_cell']} ms", flush=True)
        if "determinism" not in skip and "jobs1" not in skip:
            third = timed(harness_cmd(tmp, rel, a.adapters, tmp / "default-2.jsonl"), env, tmp)
            runs = [records(tmp / n) for n in ("jobs1.jsonl", "default-1.jsonl", "default-2.jsonl")]
            same = all(r == runs[0] for r in runs[1:])
            fig["determinism"] = {"runs": ["--jobs 1", "default", "default"], "identical_apart_from_times": same,
                                  "records": len(runs[0]), "third_run_wall_s": third["wall_s"]}
            print(f"determinism (3 runs): identical apart from times: {same}", flush=True)
        if "scale" not in skip:
            srel_src = [ROOT / c for c in (a.scale_cases or a.cases)]
            rows = {}
            for k in (1, a.scale):
                t = Path(d) / f"s{k}"
                srel = project(t, srel_src, k)
                r = timed(harness_cmd(t, srel, a.adapters, t / "r.jsonl"), env, t)
                rows[f"{k}x"] = {"cells": n_results(t / "r.jsonl"), **{x: v for x, v in r.items() if x != "tail"}}
                print(f"scale {k}x: {rows[f'{k}x']}", flush=True)
            fig["scale"] = rows
    print(json.dumps(fig, indent=1))
    if a.out:
        Path(a.out).write_text(json.dumps(fig, indent=1) + "\n")


if __name__ == "__main__":
    main()
