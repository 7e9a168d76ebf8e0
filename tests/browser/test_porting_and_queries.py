"""The porting view and the query line, in Chromium, on the report of every shipped case: the page's
relations and conditions are normconf compare's, defaults sit side by side, and no query fails silently."""
import re
from pathlib import Path

import pytest

from harness.compare import RELATIONS, ColumnIndex, compare, load_defaults, separation_of
from harness.report import write_report
from harness.results.read import read_many
from tests.browser.conftest import axe_violations, new_page

ROOT = Path(__file__).resolve().parents[2]
SIZES = [(1440, 900), (390, 844)]

DEFAULTS = """\
defaults:
  - api: torch.nn.LayerNorm
    adapters: [torch]
    op: layer_norm
    facts:
      epsilon: {value: 1.0e-5, quote: "Default: 1e-5", source: "https://docs.pytorch.org/ln"}
      axes: {value: "the last D dimensions", quote: "over the last D dimensions", source: "https://docs.pytorch.org/ln"}
  - api: keras.layers.LayerNormalization
    adapters: [keras-jax]
    op: layer_norm
    facts:
      epsilon: {value: 1.0e-3, quote: "Defaults to 1e-3.", source: "https://keras.io/ln"}
      axes: {value: "axis=-1", quote: "Defaults to -1.", source: "https://keras.io/ln"}
  - api: torch.nn.BatchNorm2d
    adapters: [torch]
    op: batch_norm
    facts:
      momentum: {value: 0.1, convention: batch, quote: "Default: 0.1", source: "https://docs.pytorch.org/bn"}
  - api: keras.layers.BatchNormalization
    adapters: [keras-jax]
    op: batch_norm
    facts:
      momentum: {value: 0.9, convention: running, quote: "Momentum for the moving average.", source: "https://keras.io/bn"}
"""

PAIRS = [("torch@current", "keras-jax@current", ""), ("torch@current", "keras-jax@current", "layer_norm"),
         ("torch-functional@current", "tfa@legacy", ""), ("flax-linen@current", "jax@current", "layer_norm"),
         ("gn-paper@current", "gn-paper@legacy", "group_norm"), ("keras-ops-torch@current", "flax-nnx@current", "")]


@pytest.fixture(scope="module")
def ported(shipped, tmp_path_factory):
    d = tmp_path_factory.mktemp("port")
    (d / "defaults").mkdir()
    (d / "defaults" / "x.yaml").write_text(DEFAULTS)
    defaults, problems = load_defaults(sorted((d / "defaults").glob("*.yaml")))
    assert not problems
    html = write_report(shipped["paths"], d / "index.html", defaults=defaults)
    return {"url": html.resolve().as_uri(), "index": ColumnIndex(read_many(shipped["paths"]))}


def show(pg, a, b, op=""):
    pg.evaluate("h => { location.hash = h; }", "cmp=" + "%7C".join(x.replace("@", "%40") for x in (a, b, op)))
    pg.wait_for_function("h => document.querySelector('#port-out .port-head') && "
                         "document.querySelector('#port-out .port-head').textContent.indexOf(h) === 0",
                         arg=a + " vs " + b + (", " + op if op else ", every operator") + ":")


def page_counts(pg, a, b):
    head = pg.inner_text("#port-out .port-head")
    names = sorted(RELATIONS, key=len, reverse=True)
    counts = {}
    for n, name in re.findall(r"(\d+) (" + "|".join(re.escape(x) for x in
                                                     ["only in " + a, "only in " + b] + names) + r")", head):
        counts[{"only in " + a: "only A", "only in " + b: "only B"}.get(name, name)] = int(n)
    return counts


def test_the_page_relates_two_columns_as_normconf_compare_does(browser, ported):
    ctx, pg = new_page(browser, ported["url"])
    pg.wait_for_function("window.normconfReady !== undefined")
    index = ported["index"]
    for a, b, op in PAIRS:
        show(pg, a, b, op)
        want = {k: v for k, v in compare(index, index.by_key[a], index.by_key[b], op or None).counts.items()
                if v and k != "neither"}
        assert page_counts(pg, a, b) == want, (a, b, op)
        listed = sum(v for k, v in want.items() if k != "same")
        assert f"Cases that are not alike ({listed})" in pg.inner_text("#port-out")
        assert pg.input_value("select[name=pa]") == a and pg.input_value("select[name=pb]") == b
    assert pg.errors == []
    ctx.close()


