"""normconf bisect for real: a series of planted-framework wheels (tests/bisect_adapters.py), each
release installed with uv in its own environment and the cell run there through normconf run.

The wheels are local (--find-links, no index is asked for them); the harness's own requirements come
from the package index through one uv cache for the whole test session, and the environments are
shared by the tests of the session, as a rerun would share them."""
import json
import math
import re

import pytest

from harness.cli import main as cli_main
from harness.results.timeline import read_timelines
from tests.bisect_adapters import VERSIONS, write_series

pytestmark = pytest.mark.slow  # each candidate is a real install and a real run (about 5 s each)

CASE = "planted-ln-eps0.001-float32"
CASE_FILE = """\
cases:
  - id: planted-ln
    description: LayerNorm over the last axis, for normconf bisect's tests.
    source: tests/bisect_adapters.py
    op: layer_norm
    layout: BTF
    shape: {B: 2, T: 3, F: 8}
    epsilon: 1.0e-3
    dtype: float32
    affine: random
    input: {distribution: normal, mean: 0.0, std: 1.0}
    seed: 3
"""


@pytest.fixture(scope="session")
def planted(tmp_path_factory):
    root = tmp_path_factory.mktemp("bisect")
    (root / "cases" / "layer_norm").mkdir(parents=True)
    (root / "cases" / "layer_norm" / "planted.yaml").write_text(CASE_FILE)
    return {"good": write_series(root / "good"), "broken": write_series(root / "broken", broken=("1.4.0",)),
            "cases": root / "cases", "uv": root / "uv-cache", "envs": root / "envs", "root": root}


@pytest.fixture(autouse=True)
def env(planted, monkeypatch):
    monkeypatch.setenv("NORMCONF_ADAPTERS", "tests.bisect_adapters:SPECS")
    monkeypatch.setenv("UV_CACHE_DIR", str(planted["uv"]))
    monkeypatch.setenv("NORMCONF_BISECT_CACHE", str(planted["envs"]))


