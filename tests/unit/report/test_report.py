"""The report (server-side rendering, model, diff) without a browser."""
import html
import re

from harness.cli import main
from harness.report.cells import cell_text, ulp_meaningful
from harness.report.claims_view import safe_href, safe_url
from harness.report.diff import diff, format_text
from harness.report.details import rerun_command, worst_text
from harness.report.html import chart_geometry, render
from harness.report.model import BoxStats, Column, build
from harness.results.parts import Metrics
from harness.results.read import merge, read
from harness.results.record import Result
from harness.results.write import Writer

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
        res("gn-2", "flax-linen", "diverge", metrics=dict(bad, nonfinite=HOSTILE, rule=HOSTILE, output_dtype=HOSTILE),
            fingerprint={"explanation": HOSTILE, "best": {"stat_axes": HOSTILE}}, case=case("gn-2")),
        res(HOSTILE, "torch", "error", message="ValueError: " + HOSTILE, traceback="Traceback " + HOSTILE,
            case=case(HOSTILE)),
        res("gn-1", "missing-fw", "unsupported", message="not installed: No module named x", absent="not installed"),
    ]
    return results_file(tmp_path / "r.jsonl", "current", rs, [("torch", {"torch": "2.13.0"})])


def test_cell_words_and_numbers():
    assert cell_text(res("a", "t", "agree", metrics={"max_ulp": 3.0}))[:2] == ("agree", "")
    assert cell_text(res("a", "t", "diverge", metrics={"max_abs": 1.1912}))[:2] == ("diverge", "1.2 abs")
    assert cell_text(res("a", "t", "error", message="ValueError: bad"))[:2] == ("error", "ValueError")
    assert cell_text(res("a", "t", "unsupported"))[:2] == ("n/a", "")
    assert cell_text(res("a", "t", "crash"))[:2] == ("crash", "")


def test_ulp_is_reported_only_where_it_measures_precision():
    # 0 vs -1.39e-17 in float64 is ~4.4e18 ULP apart: a harmless difference at zero
    at_zero = {"max_abs": 1.39e-17, "max_ulp": 4404038610860739584.0, "floor": 1e-10}
    assert not ulp_meaningful(Metrics.from_dict(at_zero), "float64")
    r = res("a", "t", "agree", metrics=at_zero, case=case("a", dtype="float64"))
    assert cell_text(r)[:2] == ("agree", "1.4e-17 abs")
    # ordinary float32 output of order one: 1e-7 is about one ULP at 1.0
    ok = {"max_abs": 2.4e-7, "max_ulp": 2.0, "floor": 1e-5}
    assert ulp_meaningful(Metrics.from_dict(ok), "float32")
    assert cell_text(res("a", "t", "agree", metrics=ok))[:2] == ("agree", "2.4e-7 abs")
    # an element just above the tolerance in magnitude can have many ULP: still meaningful
    small = {"max_abs": 1e-9, "max_ulp": 300.0, "floor": 1e-5}
    assert ulp_meaningful(Metrics.from_dict(small), "float32")


def test_worst_element_at_full_precision_with_its_difference():
    m = {"worst_index": [1, 2, 0], "worst_expected": -2.757000113, "worst_actual": -2.7570681}
    text = worst_text(Metrics.from_dict(m), "BTF")
    assert text == "at [B=1, T=2, F=0]: expected -2.757000113, got -2.7570681 (difference 6.8e-05)"


def test_charts_clip_outliers_to_a_sane_range():
    col = Column(0, "torch", "current", {})
    sane = BoxStats(col, 10, 0.0, 1.0, 2.0, 4.0, 30.0, 0, 0)
    wild = BoxStats(col, 10, 0.0, 1.0, 3.0, 8.0, 4.4e18, 0, 2)
    g = chart_geometry([sane, wild])
    assert g["ticks"][-1]["label"] == "1e3"  # two decades above the largest box, not 19
    assert [r["clipped"] for r in g["rows"]] == [False, True]
    assert g["rows"][1]["hi"] == g["width"]