def test_the_separating_conditions_are_normconf_compare_s(browser, ported):
    ctx, pg = new_page(browser, ported["url"])
    pg.wait_for_function("window.normconfReady !== undefined")
    index = ported["index"]
    a, b = "torch@current", "keras-jax@current"
    for op in ("", "layer_norm"):
        show(pg, a, b, op)
        c = compare(index, index.by_key[a], index.by_key[b], None)
        texts = separation_of(index, c, op or None).texts()
        if texts[0].startswith("differ exactly"):
            texts = [t for t in texts if t.startswith("differ exactly")]
        assert pg.locator("ul.port-conds li").all_inner_texts() == texts
    ctx.close()


def test_defaults_sit_side_by_side_with_their_words(browser, ported):
    ctx, pg = new_page(browser, ported["url"])
    pg.wait_for_function("window.normconfReady !== undefined")
    show(pg, "torch@current", "keras-jax@current", "layer_norm")
    table = pg.locator("table.port-defaults")
    assert table.count() == 1
    text = table.inner_text()
    assert "torch.nn.LayerNorm" in text and "keras.layers.LayerNormalization" in text
    assert "Default: 1e-5" in text and "Defaults to 1e-3." in text
    eps = table.locator("tr", has_text="epsilon")
    assert "differs" in eps.inner_text()
    assert "worded differently" in table.locator("tr", has_text="reduction axes").inner_text()
    assert table.locator("a[href='https://keras.io/ln']").count() == 2
    # PyTorch's momentum 0.1 (batch weight) is Keras' 0.9 (running weight): the same average
    show(pg, "torch@current", "keras-jax@current", "batch_norm")
    mom = pg.locator("table.port-defaults tr", has_text="momentum")
    assert "differs" not in mom.inner_text() and "weight of the batch statistic 0.1" in mom.inner_text()
    ctx.close()


def test_the_porting_view_is_reachable_from_claims_and_its_cells_open(browser, ported):
    ctx, pg = new_page(browser, ported["url"])
    pg.wait_for_function("window.normconfReady !== undefined")
    link = pg.locator("#claims a.port").first
    link.evaluate("a => a.closest('details').open = true")
    col = re.search(r"compare (\S+) with", link.inner_text()).group(1)
    link.click()
    pg.wait_for_function("document.querySelector('#port-out .port-head') !== null")
    assert pg.input_value("select[name=pa]") == col
    other = pg.input_value("select[name=pb]")
    assert other != col
    cell = pg.locator("#port-out table.port-cases a[data-r]").first
    if cell.count():
        cell.click()
        assert pg.locator("#drill").is_visible()
    # and from a cell's drill-down: this column against another framework's, on the cell's operator
    pg.evaluate("location.hash = ''")
    pg.click("#grid tr[data-r] td >> nth=0")
    link = pg.locator("#drill a", has_text="compare this column with another framework")
    link.click()
    pg.wait_for_function("!document.getElementById('drill').open")
    assert pg.input_value("select[name=pa]") == pg.get_attribute("#grid thead th[data-k] >> nth=0", "data-k")
    assert pg.input_value("select[name=pb]") != pg.input_value("select[name=pa]")
    assert pg.errors == []
    ctx.close()


README_QUERIES = re.compile(r"`((?:[a-z]+:\S+)(?: [a-z]+:\S+)*)`")


