"""The claims section's views (harness.report.claims_view): the filter's frameworks, the order with stale
quotes, conditions with explicit grouping, the difference under the conditions, result rows and the
first screen's headline rows; one claim measured for real (through a worker) and read back."""
import html
import json
import re

import pytest

from harness.claims.evaluate import condition_text
from harness.claims.load import VARIANTS, load_claims
from harness.execution.runner import Runner
from harness.report import claims_view as cv
from harness.report.html import write_report
from harness.results.parts import NOT_INSTALLED
from harness.results.read import read
from harness.results.record import ClaimResult
from harness.results.write import Writer

FOLD = VARIANTS["fold-spatial"]
ALIGNED = VARIANTS["aligned-axes"]
INITIAL = VARIANTS["initial-params"]
#: as results written before the grouping was explicit read: A or B and C, meaning A or (B and C)
FLAT = f"{FOLD} or {ALIGNED} and {INITIAL}"


def trial(inp, variants, holds, d):
    return {"input": inp, "variants": list(variants), "holds": holds, "max_diff": d, "note": ""}


#: the trials of "GroupNorm(1) is LayerNorm" as a run records them: fails on the inputs with a time or spatial
#: axis, holds with those axes folded into the batch or with aligned axes and initial parameters together
T2_TRIALS = [
    trial("bf", (), True, 2.4e-7), trial("btf", (), False, 1.14), trial("nchw", (), False, 2.96),
    trial("nhwc", (), False, 1.87),
    trial("bf", ("aligned-axes",), True, 2.4e-7), trial("btf", ("aligned-axes",), False, 1.88),
    trial("btf", ("fold-spatial",), True, 3.6e-7), trial("nchw", ("fold-spatial",), True, 3.5e-7),
    trial("nhwc", ("fold-spatial",), True, 3.4e-7),
    trial("bf", ("initial-params",), True, 1.2e-7), trial("btf", ("initial-params",), False, 1.02),
    trial("bf", ("aligned-axes", "initial-params"), True, 1.2e-7),
    trial("btf", ("aligned-axes", "initial-params"), True, 2.4e-7),
    trial("nchw", ("aligned-axes", "initial-params"), True, 2.4e-7),
    trial("nhwc", ("aligned-axes", "initial-params"), True, 4.8e-7),
]


def claim(cid, framework, headline=False, api="A(1) vs B()", **kw):
    return {"id": cid, "framework": framework, "api": api, "quote": "q", "source": "s", "headline": headline,
            "left": {"op": "group_norm", "groups": 1}, **kw}


def result(cid, adapter, env, verdict, framework="PyTorch", condition="", max_diff=0.0, trials=(), **kw):
    c = kw.pop("claim", None) or claim(cid, framework, **kw.pop("claim_kw", {}))
    return ClaimResult(claim_id=cid, adapter=adapter, env=env, verdict=verdict, condition=condition,
                       max_diff=max_diff, trials=list(trials), claim=c, **kw)


def views_of(results):
    by_id = {}
    for r in results:
        by_id.setdefault(r.claim_id, cv.ClaimView(r.claim)).results.append(r)
    return list(by_id.values())


# ---- the filter's frameworks ---------------------------------------------------------------------------

@pytest.mark.parametrize("label,names", [
    ("Keras 3, tf.keras 2", ["Keras 3", "tf.keras"]),
    ("Keras 3, tf.keras 2, TensorFlow Addons", ["Keras 3", "tf.keras", "TensorFlow Addons"]),
    ("Keras 3 ops", ["Keras 3"]),
    ("PyTorch, JAX", ["PyTorch", "JAX"]),
    ("tf.keras 2.15", ["tf.keras"]),
    ("Flax linen", ["Flax"]),
    ("TensorFlow Addons tutorial", ["TensorFlow Addons"]),
    ("Keras (historical PR, the ancestor of the TFA/Keras GroupNormalization)", ["Keras"]),
    ("GN paper", ["GN paper"]),
    ("LN paper", ["LN paper"]),
    ("ONNX", ["ONNX"]),
    ("", []),
])
def test_labels_are_split_into_the_frameworks_the_columns_name(label, names):
    assert cv.label_frameworks(label) == names


