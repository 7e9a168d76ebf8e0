"""Hostile case files: each is refused fast with one printable line naming file, line and key,
nothing in it is executed, and every other file still loads and runs."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cases import yamlsource
from harness.cases.load import CaseError, load_file, load_tree
from harness.claims.load import load_claims

ROOT = Path(__file__).resolve().parents[3]
HOSTILE = ROOT / "tests" / "data" / "hostile"

GOOD = """\
cases:
  - id: good
    description: d
    source: s
    op: layer_norm
    layout: BTF
    shape: {B: 2, T: 3, F: 4}
    dtype: [float32, float64]
"""


def generated(tmp_path) -> dict[str, tuple[Path, str]]:
    """Hostile files too big, too deep or too special to keep in the repository."""
    out = {}

    def put(name, content, expect):
        p = tmp_path / name
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content)
        out[name] = (p, expect)

    put("deep_flow.yaml", "cases: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper than 32 levels")
    put("deep_block.yaml", "".join(" " * i + f"k{i}:\n" for i in range(200)), "nested deeper than 32 levels")
    put("int_5000_digits.yaml", "cases:\n  - id: x\n    seed: " + "9" * 5000 + "\n", "number literal longer than")
    put("float_5000_digits.yaml", "cases:\n  - id: x\n    epsilon: 0." + "1" * 5000 + "\n", "number literal longer than")
    put("too_big.yaml", "# " + "x" * yamlsource.MAX_FILE_BYTES + "\n", "the limit is")
    put("many_nodes.yaml", "cases: [" + ",".join(["1"] * 60000) + "]\n", "more than 5000 values")
    put("many_anchors.yaml", "cases: [" + ",".join(f"&a{i} {i}" for i in range(8000)) + "]\n", "more than 5000 values")
    os.mkfifo(tmp_path / "fifo.yaml")
    out["fifo.yaml"] = (tmp_path / "fifo.yaml", "not a regular file")
    (tmp_path / "dir.yaml").mkdir()
    out["dir.yaml"] = (tmp_path / "dir.yaml", "is a directory")
    (tmp_path / "dangling.yaml").symlink_to(tmp_path / "nowhere")
    out["dangling.yaml"] = (tmp_path / "dangling.yaml", "cannot read")
    return out


def corpus(tmp_path) -> dict[str, tuple[Path, str]]:
    files = {}
    for p in sorted(HOSTILE.glob("*.yaml")):
        first = p.read_bytes().split(b"\n", 1)[0].decode()
        assert first.startswith("# expect: "), p
        files[p.name] = (p, first[len("# expect: "):])
    files.update(generated(tmp_path))
    return files


def assert_one_clean_line(text: str):
    assert "\n" not in text and "\r" not in text
    assert text.isprintable(), repr(text)


def test_corpus_covers_every_limit():
    names = {p.name for p in HOSTILE.glob("*.yaml")}
    for needed in ("alias_bomb.yaml", "alias_recursive.yaml", "epsilon_nan.yaml", "epsilon_inf.yaml",
                   "epsilon_overflow.yaml", "input_std_nan.yaml", "input_mean_inf.yaml", "key_ansi.yaml",
                   "grid_million.yaml", "python_object.yaml", "int_out_of_range.yaml"):
        assert needed in names


def test_each_hostile_file_is_refused_fast_in_one_clean_line(tmp_path):
    for name, (path, expect) in corpus(tmp_path).items():
        t0 = time.process_time()  # CPU time: a shared machine's load does not count
        with pytest.raises(CaseError) as ei:
            load_file(path, display=f"cases/{name}")
        took = time.process_time() - t0
        text = str(ei.value)
        assert text.startswith(f"cases/{name}:"), text
        assert expect in text, (name, text)
        assert_one_clean_line(text)
        assert took < 3, (name, took)  # unbounded expansion took 20 s and 2.7 GB
    assert not Path("/tmp/normconf-pwned").exists()


def test_claims_files_get_the_same_limits(tmp_path):
    (tmp_path / "c.yaml").write_text("claims:\n  - id: x\n    epsilon: .nan\n")
    with pytest.raises(CaseError, match=r"c.yaml:3: key 'epsilon': '.nan' is not a finite number"):
        load_claims(tmp_path / "c.yaml", display="c.yaml")
    os.mkfifo(tmp_path / "f.yaml")
    with pytest.raises(CaseError, match="not a regular file"):
        load_claims(tmp_path / "f.yaml")


def test_limits_leave_room_for_real_files():
    cases, errors = load_tree(sorted((ROOT / "cases").rglob("*.yaml")), relative_to=ROOT)
    # the claims, expectations and defaults directories hold no cases: only their files may fail here
    assert all(any(d in e.file for d in ("claims", "expectations", "defaults")) for e in errors), [str(e) for e in errors]
    assert len(cases) > 100
    for p in sorted((ROOT / "cases" / "claims").glob("*.yaml")):
        assert load_claims(p)


def test_finite_numbers_and_anchors_still_work(tmp_path):
    p = tmp_path / "ok.yaml"
    p.write_text("defaults: &d\n  description: d\n  source: s\n  op: layer_norm\n  layout: BF\n"
                 "  shape: {B: 2, F: 3}\ncases:\n  - id: a\n    epsilon: 1e-300\n    seed: 9223372036854775807\n"
                 "  - id: b\n    dtype: float64\n    input: {mean: -1.0e+300, std: 0.5}\n")
    cases = load_file(p)
    assert [c.epsilon for c in cases] == [1e-300, 1e-5]
    assert cases[1].input_spec["mean"] == -1e300
    assert cases[0].seed == 2**63 - 1


def _normconf(*args, cwd):
    env = {**os.environ, "NORMCONF_ADAPTERS": "tests.fault_adapters:SPECS",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("NORMCONF_ENV", None)
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_every_bad_file_is_one_failing_item_and_the_good_file_still_runs(tmp_path):
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "a_good.yaml").write_text(GOOD)
    (cases / "z_good.yaml").write_text(GOOD.replace("id: good", "id: also-good"))
    gen = tmp_path / "gen"
    gen.mkdir()
    bad = {}
    for name, (path, expect) in corpus(gen).items():
        if name in ("fifo.yaml", "dir.yaml", "dangling.yaml"):
            continue  # pytest itself does not collect these as files
        (cases / name).write_bytes(path.read_bytes())
        bad[name] = expect
    results = tmp_path / "r.jsonl"
    p = _normconf("run", "--adapters", "faulty", "--env-name", "t", "--results", str(results),
                  "-p", "no:randomly", "--rootdir", str(tmp_path), "-c", os.devnull, cwd=tmp_path)
    out = p.stdout + p.stderr
    assert p.returncode == 2, out[-3000:]  # bad files are harness failures; the good cells still ran
    assert f"{len(bad)} harness failure(s)" in out, out[-3000:]
    assert "Interrupted" not in out and "Traceback" not in out, out[-3000:]
    recs = [json.loads(line) for line in results.read_text().splitlines()]
    ran = sorted(r["case_id"] for r in recs if r["kind"] == "result")
    assert ran == sorted(["good-eps1e-05-float32", "good-eps1e-05-float64", "also-good-eps1e-05-float32", "also-good-eps1e-05-float64"])
    assert all(r["status"] == "agree" for r in recs if r["kind"] == "result")
    for name, expect in bad.items():
        assert f"cases/{name}::<invalid case file>" in out or f"{name}:" in out, name
    assert f"{len(bad)} failed" in out, out[-2000:]
    for line in out.splitlines():
        assert "\x1b" not in line and "\x00" not in line

    # normconf list: the good files are listed, each bad one is one error line, exit 1
    ls = _normconf("list", "cases", cwd=tmp_path)
    assert ls.returncode == 1
    assert "good-eps1e-05-float32\tcases/a_good.yaml" in ls.stdout and "also-good-eps1e-05-float64" in ls.stdout
    errors = [line for line in ls.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(bad), ls.stderr
    for line in errors:
        assert_one_clean_line(line)


# --- fuzz -----------------------------------------------------------------------

_TOKENS = ["cases:", "defaults:", "- ", "id: x", "op: layer_norm", "layout: BTF", "shape:", "{B: 2, T: 3, F: 4}",
           "epsilon:", "seed:", "input:", "std:", "mean:", "groups:", "dtype: float32", "[", "]", "{", "}", ",", ":",
           "? ", "&a ", "*a", "&b ", "*b", "!!float ", "!!int ", "!!str ", "!!python/object ", "!!binary ", "<<: ",
           ".nan", ".inf", "-.inf", "1e400", "1e-5", "0x", "0o7", "1_000", "190:20:30", "2021-02-30", "9" * 30,
           "'", '"', "\\", "|", ">", "#", "---", "...", "%YAML 1.1", "\t", "\n", "\n  ", "\n    ", "\x1b[31m",
           "\x00", "\u202e", "\ufeff", "é", "null", "~", "true", "x"]

_VALID = GOOD + """\
  - id: gn
    description: d
    source: s
    op: group_norm
    layout: [BTF, NCHW]
    shape: {B: 2, T: [1, 5], F: 6, N: 2, C: 6, H: 2, W: 2}
    groups: [1, 2]
    epsilon: [1.0e-5, 1.0e-3]
    input: {distribution: normal, mean: [0.0, 100.0], std: 1.0}
    seed: [1, 2]
"""


def _check(tmp_path, text: str):
    p = tmp_path / "fuzz.yaml"
    p.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_file(p, display="fuzz.yaml")
    except CaseError as e:
        s = str(e)
        assert s.startswith("fuzz.yaml")
        assert_one_clean_line(s)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(_TOKENS), max_size=60))
def test_fuzz_token_soup_gives_cases_or_one_line(tmp_path, tokens):
    _check(tmp_path, "".join(tokens))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzz_mutated_valid_file_gives_cases_or_one_line(tmp_path, data):
    text = _VALID
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(text)))
        j = data.draw(st.integers(i, min(len(text), i + 12)))
        ins = data.draw(st.one_of(st.sampled_from(_TOKENS), st.text(max_size=6)))
        text = text[:i] + ins + text[j:]
    _check(tmp_path, text)