def bisect(planted, capsys, *extra, series="good"):
    code = cli_main(["bisect", CASE, "planted-fw", "--package", "normconf-planted-fw", "--find-links",
                     str(planted[series]), "--cases", str(planted["cases"]), "--quiet", *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


def installs(out: str) -> int:
    return int(re.search(r"^(\d+) installs", out, re.MULTILINE).group(1))


def test_bisect_finds_the_planted_release_in_log2_installs(planted, capsys):
    code, out, err = bisect(planted, capsys, "--jobs", "2")
    assert code == 0, out + err
    assert "first changed in normconf-planted-fw 1.6.0 (agree in 1.5.0, diverge in 1.6.0)" in out
    tried = re.findall(r"^normconf-planted-fw (\S+) +(\w+) +error (\S+) +ratio (\S+)", out, re.MULTILINE)
    assert tried[:2] == [t for t in tried if t[0] in ("1.0.0", "1.9.0")]  # the ends first
    assert {v: s for v, s, *_ in tried}["1.5.0"] == "agree" and {v: s for v, s, *_ in tried}["1.6.0"] == "diverge"
    assert all(float(r) > 8 for v, s, e, r in tried if s == "diverge")
    assert installs(out) == len(tried) <= math.ceil(math.log2(len(VERSIONS))) + 2


def test_all_gives_the_whole_timeline_and_every_change(planted, capsys, tmp_path):
    # 1.4.0's wheel is cut short: reported, skipped, never fatal
    timeline = tmp_path / "timeline.jsonl"
    code, out, err = bisect(planted, capsys, "--all", "--explanation", "--versions", ">=1.4,<1.9", "--jobs", "2",
                            "--timeline-out", str(timeline), series="broken")
    assert code == 0, out + err
    lines = [ln for ln in out.splitlines() if ln.startswith("normconf-planted-fw ")]
    assert [ln.split()[1] for ln in lines] == ["1.4.0", "1.5.0", "1.6.0", "1.7.0", "1.8.0"]
    assert [ln.split()[2] for ln in lines] == ["INSTALL", "agree", "diverge", "diverge", "diverge"]
    assert "INSTALL FAILED" in lines[0] and "normconf_planted_fw-1.4.0" in lines[0]
    assert "first changed in normconf-planted-fw 1.6.0 (agree in 1.5.0, diverge in 1.6.0)" in out
    change = next(ln for ln in out.splitlines() if ln.startswith("changed in "))
    assert change.startswith("changed in normconf-planted-fw 1.8.0 (diverge in 1.7.0, diverge in 1.8.0); "
                             "explanation 'epsilon added outside the square root")
    assert "unbiased" in change
    assert installs(out) == 5 and "1 failed" in out

    (t,) = read_timelines([timeline])
    assert (t.case_id, t.adapter, t.package, t.fixed) == (CASE, "planted-fw", "normconf-planted-fw", ())
    assert [(s.version, s.status, s.installed) for s in t.steps] == [
        ("1.4.0", "", False), ("1.5.0", "agree", True), ("1.6.0", "diverge", True), ("1.7.0", "diverge", True),
        ("1.8.0", "diverge", True)]
    assert "normconf_planted_fw-1.4.0" in t.steps[0].message
    assert t.steps[2].explanation.startswith("epsilon added outside the square root")
    assert t.steps[2].ratio > 8 and t.steps[1].ratio < 1 and t.steps[1].error < 1e-6
    assert (t.first_changed.version, t.first_changed.before, t.first_changed.before_status,
            t.first_changed.after_status) == ("1.6.0", "1.5.0", "agree", "diverge")

    # a corrupted line is refused in one line naming file and line; the rest is kept
    text = timeline.read_text().splitlines()
    rec = json.loads(text[1])
    rec["steps"][1]["status"] = "fine"
    timeline.write_text("\n".join([text[0], json.dumps(rec), text[1]]) + "\n")
    problems = []
    assert len(read_timelines([timeline], problems=problems, warn=False)) == 1
    assert problems == [(f"{timeline}:2: bad timeline record (field 'steps[1].status' must be one of '', agree, "
                        "diverge, error, crash, timeout, unsupported, skipped)")]


def test_a_range_without_a_change_says_so_and_exits_1(planted, capsys):
    # swap mode: one base environment (with 1.5.0), the package swapped in without resolving
    code, out, err = bisect(planted, capsys, "--versions", "<1.6", "--swap", "--jobs", "2")
    assert code == 1, out + err
    assert "no change in normconf-planted-fw 1.0.0 ... 1.5.0: agree at both ends" in out
    assert "first changed" not in out and installs(out) == 2
    envs = sorted((planted["envs"] / "envs").glob("normconf-planted-fw-1.0.0-*/normconf-env.json"))
    swapped = [json.loads(p.read_text())["request"] for p in envs]
    assert any(r["no_deps"] for r in swapped) and any(not r["no_deps"] for r in swapped)


@pytest.mark.parametrize("args,words", [
    (["no-such-case", "planted-fw"], "no case 'no-such-case'"),
    ([CASE, "no-such-adapter"], "unknown adapter 'no-such-adapter'"),
    ([CASE, "planted-fw", "--versions", "three"], "not a PEP 440 version specifier"),
    ([CASE, "planted-fw", "--versions", ">=1.9"], "1 release(s) of normconf-planted-fw matching >=1.9"),
    ([CASE, "planted-fw", "--with", "normconf-planted-fw<2"], "names the package being bisected"),
    ([CASE, "planted-fw", "--with", "torch=="], "not a requirement"),
    ([CASE, "planted-fw", "--jobs", "0"], "--jobs wants a positive number"),
])
def test_usage_errors_are_one_line_and_exit_2(planted, capsys, args, words):
    code = cli_main(["bisect", *args, "--package", "normconf-planted-fw", "--find-links", str(planted["good"]),
                     "--cases", str(planted["cases"])])
    err = capsys.readouterr().err
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


def test_no_index_needs_a_directory(capsys):
    code = cli_main(["bisect", CASE, "planted-fw", "--package", "x", "--no-index"])
    err = capsys.readouterr().err
    assert code == 2 and "--no-index needs --find-links" in err and len(err.strip().splitlines()) == 1


def test_environments_are_keyed_by_what_is_installed_and_remade_when_unfinished(planted, tmp_path):
    from packaging.version import Version

    from harness.bisect.candidates import Candidate
    from harness.bisect.cell import harness_requirements
    from harness.bisect.envs import (
        MARKER,
        Environments,
        InstallFailed,
        Sources,
        find_uv,
    )

    envs = Environments(tmp_path / "envs", find_uv(), Sources(), package="normconf-planted-fw",
                        harness_requirements=harness_requirements(), fixed=[])
    wheel = planted["good"] / "normconf_planted_fw-1.2.0-py3-none-any.whl"
    first = envs.get(Candidate(Version("1.2.0"), wheel), [])
    assert not first.reused and "normconf-planted-fw @ " + wheel.resolve().as_uri() in first.installed
    assert any(line.startswith("numpy==") for line in first.installed)
    elsewhere = tmp_path / "copy"
    elsewhere.mkdir()
    copy = elsewhere / wheel.name
    copy.write_bytes(wheel.read_bytes())
    again = envs.get(Candidate(Version("1.2.0"), copy), [])  # the same wheel elsewhere: the same environment
    assert again.reused and again.path == first.path
    (first.path / MARKER).unlink()  # as an interrupted build leaves it
    remade = envs.get(Candidate(Version("1.2.0"), wheel), [])
    assert not remade.reused and remade.path == first.path and (first.path / MARKER).is_file()
    with pytest.raises(InstallFailed) as e:
        envs.get(Candidate(Version("1.4.0"), planted["broken"] / "normconf_planted_fw-1.4.0-py3-none-any.whl"), [])
    assert "\n" not in str(e.value) and "1.4.0" in str(e.value)
    assert not list((tmp_path / "envs").glob("normconf-planted-fw-1.4.0-*"))  # no half-made folder is left
    assert (envs.made, envs.reused, envs.failed) == (2, 1, 1)


def test_a_timeline_file_that_is_not_one_is_refused_before_any_install(planted, capsys, tmp_path):
    results = tmp_path / "current.jsonl"
    results.write_text('{"kind": "header", "env": "current"}\n')
    code, _out, err = bisect(planted, capsys, "--timeline-out", str(results), "--cache-dir", str(tmp_path / "c"))
    assert code == 2 and "not a timeline file" in err and len(err.strip().splitlines()) == 1
    assert results.read_text() == '{"kind": "header", "env": "current"}\n' and not (tmp_path / "c").exists()
