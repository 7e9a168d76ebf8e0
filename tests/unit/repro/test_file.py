"""normconf file: one issue per root cause, in the form its classification calls for, with a script a
maintainer can trust (exit 0 fixed, 1 reproduces, 2 cannot check), run against releases of a test-only
framework (tests/fakefw: buggy, fixed, renamed API, absent)."""
import json
import re

import numpy as np
import pytest

from harness.cases.inputs import make_inputs
from harness.numerics.reference import normalize
from harness.repro.find import validated_case
from tests.unit.repro.filing_support import (
    ADAPTERS,
    CELLS,
    FOREIGN_SOURCE,
    causes_root,
    file_cmd,
    record_cells,
    run_with,
)
from tests.unit.repro.support import imports_of

ADAPTER_NAMES = ("fakefw-layers", "fakefw-stable", "faulty")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NORMCONF_ADAPTERS", ADAPTERS)
        return record_cells(tmp_path_factory.mktemp("results") / "r.jsonl")


@pytest.fixture(scope="module")
def bug_issue(tmp_path_factory, recorded):
    """normconf file for the one-pass variance cause (a bug report), once for the tests that read it:
    (output directory, what it printed)."""
    tmp = tmp_path_factory.mktemp("bug")
    root, out = causes_root(tmp), tmp / "issues"
    with pytest.MonkeyPatch.context() as mp:
        import io
        from contextlib import redirect_stdout

        buf = io.StringIO()
        with redirect_stdout(buf):
            assert file_cmd(mp, "fakefw-one-pass-variance", recorded, "--cases", root, "--out-dir", out) == 0
    return out, buf.getvalue()


def test_unknown_cause_is_one_line_naming_the_known_ones(tmp_path, recorded, monkeypatch, capsys):
    root = causes_root(tmp_path)
    assert file_cmd(monkeypatch, "no-such-cause", recorded, "--cases", root, "--out-dir", tmp_path / "o") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown cause 'no-such-cause'" in err
    assert "fakefw-one-pass-variance" in err and "harness-cannot" in err
    assert not (tmp_path / "o").exists()


def _sections(body: str) -> dict:
    parts = re.split(r"^## ", body, flags=re.MULTILINE)
    return {p.split("\n", 1)[0]: p for p in parts[1:]}


def test_bug_report_for_maintainers(bug_issue):
    out, said = bug_issue
    assert "wrote a bug report for example/fakefw" in said and "exit 1 here" in said
    body = (out / "fakefw-one-pass-variance.md").read_text()
    prov = json.loads((out / "fakefw-one-pass-variance.json").read_text())
    first, title = body.splitlines()[0], body.splitlines()[2]
    # the repository at the top, the title from the public API the call uses (not the cause's first API)
    assert first.startswith("**Repository:** [example/fakefw](https://github.com/example/fakefw/issues/new)")
    assert "bug report" in first
    assert title == ("# normconf\\_fakefw.layer\\_norm: layer\\_norm's variance loses its digits at a large mean "
                     "(float32, on CPU)")
    # never the harness's names: adapters, case ids, case files, the foreign source of the case file
    for name in ADAPTER_NAMES + ("ln-big", "cases/", "normconf's rule", FOREIGN_SOURCE):
        assert name not in body, name
    sec = _sections(body)
    assert "FakeFW stable functions" in sec["The same input elsewhere"]
    assert "agrees" in sec["The same input elsewhere"]
    assert "> layer\\_norm normalizes over the last axis." in sec["Documentation"]
    assert "(https://example.org/fakefw/layer_norm)" in sec["Documentation"]
    assert "Subtract the mean" in sec["Workaround"]
    assert "normconf\\_fakefw | 1.0" in sec["Environment"] and "Python" in sec["Environment"]
    assert "What it prints here (exit status 1)" in sec["To reproduce"]
    # the representative: the smallest input with the common diagnosis, its affine parameters made random,
    # shrunk without a normalized axis of one element
    chosen = prov["cell"]
    assert chosen["case_id"] == "ln-big-ones" and chosen["adapter"] == "fakefw-layers"
    assert "smallest input" in prov["chosen"] and prov["affine"] == "random"
    assert "affine ones -> random" in prov["shrink"]
    assert int(re.search(r"F(\d+)", prov["shrunk_to"]).group(1)) >= 2
    # expected and actual at full precision with their dtype, and the distance in units of the achievable error
    table = sec["Expected and actual"]
    exp_text = re.search(r"float32 input\) \| (\S+) \|", table).group(1)
    act_text = re.search(r"\| actual \(float32\) \| (\S+) \|", table).group(1)
    assert len(exp_text.replace("-", "").replace(".", "").lstrip("0")) >= 15  # float64 repr, not 4 digits
    assert str(np.float32(act_text)) == act_text and repr(float(np.float32(act_text))) != act_text  # float32's
    assert re.search(r"difference in those units \| [0-9.]+x \|", table)


