"""The report (server-side rendering, model, diff) without a browser."""
import html
import re

from harness.cli import main
from harness.report.diff import diff, format_text
from harness.report.html import render
from harness.report.model import build, cell_text
from harness.results import Result, Writer, merge, read

HOSTILE = '<script>alert("x")</script>"onmouseover=alert(1) </table> javascript:alert(1)'


def case(cid, op="group_norm", **kw):
    d = {"id": cid, "description": "d " + HOSTILE, "source": "javascript:alert(1)", "op": op, "layout": "BTF",
         "shape": {"B": 2, "T": 3, "F": 4}, "dtype": "float32", "epsilon": 1e-5, "affine": "ones", "seed": 0,
         "input": {"distribution": "normal", "mean": 0.0, "std": 1.0}, "groups": 2, "axes": None,
         "check": "forward", "tags": [], "file": "cases/x.yaml", "line": 3}
    d.update(kw)
    return d


def res(cid, adapter, status, env="current", **kw):
    kw.setdefault("case", case(cid))
    kw.setdefault("versions", {"fw": "1.0"})
    return Result(case_id=cid, adapter=adapter, env=env, status=status, **kw)


def results_file(path, env, results, adapters=()):
    w = Writer(path, env)
    for name, v in adapters:
        w.adapter(name, v)
    for r in results:
        w.write(r)
    w.close()
    return read(path)


def sample(tmp_path):
    ok = {"max_abs": 1e-7, "max_rel": 1e-7, "max_ulp": 2.0, "atol": 1e-5, "rtol": 1e-5, "n": 24, "n_bad": 0}
    bad = dict(ok, max_abs=1.19, max_ulp=1e7, n_bad=5, worst_index=[0, 1, 2], worst_expected=0.5, worst_actual=1.7)
    rs = [
        res("gn-1", "torch", "agree", metrics=ok, snippet="m = nn.GroupNorm(1, 4)"),
        res("gn-1", "keras-tf", "agree", metrics=ok),
        res("gn-1", "flax-linen", "diverge", metrics=bad, message="diverge " + HOSTILE, snippet=HOSTILE),
        res("gn-2", "flax-linen", "diverge", metrics=dict(bad, max_abs=HOSTILE, atol=HOSTILE), case=case("gn-2")),
        res(HOSTILE, "torch", "error", message="ValueError: " + HOSTILE, traceback="Traceback " + HOSTILE,
            case=case(HOSTILE)),
        res("gn-1", "missing-fw", "unsupported", message="not installed: No module named x"),
    ]
    return results_file(tmp_path / "r.jsonl", "current", rs, [("torch", {"torch": "2.13.0"})])


def test_cell_words_and_numbers():
    assert cell_text(res("a", "t", "agree", metrics={"max_ulp": 3.0}))[:2] == ("agree", "3 ulp")
    assert cell_text(res("a", "t", "diverge", metrics={"max_abs": 1.1912}))[:2] == ("diverge", "1.19")
    assert cell_text(res("a", "t", "error", message="ValueError: bad"))[:2] == ("error", "ValueError")
    assert cell_text(res("a", "t", "unsupported"))[:2] == ("n/a", "")
    assert cell_text(res("a", "t", "crash"))[:2] == ("crash", "")


def test_model_hides_uninstalled_columns_and_finds_the_odd_one_out(tmp_path):
    m = build(merge([sample(tmp_path)]))
    assert [c.key for c in m.columns] == ["torch@current", "keras-tf@current", "flax-linen@current"]
    row = next(r for r in m.rows if r.case_id == "gn-1")
    assert row.disagrees and m.columns[row.odd].adapter == "flax-linen"
    assert m.summary["group_norm"][0]["agree"] == 1
    assert m.charts["group_norm"]


def test_hostile_strings_are_inert_in_the_html(tmp_path):
    page = render(merge([sample(tmp_path)]))
    data_re = r'<script type="application/json" id="data">(.*?)</script>'
    data = re.search(data_re, page, re.S).group(1)
    assert "<" not in data and ">" not in data  # cannot close its script element
    markup = re.sub(data_re, "", page, flags=re.S)
    assert "<script>alert" not in markup
    assert '"onmouseover=' not in markup
    assert "</table> javascript" not in markup
    assert 'href="javascript:' not in markup
    # exactly two script elements: the JSON data and the page script
    assert len(re.findall(r"<script\b", page)) == 2
    assert html.escape("<script>") in markup


def test_report_has_its_sections(tmp_path):
    page = render(merge([sample(tmp_path)]))
    for text in ("<caption>", 'scope="col"', 'scope="row"', 'id="summary"', 'id="charts"', "<svg",
                 'id="disagreements"', 'id="provenance"', "torch 2.13.0", "diverge 1.19", "agree 2 ulp"):
        assert text in page, text


def test_diff_orders_regressions_first_and_names_version_changes(tmp_path):
    ok = {"max_ulp": 1.0, "max_abs": 1e-7}
    old = results_file(tmp_path / "old.jsonl", "current", [
        res("a", "torch", "agree", metrics=ok), res("b", "torch", "diverge", metrics={"max_ulp": 9e6, "max_abs": 1}),
        res("c", "torch", "agree", metrics=ok), res("gone", "torch", "agree", metrics=ok),
        res("e", "torch", "agree", metrics=ok)], [("torch", {"torch": "2.12.0"})])
    new = results_file(tmp_path / "new.jsonl", "current", [
        res("a", "torch", "diverge", metrics={"max_ulp": 9e6, "max_abs": 1}), res("b", "torch", "agree", metrics=ok),
        res("c", "torch", "agree", metrics=ok), res("new", "torch", "agree", metrics=ok),
        res("e", "torch", "agree", metrics={"max_ulp": 4.0, "max_abs": 1e-7})], [("torch", {"torch": "2.13.0"})])
    d = diff(merge([old]), merge([new]))
    assert [c.kind for c in d.changes] == ["regression", "improvement", "numerics", "added", "removed"]
    assert d.unchanged == 1
    assert d.version_changes == {"torch@current": "torch 2.12.0 -> 2.13.0"}
    text = format_text(d, "old", "new")
    assert "a [torch@current]: agree 1 ulp -> diverge 1   [torch 2.12.0 -> 2.13.0]" in text
    page = render(merge([new]), merge([old]))
    assert 'id="diff"' in page and "regression" in page
    assert main(["diff", str(tmp_path / "old.jsonl"), str(tmp_path / "new.jsonl")]) == 0
    assert main(["diff", "--strict", str(tmp_path / "old.jsonl"), str(tmp_path / "new.jsonl")]) == 1


def test_cli_report_writes_the_file(tmp_path, capsys):
    sample(tmp_path)
    out = tmp_path / "out" / "index.html"
    assert main(["report", str(tmp_path), "--out", str(out)]) == 0
    assert out.read_text().startswith("<!doctype html>")
    assert main(["report", str(tmp_path / "nothing-here"), "--out", str(out)]) == 0
    assert "no results" in capsys.readouterr().err
