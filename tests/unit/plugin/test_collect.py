"""pytest collects case files: node ids, -k, failures and bad files as failing items."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

GOOD = """
cases:
  - id: ln
    description: d
    source: s
    op: layer_norm
    layout: BTF
    shape: {B: 2, T: 3, F: 4}
    dtype: [float32, float64]
  - id: wrong
    description: d
    source: s
    op: layer_norm
    layout: BTF
    shape: {B: 2, T: 3, F: 4}
    tags: [wrong]
  - id: later
    description: d
    source: s
    op: batch_norm
    layout: BF
    shape: {B: 2, F: 4}
    skip: "waiting for a fix"
"""


def run_pytest(tmp_path, *args):
    cases = tmp_path / "cases" / "layer_norm"
    cases.mkdir(parents=True, exist_ok=True)
    (cases / "good.yaml").write_text(GOOD)
    (tmp_path / "cases" / "broken.yaml").write_text("cases:\n  - id: x\n    op: layer_nrom\n")
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["harness.pytest_plugin"]\n')
    env = {**os.environ, "NORMCONF_ADAPTERS": "tests.fault_adapters:SPECS",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("NORMCONF_ENV", None)
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
           "-c", os.devnull, "--adapters", "faulty", "--env-name", "t", *args, "cases"]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def test_node_ids_and_bad_file_item(tmp_path):
    p = run_pytest(tmp_path, "--collect-only", "-q")
    out = p.stdout
    assert "cases/layer_norm/good.yaml::ln-eps1e-05-float32[faulty]" in out
    assert "cases/layer_norm/good.yaml::ln-eps1e-05-float64[faulty]" in out
    assert "cases/broken.yaml::<invalid case file>" in out


def test_run_streams_results_and_explains_failures(tmp_path):
    p = run_pytest(tmp_path, "-q")
    out = p.stdout
    assert "3 passed" not in out
    # the bad file fails with its one-line error, not a traceback
    assert "cases/broken.yaml:3: key 'op': 'layer_nrom' is not one of" in out
    assert "Traceback" not in out
    # the divergence message names shapes, op parameters, metrics, tolerance and location
    for text in ("diverge: wrong-eps1e-05-float32 [faulty]", "shape=B2xT3xF4", "(max abs), achievable",
                 "rule: error <= 8 x achievable", "largest difference at [B="):
        assert text in out, text
    assert p.returncode == 2  # the broken file is a harness failure
    results = [json.loads(line) for line in (tmp_path / "reports/results/t.jsonl").read_text().splitlines()]
    assert results[0]["kind"] == "header" and results[0]["env"] == "t"
    statuses = {r["case_id"]: r["status"] for r in results if r["kind"] == "result"}
    assert statuses == {"ln-eps1e-05-float32": "agree", "ln-eps1e-05-float64": "agree",
                        "wrong-eps1e-05-float32": "diverge", "later-eps1e-05-float32": "skipped"}
    assert "skipped by its case file: waiting for a fix" in run_pytest(tmp_path, "-rs", "-k", "later").stdout


def test_k_selects_cells(tmp_path):
    p = run_pytest(tmp_path, "-q", "-k", "float64", "--results", str(tmp_path / "k.jsonl"))
    assert "1 passed" in p.stdout, p.stdout
    recs = [json.loads(line) for line in (tmp_path / "k.jsonl").read_text().splitlines()]
    assert [r["case_id"] for r in recs if r["kind"] == "result"] == ["ln-eps1e-05-float64"]


def test_normconf_run_finds_the_cases_among_pytest_options(tmp_path, monkeypatch):
    from harness.cli import _is_test_path
    (tmp_path / "cases").mkdir()
    monkeypatch.chdir(tmp_path)
    assert _is_test_path("cases") and _is_test_path("cases/x.yaml") and _is_test_path("cases/x.yaml::a[torch]")
    assert not _is_test_path("--junitxml=reports/j.xml")
    assert not _is_test_path("reports/junit-current.xml")  # the value of a separate option
    assert not _is_test_path("torch and gn")  # the value of -k


def test_normconf_run_as_tox_calls_it(tmp_path):
    """`normconf run --env-name E --junitxml=...` runs the cases (not the test suite),
    exits 2 for the broken case file among them, and writes results and JUnit XML."""
    run_pytest(tmp_path, "--collect-only", "-q")  # lays out the project
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_not_a_case.py").write_text("def test_x():\n    assert False\n")
    env = {**os.environ, "NORMCONF_ADAPTERS": "tests.fault_adapters:SPECS", "NORMCONF_ADAPTER_NAMES": "faulty",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    p = subprocess.run([sys.executable, "-m", "harness", "run", "--env-name", "e", "--junitxml=reports/j.xml",
                        "-p", "no:cacheprovider"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "harness failure: cases/broken.yaml" in p.stdout and "unexpected: cases/layer_norm/good.yaml::wrong" in p.stdout
    recs = [json.loads(line) for line in (tmp_path / "reports/results/e.jsonl").read_text().splitlines()]
    assert {r["case_id"] for r in recs if r["kind"] == "result"} >= {"ln-eps1e-05-float32", "wrong-eps1e-05-float32"}
    assert "test_not_a_case" not in p.stdout
    assert (tmp_path / "reports/j.xml").read_text().count("<testcase") >= 3


# --- one notion of which files a run reads ---------------------------------------------------------

def _case(cid: str) -> str:
    return (f"cases:\n  - id: {cid}\n    description: d\n    source: s\n    op: layer_norm\n    layout: BF\n"
            "    shape: {B: 2, F: 3}\n")


def _hostile_tree(tmp_path, name="cases") -> Path:
    """A case root with every kind of entry a walk can meet."""
    root = tmp_path / name
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.yaml").write_text(_case("a"))
    (root / "sub" / "b.yml").write_text(_case("b"))
    (root / "sub" / "deeper" / "c.yaml").write_text(_case("c"))
    (root / "build").mkdir()  # a name pytest skips by default: the walk reads it, and so does the run
    (root / "build" / "d.yaml").write_text(_case("d"))
    (root / ".hidden").mkdir()
    (root / ".hidden" / "h.yaml").write_text(_case("h"))
    (root / ".e.yaml").write_text(_case("e"))
    (root / "notes.txt").write_text("not a case")
    (root / "defaults").mkdir()
    (root / "defaults" / "x.yaml").write_text("not: a case\n")
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "o.yaml").write_text(_case("o"))
    (root / "sub" / "loop").symlink_to(root)  # back into the root: forty levels of the same files
    (root / "sub" / "deeper" / "up").symlink_to(root / "sub")
    (root / "out").symlink_to(outside)  # out of the root
    (root / "o-link.yaml").symlink_to(outside / "o.yaml")
    (root / "a-again.yaml").symlink_to(root / "a.yaml")
    (root / "dangling.yaml").symlink_to(tmp_path / "nowhere")
    os.mkfifo(root / "fifo.yaml")
    return root


LEFT_OUT = ("cases/sub/loop", "cases/sub/deeper/up", "cases/out", "cases/o-link.yaml", "cases/a-again.yaml",
            "cases/dangling.yaml", "cases/fifo.yaml")


def test_walk_reads_each_file_once_and_follows_no_link(tmp_path, monkeypatch):
    from harness.cases.load import discover
    from harness.cases.tree import walk
    root = _hostile_tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    tree = walk("cases")
    rel = sorted(os.path.relpath(p, tmp_path) for p in tree.files)
    assert rel == ["cases/a.yaml", "cases/build/d.yaml", "cases/defaults/x.yaml", "cases/sub/b.yml",
                   "cases/sub/deeper/c.yaml"]
    assert [os.path.relpath(p, tmp_path) for p in discover(root)] == [
        "cases/a.yaml", "cases/build/d.yaml", "cases/sub/b.yml", "cases/sub/deeper/c.yaml"]
    assert len(tree.warnings) == len(LEFT_OUT), tree.warnings
    for name in LEFT_OUT:
        (w,) = [w for w in tree.warnings if w.startswith(f"{name}: not read: ")]
        if name in ("cases/sub/loop", "cases/sub/deeper/up", "cases/a-again.yaml"):
            assert "a symbolic link back into the cases root" in w
        elif name in ("cases/out", "cases/o-link.yaml"):
            assert "a symbolic link out of the cases root" in w
    assert "to nothing" in next(w for w in tree.warnings if w.startswith("cases/dangling.yaml"))
    assert "not a regular file" in next(w for w in tree.warnings if w.startswith("cases/fifo.yaml"))


def test_list_and_run_read_the_same_files_with_the_same_warnings(tmp_path):
    _hostile_tree(tmp_path)
    env = {**os.environ, "NORMCONF_ADAPTERS": "tests.fault_adapters:SPECS",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("NORMCONF_ENV", None)
    ls = subprocess.run([sys.executable, "-m", "harness", "list", "cases"], cwd=tmp_path, env=env,
                        capture_output=True, text=True, timeout=300)
    listed = sorted(line.split("\t")[0] for line in ls.stdout.splitlines())
    assert listed == ["a-eps1e-05-float32", "b-eps1e-05-float32", "c-eps1e-05-float32", "d-eps1e-05-float32"]
    assert ls.returncode == 0, ls.stderr
    list_warnings = sorted(line for line in ls.stderr.splitlines() if line.startswith("normconf: warning: "))
    assert len(list_warnings) == len(LEFT_OUT), ls.stderr
    run = subprocess.run([sys.executable, "-m", "harness", "run", "--adapters", "faulty", "--env-name", "t",
                          "--results", "none", "--collect-only", "-p", "no:randomly",
                          f"--rootdir={tmp_path}", "-c", os.devnull], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    items = sorted(line.split("::")[1].split("[")[0] for line in run.stdout.splitlines() if "::" in line)
    assert items == listed, run.stdout + run.stderr
    run_warnings = sorted(line for line in run.stderr.splitlines() if line.startswith("normconf: warning: "))
    assert run_warnings == list_warnings, run.stderr
    # another root, named with --cases: run walks the root list walks
    _hostile_tree(tmp_path, "tree")
    other = subprocess.run([sys.executable, "-m", "harness", "run", "--cases", "tree", "--adapters", "faulty",
                            "--env-name", "t", "--results", "none", "--collect-only", "-p", "no:randomly",
                            f"--rootdir={tmp_path}", "-c", os.devnull], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=300)
    assert sorted(line.split("::")[1].split("[")[0] for line in other.stdout.splitlines() if "::" in line) == listed, \
        other.stdout + other.stderr
    assert sum(line.startswith("normconf: warning: tree/") for line in other.stderr.splitlines()) == len(LEFT_OUT)
