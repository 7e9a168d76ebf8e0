"""Helpers of the repro tests: cases, recorded runs on the fault-injection adapter, running a script
the way a maintainer would (isolated, outside the repository, without PYTHONPATH)."""
import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

from harness.cases.model import Case
from harness.cli import main as cli_main
from harness.execution.runner import Runner
from harness.repro.script import case_script
from tests.fault_adapters import Faulty

REPO = Path(__file__).resolve().parents[3]


def mk(cid="r-ln", tags=(), **kw):
    d = {"id": cid, "description": "repro test", "source": "tests", "op": "layer_norm", "layout": "BTF",
             "shape": {"B": 2, "T": 3, "F": 4}, "dtype": "float32", "epsilon": 1e-5, "affine": "random", "seed": 1,
             "input": {"distribution": "normal", "mean": 0.0, "std": 1.0}, "tags": list(tags)}
    d.update(kw)
    return Case.from_dict(d)


def record(tmp_path, cases, name="r.jsonl"):
    out = tmp_path / name
    runner = Runner("unit", out, ["faulty"], cell_timeout=60)
    try:
        results = [runner.run_cell(c, "faulty") for c in cases]
    finally:
        runner.close()
    return out, results


def run_script(path, tmp_path):
    """Run a script the way a maintainer would: isolated (-I: no PYTHONPATH, no user site), outside the repo."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NORMCONF_ADAPTERS")}
    work = tmp_path / "elsewhere"
    work.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-I", str(path)], cwd=work, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def repro(tmp_path, results, cid, *extra, name="repro_script.py"):
    script = tmp_path / name
    code = cli_main(["repro", cid, "faulty", "--results", str(results), "-o", str(script), *extra])
    return code, script


def imports_of(text):
    mods = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            mods |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            mods.add((node.module or "").split(".")[0])
    return mods


def load_script(text, tmp_path, name="loaded_script"):
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def script_for(case, tmp_path, name="s"):
    parts = Faulty().repro(case)
    text = case_script(case, "faulty", parts, eps=case.epsilon, epsilon_doc=None, record=None, header_lines=[],
                       recorded_metrics=None)
    return load_script(text, tmp_path, name)


TRAIN_ADAPTERS = "tests.fault_adapters:SPECS,tests.training_adapters:SPECS"


def tmk(cid, check="backward", **kw):
    """A backward (or running-statistics) case; running_stats cases are batch norm, 3 steps, momentum 0.1."""
    if check == "running_stats":
        kw = {"op": "batch_norm", "layout": "NCHW", "shape": {"N": 2, "C": 3, "H": 2, "W": 3}, "momentum": 0.1,
              "steps": 3, **kw}
    return mk(cid, check=check, input=kw.pop("input", {"distribution": "normal", "mean": 0.5, "std": 2.0}), **kw)


def record_on(tmp_path, adapter, cases, name):
    out = tmp_path / name
    runner = Runner("unit", out, [adapter], cell_timeout=60)
    try:
        return out, [runner.run_cell(c, adapter) for c in cases]
    finally:
        runner.close()


def printed_outputs(stdout):
    """name -> (error, achievable, verdict word) from a training script's report."""
    found = re.findall(r"^(\w+): worst element .*\n    error (\S+) \(max abs\), achievable (\S+), .*; "
                       r"(agrees|DIVERGES)$", stdout, re.MULTILINE)
    return {k: (e, a, w) for k, e, a, w in found}
