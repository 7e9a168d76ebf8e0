"""The report's entry point: one pair of columns as a small JSON-able summary."""
import json

from harness.compare import NOTE, ColumnIndex, summary

from .records import case, cell, merged


def test_a_summary_is_json_with_counts_conditions_and_differing_ids(tmp_path):
    cells = []
    for dtype in ("float16", "float32"):
        for i in range(3):
            c = case(f"c{i}-{dtype}", dtype=dtype, seed=i)
            cells += [cell(c["id"], "torch", "agree", c=c),
                      cell(c["id"], "flax-linen", "error" if dtype == "float16" else "agree", c=c)]
    cells.append(cell("only-torch", "torch", "agree"))
    index = ColumnIndex(merged(tmp_path, cells))
    s = summary(index, index.select("torch").column, index.select("flax").column)
    json.dumps(s, allow_nan=False)
    assert set(s) == {"a", "b", "op", "counts", "conditions", "exact", "differing", "note"}
    assert (s["a"], s["b"], s["op"], s["note"]) == ("torch@current", "flax-linen@current", None, NOTE)
    assert s["counts"]["same"] == 3 and s["counts"]["raises on one side"] == 3 and s["counts"]["only A"] == 1
    assert s["conditions"] == ["differ exactly when dtype=float16"] and s["exact"] is True
    assert s["differing"] == [{"case_id": f"c{i}-float16", "relation": "raises on one side"} for i in range(3)]
    same = summary(index, index.select("torch").column, index.select("flax").column, op="rms_norm")
    assert same["counts"] == {r: 0 for r in same["counts"]} and same["conditions"] == [
        "no case was compared on both columns"] and same["differing"] == []
