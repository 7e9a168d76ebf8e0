"""Shrinking a divergent cell to the smallest case that ends the same way."""
from harness.cli import main as cli_main
from harness.execution.runner import Runner
from harness.repro.shrink import masked, shrink
from tests.unit.repro.support import (
    TRAIN_ADAPTERS,
    mk,
    record,
    record_on,
    repro,
    run_script,
    tmk,
)


def test_shrinking_keeps_the_explanation(tmp_path):
    # statistics over {T,F} where the case asks for {F}: invisible once T is 1
    c = mk("r-shrink", ["stats-all"], shape={"B": 3, "T": 6, "F": 8})
    runner = Runner("unit", None, ["faulty"], cell_timeout=60)
    try:
        s = shrink(c, "faulty", runner, budget=40)
    finally:
        runner.close()
    assert s.original_result.status == "diverge"
    before = s.original_result.explanation
    assert "normalized over {T,F}" in before
    assert s.calls <= 40
    assert s.changed
    size = s.case.size
    assert size["T"] >= 2 and size["B"] == 1 and size["F"] < 8, size
    assert s.result.status == "diverge"
    assert masked(s.result.explanation) == masked(before)
    # T=1 was tried and rejected: it agrees
    assert any(t.startswith("B3xT1xF8") and "same explanation" not in t for t in s.tried)


def test_repro_script_says_what_was_shrunk(tmp_path):
    c = mk("r-shrink2", ["stats-all"], shape={"B": 3, "T": 6, "F": 8})
    results, _ = record(tmp_path, [c])
    issue = tmp_path / "i.md"
    code, script = repro(tmp_path, results, "r-shrink2", "--issue", str(issue))
    assert code == 0
    text = script.read_text()
    header = " ".join(ln[2:] for ln in text.splitlines() if ln.startswith("# "))
    assert "shrunk from B3xT6xF8 to B1xT" in header
    assert "same explanation: normalized over {T,F}; the case expects {F}" in header
    p = run_script(script, tmp_path)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "shrunk from B3xT6xF8" in issue.read_text()


def test_nothing_smaller_keeps_the_original(tmp_path):
    c = mk("r-tiny", ["wrong"], shape={"B": 1, "T": 1, "F": 1})
    runner = Runner("unit", None, ["faulty"], cell_timeout=60)
    try:
        s = shrink(c, "faulty", runner)
    finally:
        runner.close()
    assert not s.changed and s.case == c and "not shrunk" in s.note


def test_training_script_is_shrunk_and_still_diverges(tmp_path, monkeypatch):
    monkeypatch.setenv("NORMCONF_ADAPTERS", TRAIN_ADAPTERS)
    case = tmk("t-shrink", shape={"B": 3, "T": 4, "F": 5})
    results, (r,) = record_on(tmp_path, "planted-constant-stats-grad", [case], "s.jsonl")
    assert r.status == "diverge"
    script = tmp_path / "s.py"
    assert cli_main(["repro", case.id, "planted-constant-stats-grad", "--results", str(results),
                     "-o", str(script)]) == 0
    header = " ".join(ln[2:] for ln in script.read_text().splitlines() if ln.startswith("# "))
    assert "shrunk from B3xT4xF5 to" in header
    p = run_script(script, tmp_path)
    assert p.returncode == 1 and "dx: worst element" in p.stdout and "worst output: dx;" in p.stdout, p.stdout


# --- the rules that keep the bug: each refuses a candidate ------------------------------------------------

def _run(adapter, cases):
    runner = Runner("unit", None, [adapter], cell_timeout=60)
    try:
        return [runner.run_cell(c, adapter) for c in cases]
    finally:
        runner.close()


def test_a_normalized_axis_never_shrinks_to_one_element():
    from harness.repro.shrink import refusal

    c = mk("r-ax", shape={"B": 3, "T": 6, "F": 8})
    assert "one element on the normalized axis F" in refusal(mk("r-ax", shape={"B": 3, "T": 6, "F": 1}), c)
    assert refusal(mk("r-ax", shape={"B": 1, "T": 1, "F": 2}), c) == ""  # B and T are not normalized here
    # unless the original had one already
    one = mk("r-ax", shape={"B": 3, "T": 6, "F": 1})
    assert refusal(mk("r-ax", shape={"B": 1, "T": 6, "F": 1}), one) == ""
    # a group of one channel is refused too
    gn = mk("r-gn", op="group_norm", layout="NCHW", shape={"N": 2, "C": 8, "H": 3, "W": 3}, groups=2)
    assert "a group of one channel" in refusal(mk("r-gn", op="group_norm", layout="NCHW",
                                                  shape={"N": 2, "C": 2, "H": 3, "W": 3}, groups=2), gn)
    # and the shrinking of a real divergence never tries one: the output would be just the bias
    c = mk("r-shrink3", ["stats-all"], shape={"B": 3, "T": 6, "F": 8})
    runner = Runner("unit", None, ["faulty"], cell_timeout=60)
    try:
        s = shrink(c, "faulty", runner, budget=40)
    finally:
        runner.close()
    assert s.changed and s.case.size["F"] >= 2
    assert not any("F1" in t.split(":")[0] for t in s.tried), s.tried


def test_an_explanation_that_names_no_cause_is_never_shrunk(monkeypatch):
    from harness.repro.shrink import accepted, informative, signature

    monkeypatch.setenv("NORMCONF_ADAPTERS", "tests.filing_adapters:SPECS")
    big, small = _run("noisy", [mk("r-noise", shape={"B": 2, "T": 3, "F": 16}),
                                mk("r-noise", shape={"B": 1, "T": 3, "F": 16})])
    assert big.status == small.status == "diverge"
    assert "no member of the family reproduces" in big.explanation and not informative(big)
    # the old rule (same masked words) would take the smaller case; the explanation names no cause, so no
    assert signature(small) == signature(big) and not accepted(small, signature(big))
    runner = Runner("unit", None, ["noisy"], cell_timeout=60)
    try:
        s = shrink(mk("r-noise", shape={"B": 2, "T": 3, "F": 16}), "noisy", runner, budget=40)
    finally:
        runner.close()
    assert not s.changed and s.calls == 1 and "does not name a cause" in s.note


def test_affine_parameters_stay_random(monkeypatch):
    monkeypatch.setenv("NORMCONF_ADAPTERS", "tests.filing_adapters:SPECS")
    from dataclasses import replace

    big = {"distribution": "normal", "mean": 1000.0, "std": 1.0}
    runner = Runner("unit", None, ["fakefw-layers"], cell_timeout=60)
    try:
        # a candidate that drops the random affine parameters is refused before it is run
        c = mk("r-aff", shape={"B": 2, "T": 3, "F": 8}, input=big)
        s = shrink(c, "fakefw-layers", runner, budget=6, simpler=lambda k: [("affine ones", replace(k, affine="ones"))])
        assert any("affine ones" in t and "refused (affine parameters must stay random" in t for t in s.tried), s.tried
        assert s.case.affine == "random"
        # a case with affine ones is shrunk with random parameters when they keep the explanation
        s = shrink(replace(c, affine="ones"), "fakefw-layers", runner, budget=3)
        assert s.case.affine == "random" and "affine ones -> random" in s.note, s.tried
    finally:
        runner.close()