def queries_from_readme():
    """The query section's queries: (the valid ones, the wrong ones its "Nothing fails silently" names)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("* **Query and views**"):text.index("* **Drill-down.**")]
    start = section.index("Nothing fails silently")
    bad_part = section[start:section.index("The counter", start)]

    def found(part):
        return {q for q in README_QUERIES.findall(part)
                if not q.endswith(":") and "..." not in q and "#" not in q and q != "key:value"}
    bad = found(bad_part)
    return sorted(found(section.replace(bad_part, "")) - bad), sorted(bad)


def misspelled(q):
    """The query with its first key or value misspelled: a letter dropped."""
    key, _, rest = q.partition(":")
    if len(key) > 3:
        return key[:-1] + ":" + rest
    value = rest.split(" ")[0]
    return q.replace(value, value[:-1] if len(value) > 2 else value + "q", 1)


def shown(pg):
    return len(pg.eval_on_selector_all("#grid tr[data-r]:not([hidden])", "els => els.map(e => e.dataset.id)"))


def test_every_readme_query_and_each_misspelling_gives_rows_or_a_message(browser, ported):
    queries, wrong = queries_from_readme()
    assert len(queries) >= 6 and len(wrong) >= 3
    ctx, pg = new_page(browser, ported["url"])
    pg.wait_for_function("window.normconfReady !== undefined")
    for q in queries:
        pg.fill("input[name=q]", q)
        assert shown(pg) > 0 or pg.locator("#nomatch").is_visible(), q  # rows, or "Nothing matches"
        # the manual's queries are well formed: at most a name this report lacks (env:latest here)
        assert all("in this report" in p for p in pg.locator("#fq-msg .problem").all_inner_texts()), q
    for q in wrong:  # the manual's examples of what is refused are refused, with a word why
        pg.fill("input[name=q]", q)
        assert pg.locator("#fq-msg .problem").count() >= 1, q
    for q in [misspelled(q) for q in queries]:
        pg.fill("input[name=q]", q)
        msg = pg.locator("#fq-msg")
        said = msg.is_visible() and msg.inner_text().strip()
        assert shown(pg) > 0 and said or said and "did you mean" in said or pg.locator("#nomatch").is_visible(), q
    ctx.close()


def test_queries_say_what_they_matched_and_what_they_could_not(browser, ported):
    ctx, pg = new_page(browser, ported["url"])
    pg.wait_for_function("window.normconfReady !== undefined")
    heads = pg.locator("#grid thead th[data-k]")

    def visible_heads():
        return [h.get_attribute("data-f") for h in heads.all() if h.is_visible()]
    pg.fill("input[name=q]", "fw:keras")
    fws = visible_heads()
    n_keras = sum(1 for h in heads.all() if "keras" in h.get_attribute("data-f").lower())
    assert fws and len(fws) == n_keras and all("keras" in f.lower() for f in fws)
    assert "fw:keras matches" in pg.inner_text("#fq-msg")
    assert f"in {len(fws)} of {heads.count()} columns" in pg.inner_text("#count")
    pg.fill("input[name=q]", "adapter:flax")
    assert sorted(h.get_attribute("data-a") for h in heads.all() if h.is_visible()) == ["flax-linen", "flax-nnx"]
    pg.fill("input[name=q]", "adaptr:torch")
    assert "unknown key" in pg.inner_text("#fq-msg") and "“adapter:”" in pg.inner_text("#fq-msg")
    pg.fill("input[name=q]", "status:diverg")
    assert "did you mean “diverge”" in pg.inner_text("#fq-msg")
    pg.fill("input[name=q]", "fw:nonesuch")
    assert "matches no framework" in pg.inner_text("#fq-msg")
    assert " 0 of " in pg.inner_text("#count") and pg.get_attribute("#fq", "aria-invalid") == "true"
    pg.fill("input[name=q]", "op:layer")
    assert "layer_norm" in pg.inner_text("#fq-msg") and shown(pg) > 0
    pg.fill("input[name=q]", "")
    assert pg.locator("#fq-msg").is_hidden()
    ctx.close()


@pytest.mark.parametrize("size", SIZES, ids=["desktop", "phone"])
def test_the_porting_view_fits_and_passes_axe(browser, ported, size):
    ctx, pg = new_page(browser, ported["url"], *size)
    pg.wait_for_function("window.normconfReady !== undefined")
    show(pg, "torch@current", "keras-jax@current", "layer_norm")
    assert pg.evaluate("document.documentElement.scrollWidth") <= size[0]
    assert axe_violations(pg) == []
    ctx.close()
