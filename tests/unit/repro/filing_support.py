"""Helpers of the normconf file tests: a causes file, cells recorded on the test framework's adapters
(tests/filing_adapters.py), and running a written script the way a maintainer would, with a chosen release
of the test framework installed (on PYTHONPATH), or none."""
import os
import subprocess
import sys
from pathlib import Path

from harness.cli import main as cli_main
from harness.execution.runner import Runner
from tests.filing_adapters import FAKEFW
from tests.unit.repro.support import mk

ADAPTERS = "tests.filing_adapters:SPECS,tests.fault_adapters:SPECS"
#: a source from another framework's docs, which a body must never link
FOREIGN_SOURCE = "https://docs.example.org/other-framework/LayerNorm.html"

BIG = {"distribution": "normal", "mean": 1000.0, "std": 1.0}
CELLS = [
    mk("ln-big-a", shape={"B": 2, "T": 3, "F": 16}, input=BIG, source=FOREIGN_SOURCE),
    mk("ln-big-b", shape={"B": 2, "T": 5, "F": 32}, input=BIG, source=FOREIGN_SOURCE),
    mk("ln-big-c", shape={"B": 4, "T": 8, "F": 16}, input=BIG, source=FOREIGN_SOURCE),  # 512 values
    mk("ln-big-ones", shape={"B": 2, "T": 3, "F": 8}, input=BIG, affine="ones"),
    mk("rms64", op="rms_norm", dtype="float64", shape={"B": 2, "T": 3, "F": 4}),
]

CAUSES = """\
causes:
  - id: fakefw-one-pass-variance
    name: layer_norm's variance loses its digits at a large mean
    mechanism: normconf_fakefw.layer_norm computes the variance as E[x²]−E[x]² in the input's dtype, which
      cancels when the mean is large against the spread.
    classification: {onepass}
    repository: example/fakefw
    affects: [{{package: normconf_fakefw, versions: ">=1.0", apis: [normconf_fakefw.Module, normconf_fakefw.layer_norm]}}]
    docs: [{{url: "https://example.org/fakefw/layer_norm", quote: "layer_norm normalizes over the last axis."}}]
    upstream: {{none_found: "2026-12-01", searched: ["one-pass variance layer_norm"]}}
    workaround: Subtract the mean before calling layer_norm.
  - id: fakefw-rms-float64
    name: rms_norm raises TypeError on float64 input
    mechanism: rms_norm accepts float32 input only.
    classification: bug
    repository: example/fakefw
    affects: [{{package: normconf_fakefw, apis: [normconf_fakefw.rms_norm]}}]
    upstream: {{url: "https://github.com/example/fakefw/issues/7", title: "rms_norm and float64", state: open}}
  - id: harness-cannot
    name: the harness cannot express this
    mechanism: the harness cannot express this call.
    classification: harness
  - id: old-api
    name: an old API
    mechanism: the API is superseded.
    classification: superseded
    repository: example/fakefw
    affects: [{{package: normconf_fakefw}}]
    docs: [{{url: "https://example.org/fakefw/migration", quote: "Use layer_norm instead."}}]
    upstream: {{none_found: "2026-12-01", searched: ["x"]}}
  - id: unseen
    name: a cause no result shows
    mechanism: nothing.
    classification: bug
    repository: example/fakefw
    affects: [{{package: normconf_fakefw}}]
    upstream: {{none_found: "2026-12-01", searched: ["x"]}}
expectations:
  - id: ln-big-*
    adapter: fakefw-layers
    status: diverge
    reason: one-pass variance
    cause: fakefw-one-pass-variance
  - id: rms64*
    adapter: fakefw-layers
    status: error
    reason: float64
    cause: fakefw-rms-float64
"""


def causes_root(tmp_path, onepass="bug") -> Path:
    root = tmp_path / "cases"
    (root / "expectations").mkdir(parents=True, exist_ok=True)
    (root / "expectations" / "fake.yaml").write_text(CAUSES.format(onepass=onepass), encoding="utf-8")
    return root


def record_cells(path: Path, cells=CELLS) -> Path:
    runner = Runner("unit", path, ["fakefw-layers", "fakefw-stable"], cell_timeout=60)
    try:
        for c in cells:
            for a in ("fakefw-layers", "fakefw-stable"):
                runner.run_cell(c, a)
    finally:
        runner.close()
    return path


def release(name: str) -> str:
    return str(FAKEFW / name)


def file_cmd(monkeypatch, *args, fw="buggy"):
    """normconf file with the test framework's release ``fw`` installed for the script it runs."""
    monkeypatch.setenv("NORMCONF_ADAPTERS", ADAPTERS)
    if fw:
        monkeypatch.setenv("PYTHONPATH", release(fw))
    else:
        monkeypatch.delenv("PYTHONPATH", raising=False)
    return cli_main(["file", *map(str, args), "--quiet"])


def run_with(script: Path, tmp_path: Path, fw: str | None) -> subprocess.CompletedProcess:
    """Run a script outside the repository with only numpy and the test framework's release ``fw`` (None:
    the framework is not installed)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NORMCONF_ADAPTERS", "NORMCONF_FAKEFW")}
    if fw:
        env["PYTHONPATH"] = release(fw)
    work = tmp_path / "elsewhere"
    work.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, str(script)], cwd=work, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
