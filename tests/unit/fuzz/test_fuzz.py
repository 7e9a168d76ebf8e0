"""normconf fuzz: draws over the schema, determinism, budgets, expectations, and search power.

The search-power tests fuzz the test-only adapters of tests/planted_adapters.py
(numpy implementations, one with no bug and eight with one planted bug each)
and require every planted bug to be found within a few hundred judged cells
and nothing for the correct adapter; every finding must be a case file that
loads and that ``normconf run`` reports as unexpected again.
"""
import json
import math
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st

from harness import ops
from harness.cases.load import load_file
from harness.cli import main as cli_main
from harness.fuzz import strategies as fs
from harness.fuzz.engine import Fuzzer
from harness.fuzz.engine import run as fuzz_run
from harness.ops.layouts import Layout
from harness.report import fuzz_view
from harness.results.read import read
from tests.planted_adapters import PLANTED

#: the ops the planted adapters implement: the normalizations over named axes
NORMALIZATIONS = [n for n in ops.NAMES if ops.OPS[n].definition is None]

REPO = Path(__file__).resolve().parents[3]
ADAPTERS = "tests.planted_adapters:SPECS,tests.fault_adapters:SPECS"
#: the search-power run: judged cells per adapter, seed, largest input
BUDGET, SEED, MAX_ELEMENTS = 400, 4, 256


@pytest.fixture(autouse=True)
def plugins(monkeypatch):
    monkeypatch.setenv("NORMCONF_ADAPTERS", ADAPTERS)
    monkeypatch.chdir(REPO)


def draw_cases(n, seed_=0, op_names=None):
    """n cases drawn the way the fuzzer draws them, through the case loader."""
    builder, out = fs.Builder(), []

    @seed(seed_)
    @settings(database=None, max_examples=n, deadline=None, phases=(Phase.generate,),
              suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet)
    @given(st.data())
    def collect(data):
        out.append(builder.build(data.draw(fs.case_entries(op_names, 2048))))

    try:
        collect()
    finally:
        builder.close()
    return out


def test_draws_cover_the_schema_and_the_registry():
    cases = draw_cases(800)
    assert len(cases) == 800
    assert {c.op for c in cases} == set(ops.NAMES)
    assert {c.layout for c in cases} == set(fs.values("layout"))
    assert {c.dtype for c in cases} == set(fs.values("dtype"))
    assert {c.affine for c in cases if isinstance(c.affine, str)} == set(fs.values("affine"))
    given = [c for c in cases if not isinstance(c.affine, str)]
    assert {v.kind for c in given for _, v in c.affine.items()} == {"constant", "list", "normal", "uniform",
                                                                   "magnitude"}
    assert all(c.affine.beta is None for c in given if not c.spec.bias)
    assert any(c.affine.beta is not None for c in given) and all(c.sets_affine for c in given)
    assert {k for c in cases for k in c.option_spec} == set(ops.OPTIONS)
    assert {c.input_spec["distribution"] for c in cases} == {"normal", "uniform", "constant"}
    assert any(c.epsilon is None for c in cases) and any(c.epsilon not in (None, 1e-5) for c in cases)
    sizes = Counter(n for c in cases for _, n in c.sizes)
    assert sizes[1] and any(n % 2 and n > 1 for n in sizes) and max(sizes) >= 16
    assert any(c.input_spec.get("mean", 0) >= 1e4 for c in cases)
    assert any(c.input_spec.get("std", 1) <= 1e-3 for c in cases)
    grouped = [c for c in cases if c.spec.grouped]
    assert any(1 < c.groups < c.size[Layout(c.layout).channel] for c in grouped)
    assert any(c.axes for c in cases) and any(c.affine_axes for c in cases)
    assert any(c.check != "forward" for c in cases)
    masked = [c for c in cases if c.mask]
    assert any("lengths" in c.mask_spec for c in masked) and any("random" in c.mask_spec for c in masked)
    assert all(c.check == "forward" and "-mask-" in c.id for c in masked)
    own = {k for op in ops.OPS.values() for k in op.own_keys}

    def value(c, k):  # the own keys of ops are in op_args (Case.size is the sizes of the axes)
        return c.arg(k) if k in own else getattr(c, k, None)

    for c in cases:
        assert c.check in c.spec.checks
        assert all(value(c, k) is not None for k in c.spec.required)
        given_keys = {k for k in ops.PARAMS if value(c, k) is not None}
        assert given_keys <= c.spec.params | {k for k in ("momentum", "steps") if c.check == "running_stats"}
        assert c.id.startswith(f"fuzz-{c.spec.token}-{c.layout.lower()}-")
        assert c.size and all(n >= 1 for _, n in c.sizes)


