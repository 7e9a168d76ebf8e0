"""Case files: schema, expansion, ids, and one-line errors for bad input."""
import re
from pathlib import Path

import pytest

from harness.cases.load import CaseError, discover, load_file, load_tree

ROOT = Path(__file__).resolve().parents[3]
BAD = sorted((ROOT / "tests" / "data" / "bad").glob("*.yaml"))


def _expectation(path):
    m = re.match(r"# expect: (\d+): (.*)", path.read_text().splitlines()[0])
    assert m, f"{path} lacks an '# expect: LINE: TEXT' first line"
    return int(m.group(1)), m.group(2)


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_file_gives_one_line_naming_file_line_and_key(path):
    line, text = _expectation(path)
    with pytest.raises(CaseError) as ei:
        load_file(path, display=path.name)
    msg = str(ei.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path.name}:{line}:"), msg
    assert text in msg, msg
    assert ei.value.line == line


def test_bad_corpus_is_not_empty():
    assert len(BAD) >= 15


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


GOOD = """
defaults:
  op: group_norm
  source: paper
  description: d
cases:
  - id: gn
    layout: [NCHW, NHWC]
    shape: {N: 2, C: [4, 8], H: 3, W: 3}
    groups: [1, 2]
    epsilon: 1e-5
    dtype: [float32, float64]
"""


def test_grid_expansion_and_stable_readable_ids(tmp_path):
    cases = load_file(_write(tmp_path, "g.yaml", GOOD))
    assert len(cases) == 2 * 2 * 2 * 2
    ids = [c.id for c in cases]
    assert len(set(ids)) == len(ids)
    assert "gn-nchw-C4-g1-eps1e-05-float32" in ids
    assert "gn-nhwc-C8-g2-eps1e-05-float64" in ids
    c = next(c for c in cases if c.id == "gn-nhwc-C8-g2-eps1e-05-float64")
    assert c.shape == (2, 3, 3, 8) and c.groups == 2 and c.epsilon == 1e-5 and c.dtype == "float64"
    assert c.line == 7 and c.file.endswith("g.yaml")
    # loading twice gives the same ids in the same order
    assert [c.id for c in load_file(tmp_path / "g.yaml")] == ids


def test_yaml_1_2_floats_are_numbers(tmp_path):
    (c,) = [c for c in load_file(_write(tmp_path, "g.yaml", GOOD)) if c.id.endswith("nchw-C4-g1-eps1e-05-float32")]
    assert isinstance(c.epsilon, float) and c.epsilon == 1e-5


def test_defaults_fill_in_and_case_values_win(tmp_path):
    text = """
defaults: {op: layer_norm, source: s, description: d, layout: BTF, dtype: float64, epsilon: 0.001}
cases:
  - id: a
    shape: {B: 1, T: 2, F: 3}
  - id: b
    shape: {B: 1, T: 2, F: 3}
    epsilon: 0.1
    input: {mean: 5.0}
"""
    a, b = load_file(_write(tmp_path, "d.yaml", text))
    assert a.epsilon == 1e-3 and b.epsilon == 0.1 and a.dtype == "float64"
    assert a.input_spec == {"distribution": "normal", "mean": 0.0, "std": 1.0}
    assert b.input_spec["mean"] == 5.0 and b.input_spec["std"] == 1.0
    assert a.affine == "ones" and a.seed == 0


def test_max_elements_is_configurable(tmp_path, monkeypatch):
    text = GOOD.replace("C: [4, 8]", "C: 4")
    p = _write(tmp_path, "g.yaml", text)
    with pytest.raises(CaseError, match="exceed the cap of 10"):
        load_file(p, max_elements=10)
    monkeypatch.setenv("NORMCONF_MAX_ELEMENTS", "20")
    with pytest.raises(CaseError, match="cap of 20"):
        load_file(p)


def test_duplicate_ids_across_files_and_bad_files_do_not_hide_others(tmp_path):
    a = _write(tmp_path, "a.yaml", GOOD)
    b = _write(tmp_path, "b.yaml", GOOD)
    c = _write(tmp_path, "c.yaml", "cases: [")
    cases, errors = load_tree([a, b, c], relative_to=tmp_path)
    assert len(cases) == 16
    msgs = [str(e) for e in errors]
    assert any(m.startswith("b.yaml:7: key 'id': duplicate case id") and "a.yaml:7" in m for m in msgs), msgs
    assert any(m.startswith("c.yaml:") and "YAML syntax error" in m for m in msgs), msgs


def test_shipped_cases_load_and_cover_the_seed_question():
    cases, errors = load_tree(discover(ROOT / "cases"), relative_to=ROOT)
    assert not errors, [str(e) for e in errors]
    from harness import ops as registry
    ops = {c.op for c in cases}
    assert ops == set(registry.NAMES)  # every registered op has shipped cases
    btf = {c.op for c in cases if c.layout == "BTF"}
    assert btf == ops
    for name, op in registry.OPS.items():  # and every check it supports
        assert {c.check for c in cases if c.op == name} == set(op.checks), name
    assert {c.groups for c in cases if c.op == "group_norm" and c.layout == "BTF"} >= {1, 2, 3, 6}
    assert {"NCHW", "NHWC"} <= {c.layout for c in cases}
    assert {"float32", "float64"} <= {c.dtype for c in cases}
    for c in cases:
        assert c.description and c.source


def test_case_round_trips_through_its_record():
    from harness.cases.model import Case
    for c in load_file(ROOT / "tests" / "data" / "smoke.yaml")[:10]:
        assert Case.from_dict(c.to_dict()) == c


def test_affine_axes_for_layer_norm(tmp_path):
    text = """
cases:
  - id: ln
    description: d
    source: s
    op: layer_norm
    layout: NHWC
    shape: {N: 2, C: 3, H: 2, W: 2}
    axes: CHW
    affine_axes: C
"""
    (c,) = load_file(_write(tmp_path, "a.yaml", text))
    assert c.affine_axes == "C" and c.semantics.affine_axes == ("C",) and c.semantics.stat_axes == ("H", "W", "C")
    from harness.cases.inputs import make_inputs
    assert make_inputs(c).gamma.shape == (3,)
    with pytest.raises(CaseError, match="key 'affine_axes': only .* take affine_axes, not group_norm"):
        load_file(_write(tmp_path, "b.yaml", text.replace("op: layer_norm", "op: group_norm\n    groups: 1")
                                            .replace("    axes: CHW\n", "")))
    with pytest.raises(CaseError, match="key 'affine_axes': 'X' must name"):
        load_file(_write(tmp_path, "c.yaml", text.replace("affine_axes: C", "affine_axes: X")))