def test_only_http_and_relative_urls_become_links():
    for bad in ("javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:alert(1)", "java\nscript:alert(1)",
                " javascript:alert(1)", "\x01javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
                "vbscript:msgbox", "//evil.example", "/\\evil.example", "https:/\\evil.example", "file:///etc/passwd"):
        assert safe_href(bad) == "", repr(bad)
        assert safe_url(bad) == "", repr(bad)
    assert safe_href("https://pytorch.org/docs") == "https://pytorch.org/docs"
    assert safe_href("../cases/x.yaml") == "../cases/x.yaml"
    assert safe_url("https://arxiv.org/abs/1803.08494 Sec. 3") == "https://arxiv.org/abs/1803.08494"
    assert safe_url("cases/x.yaml") == ""  # a source is linked only when it is an address


def test_sources_link_only_when_safe_in_the_page(tmp_path):
    rs = [res("s-ok", "torch", "diverge", metrics={"max_abs": 1.0, "atol": 1e-5, "rtol": 1e-5, "max_ulp": 1e7},
              case=case("s-ok", source="https://example.org/doc Sec. 2")),
          res("s-tab", "torch", "diverge", metrics={"max_abs": 1.0, "atol": 1e-5, "rtol": 1e-5, "max_ulp": 1e7},
              case=case("s-tab", source="java\tscript:alert(1)")),
          res("s-data", "torch", "diverge", metrics={"max_abs": 1.0, "atol": 1e-5, "rtol": 1e-5, "max_ulp": 1e7},
              case=case("s-data", source="data:text/html,x"))]
    page = render(merge([results_file(tmp_path / "r.jsonl", "current", rs)]))
    hrefs = re.findall(r'href="([^"#][^"]*)"', page)
    assert "https://example.org/doc" in hrefs
    assert all(h.startswith(("https://", "http://")) or not re.match(r"^[a-z]+:", h, re.I) for h in hrefs), hrefs
    assert "java\tscript:alert(1)" in page and "data:text/html,x" in page  # shown as text


def test_rerun_command_quotes_ids_for_the_shell():
    assert rerun_command("gn-btf-g1-float32", "torch", "current") == \
        "normconf run --env-name current -k gn-btf-g1-float32 --adapters torch"
    assert rerun_command("x'; rm -rf ~", "torch", "current").endswith("-k 'x'\"'\"'; rm -rf ~' --adapters torch")


def test_model_hides_uninstalled_columns_and_finds_the_odd_one_out(tmp_path):
    m = build(merge([sample(tmp_path)]))
    assert [c.key for c in m.columns] == ["torch@current", "keras-tf@current", "flax-linen@current"]
    row = next(r for r in m.rows if r.case_id == "gn-1")
    assert row.disagrees and row.odd == "Flax"
    assert m.summary["group_norm"][0]["agree"] == 1
    assert m.charts["group_norm"]


def test_odd_one_out_counts_frameworks_not_columns(tmp_path):
    ok = {"max_abs": 1e-7, "max_ulp": 1.0, "atol": 1e-5, "rtol": 1e-5}
    bad = dict(ok, max_abs=6.8e-5, max_ulp=600.0)
    rs = [res("both-torch", "torch", "diverge", metrics=bad), res("both-torch", "torch-functional", "diverge", metrics=bad),
          res("both-torch", "keras-tf", "agree", metrics=ok), res("both-torch", "flax-linen", "agree", metrics=ok),
          res("both-torch", "jax", "agree", metrics=ok),
          res("two-fw", "torch", "diverge", metrics=bad), res("two-fw", "flax-linen", "diverge", metrics=bad),
          res("two-fw", "keras-tf", "agree", metrics=ok), res("two-fw", "jax", "agree", metrics=ok)]
    m = build(merge([results_file(tmp_path / "r.jsonl", "current", rs)]))
    odd = {r.case_id: r.odd for r in m.rows}
    assert odd == {"both-torch": "PyTorch", "two-fw": None}


def test_disagreements_group_by_explanation_and_framework(tmp_path):
    bad = {"max_abs": 1e-8, "max_ulp": 1e8, "atol": 1e-10, "rtol": 1e-10}
    f32 = "the expected semantics at float32 precision (max abs {}): the float64 result was computed in float32"
    rs = [res(f"c{i}", a, "diverge", metrics=bad, case=case(f"c{i}", dtype="float64"),
              fingerprint={"explanation": f32.format(v)})
          for i, v in enumerate(("9.6e-08", "5.9e-08", "1.2e-07")) for a in ("keras-jax", "keras-torch")]
    rs.append(res("c0", "torch", "diverge", metrics=bad, fingerprint={"explanation": f32.format("1e-08")}))
    rs.append(res("c1", "torch", "diverge", metrics=bad, fingerprint={"explanation": "normalized over {T,F}; the case expects {F}"}))
    m = build(merge([results_file(tmp_path / "r.jsonl", "current", rs)]))
    sizes = [(c.framework, len(c.cells)) for c in m.causes]
    assert sizes == [("Keras 3", 6), ("PyTorch", 1), ("PyTorch", 1)]
    assert m.causes[0].varies
    again = build(merge([results_file(tmp_path / "r2.jsonl", "current", list(reversed(rs)))]))
    assert [c.id for c in again.causes][0] == m.causes[0].id  # stable across rebuilds
    page = render(merge([results_file(tmp_path / "r3.jsonl", "current", rs)]))
    assert f'id="cause-{m.causes[0].id}"' in page and "6 cells" in page


