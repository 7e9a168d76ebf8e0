"""Given affine values (``affine: {gamma: ..., beta: ...}``) and framework options (``options:``): the
schema's one-line refusals, grids and ids, the inputs they make, and their round trip through records."""

import numpy as np
import pytest

from harness import ops
from harness.adapters.base import Adapter
from harness.cases.inputs import STREAM_BETA, STREAM_GAMMA, make_inputs, rng
from harness.cases.load import CaseError, load_file
from harness.cases.model import AffineValues, Case, ParamValues, params_text
from harness.repro.shrink import refusal
from harness.results.validate import _CASE_TYPES
from tests.unit.cases.casefile import BASE, load_one


def load(tmp_path, op="layer_norm", extra=""):
    return load_one(tmp_path, op=op, layout="BTF", shape="{B: 2, T: 3, F: 4}", extra=extra, display="c.yaml")


def refused(tmp_path, extra, op="layer_norm") -> str:
    with pytest.raises(CaseError) as e:
        load(tmp_path, op, extra)
    return str(e.value)


# --- refusals: one line, file, line and key ---------------------------------------------------------

@pytest.mark.parametrize("extra, op, where, words", [
    ("affine: {gamma: [1, 2, 3]}", "layer_norm", "c.yaml:9: key 'affine.gamma'", "3 values for 4 parameters"),
    ("affine: {beta: 1.0}", "rms_norm", "c.yaml:9: key 'affine.beta'", "rms_norm has no bias"),
    ("affine: {gamma: 2.0, beta: 1.0}", "layer_norm_no_bias", "c.yaml:9: key 'affine.beta'", "has no bias"),
    ("affine: {delta: 1.0}", "layer_norm", "c.yaml:9: key 'delta'", "unknown key (allowed: beta, gamma)"),
    ("affine: {gamma: {distribution: normal, mean: 1.0}}", "layer_norm", "key 'affine.gamma'",
     "'std' is a required property"),
    ("affine: {gamma: {distribution: uniform, mean: 1.0, low: 0.0, high: 1.0}}", "layer_norm",
     "key 'affine.gamma'", "uniform takes low and high, not mean"),
    ("affine: {gamma: {magnitude: 0}}", "layer_norm", "key 'affine.gamma.magnitude'", "less than or equal"),
    ("affine: {gamma: 1.0e+5}\ndtype: float16", "layer_norm", "key 'affine.gamma'", "do not fit float16"),
    ("affine: {}", "layer_norm", "key 'affine'", "non-empty"),
    ("affine: wild", "layer_norm", "key 'affine'", "'wild' is not one of"),
    ("options: {use_fast_varianc: false}", "layer_norm", "c.yaml:9: key 'use_fast_varianc'", "unknown key"),
    ("options: {use_fast_variance: 3}", "layer_norm", "key 'options.use_fast_variance'", "not of type 'boolean'"),
    ("options: {stash_type: 2}", "layer_norm", "key 'options.stash_type'", "is not one of [1, 10, 11, 16]"),
    ("options: {algorithm: precise}", "layer_norm", "key 'options.algorithm'", "is not one of"),
])
def test_refusals_name_the_line_and_key(tmp_path, extra, op, where, words):
    msg = refused(tmp_path, extra, op)
    assert where in msg and words in msg and "\n" not in msg, msg


def test_a_grid_value_is_refused_at_its_own_line(tmp_path):
    msg = refused(tmp_path, "affine:\n  - ones\n  - gamma: [1.0, 2.0]")
    assert msg.startswith("c.yaml:11: key 'affine.gamma': 2 values for 4 parameters"), msg


# --- grids and ids ----------------------------------------------------------------------------------

def test_grids_and_ids_name_the_values(tmp_path):
    cases = load(tmp_path, extra="""\
        affine: [ones, {gamma: 2.0}, {gamma: 1.0e+10, beta: 0.5}, {gamma: [1.0, 2.0, 3.0, 4.0]},
                 {beta: {distribution: normal, mean: 1.0, std: 0.5}}, {gamma: {magnitude: 1.0e-20}}]""")
    ids = [c.id for c in cases]
    assert ids[:3] == ["c-affine-ones-eps1e-05-float32", "c-affine-g2-eps1e-05-float32",
                       "c-affine-g1e10-b0.5-eps1e-05-float32"]
    assert ids[3].startswith("c-affine-glist4-") and len(ids[3].split("-")[3]) == 8
    assert ids[4:] == ["c-affine-bnormal-mean1-std0.5-eps1e-05-float32", "c-affine-gmag1e-20-eps1e-05-float32"]
    assert [c.sets_affine for c in cases] == [False] + [True] * 5
    # a single given value is named too (ones is not a grid here, so it is not)
    (one,) = load(tmp_path, extra="affine: {gamma: -2.0}")
    assert one.id == "c-affine-g-2-eps1e-05-float32"
    (plain,) = load(tmp_path, extra="affine: ones")
    assert plain.id == "c-eps1e-05-float32"