def test_every_shipped_label_names_frameworks_and_the_filter_counts_claims_not_labels():
    from pathlib import Path
    root = Path(__file__).resolve().parents[3]
    claims = [c for p in sorted((root / "cases" / "claims").glob("*.yaml")) for c in load_claims(p)]
    assert claims
    for c in claims:
        names = cv.label_frameworks(c.framework)
        assert names and all("," not in n and "(" not in n for n in names), c.framework
    views = [cv.ClaimView(c.to_dict(), [result(c.id, a, "current", "holds", claim=c.to_dict()) for a in c.adapters])
             for c in claims]
    options = dict(cv.filter_frameworks(views))
    # a claim labelled "Keras 3, tf.keras 2" or "Keras 3 ops" is a Keras 3 claim, "PyTorch, JAX" a PyTorch one
    keras3 = {v.id for v in views if "Keras 3" in cv.frameworks(v)}
    assert {c.id for c in claims if c.framework in ("Keras 3, tf.keras 2", "Keras 3 ops")} <= keras3
    torch = {v.id for v in views if "PyTorch" in cv.frameworks(v)}
    assert {c.id for c in claims if c.framework == "PyTorch, JAX"} <= torch
    assert options["Keras 3"] == len(keras3) and options["PyTorch"] == len(torch)
    labels = {c.framework for c in claims}
    assert not {"Keras 3 ops", "Keras 3, tf.keras 2", "PyTorch, JAX", "Flax linen"} & set(options), labels


def test_a_claim_counts_under_the_frameworks_of_the_adapters_that_measured_it():
    v = cv.ClaimView(claim("L1", "LN paper"), [
        result("L1", "torch", "current", "holds"), result("L1", "keras-ops-jax", "current", "holds"),
        result("L1", "tfa", "current", "unsupported", absent=NOT_INSTALLED),  # not measured there at all
        result("L1", "plugin-thing", "current", "holds")])
    assert cv.frameworks(v) == ["LN paper", "PyTorch", "Keras 3", "plugin"]


# ---- order and the stale verdict ------------------------------------------------------------------------

def test_stale_claims_come_after_failing_ones_and_before_conditional_ones():
    results = [
        result("holds", "torch", "current", "holds"),
        result("cond", "torch", "current", "holds only when", condition=FOLD),
        result("stale", "torch", "current", "stale", explanation="the quote no longer appears in torch.nn.X (torch 2)"),
        result("fails", "torch", "current", "fails", max_diff=1.0),
        result("error", "torch", "current", "error", error="ValueError: x"),
        result("stale", "torch", "latest", "holds"),
    ]
    views = views_of(results)
    assert [v.id for v in cv.report_order(views)] == ["fails", "stale", "cond", "error", "holds"]
    assert cv.worst_verdict(next(v for v in views if v.id == "stale")) == "stale"
    counts = dict(cv.verdict_counts(views))
    assert counts["stale"] == 1 and counts["holds"] == 2 and counts["unsupported"] == 0
    assert [k for k, _ in cv.verdict_counts(views)] == list(cv.VERDICT_ORDER)


# ---- conditions ------------------------------------------------------------------------------------------

def test_the_measurement_writes_the_grouping_explicitly():
    assert condition_text([("fold-spatial",), ("aligned-axes", "initial-params")]) == \
        f"{FOLD} or ({ALIGNED} and {INITIAL})"
    assert condition_text([("aligned-axes", "initial-params")]) == f"{ALIGNED} and {INITIAL}"
    assert condition_text([("aligned-axes",), ("fold-spatial",)]) == f"{ALIGNED} or {FOLD}"


