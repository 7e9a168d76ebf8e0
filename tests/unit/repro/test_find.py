"""normconf repro finds the record and refuses, in one line, what it cannot reproduce."""
import json

import pytest

from harness.repro.find import validated_case
from tests.unit.repro.support import mk, record, repro, tmk


def test_unknown_cell_is_exit_2(tmp_path, capsys):
    results, _ = record(tmp_path, [mk("r-ok2")])
    code, script = repro(tmp_path, results, "no-such-case")
    assert code == 2 and not script.exists()
    assert "no record" in capsys.readouterr().err


@pytest.mark.parametrize("field,value", [("dtype", "float32')\nimport os\n#"), ("groups", "2); import os; ("),
                                         ("layout", "BTF; import os"), ("epsilon", "1e-5); import os; ("),
                                         ("input", {"distribution": "normal", "mean": "0) or __import__('os')",
                                                    "std": 1.0}),
                                         ("axes", "F') + __import__('os').name + ('")])
def test_hostile_record_fields_are_refused(tmp_path, field, value, capsys):
    results, _ = record(tmp_path, [mk("r-bad")])
    recs = [json.loads(ln) for ln in results.read_text().splitlines()]
    for rec in recs:
        if "case" in rec:  # a case record (or a result that carries its case)
            rec["case"][field] = value
    results.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    code, script = repro(tmp_path, results, "r-bad", "--no-shrink")
    assert code == 2 and not script.exists()
    err = capsys.readouterr().err
    # refused by the results reader (the record is skipped) or by the reproducer's own validation
    assert "recorded case" in err or ("bad result record" in err and "no record" in err), err


@pytest.mark.parametrize("field,value,words", [
    ("check", "sideways", "has no check"), ("momentum", 2.0, "momentum must be in"), ("steps", 0, "steps is not"),
    ("steps", "3", "steps is not"), ("momentum", "0.1); import os; (", "momentum is not")])
def test_hostile_training_fields_are_refused(field, value, words):
    d = tmk("h", check="running_stats").to_dict()
    d[field] = value
    with pytest.raises(Exception) as e:
        validated_case(d)
    assert words in str(e.value)


def test_cells_the_adapter_cannot_reproduce_are_one_line(tmp_path, capsys):
    from harness.repro.find import ReproError
    from harness.repro.script_training import check_call

    results, _ = record(tmp_path, [mk("t-fwd")])
    recs = [json.loads(ln) for ln in results.read_text().splitlines()]
    for rec in recs:
        if "case" in rec:
            rec["case"]["check"] = "backward"  # faulty runs forward cells only
    results.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    code, script = repro(tmp_path, results, "t-fwd", "--no-shrink")
    err = capsys.readouterr().err
    assert code == 2 and not script.exists()
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "t-fwd with faulty" in err and "does not run check backward" in err, err
    # an adapter whose reproducer writes a forward call for a backward cell is refused by name
    with pytest.raises(ReproError, match=r"t-b with some-adapter: .* leaves no dx"):
        check_call(tmk("t-b"), "some-adapter", {"call": "y = x * 2"})