def test_hostile_strings_are_inert_in_the_html(tmp_path):
    page = render(merge([sample(tmp_path)]))
    data_re = r'<script type="application/json" id="(?:data|port-data)">(.*?)</script>'
    blocks = re.findall(data_re, page, re.S)
    assert len(blocks) == 2
    for data in blocks:
        assert "<" not in data and ">" not in data  # cannot close its script element
    markup = re.sub(data_re, "", page, flags=re.S)
    assert "<script>alert" not in markup
    assert '"onmouseover=' not in markup
    assert "</table> javascript" not in markup
    assert 'href="javascript:' not in markup
    # exactly three script elements: the two JSON data blocks and the page script
    assert len(re.findall(r"<script\b", page)) == 3
    assert html.escape("<script>") in markup


def test_report_has_its_sections(tmp_path):
    page = render(merge([sample(tmp_path)]))
    for text in ("<caption>", 'scope="col"', 'scope="row"', 'id="summary"', 'id="charts"', "<svg",
                 'id="causes"', 'id="top"', '<main>', 'id="provenance"', "torch 2.13.0", "diverge 1.2 abs", "agree 1e-7 abs"):
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
        res("e", "torch", "agree", metrics={"max_ulp": 4.0, "max_abs": 5e-7})], [("torch", {"torch": "2.13.0"})])
    d = diff(merge([old]), merge([new]))
    assert [c.kind for c in d.changes] == ["regression", "improvement", "numerics", "added", "removed"]
    assert d.unchanged == 1
    assert d.version_changes == {"torch@current": "torch 2.12.0 -> 2.13.0"}
    text = format_text(d, "old", "new")
    assert ("with torch 2.12.0 -> 2.13.0 (torch@current): 1 regression, 1 improvement, 1 numerics, 1 added, "
            "1 removed") in text
    assert "    a [torch@current]: agree 1e-7 abs -> diverge 1 abs" in text
    assert "error drifted beyond 2x (same status): 1" in text
    # a drift within the factor is not a change; a larger factor hides this one
    assert [c.kind for c in diff(merge([old]), merge([new]), drift=10).changes].count("numerics") == 0
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


def test_non_finite_worst_elements_render(tmp_path):
    """A NaN or infinite output (written as "nan"/"inf" in the results file) renders as text, not a crash."""
    assert worst_text(Metrics.from_dict({"worst_index": [0, 1], "worst_expected": 0.5, "worst_actual": float("nan")}),
                      "BF") == \
        "at [B=0, F=1]: expected 0.5, got nan (difference nan)"
    m = {"max_abs": float("inf"), "achievable": 1e-3, "ratio": None, "allowed": 8e-3, "factor": 8.0, "floor": 4.8e-7,
         "rule": "achievable", "nonfinite": "3 of 6 outputs are NaN", "worst_index": [0, 0],
         "worst_expected": 1.0, "worst_actual": float("inf"), "n": 6, "n_bad": 3}
    f = results_file(tmp_path / "r.jsonl", "current", [res("nanny", "torch", "diverge", metrics=m)])
    page = render(merge([f]))
    assert "3 of 6 outputs are NaN" in page


