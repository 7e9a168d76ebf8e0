"""Every relation two cells of one case can have, from their records."""
import pytest

from harness.compare import ColumnIndex, compare
from harness.compare.relation import (
    BOTH_DIVERGE,
    BOTH_RAISE,
    DIFFER,
    NEITHER,
    ONLY_A,
    ONLY_B,
    RAISES_ONE,
    SAME,
    SAME_DEVIATION,
)

from .records import ALL_NAN, DIVERGE, case, cell, fingerprint, merged


def relation(tmp_path, a, b, cause_of=None):
    """The relation of the one case of cells ``a`` (adapter torch) and ``b`` (adapter keras-jax; None: no record)."""
    cells = [a] + ([b] if b is not None else [cell("other", "keras-jax", "agree")])
    index = ColumnIndex(merged(tmp_path, cells))
    comp = compare(index, index.select("torch").column, index.select("keras-jax").column, cause_of=cause_of)
    (pair,) = [p for p in comp.pairs if p.case_id == a.case_id]
    return pair


@pytest.mark.parametrize("sa,kwa,sb,kwb,want", [
    ("agree", {}, "agree", {}, SAME),
    ("agree", {}, "diverge", {}, DIFFER),
    ("diverge", {}, "agree", {}, DIFFER),
    ("diverge", {"fingerprint": fingerprint("TF")}, "diverge", {"fingerprint": fingerprint("BTF", "TF")},
     SAME_DEVIATION),
    ("diverge", {"fingerprint": fingerprint("TF")}, "diverge", {"fingerprint": fingerprint("BTF")}, DIFFER),
    ("diverge", {"fingerprint": fingerprint("TF")}, "diverge", {}, BOTH_DIVERGE),
    ("diverge", {}, "diverge", {}, BOTH_DIVERGE),
    ("diverge", {"metrics": ALL_NAN}, "diverge", {"metrics": ALL_NAN}, SAME_DEVIATION),
    ("diverge", {"metrics": ALL_NAN}, "diverge", {"metrics": DIVERGE}, BOTH_DIVERGE),
    ("error", {}, "agree", {}, RAISES_ONE),
    ("diverge", {}, "crash", {}, RAISES_ONE),
    ("error", {}, "timeout", {}, BOTH_RAISE),
    ("agree", {}, "unsupported", {}, ONLY_A),
    ("skipped", {"message": "skipped: slow"}, "diverge", {}, ONLY_B),
    ("unsupported", {}, "skipped", {}, NEITHER),
])
def test_each_relation(tmp_path, sa, kwa, sb, kwb, want):
    pair = relation(tmp_path, cell("c1", "torch", sa, **kwa), cell("c1", "keras-jax", sb, **kwb))
    assert pair.relation == want
    assert (pair.a.status, pair.b.status) == (sa, sb)


def test_a_case_one_column_has_no_record_of_is_only_on_the_other(tmp_path):
    pair = relation(tmp_path, cell("c1", "torch", "diverge"), None)
    assert pair.relation == ONLY_A and pair.b.status == "missing"


def test_different_declared_causes_make_two_divergences_differ(tmp_path):
    causes = {"torch": "torch-one-pass", "keras-jax": "keras-float32"}

    def cause_of(r):
        return causes[r.adapter]
    pair = relation(tmp_path, cell("c1", "torch", "diverge"), cell("c1", "keras-jax", "diverge"), cause_of)
    assert pair.relation == DIFFER and "torch-one-pass" in pair.note and pair.a.cause == "torch-one-pass"
    causes["keras-jax"] = "torch-one-pass"  # one cause: how the two outputs relate is still unknown
    (tmp_path / "again").mkdir()
    pair = relation(tmp_path / "again", cell("c1", "torch", "diverge"), cell("c1", "keras-jax", "diverge"), cause_of)
    assert pair.relation == BOTH_DIVERGE and "torch-one-pass" in pair.note


def test_a_cause_object_gives_its_id_and_name(tmp_path):
    class Cause:
        id, name = "keras-float64-as-float32", "Keras computes float64 in float32"
    pair = relation(tmp_path, cell("c1", "torch", "agree"), cell("c1", "keras-jax", "diverge"), lambda r: Cause)
    assert (pair.b.cause, pair.b.cause_name) == (Cause.id, Cause.name)
    assert pair.a.cause == ""  # agreeing cells are not asked for a cause


def test_expected_raises_are_the_same_and_a_wrong_exception_differs(tmp_path):
    c = case("c1", op="group_norm", groups=4, expect={"raises": "ValueError", "message": "divisible"})
    pair = relation(tmp_path, cell("c1", "torch", "agree", c=c, metrics={"raised": "ValueError: not divisible"}),
                    cell("c1", "keras-jax", "diverge", c=c,
                         metrics={"expected_error": "raised RuntimeError: bad; the case expects ValueError"}))
    assert pair.relation == DIFFER
    assert pair.a.raised.startswith("ValueError") and "expects ValueError" in pair.b.expected_error
    j = pair.to_json()
    assert j["a"]["raised"] and j["b"]["expected_error"] and j["params"].startswith("op=group_norm")


def test_side_figures_and_explanation_come_from_the_record(tmp_path):
    fp = fingerprint("TF", explanation="normalized over {T,F}; the case expects {F}")
    pair = relation(tmp_path, cell("c1", "torch", "agree"), cell("c1", "keras-jax", "diverge", fingerprint=fp))
    assert (pair.b.error, pair.b.allowed, pair.b.ratio) == (DIVERGE["max_abs"], DIVERGE["allowed"], DIVERGE["ratio"])
    assert pair.b.explanation == fp["explanation"]
    assert pair.note == "A agrees with the reference, B diverges"