def test_script_literals_and_exit_statuses(bug_issue, tmp_path):
    out, _ = bug_issue
    script = out / "fakefw-one-pass-variance.py"
    text = script.read_text()
    assert "x = np.array([" in text and "expected = np.array([" in text and "make_inputs" not in text
    assert imports_of(text) == {"contextlib", "sys", "numpy", "normconf_fakefw"}  # numpy and the framework only
    # the literals are the harness's inputs and its float64 reference, bit for bit
    ns = {}
    data = text.split("OUT = np.float32", 1)[1].split("\ndef compare", 1)[0]
    exec(compile("import numpy as np\n" + data, "data", "exec"), ns)  # noqa: S102 - our own generated literals
    prov = json.loads((out / "fakefw-one-pass-variance.json").read_text())
    case = validated_case(prov["case"])
    assert case.id == prov["cell"]["case_id"] and case.affine == "random"
    inp = make_inputs(case)
    assert np.array_equal(ns["x"], inp.x) and np.array_equal(ns["gamma"], inp.gamma)
    assert np.array_equal(ns["beta"], inp.beta)
    assert np.array_equal(ns["expected"], normalize(inp.x, case.semantics, inp.gamma, inp.beta))
    # a maintainer's runs: the buggy release reproduces, the fixed one passes, an API change or a missing
    # framework cannot check it
    p = run_with(script, tmp_path, "buggy")
    assert p.returncode == 1 and "REPRODUCES" in p.stdout, p.stdout + p.stderr
    p = run_with(script, tmp_path, "fixed")
    assert p.returncode == 0 and "fixed" in p.stdout, p.stdout + p.stderr
    p = run_with(script, tmp_path, "renamed")
    assert p.returncode == 2 and "cannot check" in p.stdout and "AttributeError" in p.stdout, p.stdout + p.stderr
    p = run_with(script, tmp_path, None)
    assert p.returncode == 2 and "cannot run: ModuleNotFoundError" in p.stdout, p.stdout + p.stderr


def test_error_cell_already_reported_gets_an_addendum(tmp_path, recorded, monkeypatch, capsys):
    root, out = causes_root(tmp_path), tmp_path / "issues"
    assert file_cmd(monkeypatch, "fakefw-rms-float64", recorded, "--cases", root, "--out-dir", out,
                    "--budget", "3") == 0
    said = capsys.readouterr().out
    assert "already reported upstream: https://github.com/example/fakefw/issues/7" in said
    body = (out / "fakefw-rms-float64.md").read_text()
    assert body.startswith("Already reported: [rms\\_norm and float64](https://github.com/example/fakefw/issues/7) "
                           "(open).")
    assert "the call raises `TypeError: rms\\_norm() supports float32 input only`" in body
    assert "normconf\\_fakefw 1.0" in body
    script = out / "fakefw-rms-float64.py"
    p = run_with(script, tmp_path, "buggy")
    assert p.returncode == 1 and "REPRODUCES: the call raises TypeError" in p.stdout, p.stdout + p.stderr
    p = run_with(script, tmp_path, "fixed")
    assert p.returncode == 0 and "no longer raises TypeError" in p.stdout, p.stdout + p.stderr
    p = run_with(script, tmp_path, None)
    assert p.returncode == 2, p.stdout + p.stderr


@pytest.mark.parametrize("form,heading,closing", [
    ("documented", "What the documentation says", "Request"),
    ("spec", "What the specification says", "Question"),
])
def test_documented_and_spec_forms_quote_the_docs_first(tmp_path, recorded, monkeypatch, form, heading, closing):
    root, out = causes_root(tmp_path, onepass=form), tmp_path / "issues"
    assert file_cmd(monkeypatch, "fakefw-one-pass-variance", recorded, "--cases", root, "--out-dir", out,
                    "--no-shrink") == 0
    body = (out / "fakefw-one-pass-variance.md").read_text()
    kind = {"documented": "documentation or default-change request", "spec": "specification discussion"}[form]
    assert body.splitlines()[0].endswith(f"**Kind:** {kind}")
    sec = list(_sections(body))
    assert sec[0] == heading and closing in sec
    assert "> layer\\_norm normalizes over the last axis." in body
    assert FOREIGN_SOURCE not in body


