"""normconf repro's scripts follow the exit-status rule of normconf file (0 fixed, 1 reproduces, 2 cannot
check), and --unexpected writes one reproducer per group of cells with one cause in common."""
from harness.cli import main as cli_main
from harness.execution.runner import Runner
from tests.unit.repro.filing_support import ADAPTERS, CELLS, record_cells, run_with
from tests.unit.repro.support import mk


def test_repro_scripts_exit_2_without_the_framework_and_1_on_the_recorded_error(tmp_path, monkeypatch):
    monkeypatch.setenv("NORMCONF_ADAPTERS", ADAPTERS)
    results = record_cells(tmp_path / "r.jsonl", [c for c in CELLS if c.id in ("ln-big-a", "rms64")])
    for cid, fixed in (("ln-big-a", 0), ("rms64", 0)):
        script = tmp_path / f"{cid}.py"
        assert cli_main(["repro", cid, "fakefw-layers", "--results", str(results), "-o", str(script),
                         "--no-shrink"]) == 0
        assert run_with(script, tmp_path, "buggy").returncode == 1
        assert run_with(script, tmp_path, "fixed").returncode == fixed
        p = run_with(script, tmp_path, None)
        assert p.returncode == 2 and "cannot run: ModuleNotFoundError" in p.stdout, p.stdout + p.stderr
        p = run_with(script, tmp_path, "renamed")
        assert p.returncode == (2 if cid == "ln-big-a" else 1), p.stdout + p.stderr


def test_unexpected_cells_one_reproducer_per_group(tmp_path, capsys):
    cells = [mk("u-wrong-a", ["wrong"], shape={"B": 2, "T": 3, "F": 4}),
             mk("u-wrong-b", ["wrong"], shape={"B": 1, "T": 2, "F": 3}),
             mk("u-wrong-c", ["wrong"], shape={"B": 3, "T": 2, "F": 5}),
             mk("u-raise-a", ["raise"]), mk("u-raise-b", ["raise"], shape={"B": 1, "T": 2, "F": 2}),
             mk("u-ok")]
    results = tmp_path / "u.jsonl"
    runner = Runner("unit", results, ["faulty"], cell_timeout=60)
    try:
        got = {c.id: runner.run_cell(c, "faulty") for c in cells}
    finally:
        runner.close()
    assert [r.outcome for r in got.values()].count("unexpected") == 5
    out = tmp_path / "repro"
    assert cli_main(["repro", "--unexpected", "--results", str(results), "--out-dir", str(out), "--no-shrink"]) == 0
    assert "for 5 unexpected cell(s) and claim(s) in 2 group(s)" in capsys.readouterr().err
    assert sorted(p.name for p in out.glob("*.py")) == ["u-raise-b__faulty.py", "u-wrong-b__faulty.py"]
    body = (out / "u-wrong-b__faulty.md").read_text()
    assert "## The same in 2 other cell(s)" in body and "u-wrong-a" in body and "u-wrong-c" in body
    index = (out / "groups.md").read_text()
    assert "[u-wrong-b with faulty](u-wrong-b__faulty.md), and 2 more" in index
