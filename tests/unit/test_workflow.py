"""The nightly GitHub Actions workflow: valid against the published workflow
schema (check-jsonschema's vendored copy), and wired to commands that exist."""
import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from harness.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "nightly.yml"


def validate(path):
    exe = shutil.which("check-jsonschema") or str(Path(sys.executable).with_name("check-jsonschema"))
    return subprocess.run([exe, "--builtin-schema", "vendor.github-workflows", str(path)],
                          capture_output=True, text=True, timeout=120)


def test_workflow_is_valid():
    p = validate(WORKFLOW)
    assert p.returncode == 0, p.stdout + p.stderr


def test_the_validator_rejects_a_broken_workflow(tmp_path):
    data = yaml.safe_load(WORKFLOW.read_text())
    del data["jobs"]["run"]["runs-on"]
    data["jobs"]["merge"]["needs"] = 3
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump(data))
    assert validate(bad).returncode != 0


def test_jobs_use_the_project_environments_and_commands():
    data = yaml.safe_load(WORKFLOW.read_text())
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(ROOT / "tox.ini")
    for env in data["jobs"]["run"]["strategy"]["matrix"]["env"]:
        assert f"testenv:{env}" in ini, env
    runs = " ".join(s.get("run", "") for job in data["jobs"].values() for s in job["steps"])
    assert "--shard ${{ matrix.shard }}/2" in runs
    parser = build_parser()
    for line in runs.split("normconf ")[1:]:
        words = line.split("|")[0].split("\n")[0].split()
        args = [w for w in words if not w.startswith("$")]
        parser.parse_known_args(args)  # raises SystemExit on an unknown command
    assert "normconf expectations check reports/results" in runs
    assert data["jobs"]["merge"]["needs"] == "run" and data["jobs"]["merge"]["if"] == "always()"


def test_moving_environments_run_beside_the_pinned_ones_on_versions_resolved_once_a_night():
    data = yaml.safe_load(WORKFLOW.read_text())
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(ROOT / "tox.ini")
    assert {"current", "legacy", "latest", "nightly"} <= set(data["jobs"]["run"]["strategy"]["matrix"]["env"])
    moving = data["jobs"]["resolve"]["strategy"]["matrix"]["env"]
    assert set(moving) == {"latest", "nightly"} and data["jobs"]["run"]["needs"] == "resolve"
    for env in moving:  # re-resolved at every install, and part of the report
        assert ini[f"testenv:{env}"]["recreate"].strip().endswith("true}")
        assert env in ini["tox"]["labels"].split("report =")[1]
    steps = " ".join(s.get("run", "") for s in data["jobs"]["run"]["steps"])
    assert "PIP_CONSTRAINT" in steps
    report = " ".join(s.get("run", "") for s in data["jobs"]["merge"]["steps"])
    # the report expects results from every environment the run job runs, no more and no fewer
    expected = [m.split()[0].split(",") for m in report.split("--expect-env ")[1:]]
    assert len(expected) == 2
    assert all(sorted(e) == sorted(data["jobs"]["run"]["strategy"]["matrix"]["env"]) for e in expected), expected
    assert "normconf diff reports/by-env/current reports/by-env/$env" in report
