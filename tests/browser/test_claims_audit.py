"""The documentation claims as an auditor uses them in Chromium: "which claims hold, under which arguments?".
Every shipped claim measured by each of its adapters, the seed claim holding under conditions grouped as the
measurement writes them, and a nightly run in which one claim's quote is gone from the framework (stale) and
the seed claim's record was written before the grouping was explicit ("A or B and C"): the framework filter,
the stale verdict, the grouping, the headline, the differences under the conditions, axe-core and the phone
layout."""
import json
import re

import pytest

from harness.cases.model import Case
from harness.claims.evaluate import condition_text
from harness.claims.load import VARIANTS, load_claims
from harness.report import write_report
from harness.report.model import framework_of
from harness.results.read import read_many
from harness.results.record import ClaimResult, Result
from harness.results.write import Writer
from tests.browser.conftest import axe_path, new_page
from tests.browser.shipped import ROOT

SIZES = [(1440, 900), (390, 844)]
STALE = "T10-torch-rmsnorm-formula"
SEED = "T2-torch-groupnorm-1-is-layernorm"
GROUPED = condition_text([("fold-spatial",), ("aligned-axes", "initial-params")])
FLAT = f"{VARIANTS['fold-spatial']} or {VARIANTS['aligned-axes']} and {VARIANTS['initial-params']}"
#: the frameworks each shipped label names, written out by hand (a new label needs a line here)
LABELS = {
    "PyTorch": {"PyTorch"}, "PyTorch, JAX": {"PyTorch", "JAX"}, "Keras 3": {"Keras 3"}, "Keras 3 ops": {"Keras 3"},
    "Keras 3, tf.keras 2": {"Keras 3", "tf.keras"},
    "Keras 3, tf.keras 2, TensorFlow Addons": {"Keras 3", "tf.keras", "TensorFlow Addons"},
    "tf.keras 2": {"tf.keras"}, "tf.keras 2.15": {"tf.keras"}, "TensorFlow Addons": {"TensorFlow Addons"},
    "TensorFlow Addons tutorial": {"TensorFlow Addons"}, "Flax": {"Flax"}, "Flax linen": {"Flax"},
    "Flax nnx": {"Flax"}, "GN paper": {"GN paper"}, "LN paper": {"LN paper"}, "ONNX": {"ONNX"},
    "JAX": {"JAX"}, "TensorFlow": {"TensorFlow"},
    "Equinox": {"Equinox"}, "Haiku": {"Haiku"}, "MLX": {"MLX"}, "tinygrad": {"tinygrad"},
    "PaddlePaddle": {"PaddlePaddle"}, "tf-keras": {"tf-keras"}, "LiteRT": {"LiteRT"}, "OpenVINO": {"OpenVINO"},
    "MindSpore": {"MindSpore"},
    "Keras (historical PR, the ancestor of the TFA/Keras GroupNormalization)": {"Keras"},
}


def _trial(inp, variants, holds, d):
    return {"input": inp, "variants": list(variants), "holds": holds, "max_diff": d, "note": ""}


def _verdict(c):
    """The verdict a claim gets here, as the shipped run measures it: the seed claim ("GroupNorm with one group
    is LayerNorm" against the default LayerNorm) holds only under conditions, the historical Keras PR and the
    TFA tutorial's swapped statements fail, GroupNormalization-18 errors, the rest hold."""
    left, right = dict(c.left), dict(c.right or ())
    if c.id.startswith("onnx-groupnorm18"):
        return {"verdict": "error", "error": "ValueError: cannot reshape array of size 144 into shape (4,6)"}
    if left.get("op") == "group_norm" and left.get("groups") == 1 and right.get("op") == "layer_norm" \
            and not right.get("axes"):
        return {"verdict": "holds only when", "condition": GROUPED, "max_diff": 2.96,
                "explanation": "on [B,T,F]: left normalizes over {T,F}, right over {F}",
                "per_input": {"bf": "holds", "btf": "fails (1.14)", "nchw": "fails (2.96)"}, "trials": SEED_TRIALS}
    if c.id.startswith(("H3-", "T15-tfa-tutorial-instancenorm", "T15-tfa-tutorial-layernorm")):
        return {"verdict": "fails", "max_diff": 1.64, "per_input": {"btf": "fails (1.64)"},
                "trials": [_trial("btf", (), False, 1.64)], "explanation": "left normalizes over {T,F}, right over {T}"}
    if c.relation == "raises":
        return {"verdict": "holds", "explanation": "raises ValueError: as documented", "per_input": {"btf": "raised"}}
    return {"verdict": "holds", "max_diff": 4.7e-7, "per_input": {"bf": "holds", "btf": "holds"},
            "trials": [_trial("bf", (), True, 4.7e-7), _trial("btf", (), True, 3.1e-7)]}


