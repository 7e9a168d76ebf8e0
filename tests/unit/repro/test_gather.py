"""Which cell shows a root cause best, the same input elsewhere, and the grouping of unexpected cells."""
from harness.repro.gather import choose, group_key, groups, siblings
from harness.results.read import Merged
from harness.results.record import Result
from tests.unit.repro.support import mk


def cell(cid, adapter="faulty", status="diverge", expl="one-pass variance E[x²]−E[x]² (max abs 0.5)", ratio=10.0,
         check="forward", env="e", msg="", **kw):
    case = mk(cid, check=check, **kw).to_dict()
    fp = {"explanation": expl} if status == "diverge" else None
    return Result(cid, adapter, env, status, case=case, fingerprint=fp, message=msg,
                  metrics={"ratio": ratio, "max_abs": 0.5}, versions={"faulty": "1.0"})


def test_forward_first_then_the_shared_diagnosis_then_the_smallest():
    cells = [cell("big", shape={"B": 4, "T": 5, "F": 16}),
             cell("small", shape={"B": 2, "T": 3, "F": 4}),
             cell("tiny-odd", shape={"B": 1, "T": 2, "F": 2}, expl="epsilon added outside the square root"),
             cell("grad", check="backward", shape={"B": 1, "T": 1, "F": 2})]
    c = choose(cells, runnable=lambda a: True, matches=lambda r: 0)
    assert c.record.case_id == "small"
    assert "forward pass first (3)" in c.how and "dtype (float32) and diagnosis most of them share (2)" in c.how
    assert "smallest input among those (B2xT3xF4, 24 values)" in c.how
    # a diagnosis that names a cause wins over a generic one shared by more cells
    generic = [cell(f"g{i}", expl="no member of the family reproduces the output; the closest is the expected "
                                  f"semantics itself (max abs {i})") for i in range(3)]
    c = choose(generic + [cell("named", shape={"B": 4, "T": 5, "F": 16})], runnable=lambda a: True,
               matches=lambda r: 0)
    assert c.record.case_id == "named"
    # only training cells: said so; nothing runnable here: no choice, and why
    c = choose([cell("grad", check="backward")], runnable=lambda a: True, matches=lambda r: 0)
    assert c.record.case_id == "grad" and "no forward pass shows it: backward ones" in c.how
    c = choose(cells, runnable=lambda a: False, matches=lambda r: 0)
    assert c.record is None and "cannot run them" in c.how and "faulty (e)" in c.how


def test_same_case_on_the_frameworks_other_apis(monkeypatch):
    monkeypatch.setenv("NORMCONF_ADAPTERS", "tests.filing_adapters:SPECS,tests.fault_adapters:SPECS")
    rec = cell("x", adapter="fakefw-layers")
    other = cell("x", adapter="fakefw-stable", status="agree")
    extra = cell("x", adapter="faulty", status="agree")
    unrelated = cell("y", adapter="fakefw-stable", status="agree")
    merged = Merged({}, {}, {r.key: r for r in (rec, other, extra, unrelated)}, [])
    assert [r.adapter for r in siblings(merged, rec)] == ["fakefw-stable"]
    assert [r.adapter for r in siblings(merged, rec, compare=("faulty",))] == ["fakefw-stable", "faulty"]


def test_unexpected_cells_group_by_framework_and_masked_explanation():
    a = cell("a", expl="epsilon 0.001 instead of 1e-05", shape={"B": 3, "T": 3, "F": 4})
    b = cell("b", expl="epsilon 0.01 instead of 1e-05", shape={"B": 1, "T": 2, "F": 2})
    c = cell("c", expl="normalized over {T,F}; the case expects {F}")
    e1 = cell("e1", status="error", msg="ValueError: 3 groups do not divide 4")
    e2 = cell("e2", status="error", msg="ValueError: 2 groups do not divide 5")
    assert group_key(a) == group_key(b) != group_key(c)
    assert group_key(e1) == group_key(e2)
    got = groups([a, b, c, e1, e2])
    assert [[r.case_id for r in g] for g in got] == [["b", "a"], ["c"], ["e1", "e2"]]