def test_flat_conditions_of_older_results_read_with_their_grouping():
    grouped = f"{FOLD} or ({ALIGNED} and {INITIAL})"
    assert cv.condition_words(FLAT) == grouped
    assert cv.condition_words(grouped) == grouped  # what the measurement writes now is left as it is
    assert cv.condition_words(condition_text([("fold-spatial",), ("aligned-axes", "initial-params")])) == grouped
    assert cv.condition_words(f"{ALIGNED} and {INITIAL}") == f"{ALIGNED} and {INITIAL}"
    assert cv.condition_words("the input is rank-2 [B,F] or [B,T,F]") == "the input is rank-2 [B,F] or [B,T,F]"
    r = result("T2", "torch", "current", "holds only when", condition=FLAT)
    assert cv.verdict_words(r) == f"holds only when {grouped}"
    assert cv.verdict_groups(cv.ClaimView(r.claim, [r]))[0][1] == f"holds only when {grouped}"


# ---- the difference under the conditions -------------------------------------------------------------------

def test_the_difference_under_the_conditions_comes_from_the_trials():
    r = result("T2", "torch", "current", "holds only when", condition=FLAT, max_diff=2.96, trials=T2_TRIALS)
    # fold-spatial does not apply to [B,F], which holds as stated (2.4e-7); aligned-axes alone fails on [B,T,F]
    assert cv.condition_diffs(r) == [("with fold-spatial", 3.6e-7), ("with aligned-axes + initial-params", 4.8e-7)]
    assert cv.under_conditions(r) == 4.8e-7
    v = cv.ClaimView(r.claim, [r])
    assert cv.max_diff(v) == 2.96 and cv.max_under(v) == 4.8e-7


def test_an_input_condition_is_measured_on_the_inputs_where_the_claim_holds():
    r = result("T24", "tf-keras", "legacy", "holds only when", condition="the input is rank-2 [B,F] or [B,T,F]",
               max_diff=0.0154, trials=[trial("bf", (), True, 9.6e-8), trial("btf", (), True, 5.5e-8),
                                        trial("nchw", (), False, 0.0154), trial("nhwc", (), False, 0.0137)])
    assert cv.condition_diffs(r) == [("on bf, btf as stated", 9.6e-8)]


def test_no_difference_under_conditions_without_conditions():
    holds = result("a", "torch", "current", "holds", max_diff=1e-7, trials=[trial("bf", (), True, 1e-7)])
    fails = result("b", "torch", "current", "fails", max_diff=2.0, trials=[trial("bf", (), False, 2.0)])
    stale_holds = result("c", "torch", "current", "stale", max_diff=1e-7, trials=[trial("bf", (), True, 1e-7)])
    raises = result("d", "torch", "current", "holds")
    for r in (holds, fails, stale_holds, raises):
        assert cv.under_conditions(r) is None, r.claim_id
    # a stale claim that held only under conditions keeps its figure
    stale_cond = result("e", "torch", "current", "stale", max_diff=2.96, trials=T2_TRIALS)
    assert cv.under_conditions(stale_cond) == 4.8e-7


def test_an_alternative_that_did_not_cover_every_failing_input_is_not_a_condition():
    # the run stopped an alternative at an input it could not run (no trial recorded there): not a condition
    trials = [trial("btf", (), False, 1.1), trial("nchw", (), False, 2.9),
              trial("btf", ("pinned-epsilon",), True, 1e-7),
              trial("btf", ("fold-spatial",), True, 3e-7), trial("nchw", ("fold-spatial",), True, 2e-7),
              trial("btf", ("fold-spatial", "pinned-epsilon"), True, 9e-7), "not a trial",
              {"input": "nchw", "variants": "fold-spatial", "holds": True, "max_diff": 5.0}]
    r = result("x", "torch", "current", "holds only when", condition=FOLD, max_diff=2.9, trials=trials)
    assert cv.condition_diffs(r) == [("with fold-spatial", 3e-7)]


# ---- result rows and columns -----------------------------------------------------------------------------

def test_columns_in_few_words():
    cols = ["torch@current", "torch@latest", "torch@nightly", "torch-functional@current", "torch-functional@latest",
            "torch-functional@nightly", "tf-keras@nightly", "tf-keras@legacy", "tf-keras@latest"]
    assert cv.columns_text(cols) == ("torch, torch-functional in current, latest, nightly; "
                                     "tf-keras in legacy, latest, nightly")
    assert cv.columns_text(["tfa@legacy"]) == "tfa@legacy"
    assert cv.columns_text(["torch@current", "torch@latest"]) == "torch in current, latest"