SEED_TRIALS = [_trial("bf", (), True, 2.4e-7), _trial("btf", (), False, 1.14), _trial("nchw", (), False, 2.96),
               _trial("btf", ("fold-spatial",), True, 3.6e-7), _trial("nchw", ("fold-spatial",), True, 3.5e-7),
               _trial("btf", ("aligned-axes",), False, 1.88),
               _trial("btf", ("aligned-axes", "initial-params"), True, 2.4e-7),
               _trial("nchw", ("aligned-axes", "initial-params"), True, 5.2e-7)]
LEGACY = {"tf-keras", "tfa"}


def _cell(adapter, env):
    case = Case.from_dict({
        "id": "gn-btf-g1-float32", "description": "group norm", "source": "https://example.org", "op": "group_norm",
        "layout": "BTF", "shape": {"B": 2, "T": 3, "F": 4}, "dtype": "float32", "epsilon": 1e-5, "affine": "ones",
        "seed": 0, "input": {"distribution": "normal", "mean": 0.0, "std": 1.0}, "groups": 2, "axes": None,
        "check": "forward", "tags": [], "file": "cases/x.yaml", "line": 3}).to_dict()
    return Result(case_id=case["id"], adapter=adapter, env=env, status="agree", case=case, versions={"fw": "1.0"},
                  metrics={"max_abs": 1e-7, "max_rel": 1e-7, "max_ulp": 2.0, "n": 24, "n_bad": 0})


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    """Every shipped claim measured by each of its adapters (in legacy for tf.keras and TFA, current for the
    others), and in nightly T10 whose quote is gone (stale) and the seed claim again."""
    d = tmp_path_factory.mktemp("claims_audit")
    claims = [c for p in sorted((ROOT / "cases" / "claims").glob("*.yaml")) for c in load_claims(p)]
    by_id = {c.id: c for c in claims}
    writers = {env: Writer(d / f"{env}.jsonl", env) for env in ("current", "legacy", "nightly")}
    for env, w in writers.items():
        w.write(_cell("torch" if env != "legacy" else "tf-keras", env))
    for c in claims:
        for adapter in c.adapters:
            env = "legacy" if adapter in LEGACY else "current"
            writers[env].write(ClaimResult(claim_id=c.id, adapter=adapter, env=env, versions={"fw": "1.0"},
                                           claim=c.to_dict(), **_verdict(c)))
    versions = {"torch": "2.14.0.dev20261026"}
    writers["nightly"].write(ClaimResult(
        claim_id=STALE, adapter="torch", env="nightly", verdict="stale", max_diff=3.5e-7, versions=versions,
        explanation="the quote no longer appears in torch.nn.RMSNorm (torch 2.14.0.dev20261026); measured against "
                    "the quoted behaviour: holds; equal on every input within what stable float32 implementations "
                    "reach", per_input={"bf": "holds"}, trials=[_trial("bf", (), True, 3.5e-7)],
        claim=by_id[STALE].to_dict()))
    writers["nightly"].write(ClaimResult(
        claim_id=SEED, adapter="torch", env="nightly", verdict="holds only when", condition=FLAT, max_diff=2.96,
        versions=versions, per_input={"bf": "holds", "btf": "fails (1.14)", "nchw": "fails (2.96)"},
        explanation="written before the grouping was explicit", trials=SEED_TRIALS, claim=by_id[SEED].to_dict()))
    for w in writers.values():
        w.close()
    paths = [d / f"{env}.jsonl" for env in writers]
    merged = read_many(paths)
    measured: dict[str, set] = {}
    labels: dict[str, str] = {}
    for (_, adapter, cid), r in merged.claims.items():
        measured.setdefault(cid, set())
        labels[cid] = str(r.claim.get("framework", ""))
        if not r.absent:
            measured[cid].add(framework_of(adapter))
    unknown = set(labels.values()) - set(LABELS)
    assert not unknown, f"labels without their frameworks in LABELS: {unknown}"
    out = write_report(paths, d / "index.html")
    return {"url": out.resolve().as_uri(), "labels": labels, "measured": measured}