@pytest.mark.parametrize("cause,words", [("harness-cannot", "no new issue: harness limitation"),
                                         ("old-api", ("no new issue: superseded API: the migration is the fix "
                                                     "(https://example.org/fakefw/migration)"))])
def test_no_issue_for_harness_limits_and_superseded_apis(tmp_path, recorded, monkeypatch, capsys, cause, words):
    root, out = causes_root(tmp_path), tmp_path / "issues"
    assert file_cmd(monkeypatch, cause, recorded, "--cases", root, "--out-dir", out) == 0
    said = capsys.readouterr().out
    assert said.count("\n") == 1 and words in said
    assert not out.exists()


def test_a_cause_nothing_shows_is_exit_2(tmp_path, recorded, monkeypatch, capsys):
    root = causes_root(tmp_path)
    assert file_cmd(monkeypatch, "unseen", recorded, "--cases", root, "--out-dir", tmp_path / "o") == 2
    assert "nothing to file" in capsys.readouterr().out


def test_large_input_is_drawn_from_its_seed(tmp_path, monkeypatch):
    monkeypatch.setenv("NORMCONF_ADAPTERS", ADAPTERS)
    results = record_cells(tmp_path / "big.jsonl", [c for c in CELLS if c.id == "ln-big-c"])
    root, out = causes_root(tmp_path), tmp_path / "issues"
    assert file_cmd(monkeypatch, "fakefw-one-pass-variance", results, "--cases", root, "--out-dir", out,
                    "--no-shrink") == 0
    text = (out / "fakefw-one-pass-variance.py").read_text()
    assert "make_inputs(INPUTS)" in text and "expected = reference(x, gamma, beta, OP)" in text
    assert "x = np.array(" not in text
    assert run_with(out / "fakefw-one-pass-variance.py", tmp_path, "buggy").returncode == 1
    assert run_with(out / "fakefw-one-pass-variance.py", tmp_path, "fixed").returncode == 0


def test_all_causes_and_an_index(tmp_path, recorded, monkeypatch, capsys):
    root, out = causes_root(tmp_path), tmp_path / "issues"
    assert file_cmd(monkeypatch, "--all", recorded, "--cases", root, "--out-dir", out, "--no-shrink") == 0
    said = capsys.readouterr().out
    assert said.count("normconf file:") == 6  # five causes and the index
    index = (out / "index.md").read_text()
    for cid in ("fakefw-one-pass-variance", "fakefw-rms-float64", "harness-cannot", "old-api", "unseen"):
        assert cid in index
    assert "[fakefw-one-pass-variance](fakefw-one-pass-variance.md)" in index
    assert sorted(p.name for p in out.glob("*.md")) == ["fakefw-one-pass-variance.md", "fakefw-rms-float64.md",
                                                        "index.md"]


HOSTILE = "x\n__import__('os').system('touch PWNED')\n# \r\x1b[31m\u202e\"\"\"''' <script>alert(1)</script> ](javascript:alert(1))"