def test_two_lists_differ_in_their_digest():
    a, b = ParamValues.parse([1.0, 2.0]), ParamValues.parse([2.0, 1.0])
    assert a.token() != b.token() and a.token().startswith("list2-")


def test_options_are_always_named_and_grid(tmp_path):
    cases = load(tmp_path, extra="options: [{use_fast_variance: false}, {algorithm: stable, use_fast_variance: true}]")
    assert [c.id for c in cases] == [
        "c-eps1e-05-float32-opt-use_fast_variance-false",
        "c-eps1e-05-float32-opt-algorithm-stable-opt-use_fast_variance-true"]
    assert cases[1].option_spec == {"algorithm": "stable", "use_fast_variance": True}
    (one,) = load(tmp_path, extra="options: {stash_type: 11}")
    assert one.id.endswith("-opt-stash_type-11") and one.options == (("stash_type", 11),)


def test_every_option_of_the_registry_has_a_schema_token_and_meaning():
    for name, o in ops.OPTIONS.items():
        assert o.name == name and o.schema and o.meaning
        assert o.token(True if o.schema.get("type") == "boolean" else o.schema["enum"][0]).startswith(f"opt-{name}-")


# --- inputs -----------------------------------------------------------------------------------------

def test_inputs_of_given_values(tmp_path):
    c_const, c_list, c_norm, c_mag = load(tmp_path, extra="""\
        affine: [{gamma: 1.0e+10, beta: 0.5}, {gamma: [1.0, -2.0, 3.0, 0.0]},
                 {beta: {distribution: normal, mean: 1.0, std: 0.5}}, {gamma: {magnitude: 1000.0}}]
        seed: 4""")
    i = make_inputs(c_const)
    assert np.all(i.gamma == np.float32(1e10)) and np.all(i.beta == 0.5) and i.gamma.dtype == np.float32
    i = make_inputs(c_list)  # the parameters' layout order; a missing beta is zeros
    assert i.gamma.tolist() == [1.0, -2.0, 3.0, 0.0] and np.all(i.beta == 0)
    i = make_inputs(c_norm)  # a missing gamma is ones; beta drawn on its own stream
    want = (1.0 + 0.5 * rng(4, STREAM_BETA).standard_normal(4)).astype(np.float32)
    assert np.all(i.gamma == 1) and np.array_equal(i.beta, want)
    i = make_inputs(c_mag)  # |value| in [m, 2m), mixed signs, on gamma's stream
    u = rng(4, STREAM_GAMMA).uniform(-1.0, 1.0, 4)
    assert np.array_equal(i.gamma, np.copysign(1000.0 * (1 + np.abs(u)), u).astype(np.float32))
    assert np.all((np.abs(i.gamma) >= 1000) & (np.abs(i.gamma) < 2000))


def test_a_list_follows_the_layout_order_of_several_affine_axes(tmp_path):
    (c,) = load(tmp_path, extra="axes: TF\naffine: {gamma: [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]}")
    g = make_inputs(c).gamma
    assert g.shape == (3, 4) and g[1, 0] == 5.0 and g[2, 3] == 12.0


def test_magnitude_signs_are_mixed():
    from harness.cases.inputs import param_values
    v = param_values(ParamValues("magnitude", (1e-20,)), (1000,), 0, STREAM_GAMMA, 1.0)
    assert (v > 0).any() and (v < 0).any() and np.all((np.abs(v) >= 1e-20) & (np.abs(v) < 2e-20))


def test_no_beta_for_an_op_without_a_bias(tmp_path):
    (c,) = load(tmp_path, op="rms_norm", extra="affine: {gamma: -3.0}")
    i = make_inputs(c)
    assert i.beta is None and np.all(i.gamma == -3)


# --- records, text, shrinking -------------------------------------------------------------------------

def test_round_trip_through_records(tmp_path):
    cases = load(tmp_path, extra="""\
        affine: [random, {gamma: [1.0, 2.0, 3.0, 4.0], beta: {distribution: uniform, low: -1.0, high: 1.0}},
                 {gamma: {magnitude: 1.0e+10}}]
        options: {use_fast_variance: false}""")
    for c in cases:
        d = c.to_dict()
        assert all(check(d[k]) for k, check in _CASE_TYPES.items() if k in d), d
        back = Case.from_dict(d)
        assert back == c and make_inputs(back).gamma.tolist() == make_inputs(c).gamma.tolist()
    assert cases[1].to_dict()["affine"] == {"gamma": [1.0, 2.0, 3.0, 4.0],
                                            "beta": {"distribution": "uniform", "low": -1.0, "high": 1.0}}
    assert cases[0].to_dict()["options"] == {"use_fast_variance": False}
    # a case without options records none (old records stay as they were)
    (plain,) = load(tmp_path)
    assert "options" not in plain.to_dict() and plain.to_dict()["affine"] == "ones"