def visible(pg):
    return pg.eval_on_selector_all("ul.claims > li", "ls => ls.filter(l => !l.hidden).map(l => l.id.slice(6))")


def test_the_framework_filter_lists_every_claim_naming_the_framework_or_measured_with_it(browser, audit):
    ctx, pg = new_page(browser, audit["url"])
    every = visible(pg)
    assert set(every) == set(audit["labels"])
    expected = {}
    for cid, label in audit["labels"].items():
        for fw in LABELS[label] | audit["measured"][cid]:
            expected.setdefault(fw, set()).add(cid)
    options = pg.eval_on_selector_all("#claim-filters select[name=cfw] option", "os => os.map(o => o.value).filter(v => v)")
    assert set(options) == set(expected)  # frameworks, not labels: no "Keras 3 ops", no "PyTorch, JAX"
    for fw in options:
        pg.select_option("#claim-filters select[name=cfw]", fw)
        shown = visible(pg)
        assert set(shown) == expected[fw], fw
        assert pg.locator("#claim-count").inner_text() == f"{len(shown)} of {len(every)} claims"
        assert pg.locator(f"#claim-filters select[name=cfw] option[value='{fw}']").inner_text() == f"{fw} ({len(shown)})"
    # the labels the exact-match filter hid
    pg.select_option("#claim-filters select[name=cfw]", "Keras 3")
    keras3 = set(visible(pg))
    assert {c for c, lab in audit["labels"].items() if lab in ("Keras 3, tf.keras 2", "Keras 3 ops")} <= keras3
    pg.select_option("#claim-filters select[name=cfw]", "PyTorch")
    assert {c for c, lab in audit["labels"].items() if lab == "PyTorch, JAX"} <= set(visible(pg))
    pg.select_option("#claim-filters select[name=cfw]", "")
    assert len(visible(pg)) == len(every)
    assert pg.errors == []
    ctx.close()


def test_a_stale_claim_is_styled_ordered_after_failing_claims_and_filterable(browser, audit):
    ctx, pg = new_page(browser, audit["url"])
    order = visible(pg)
    verdicts = {li.get_attribute("id")[6:]: li.get_attribute("data-v").split("|")
                for li in pg.locator("ul.claims > li").all()}
    at = order.index(STALE)
    assert all("fails" in verdicts[c] for c in order[:at])
    assert all("fails" not in verdicts[c] and "stale" not in verdicts[c] for c in order[at + 1:])
    pg.select_option("#claim-filters select[name=cv]", "stale")
    assert visible(pg) == [STALE]
    pg.select_option("#claim-filters select[name=cfw]", "PyTorch")
    assert visible(pg) == [STALE]
    pg.select_option("#claim-filters select[name=cfw]", "JAX")
    assert visible(pg) == [] and pg.locator("#claim-count").inner_text().startswith("0 of ")
    pg.select_option("#claim-filters select[name=cfw]", "")
    stale = pg.locator(f"#claim-{STALE} summary .v-stale").first
    holds = pg.locator("ul.claims summary .v-holds").first
    look = "e => { const s = getComputedStyle(e); return [s.backgroundColor, s.borderTopStyle]; }"
    bg, border = stale.evaluate(look)
    assert bg not in ("rgba(0, 0, 0, 0)", holds.evaluate(look)[0]) and border == "dashed"
    assert stale.inner_text().startswith("stale: the quote no longer appears in torch.nn.RMSNorm")
    ctx.close()