def test_page_data_stores_each_distinct_cell_once(tmp_path):
    from harness.report.html import _row_info
    from harness.report.model import LETTER
    from harness.report.page_data import _CELL_DEFAULTS, drill_data
    ok = {"max_abs": 1e-7, "max_rel": 1e-7, "max_ulp": 2.0, "atol": 1e-5, "rtol": 1e-5, "n": 24, "n_bad": 0,
          "worst_index": [0, 1, 2], "worst_expected": 0.5, "worst_actual": 0.5}
    rs = []
    for i in range(6):  # the same agreeing cell in every row: stored once
        rs.append(res(f"c{i}", "torch", "agree", metrics=ok, snippet="y = f(x)", duration=0.5, case=case(f"c{i}")))
    # one field differs from that cell: each is stored on its own
    rs.append(res("d0", "torch", "agree", metrics=dict(ok, max_ulp=3.0), snippet="y = f(x)", duration=0.5, case=case("d0")))
    rs.append(res("d1", "torch", "agree", metrics=ok, snippet="y = g(x)", duration=0.5, case=case("d1")))
    rs.append(res("d2", "torch", "agree", metrics=ok, snippet="y = f(x)", duration=0.25, case=case("d2")))
    rs.append(res("d3", "torch", "agree", metrics=ok, snippet="y = f(x)", duration=0.5, case=case("d3"),
                  versions={"fw": "2.0"}))
    rs.append(res("d4", "torch", "agree", metrics=dict(ok, max_ulp=1), snippet="y = f(x)", duration=0.5,
                  case=case("d4")))  # the integer 1 is not 2.0
    rs.append(res("d5", "torch", "diverge", metrics=dict(ok, max_abs=0.5, max_ulp=1e7), snippet="y = f(x)",
                  duration=0.5, case=case("d5"), message="diverge", outcome="expected",
                  expectation={"reason": "known", "file": "e.yaml", "line": 3, "url": "https://example.org/i/1"}))
    rs.append(res("d5", "keras-tf", "error", message="ValueError: bad", traceback="Traceback ...", case=case("d5")))
    m = build(merge([results_file(tmp_path / "r.jsonl", "current", rs, [("torch", {"fw": "1.0"})])]))
    data = drill_data(m, _row_info(m, None))
    # a disagreeing cell's traceback is shipped once: in its no-JavaScript details, not in the page data
    page = render(merge([results_file(tmp_path / "r2.jsonl", "current", rs, [("torch", {"fw": "1.0"})])]))
    assert page.count("Traceback ...") == 1 and 'id="x' in page
    S = data["str"]
    cells = data["cells"]
    refs = {}
    for row, drow in zip(m.rows, data["rows"]):
        assert drow[0] == row.case_id and len(drow[9]) == len(m.columns)
        for j, (cell, k) in enumerate(zip(row.cells, drow[9])):
            r = cell.result
            if r is None:
                assert k == -1
                continue
            refs[(row.case_id, j)] = k
            got = cells[k] + list(_CELL_DEFAULTS[len(cells[k]):])  # trailing defaults were left out
            assert got[0] == LETTER[r.status] and got[1] == cell.text
            if r.status in ("agree", "unsupported", "skipped"):
                assert [S[i] if i >= 0 else "" for i in got[4:7]] == [r.snippet, r.message, r.traceback]
            else:  # shipped once, in the no-JavaScript details: the page data keeps the message's first line
                assert got[4] == (-2 if r.snippet else -1) and got[6] == (-2 if r.traceback else -1)
                assert S[got[5]] == r.message.split("\n")[0]
            assert got[8] == round(r.duration, 4)
            assert (got[2][0] if got[2] else None) == r.metrics.max_abs
            assert got[9] == (r.versions if r.versions != m.columns[j].versions else 0)
            assert got[13] == (1 if cell.ulp_ok else 0)
            if r.outcome:
                assert S[got[14]].startswith("expected: known") and S[got[15]] == "https://example.org/i/1"
    torch = [c.index for c in m.columns if c.adapter == "torch"][0]
    same = {refs[(f"c{i}", torch)] for i in range(6)}
    assert len(same) == 1
    distinct = [refs[(f"d{i}", torch)] for i in range(6)]
    assert len(set(distinct) | same) == 7
    assert cells[refs[("d4", torch)]][2][2] == 1


def test_remembered_descriptions_follow_every_field_the_semantics_reads():
    from harness.report.html import describe
    memo = {}
    variants = [case("a"), case("b", seed=7), case("c", groups=4), case("d", epsilon=1e-3),
                case("e", op="layer_norm", groups=None), case("f", op="layer_norm", groups=None, axes="TF"),
                case("g", op="no_such_op")]
    for c in variants + variants:
        assert describe(c, memo) == describe(c)
    said = [describe(c) for c in variants]
    assert said[0] == said[1] and said[6] == ""  # the seed changes nothing; a malformed record says nothing
    assert len(set(said)) == 6
