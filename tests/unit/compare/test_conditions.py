"""Separating conditions: exact literals, conjunctions, disjunctions with explicit grouping, inexact bests."""
import itertools

from harness.compare import ColumnIndex, compare
from harness.compare.conditions import features, separate

from .records import case, cell, merged


def grid(**axes):
    """Case dicts for every combination of the given parameters."""
    keys = list(axes)
    out = []
    for i, values in enumerate(itertools.product(*axes.values())):
        kw = dict(zip(keys, values))
        out.append(case(f"c{i}", **kw))
    return out


def split(cases, differ):
    items = [features(c) for c in cases]
    return separate(items, [differ(c) for c in cases])


def test_an_exact_single_literal():
    cases = grid(dtype=["float16", "float32", "float64"], layout=["BTF", "NCHW"], affine=["ones", "random"])
    sep = split(cases, lambda c: c["dtype"] == "float16")
    assert sep.text == "differ exactly when dtype=float16"
    assert [c.exact for c in sep.conditions] == [True] * len(sep.conditions)
    assert (sep.differing, sep.alike) == (4, 8)


def test_a_negated_literal_where_a_key_has_three_values():
    cases = grid(dtype=["float16", "float32", "float64"], layout=["BTF", "NCHW"])
    assert split(cases, lambda c: c["dtype"] != "float32").text == "differ exactly when dtype≠float32"


def test_an_exact_conjunction():
    cases = grid(dtype=["float16", "float32"], layout=["BTF", "NCHW"], affine=["ones", "random"])
    sep = split(cases, lambda c: c["dtype"] == "float16" and c["layout"] == "NCHW")
    assert sep.text == "differ exactly when layout=NCHW and dtype=float16"
    assert sep.conditions[0].size == 2


def test_a_disjunction_groups_its_conjunctions_explicitly():
    cases = grid(dtype=["float16", "float32", "float64"], layout=["BTF", "NCHW"], affine=["ones", "random"])
    sep = split(cases, lambda c: c["dtype"] == "float16" or (c["layout"] == "NCHW" and c["affine"] == "random"))
    assert sep.text == "differ exactly when dtype=float16, or (layout=NCHW and affine=random)"
    best = sep.conditions[0]
    assert best.exact and best.terms[0][0].text == "dtype=float16" and len(best.terms) == 2
    assert sep.to_json()["conditions"][0]["terms"] == [["dtype=float16"], ["layout=NCHW", "affine=random"]]


def test_without_an_exact_separation_the_best_come_with_their_counts():
    # five cases of each parameter set (same parameters, other ids): one float16 case is alike and one
    # float32 case differs, so no condition on the parameters can be exact
    cases = [dict(c, id=f"{c['id']}-{k}") for k in range(5) for c in grid(dtype=["float16", "float32"],
                                                                          layout=["BTF", "NCHW"])]
    odd = {"c0-0", "c3-0"}

    def differ(c):
        return (c["dtype"] == "float16") != (c["id"] in odd)
    sep = split(cases, differ)
    best = sep.conditions[0]
    assert not best.exact and best.errors == 2
    assert best.text == "differ in 9 of 10 cases with dtype=float16; same in 9 of 10 others"
    assert 1 <= len(sep.conditions) <= 3
    assert [c.errors for c in sep.conditions] == sorted(c.errors for c in sep.conditions)
    assert all(c.errors < 10 for c in sep.conditions)  # better than "always" or "never"


def test_nothing_to_separate():
    cases = grid(dtype=["float16", "float32"])
    assert split(cases, lambda c: False).text == "never differ"
    assert split(cases, lambda c: True).text == "differ in every compared case"
    assert separate([], []).text == "no case was compared on both columns"
    # two cases with the same parameters, one differing: no condition can tell them apart
    same = [case("a"), case("b")]
    sep = split(same, lambda c: c["id"] == "a")
    assert sep.conditions == [] and sep.text.startswith("no condition on the case parameters")


def test_the_search_is_deterministic_whatever_the_order_of_the_cases():
    cases = grid(dtype=["float16", "float32", "float64"], layout=["BTF", "NCHW"], affine=["ones", "random"])

    def differ(c):
        return c["dtype"] == "float64" or (c["layout"] == "BTF" and c["affine"] == "ones")
    texts = split(cases, differ).texts()
    assert split(list(reversed(cases)), differ).texts() == texts
    assert split(cases, differ).texts() == texts


def test_parameters_come_from_the_case_fields_generically():
    c = case("x", epsilon=None, tolerance={"factor": 20, "reason": "r"}, tags=["overflow", "fuzz"],
             description="d" * 200, expect={"raises": "ValueError", "message": ["divisible", "multiple"]},
             new_key="anything")
    f = {k: t for k, (_, t) in features(c).items()}
    assert f["epsilon"] == "default" and f["groups"] == "unset" and f["axes"] == "unset"
    assert f["shape"] == "B2xT3xF4" and f["shape.T"] == "3"
    assert f["input.mean"] == "0" and f["input.distribution"] == "normal"
    assert f["tolerance.factor"] == "20" and f["tags"] == "overflow,fuzz" and f["new_key"] == "anything"
    assert f["expect.raises"] == "ValueError" and f["expect.message"] == "divisible,multiple"
    for identity in ("id", "description", "source", "file", "line"):
        assert identity not in f
    assert features(case("y", epsilon=1e-3))["epsilon"][1] == "0.001"


def test_a_key_a_case_lacks_is_unset_for_it():
    cases = [case("a", layout="BF", shape={"B": 2, "F": 4}), case("b"), case("c", shape={"B": 2, "T": 1, "F": 4})]
    sep = split(cases, lambda c: c["id"] == "a")
    assert sep.text == "differ exactly when layout=BF"
    sep = split(cases, lambda c: c["id"] == "c")
    assert sep.conditions[0].exact and sep.conditions[0].formula in ("shape=B2xT1xF4", "shape.T=1")


def test_compare_finds_the_same_conditions_as_separate(tmp_path):
    cases = grid(dtype=["float16", "float32", "float64"], layout=["BTF", "NCHW"], affine=["ones", "random"])
    cells = []
    for c in cases:
        bad = c["dtype"] == "float16" or (c["layout"] == "NCHW" and c["affine"] == "random")
        cells += [cell(c["id"], "torch", "agree", c=c), cell(c["id"], "keras-jax", "diverge" if bad else "agree", c=c)]
    cells.append(cell("other", "torch", "agree", c=case("other", op="rms_norm", dtype="float16")))
    index = ColumnIndex(merged(tmp_path, cells))
    comp = compare(index, index.select("torch").column, index.select("keras-jax").column, op="layer_norm")
    assert comp.separation.text == "differ exactly when dtype=float16, or (layout=NCHW and affine=random)"
    assert comp.counts["differ"] == 6 and comp.counts["same"] == 6 and len(comp.pairs) == 12
    everything = compare(index, index.select("torch").column, index.select("keras-jax").column)
    assert everything.counts["only A"] == 1 and everything.separation.texts() == comp.separation.texts()