def test_columns_that_measured_the_same_are_one_row_with_their_largest_differences():
    def t2(adapter, env, scale):
        trials = [dict(t, max_diff=t["max_diff"] * scale) for t in T2_TRIALS]
        return result("T2", adapter, env, "holds only when", condition=FLAT, max_diff=2.96 * scale, trials=trials,
                      per_input={"btf": "fails (1.14)"}, explanation="left normalizes over {T,F}, right over {F}")
    other = result("T2", "keras-tf", "current", "error", error="ValueError: no")
    v = cv.ClaimView(claim("T2", "PyTorch"), [t2("torch", "current", 1.0), t2("torch", "latest", 1.01),
                                              t2("torch-functional", "current", 1.0), other])
    rows = cv.result_rows(v)
    assert [r.verdict for r in rows] == ["holds only when", "error"]
    row = rows[0]
    assert row.columns_text == "torch in current, latest; torch-functional in current"
    assert row.max_diff == pytest.approx(2.96 * 1.01) and row.under_max == pytest.approx(4.8e-7 * 1.01)
    assert [a for a, _ in row.under] == ["with fold-spatial", "with aligned-axes + initial-params"]
    first = row.trials[0]
    assert (first.input, first.variants, first.holds) == ("bf", (), True)
    assert first.low == pytest.approx(2.4e-7) and first.high == pytest.approx(2.4e-7 * 1.01)
    assert rows[1].max_diff is None and rows[1].columns == ["keras-tf@current"]


# ---- the headline ------------------------------------------------------------------------------------------

def test_headline_one_line_per_verdict_each_verdict_once_distinct_names():
    res = []
    for cid, fw, adapters, api in (
            ("T2", "PyTorch", ("torch", "torch-functional"), "torch.nn.GroupNorm(1, C) vs torch.nn.LayerNorm()"),
            ("T26", "Flax linen", ("flax-linen",), "flax.linen.GroupNorm(num_groups=1) vs flax.linen.LayerNorm()"),
            ("onnx21", "ONNX", ("onnx-ref",), "GroupNormalization-21(num_groups=1) vs LayerNormalization-17"),
            ("onnx18", "ONNX", ("onnx-ref-opset18",), "GroupNormalization-18(num_groups=1) vs LayerNormalization-17")):
        for a in adapters:
            for env in ("current", "latest"):
                if cid == "onnx18":
                    r = result(cid, a, env, "error", error="ValueError: cannot reshape", claim_kw={})
                else:
                    r = result(cid, a, env, "holds only when", condition=FLAT, max_diff=2.96, trials=T2_TRIALS)
                r.claim = claim(cid, fw, headline=True, api=api)
                res.append(r)
    res.append(result("other", "torch", "current", "fails", max_diff=9.0))  # not a headline claim
    rows = cv.headline_rows(views_of(res))
    assert len(rows) == 2
    names = [n for row in rows for n, _ in row.claims]
    assert names == ["PyTorch", "Flax linen", "ONNX GroupNormalization-21", "ONNX GroupNormalization-18"]
    first = rows[0]
    assert len(first.verdicts) == 1  # one verdict, once, for the three claims
    h = first.verdicts[0]
    assert h.words == f"holds only when {FOLD} or ({ALIGNED} and {INITIAL})"
    assert h.columns_text == "torch, torch-functional, flax-linen, onnx-ref in current, latest"
    assert (h.max_diff, h.under) == (2.96, 4.8e-7) and (first.max_diff, first.under) == (2.96, 4.8e-7)
    err = rows[1].verdicts[0]
    assert err.verdict == "error" and err.max_diff is None and err.under is None


def test_headline_names_fall_back_to_the_full_call_and_the_id():
    views = [cv.ClaimView(claim("a", "ONNX", api="Op(x=1) vs B"), []), cv.ClaimView(claim("b", "ONNX", api="Op(x=2) vs B"), []),
             cv.ClaimView(claim("c", "ONNX", api="Op(x=2) vs C"), [])]
    names = cv.headline_names(views)
    assert len(set(names.values())) == 3
    assert names["a"] == "ONNX Op(x=1)" and names["c"].endswith("c")