def test_records_refuse_malformed_affine_values():
    check = _CASE_TYPES["affine"]
    assert check("random") and check({"gamma": 2.0}) and check({"beta": [1.0, 2.0]})
    assert not check({}) and not check({"delta": 1.0}) and not check({"gamma": []}) and not check({"gamma": None})
    assert not check({"gamma": float("nan")}) and not check(3)


def test_params_text_shows_values_and_options(tmp_path):
    (c,) = load(tmp_path, extra="affine: {gamma: 1.0e+10, beta: 0.5}\noptions: {use_fast_variance: false}")
    text = params_text(c.to_dict())
    assert "affine={gamma:1e+10,beta:0.5}" in text and "options=use_fast_variance:false" in text
    assert str(AffineValues.parse({"gamma": {"magnitude": 2.0}})) == "{gamma:magnitude(2)}"


def test_shrinking_keeps_given_values(tmp_path):
    values, listed = load(tmp_path, extra="affine: [{gamma: 1.0e+10}, {gamma: [1.0, 2.0, 3.0, 4.0]}]")
    import dataclasses
    assert "must stay" in refusal(dataclasses.replace(values, affine="random"), values)
    assert refusal(dataclasses.replace(values, sizes=(("B", 1), ("T", 3), ("F", 4))), values) == ""
    smaller = dataclasses.replace(listed, sizes=(("B", 2), ("T", 3), ("F", 2)))
    assert "fixes the parameters' shape" in refusal(smaller, listed)


# --- adapters: options they do not declare ------------------------------------------------------------

class _Declares(Adapter):
    name = "declares"
    ops = frozenset({"layer_norm", "rms_norm"})
    options = {"layer_norm": frozenset({"use_fast_variance"})}


def test_a_case_with_an_undeclared_option_is_unsupported(tmp_path):
    (c,) = load(tmp_path, extra="options: {use_fast_variance: false}")
    assert _Declares().supports(c) is None
    (r,) = load(tmp_path, op="rms_norm", extra="options: {use_fast_variance: false}")
    assert _Declares().supports(r) == "declares has no option use_fast_variance"
    (s,) = load(tmp_path, extra="options: {stash_type: 11}")
    assert _Declares().supports(s) == "declares has no option stash_type"


def test_list_lengths_follow_the_parameter_shape_of_each_grid_point(tmp_path):
    # F takes two sizes: a list fits one of them only, and the other grid point is refused
    p = tmp_path / "g.yaml"
    p.write_text(BASE.format(op="layer_norm", layout="BTF", shape="{B: 2, T: 3, F: [4, 5]}", extra="")
                 + "    affine: {gamma: [1.0, 2.0, 3.0, 4.0]}\n")
    with pytest.raises(CaseError) as e:
        load_file(p, display="g.yaml")
    assert str(e.value).startswith("g.yaml:10: key 'affine.gamma': 4 values for 5 parameters"), str(e.value)


def test_the_reproducer_rebuilds_given_values(tmp_path):
    from harness.repro.script import common, inputs_block
    cases = load(tmp_path, op="layer_norm", extra="""\
        affine: [{gamma: 1.0e+10, beta: 0.5}, {gamma: [1.0, -2.0, 3.0, 0.0], beta: {distribution: uniform, low: -1.0, high: 1.0}},
                 {gamma: {magnitude: 1.0e-3}, beta: {distribution: normal, mean: 1.0, std: 2.0}}, random]
        seed: 9""")
    for c in cases:
        ns = {}
        exec("import numpy as np\n" + common(c.dtype) + "\n" + inputs_block("INPUTS", c), ns)  # noqa: S102
        x, g, b = ns["make_inputs"](ns["INPUTS"])
        want = make_inputs(c)
        assert np.array_equal(x, want.x) and np.array_equal(g, want.gamma) and np.array_equal(b, want.beta), c.id


def test_a_recorded_case_with_values_and_options_is_validated(tmp_path):
    from harness.repro.find import ReproError, validated_case
    (c,) = load(tmp_path, extra="affine: {gamma: [1.0, 2.0, 3.0, 4.0], beta: 0.5}\noptions: {algorithm: stable}")
    assert validated_case(c.to_dict()) == c
    for bad, words in ((dict(c.to_dict(), affine={"gamma": [1.0, 2.0]}), "recorded case"),
                       (dict(c.to_dict(), affine={"gamma": "x"}), "bad affine"),
                       (dict(c.to_dict(), options={"algorithm": "precise"}), "bad options"),
                       (dict(c.to_dict(), op="rms_norm"), "no bias")):
        with pytest.raises(ReproError, match=words):
            validated_case(bad)