def test_conditions_are_grouped_and_the_difference_under_them_is_beside_the_failing_one(browser, audit):
    ctx, pg = new_page(browser, audit["url"])
    text = pg.locator("#claims").inner_text() + pg.locator(".headline").inner_text()
    assert FLAT not in text
    seed = pg.locator(f"#claim-{SEED}")
    assert GROUPED in seed.locator("summary").first.inner_text()
    assert re.search(r"max diff 2\.96 as stated, 5\.2e-07 under the conditions", seed.locator(".md").inner_text())
    seed.locator("summary").first.click()
    row = seed.locator("table.claim-results > tbody > tr", has_text="nightly")
    cell = row.locator("td.diff").inner_text()
    assert "2.96 as stated" in cell and "3.6e-07 with fold-spatial" in cell
    assert "5.2e-07 with aligned-axes + initial-params" in cell
    ctx.close()


def test_the_headline_is_one_line_per_verdict_with_distinct_names_and_both_differences(browser, audit):
    ctx, pg = new_page(browser, audit["url"])
    lines = pg.locator(".headline li")
    names = pg.eval_on_selector_all(".headline a.hl-claim", "as => as.map(a => a.textContent)")
    hrefs = pg.eval_on_selector_all(".headline a.hl-claim", "as => as.map(a => a.getAttribute('href'))")
    assert len(names) == len(set(names)) == len(set(hrefs)) >= 7
    assert "ONNX" not in names and len([n for n in names if n.startswith("ONNX ")]) == 2
    words = pg.eval_on_selector_all(".headline .hl-verdict > .v", "vs => vs.map(v => v.textContent)")
    assert len(words) == len(set(words))  # each verdict once
    assert lines.count() < len(names)  # frameworks that share a verdict share its line
    seed = lines.filter(has_text=GROUPED)
    assert seed.count() == 1
    assert re.search(r"max difference 2\.96 as stated, [0-9.e-]+ under the conditions", seed.inner_text())
    ctx.close()


def _open_everything(pg):
    pg.evaluate("document.querySelectorAll('#claims details').forEach(d => { d.open = true; })")


@pytest.mark.parametrize("size", SIZES, ids=["desktop", "phone"])
def test_axe_finds_nothing_in_the_claims_and_the_headline(browser, audit, size):
    ctx, pg = new_page(browser, audit["url"], *size)
    _open_everything(pg)
    pg.select_option("#claim-filters select[name=cfw]", "Keras 3")
    pg.add_script_tag(path=str(axe_path()))
    result = pg.evaluate("""async () => {
        const r = await axe.run({include: [['#claims'], ['.headline']]}, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    assert result == [], json.dumps(result, indent=1)
    ctx.close()


@pytest.mark.parametrize("size", SIZES, ids=["desktop", "phone"])
def test_the_claim_tables_read_in_words_and_stay_inside_the_page(browser, audit, size):
    ctx, pg = new_page(browser, audit["url"], *size)
    _open_everything(pg)
    width = size[0]
    # every box of the section and the headline within the viewport, except inside a scroll container
    # (which must itself fit)
    out = pg.evaluate("""w => Array.from(document.querySelectorAll('#claims, #claims *, .headline, .headline *'))
        .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > w + 0.5
                       && !(e.parentElement && e.parentElement.closest('#claims .wide')); })
        .slice(0, 5).map(e => e.tagName + '.' + e.className + ' right ' + Math.round(e.getBoundingClientRect().right))""",
                      width)
    assert out == []
    # no cell of a claim table wraps letter by letter: at least 4 characters per line on average
    narrow = pg.evaluate("""() => {
        const bad = [];
        document.querySelectorAll('#claims table th, #claims table td').forEach(c => {
            const chars = c.textContent.replace(/\\s+/g, '').length;
            if (!chars || c.querySelector('table')) return;
            const range = document.createRange();
            range.selectNodeContents(c);
            const tops = new Set(Array.from(range.getClientRects()).filter(r => r.width > 0).map(r => Math.round(r.top)));
            if (tops.size > 1 && chars / tops.size < 4) bad.push(c.textContent.slice(0, 40) + ' ' + tops.size + ' lines');
        });
        return bad.slice(0, 5);
    }""")
    assert narrow == []
    ctx.close()