# ---- the page: filter data, stale styling, grouping, differences ---------------------------------------

def test_the_claims_section_of_the_page(tmp_path):
    hostile = 'Evil "fw" | <script>x</script>, PyTorch'
    rs = [
        result("T2", "torch", "current", "holds only when", condition=FLAT, max_diff=2.96, trials=T2_TRIALS,
               claim=claim("T2", "PyTorch", headline=True)),
        result("P4", "jax", "current", "holds", max_diff=1e-7, claim=claim("P4", "PyTorch, JAX")),
        result("T10", "torch", "current", "stale", max_diff=3e-7,
               explanation="the quote no longer appears in torch.nn.RMSNorm (torch 2.13.0); measured against the "
                           "quoted behaviour: holds", claim=claim("T10", "PyTorch")),
        result("H", "torch", "current", "fails", max_diff=1.5, claim=claim("H", hostile)),
    ]
    w = Writer(tmp_path / "current.jsonl", "current")
    for r in rs:
        w.write(r)
    w.close()
    page = write_report([tmp_path / "current.jsonl"], tmp_path / "index.html").read_text()
    section = page[page.index('<section id="claims"'):]
    section = section[:section.index("</section>")]
    items = re.findall(r'<li id="claim-([^"]+)" data-fw="([^"]*)" data-v="([^"]*)"', section)
    assert [i for i, _, _ in items] == ["H", "T10", "T2", "P4"]  # fails, stale, conditional, holds
    fws = {i: json.loads(html.unescape(f)) for i, f, _ in items}
    assert fws["P4"] == ["PyTorch", "JAX"] and fws["T2"] == ["PyTorch"]
    assert fws["H"] == ['Evil "fw" | <script>x</script>', "PyTorch"]
    assert "<script>x" not in section
    for option in ("PyTorch", "JAX", "stale", "holds only when"):
        assert f'<option value="{option}">' in section
    assert '<option value="PyTorch">PyTorch (4)</option>' in section
    assert 'class="v v-stale"' in section
    grouped = html.escape(f"{FOLD} or ({ALIGNED} and {INITIAL})", quote=False)
    assert grouped in section and html.escape(FLAT, quote=False) not in section
    assert "max diff 2.96 as stated, <span class=\"under\">4.8e-07 under the conditions</span>" in section
    head = page[page.index('<div class="headline">'):]
    head = head[:head.index("</div>")]
    assert "max difference 2.96 as stated" in head and "4.8e-07 under the conditions" in head
    assert grouped in head


# ---- one claim measured for real ---------------------------------------------------------------------------

CLAIM = """
claims:
  - id: gn1-is-ln
    framework: NumPy
    adapters: [faulty]
    api: GroupNorm(1) vs LayerNorm(last axis)
    quote: "GroupNorm with one group is LayerNorm"
    source: "https://example.org"
    relation: equal
    left: {op: group_norm, groups: 1}
    right: {op: layer_norm}
"""


def test_a_measured_claim_reads_with_its_grouping_and_its_difference_under_the_conditions(tmp_path, monkeypatch):
    monkeypatch.setenv("NORMCONF_ADAPTERS", "tests.fault_adapters:SPECS")
    p = tmp_path / "claims.yaml"
    p.write_text(CLAIM)
    (c,) = load_claims(p, display="claims.yaml")
    runner = Runner("test", tmp_path / "r.jsonl", ["faulty"])
    try:
        runner.run_claim(c, "faulty")
    finally:
        runner.close()
    (r,) = read(tmp_path / "r.jsonl").claims
    assert r.verdict == "holds only when"
    assert r.condition == f"{FOLD} or ({ALIGNED} and {INITIAL})"
    assert cv.verdict_words(r) == f"holds only when {r.condition}"
    diffs = dict(cv.condition_diffs(r))
    assert set(diffs) == {"with fold-spatial", "with aligned-axes + initial-params"}
    assert r.max_diff > 0.1 and all(0 <= d < 1e-5 for d in diffs.values())
    assert cv.frameworks(cv.ClaimView(r.claim, [r])) == ["NumPy", "faulty"]
