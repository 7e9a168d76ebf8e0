"""Values that pass the schema's types but cannot run: each is refused at load with one line naming the
file, the line and the key, and every case the loader accepts runs to a record on a reference-only
adapter, whose results file reads back completely."""
import math
import textwrap
import time

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cases.expand import largest
from harness.cases.inputs import full_mask
from harness.cases.load import CaseError, load_file
from harness.execution.runner import Runner
from harness.fuzz.strategies import case_entries
from harness.numerics import families, running
from harness.numerics.backward import grads
from harness.numerics.masked import normalize_masked
from harness.numerics.reference import normalize
from harness.ops.definition import Formula
from harness.results.read import read
from harness.workers.protocol import Reply

HEAD = """\
cases:
  - id: x
    description: d
    source: s
"""


def _refusal(tmp_path, body: str) -> str:
    p = tmp_path / "h.yaml"
    p.write_text(HEAD + textwrap.indent(textwrap.dedent(body), "    "))
    with pytest.raises(CaseError) as ei:
        load_file(p, display="h.yaml")
    text = str(ei.value)
    assert "\n" not in text and text.isprintable(), repr(text)
    return text


#: (body of case x, from line 5 on; the refusal's start: "h.yaml:<line>: key '<key>': ...", a word of its why)
REFUSED = {
    "uniform_low_above_high": ("op: layer_norm\nlayout: BF\nshape: {B: 2, F: 3}\n"
                               "input: {distribution: uniform, low: 3, high: 1}\n",
                               "h.yaml:8: key 'input.low': ", "above high"),
    "uniform_range_overflows": ("op: layer_norm\nlayout: BF\nshape: {B: 2, F: 3}\ndtype: float64\n"
                                "input: {distribution: uniform, low: -1.0e+308, high: 1.0e+308}\n",
                                "h.yaml:9: key 'input.high': ", "wider than float64"),
    "normal_beyond_float16": ("op: layer_norm\nlayout: BF\nshape: {B: 2, F: 3}\ndtype: float16\n"
                              "input: {mean: 60000.0, std: 1000.0}\n", "h.yaml:9: key 'input.std': ", "float16"),
    "normal_beyond_float64": ("op: layer_norm\nlayout: BF\nshape: {B: 2, F: 3}\ndtype: float64\n"
                              "input: {mean: 0.0, std: 1.0e+308}\n", "h.yaml:9: key 'input.std': ", "float64"),
    "constant_beyond_bfloat16": ("op: layer_norm\nlayout: BF\nshape: {B: 2, F: 3}\ndtype: bfloat16\n"
                                 "input: {distribution: constant, value: 1.0e+39}\n",
                                 "h.yaml:9: key 'input.value': ", "bfloat16"),
    "groups_integral_float": ("op: group_norm\nlayout: BF\nshape: {B: 2, F: 4}\ngroups: 2.0\n",
                              "h.yaml:8: key 'groups': ", "not of type 'integer'"),
    "groups_bool": ("op: group_norm\nlayout: BF\nshape: {B: 2, F: 4}\ngroups: true\n",
                    "h.yaml:8: key 'groups': ", "not of type 'integer'"),
    "size_integral_float": ("op: layer_norm\nlayout: BF\nshape: {B: 2.0, F: 4}\n", "h.yaml:7: key 'shape.B': ",
                            "integer"),
    "seed_float": ("op: layer_norm\nlayout: BF\nshape: {B: 2, F: 4}\nseed: 1.0\n", "h.yaml:8: key 'seed': ",
                   "integer"),
    "steps_float": ("op: batch_norm\nlayout: BF\nshape: {B: 2, F: 4}\ncheck: running_stats\nsteps: 3.0\n",
                    "h.yaml:9: key 'steps': ", "integer"),
    "option_enum_float": ("op: layer_norm\nlayout: BF\nshape: {B: 2, F: 4}\noptions: {stash_type: 1.0}\n",
                          "h.yaml:8: key 'options.stash_type': ", "not one of"),
    "option_enum_bool": ("op: layer_norm\nlayout: BF\nshape: {B: 2, F: 4}\noptions: {stash_type: true}\n",
                         "h.yaml:8: key 'options.stash_type': ", "not one of"),
    "mask_length_float": ("op: layer_norm\nlayout: BTF\nshape: {B: 2, T: 3, F: 4}\nmask: {lengths: [1.0, 2]}\n",
                          "h.yaml:8: key 'mask.lengths': ", "integer"),
    "affine_uniform_reversed": ("op: layer_norm\nlayout: BF\nshape: {B: 2, F: 3}\n"
                                "affine: {gamma: {distribution: uniform, low: 2, high: 1}}\n",
                                "h.yaml:8: key 'affine.gamma': ", "above high"),
    "affine_uniform_overflows": ("op: layer_norm\nlayout: BF\nshape: {B: 2, F: 3}\ndtype: float64\n"
                                 "affine: {beta: {distribution: uniform, low: -1.0e+308, high: 1.0e+308}}\n",
                                 "h.yaml:9: key 'affine.beta': ", "wider than float64"),
    "statistics_uniform_overflows": ("op: batch_norm\nlayout: BF\nshape: {B: 2, F: 3}\ncheck: inference\n"
                                     "dtype: float64\n"
                                     "statistics: {mean: {distribution: uniform, low: -1.0e+308, high: 1.0e+308}}\n",
                                     "h.yaml:10: key 'statistics.mean': ", "wider than float64"),
    "statistics_beyond_float16": ("op: batch_norm\nlayout: BF\nshape: {B: 2, F: 3}\ncheck: inference\n"
                                  "dtype: float16\nstatistics: {var: [1.0, 2.0, 1.0e+5]}\n",
                                  "h.yaml:10: key 'statistics.var': ", "float16"),
    "statistics_normal_beyond_float32": ("op: batch_norm\nlayout: BF\nshape: {B: 2, F: 3}\ncheck: inference\n"
                                         "statistics: {mean: {distribution: normal, mean: 0, std: 1.0e+38}}\n",
                                         "h.yaml:9: key 'statistics.mean': ", "float32"),
    "running_batches_over_the_cap": ("op: batch_norm\nlayout: BF\nshape: {B: 4096, F: 4096}\n"
                                     "check: running_stats\nsteps: 1000\n", "h.yaml:7: key 'shape': ", "arrays"),
    "id_trailing_newline": ('op: layer_norm\nlayout: BF\nshape: {B: 2, F: 3}\n', "h.yaml:2: key 'id': ",
                            "does not match"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_values_that_cannot_run_are_refused_with_line_and_key(tmp_path, name):
    body, start, why = REFUSED[name]
    if name == "id_trailing_newline":
        p = tmp_path / "h.yaml"
        p.write_text(HEAD.replace("id: x", 'id: "x\\n"') + textwrap.indent(body, "    "))
        with pytest.raises(CaseError) as ei:
            load_file(p, display="h.yaml")
        text = str(ei.value)
    else:
        text = _refusal(tmp_path, body)
    assert text.startswith(start), text
    assert why in text, text


@pytest.mark.parametrize("cid", ['"x\\n"', '"x\\t"', '" x"', '"x "', '"x\\u0000"', '"x\\e"', '"x\\u202e"',
                                 '"x\\ud800"', '"x\\u0085"', "x y"])
def test_ids_are_printable_without_surrounding_whitespace(tmp_path, cid):
    p = tmp_path / "h.yaml"
    p.write_text(HEAD.replace("id: x", f"id: {cid}") + "    op: layer_norm\n    layout: BF\n    shape: {B: 2, F: 3}\n")
    with pytest.raises(CaseError) as ei:
        load_file(p, display="h.yaml")
    assert str(ei.value).startswith("h.yaml:2: key 'id': "), str(ei.value)


def test_tags_and_descriptions_keep_tabs_newlines_and_any_script(tmp_path):
    p = tmp_path / "h.yaml"
    p.write_text(HEAD.replace("description: d", 'description: "two\\nlines\\tand 😀 العربية"')
                 + "    op: layer_norm\n    layout: BF\n    shape: {B: 2, F: 3}\n    tags: [\"𝔘\", \"é\"]\n")
    (case,) = load_file(p)
    assert case.description == "two\nlines\tand 😀 العربية" and case.tags == ("𝔘", "é")


# --- aliases and merge keys: the line where the value is written, the key where it is used ------------

ALIASED = """\
defaults: &base
  description: d
  source: s
  op: group_norm
  layout: BF
  shape: {B: 2, F: 4}
  input: &uniform {distribution: uniform, low: 3, high: 1}
cases:
  - id: a
    <<: *base
    groups: 2
"""


def test_an_aliased_value_is_refused_at_the_line_it_is_written(tmp_path):
    p = tmp_path / "a.yaml"
    p.write_text(ALIASED.replace("  input: &uniform", "  inp: &uniform").replace(
        "    groups: 2\n", "    groups: 2\n    input: *uniform\n"))
    with pytest.raises(CaseError) as ei:
        load_file(p, display="a.yaml")  # `inp` is no key of defaults: refused at its own line
    assert str(ei.value).startswith("a.yaml:7: key 'inp': unknown key"), str(ei.value)
    p.write_text(ALIASED.replace("    groups: 2\n", "    groups: 2\n    input: *uniform\n"))
    with pytest.raises(CaseError) as ei:
        load_file(p, display="a.yaml")
    assert str(ei.value).startswith("a.yaml:7: key 'input.low': uniform low 3 is above high 1"), str(ei.value)


MERGED = """\
cases:
  - &a
    id: a
    description: d
    source: s
    op: group_norm
    layout: BF
    shape: {B: 2, F: 6}
    groups: 3
  - <<: *a
    id: b
    shape: {B: 2, F: 4}
"""


def test_a_merged_value_is_refused_at_the_line_it_is_written(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text(MERGED)
    with pytest.raises(CaseError) as ei:
        load_file(p, display="m.yaml")
    assert str(ei.value).startswith("m.yaml:9: key 'groups': 3 groups do not divide 4 channels"), str(ei.value)
    p.write_text(MERGED.replace("    groups: 3\n", "    groups: 3\n    seed: 1.0\n"))
    with pytest.raises(CaseError) as ei:
        load_file(p, display="m.yaml")
    assert str(ei.value).startswith("m.yaml:10: key 'seed': 1.0 is not of type 'integer'"), str(ei.value)
    # the case's own key wins over the merged one; a merged scalar is refused with the key `<<`
    p.write_text(ALIASED.replace("  input: &uniform {distribution: uniform, low: 3, high: 1}\n", "  groups: 3\n"))
    assert [c.groups for c in load_file(p)] == [2]
    p.write_text(ALIASED.replace("    <<: *base\n", "    <<: 5\n"))
    with pytest.raises(CaseError) as ei:
        load_file(p, display="m.yaml")
    assert str(ei.value).startswith("m.yaml:10: key '<<': a merge key (<<) takes a mapping"), str(ei.value)


def test_a_recursive_merge_is_refused(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("cases:\n  - &a\n    id: x\n    <<: *a\n")
    with pytest.raises(CaseError) as ei:
        load_file(p, display="r.yaml")
    assert str(ei.value).startswith("r.yaml:"), str(ei.value)


# --- every accepted case runs to a record ----------------------------------------------------------

class ReferencePool:
    """A worker pool whose only adapter answers every cell with the harness's own float64 reference,
    rounded to the case dtype (its documented default epsilon: 1e-5); an exception in it is the
    adapter's error, as a worker reports one."""

    def call(self, adapter, case, inputs, timeout=None):
        try:
            return self._reply(case, inputs)
        except Exception as e:  # noqa: BLE001 - a worker reports an adapter's exception as an error
            return Reply("error", message=f"{type(e).__name__}: {e}", versions={"reference": "1"})

    @staticmethod
    def _reply(case, inputs):
        info = {"epsilon_default": {"value": 1e-5, "source": "reference"}} if case.epsilon is None else {}
        sem = case.semantics_with(1e-5 if case.epsilon is None else case.epsilon)
        dt = inputs.x.dtype
        arrays = {}
        if isinstance(sem, Formula):
            y = families.reference(inputs.x, sem)
        elif case.check == "forward":
            mask = full_mask(inputs.mask, case.layout, inputs.x.shape)
            y = normalize(inputs.x, sem, inputs.gamma, inputs.beta) if mask is None else \
                normalize_masked(inputs.x, sem, mask, inputs.gamma, inputs.beta)
        elif case.check == "backward":
            refs = grads(inputs.x, sem, inputs.dy, inputs.gamma, inputs.beta)
            y, arrays = refs.pop("dx"), refs
        elif case.check == "running_stats":
            refs = running.reference(inputs.x, inputs.batches, sem, running.from_case(case), inputs.gamma,
                                     inputs.beta)
            y, arrays = refs.pop("y"), refs
        else:
            y = running.inference(inputs.x, inputs.running_mean, inputs.running_var, sem, inputs.gamma, inputs.beta)
        with np.errstate(over="ignore", invalid="ignore"):
            return Reply("ok", y=np.asarray(y).astype(dt), versions={"reference": "1"}, info=info,
                         arrays={k: np.asarray(v).astype(dt) for k, v in arrays.items()})

    def close(self):
        pass


_F = st.floats(allow_nan=False, allow_infinity=False)
#: values that pass the types of the schema (or nearly) and probe the ranges and cross-field rules
HOSTILE = {
    "groups": st.sampled_from([2.0, True, 0, 3, 7, 64, 2**40]),
    "epsilon": st.one_of(st.sampled_from([1e-320, 1e300, 1.7e308, "default", True, 0]), _F),
    "seed": st.sampled_from([-1, 0, 2**63 - 1, 1.0, True]),
    "momentum": st.sampled_from([None, 1e-300, 1.0, 1.5, 0.0, True]),
    "steps": st.sampled_from([1, 2.0, 1000, 0]),
    "axes": st.sampled_from(["", "Z", "BB", "F", "C", "T", "BTF"]),
    "affine_axes": st.sampled_from(["F", "C", "B", "Z"]),
    "dtype": st.sampled_from(["float16", "bfloat16", "float32", "float64", "int8"]),
    "input": st.one_of(
        st.fixed_dictionaries({"distribution": st.just("uniform"), "low": _F, "high": _F}),
        st.fixed_dictionaries({"distribution": st.just("normal"), "mean": _F, "std": st.floats(0, 1e308)}),
        st.fixed_dictionaries({"distribution": st.just("constant"), "value": _F})),
    "affine": st.one_of(
        st.fixed_dictionaries({"gamma": st.fixed_dictionaries({"distribution": st.just("uniform"), "low": _F,
                                                               "high": _F})}),
        st.fixed_dictionaries({"beta": st.one_of(_F, st.lists(_F, min_size=1, max_size=3),
                                                 st.fixed_dictionaries({"magnitude": st.floats(1e-300, 1e308)}),
                                                 st.fixed_dictionaries({"distribution": st.just("normal"),
                                                                        "mean": _F, "std": st.floats(0, 1e308)}))})),
    "statistics": st.one_of(
        st.fixed_dictionaries({"mean": st.one_of(_F, st.lists(_F, min_size=1, max_size=3))}),
        st.fixed_dictionaries({"var": st.one_of(st.floats(-1, 1e308), st.fixed_dictionaries(
            {"distribution": st.just("uniform"), "low": st.floats(0, 1e308), "high": _F}))})),
    "mask": st.one_of(st.fixed_dictionaries({"random": st.floats(0, 1)}),
                      st.fixed_dictionaries({"lengths": st.lists(st.integers(0, 9), min_size=1, max_size=4)})),
    "size": st.integers(1, 64),
    "alpha": st.sampled_from([0.0, 1e-300, 1e6]),
    "k": st.sampled_from([0.0, 1e-300, 1e6]),
    "beta": st.sampled_from([1e-300, 8.0, 0.75]),
    "tolerance": st.fixed_dictionaries({"reason": st.just("r"), "atol": st.floats(0, 1e308)}),
    "expect": st.fixed_dictionaries({"raises": st.just("ValueError")}),
    "shape": st.dictionaries(st.sampled_from("BTFCNHW"), st.sampled_from([1, 2, 3, 2.0, 0, 2**31]), max_size=3),
}


@st.composite
def hostile_entries(draw):
    """A case entry from the fuzzer's strategies over the schema, with up to two keys given hostile values."""
    entry = draw(case_entries(max_elements=64))
    for key in draw(st.lists(st.sampled_from(sorted(HOSTILE)), max_size=2, unique=True)):
        value = draw(HOSTILE[key])
        entry[key] = {**entry[key], **value} if key == "shape" else value
    return entry


def _run_all(tmp_path, cases):
    results = tmp_path / "r.jsonl"
    results.unlink(missing_ok=True)
    runner = Runner("t", str(results), adapters=None)
    runner.pool = ReferencePool()
    try:
        recorded = [runner.run_cell(c, "reference") for c in cases]
    finally:
        runner.close()
    assert len(recorded) == len(cases)
    got = read(results, warn=False)
    assert got.problems == [], got.problems
    assert sorted(r.case_id for r in got.results) == sorted(c.id for c in cases)
    return got.results


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(hostile_entries())
def test_every_accepted_case_runs_to_a_record(tmp_path, entry):
    p = tmp_path / "p.yaml"
    p.write_text(yaml.safe_dump({"cases": [{"id": "p", "description": "d", "source": "s", **entry}]},
                                sort_keys=False))
    try:
        cases = load_file(p, display="p.yaml", max_elements=4096)
    except CaseError as e:
        text = str(e)
        assert text.startswith("p.yaml:") and "\n" not in text and text.isprintable(), text
        return
    for r in _run_all(tmp_path, cases):
        assert r.status in ("agree", "diverge", "error"), (r.status, r.message)
        if r.status == "error":  # the reference refused the case: the record says why
            assert r.message


def test_the_reference_adapter_agrees_on_an_ordinary_case(tmp_path):
    """The property's adapter is the reference: on an ordinary case of every check it agrees, so a record
    of another status there is the harness's doing."""
    p = tmp_path / "o.yaml"
    p.write_text("defaults: {description: d, source: s, op: batch_norm, layout: BF, shape: {B: 3, F: 2}, "
                 "affine: random}\ncases:\n" + "".join(f"  - {{id: {c}, check: {c}}}\n" for c in
                                                       ("forward", "backward", "running_stats", "inference")))
    cases = load_file(p)
    assert [r.status for r in _run_all(tmp_path, cases)] == ["agree"] * len(cases)


def test_largest_knows_every_dtype():
    assert largest("float16") == 65504.0 and math.isclose(largest("bfloat16"), 3.3895313892515355e38)


def test_nested_merges_are_resolved_once(tmp_path):
    """Each level merges the one below ten times: resolved once per mapping, not 10**29 times."""
    lines = ["cases:", "  - &l0 {id: x, description: d, source: s, op: layer_norm, layout: BF, shape: {B: 2, F: 3}}"]
    lines += [f"  - &l{k}\n    <<: [{', '.join([f'*l{k - 1}'] * 10)}]\n    id: x{k}" for k in range(1, 30)]
    p = tmp_path / "bomb.yaml"
    p.write_text("\n".join(lines) + "\n")
    t0 = time.process_time()
    assert len(load_file(p)) == 30
    assert time.process_time() - t0 < 3
    wide = ["cases:", "  - &m {id: x, description: d, source: s, op: layer_norm, layout: BF, shape: {B: 2, F: 3}}"]
    wide += [f"  - {{<<: [{', '.join(['*m'] * 200)}], id: y{k}}}" for k in range(40)]
    p.write_text("\n".join(wide) + "\n")
    with pytest.raises(CaseError, match="more than 5000 values"):
        load_file(p)


def test_the_property_probes_every_case_key():
    """A key added to the schema gets hostile values here (or is one the fuzzer's strategies draw whole)."""
    from harness.fuzz.strategies import CASE_PROPERTIES
    drawn_whole = {"id", "description", "source", "op", "layout", "check", "tags", "skip", "options"}
    assert set(CASE_PROPERTIES) - drawn_whole <= set(HOSTILE), sorted(set(CASE_PROPERTIES) - drawn_whole - set(HOSTILE))