def test_an_op_added_to_the_registry_is_drawn_without_new_code(monkeypatch):
    new = ops.Op("scale_norm_test", "ScaleNorm (test)", "sct", "axes", params=frozenset({"axes"}), center=False,
                 bias=False)
    monkeypatch.setitem(ops.OPS, new.name, new)
    monkeypatch.setattr(ops, "NAMES", ops.NAMES + (new.name,))
    monkeypatch.setitem(fs.CASE_PROPERTIES, "op", {"enum": list(ops.NAMES)})
    cases = draw_cases(100, 5, op_names=None)
    mine = [c for c in cases if c.op == new.name]
    assert mine, "the new op was never drawn"
    assert all(c.id.startswith("fuzz-sct-") and c.check == "forward" for c in mine)
    # its parameters are drawn from the registry too (drawn for that op alone: among every op, a few
    # draws of it need not include one with axes)
    only = draw_cases(20, 3, op_names=[new.name])
    assert all(c.op == new.name for c in only) and any(c.axes for c in only)


def test_the_same_seed_draws_the_same_cases_and_verdicts(tmp_path):
    def once(s):
        fz = Fuzzer(["numpy-stable"], budget=25, seed=s, env="unit", cases_root=tmp_path, max_elements=256,
                    shrink_budget=0)
        try:
            fz.search()
        finally:
            fz.close()
        t = fz.tally["numpy-stable"]
        return fz.drawn, (t.cells, t.unsupported, dict(t.statuses))

    a, b, c = once(5), once(5), once(6)
    assert a == b
    assert a[0] != c[0]
    assert a[1][0] == 25


def test_unsupported_cells_do_not_count_against_the_budget(tmp_path):
    # faulty computes the reference itself but runs only float32 and float64 and no default epsilon
    # most drawn cells are unsupported there (masks, half precision, ops it lacks): room to reach the budget
    fz = Fuzzer(["faulty"], budget=15, seed=2, env="unit", cases_root=tmp_path, max_elements=256, shrink_budget=0,
                max_draws=2000)
    try:
        fz.search()
    finally:
        fz.close()
    t = fz.tally["faulty"]
    assert t.cells == 15 and t.unsupported > 0
    assert fz.draws == t.cells + t.unsupported
    assert not fz.findings, [f.result.message for f in fz.findings.values()]


def test_an_expectation_covers_findings(tmp_path):
    (tmp_path / "expectations").mkdir()
    (tmp_path / "expectations" / "known.yaml").write_text(
        "expectations:\n  - id: 'fuzz-*'\n    adapter: planted-eps-outside\n    status: [diverge, error]\n"
        "    reason: epsilon outside the square root, on purpose\n")
    summary = fuzz_run(["planted-eps-outside", "planted-unbiased"], budget=20, seed=1, env="unit",
                       out=tmp_path / "out", cases_root=tmp_path, max_elements=256, shrink_budget=0,
                       op_names=NORMALIZATIONS)
    assert summary["adapters"]["planted-eps-outside"]["findings"] == []
    assert summary["adapters"]["planted-eps-outside"]["statuses"].get("diverge", 0) > 0
    assert summary["adapters"]["planted-unbiased"]["findings"]


def test_an_unknown_adapter_is_a_harness_failure(tmp_path, capsys):
    assert cli_main(["fuzz", "--adapters", "no-such-adapter", "--budget", "3", "--out", str(tmp_path)]) == 2
    assert "unknown adapter" in capsys.readouterr().err


# --- search power ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """One fuzz run over the correct adapter and every planted one (no expectations apply)."""
    root = tmp_path_factory.mktemp("fuzz")
    mp = pytest.MonkeyPatch()
    mp.setenv("NORMCONF_ADAPTERS", ADAPTERS)
    mp.chdir(REPO)
    try:
        summary = fuzz_run(["numpy-stable", *PLANTED], budget=BUDGET, seed=SEED, env="unit", out=root / "out",
                           cases_root=root, max_elements=MAX_ELEMENTS, shrink_budget=10, op_names=NORMALIZATIONS)
    finally:
        mp.undo()
    return root / "out", summary


def test_every_planted_bug_is_found_and_the_correct_adapter_has_no_finding(planted):
    out, summary = planted
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["adapters"].keys() == summary["adapters"].keys()
    stable = summary["adapters"]["numpy-stable"]
    assert stable["cells"] == BUDGET and stable["findings"] == [], stable["findings"]
    for name in PLANTED:
        a = summary["adapters"][name]
        assert a["cells"] <= BUDGET
        assert a["findings"], f"{name}: no finding in {a['cells']} cells"
        assert all(f["first_cell"] <= a["cells"] for f in a["findings"])
    md = (out / "summary.md").read_text()
    for name in ["numpy-stable", *PLANTED]:
        assert f"## {name}" in md


def test_findings_are_deduplicated_by_adapter_and_explanation(planted):
    _, summary = planted
    for name in PLANTED:
        kinds = [(f["status"], f["explanation"]) for f in summary["adapters"][name]["findings"]]
        assert len(kinds) == len(set(kinds))
        assert sum(f["occurrences"] for f in summary["adapters"][name]["findings"]) >= len(kinds)