def test_hostile_cause_text_stays_inert(tmp_path, recorded, monkeypatch):
    import ast

    import yaml

    root = causes_root(tmp_path)
    f = root / "expectations" / "fake.yaml"
    data = yaml.safe_load(f.read_text())
    c = data["causes"][0]
    c["name"], c["mechanism"], c["workaround"] = HOSTILE[:200], HOSTILE, HOSTILE
    c["docs"] = [{"url": "https://example.org/x", "quote": HOSTILE}]
    f.write_text(yaml.safe_dump(data, allow_unicode=True))
    out = tmp_path / "issues"
    # control and bidirectional characters are refused where the causes file is read, naming file, line, key
    assert file_cmd(monkeypatch, "fakefw-one-pass-variance", recorded, "--cases", root, "--out-dir", out,
                    "--no-shrink") == 2
    assert not out.exists() or not list(out.glob("*.md"))
    # the printable rest (code, quotes, HTML, markdown links) is written, and stays inert
    printable = "".join(ch for ch in HOSTILE if ch.isprintable() or ch in "\n\t")
    c["name"], c["mechanism"], c["workaround"] = printable[:200], printable, printable
    c["docs"] = [{"url": "https://example.org/x", "quote": printable}]
    f.write_text(yaml.safe_dump(data, allow_unicode=True))
    assert file_cmd(monkeypatch, "fakefw-one-pass-variance", recorded, "--cases", root, "--out-dir", out,
                    "--no-shrink") == 0
    text = (out / "fakefw-one-pass-variance.py").read_text()
    ast.parse(text)
    for ln in text.splitlines():
        if "system(" in ln or "alert(1)" in ln:
            assert ln.lstrip().startswith("#"), ln
    assert "\x1b" not in text and "\u202e" not in text and "\r" not in text
    body = (out / "fakefw-one-pass-variance.md").read_text()
    prose = body.split("```python", 1)[0]
    assert "<script>" not in prose and "&lt;script&gt;" in prose
    assert not re.search(r"(?<!\\)\]\(javascript:", prose)
    assert "\x1b" not in body and "\u202e" not in body
    assert not (tmp_path / "elsewhere" / "PWNED").exists() and not (out / "PWNED").exists()


CLAIM_CAUSE = """\
causes:
  - id: faulty-gn1-docs
    name: GroupNorm(1) is not LayerNorm on sequences
    mechanism: GroupNorm(1) normalizes over every non-batch axis, LayerNorm over the last one only.
    classification: documented
    repository: example/faulty
    affects: [{package: faulty, apis: [faulty.GroupNorm]}]
    docs: [{url: "https://example.org/faulty/GroupNorm", quote: "GroupNorm with one group is LayerNorm"}]
    upstream: {none_found: "2026-12-01", searched: ["GroupNorm LayerNorm"]}
expectations:
  - id: U1-gn1-is-ln
    adapter: faulty
    verdict: holds only when
    reason: documented claim
    cause: faulty-gn1-docs
"""


def test_a_cause_shown_by_a_documentation_claim(tmp_path, monkeypatch):
    from harness.claims.load import load_claims
    from harness.execution.runner import Runner
    from tests.unit.repro.support import run_script
    from tests.unit.repro.test_script import CLAIMS

    monkeypatch.setenv("NORMCONF_ADAPTERS", ADAPTERS)
    (tmp_path / "claims.yaml").write_text(CLAIMS)
    claim = load_claims(tmp_path / "claims.yaml")[0]
    results = tmp_path / "c.jsonl"
    runner = Runner("unit", results, ["faulty"], cell_timeout=60)
    try:
        assert runner.run_claim(claim, "faulty").verdict == "holds only when"
    finally:
        runner.close()
    root = tmp_path / "cases"
    (root / "expectations").mkdir(parents=True)
    (root / "expectations" / "c.yaml").write_text(CLAIM_CAUSE)
    out = tmp_path / "issues"
    assert file_cmd(monkeypatch, "faulty-gn1-docs", results, "--cases", root, "--out-dir", out) == 0
    body = (out / "faulty-gn1-docs.md").read_text()
    assert body.splitlines()[0].endswith("documentation or default-change request")
    assert "> GroupNorm with one group is LayerNorm" in body and "holds only when" in body
    assert "the claim above was chosen" in body.lower()
    assert "`faulty`" not in body and "U1-gn1-is-ln" not in body.split("```python", 1)[0]
    p = run_script(out / "faulty-gn1-docs.py", tmp_path)
    assert p.returncode == 1 and "FAILS" in p.stdout, p.stdout + p.stderr


def test_no_body_when_the_script_does_not_show_the_problem(tmp_path, recorded, monkeypatch, capsys):
    root, out = causes_root(tmp_path), tmp_path / "issues"
    # the cells were recorded with the buggy release; here the fixed one is installed for the script
    assert file_cmd(monkeypatch, "fakefw-one-pass-variance", recorded, "--cases", root, "--out-dir", out,
                    "--no-shrink", fw="fixed") == 1
    said = capsys.readouterr().out
    assert "not written" in said and "exits 0 here" in said and "does not reproduce" in said
    assert not (out / "fakefw-one-pass-variance.md").exists()
    assert json.loads((out / "fakefw-one-pass-variance.json").read_text())["script_exit_here"] == 0