def test_finding_files_load_and_say_what_they_are(planted):
    out, summary = planted
    for name in PLANTED:
        for f in summary["adapters"][name]["findings"]:
            (case,) = load_file(out / f["file"])
            assert case.id == f["case_id"]
            assert name in case.description and f["status"] in case.description
            assert ("Shrunk" in case.description) == f["shrunk"]
            assert case.size == f["shape"]
            assert math.prod(case.size.values()) <= math.prod(f["drawn_shape"].values())


def test_findings_are_shrunk_or_say_why_not(planted):
    # a finding is shrunk unless its explanation names no cause (no smaller case could be shown to be the
    # same problem) or no smaller case kept it; which planted bugs the fingerprint names depends on the draws
    _, summary = planted
    shrunk = 0
    for name in PLANTED:
        for f in summary["adapters"][name]["findings"]:
            if f["shrunk"]:
                shrunk += 1
                assert f["shrunk_to"] and f["shrink_calls"] > 1, f
            else:
                assert f["shrink_note"].startswith("not shrunk"), f
    assert shrunk > 0


def test_findings_rerun_with_normconf_run(planted, tmp_path):
    out, summary = planted
    env = {**os.environ, "NORMCONF_ADAPTERS": ADAPTERS, "PYTHONPATH": str(REPO)}
    procs = {}
    for name in PLANTED:
        res = tmp_path / f"{name}.jsonl"
        procs[name] = (res, subprocess.Popen(
            [sys.executable, "-m", "harness", "run", "--cases-root", str(out), "--adapters", name, "--results",
             str(res), "--env-name", "unit", str(out / name)], cwd=REPO, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True))
    for name, (res, p) in procs.items():
        text, _ = p.communicate(timeout=600)
        assert p.returncode == 1, text[-2000:]
        got = {r.case_id: r for r in read(res).results}
        for f in summary["adapters"][name]["findings"]:
            r = got[f["case_id"]]
            assert r.status == f["status"] and r.outcome == "unexpected", (name, f["file"], r.status, r.message)


def test_repro_writes_a_failing_standalone_script(tmp_path):
    out = tmp_path / "out"
    code = cli_main(["fuzz", "--adapters", "planted-eps-outside", "--ops", ",".join(NORMALIZATIONS),
                     "--budget", "12", "--seed", "1", "--out", str(out),
                     "--cases", str(tmp_path), "--repro", "--max-elements", "64", "--shrink-budget", "6", "--quiet"])
    assert code == 1
    summary = json.loads((out / "summary.json").read_text())
    f = summary["adapters"]["planted-eps-outside"]["findings"][0]
    script = out / "planted-eps-outside" / f["repro"]
    issue = (out / "planted-eps-outside" / f["issue"]).read_text()
    assert "## Reproducer" in issue
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NORMCONF_ADAPTERS")}
    (tmp_path / "elsewhere").mkdir()
    p = subprocess.run([sys.executable, "-I", str(script)], cwd=tmp_path / "elsewhere", env=env, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "DIVERGES" in p.stdout


# --- the report view ------------------------------------------------------------------------------

def test_fuzz_view_escapes_and_links_only_inside_the_directory(tmp_path):
    hostile = {"seed": 1, "budget": 3, "env": "<b>env</b>", "draws": 2, "adapters": {
        "<script>x</script>": {"cells": 3, "budget": 3, "unsupported": 0, "findings": [
            {"file": "../../etc/passwd", "status": "diverge", "op": "layer_norm", "explanation": "<img src=x onerror=1>",
             "case_id": "a", "first_cell": 1, "occurrences": 1, "shrunk": False, "shrink_note": "n",
             "rerun": "normconf run x", "repro": "javascript:alert(1)"},
            {"file": "planted-x/1.yaml", "status": "error", "op": "rms_norm", "explanation": "ValueError",
             "case_id": "b", "first_cell": 2, "occurrences": 1, "shrunk": True, "shrunk_to": "s", "drawn": "d",
             "rerun": "r"}]}}}
    (tmp_path / "summary.json").write_text(json.dumps(hostile))
    html = fuzz_view.section(tmp_path, "fz")
    assert "<script>" not in html and "<img" not in html and "&lt;img src=x" in html
    assert "passwd" not in html.split("href=")[1] if "href=" in html else True
    assert 'href="fz/planted-x/1.yaml"' in html and "javascript:" not in html
    assert "2 finding(s)" in html
    assert "no fuzz summary" in fuzz_view.section(tmp_path / "missing")


def test_report_fuzz_option_writes_the_findings(planted, tmp_path):
    out, summary = planted
    page = tmp_path / "index.html"
    assert cli_main(["report", str(tmp_path / "no-results"), "--out", str(page), "--fuzz", str(out)]) == 0
    text = page.read_text()
    assert 'id="fuzz"' in text and 'href="#fuzz"' in text  # a section of the page, linked from its navigation
    first = summary["adapters"][PLANTED[0]]["findings"][0]
    assert first["case_id"] in text
