"""The report of every shipped case and claim, as a framework engineer reads it:
at desktop and phone sizes, with JavaScript on and off."""
import json
import re

import pytest

from tests.browser.conftest import axe_path, axe_violations, new_page

SIZES = [(1440, 900), (390, 844)]


def visible_ids(pg):
    return pg.eval_on_selector_all("#grid tr[data-r]:not([hidden])", "els => els.map(e => e.dataset.id)")


def reveal(locator):
    """Scroll the element's scroll containers until it is in view, clear of sticky parts (scroll-padding)."""
    locator.evaluate("e => e.scrollIntoView({block: 'nearest', inline: 'nearest'})")


def hit(pg, locator):
    """Whether the centre of the element is what a pointer at that spot reaches (not covered, not clipped)."""
    box = locator.bounding_box()
    assert box, "element has no box"
    return locator.evaluate("(e, p) => { const t = document.elementFromPoint(p[0], p[1]); return !!t && (t === e || e.contains(t)); }",
                            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])


@pytest.mark.parametrize("size", SIZES, ids=["desktop", "phone"])
def test_every_column_header_can_be_reached_and_clicked(browser, shipped, size):
    ctx, pg = new_page(browser, shipped["url"], *size)
    heads = pg.locator("#grid table >> nth=0").locator("thead th[data-k]")
    n = heads.count()
    assert n == 15
    keys = []
    for i in range(n):
        th = heads.nth(i)
        button = th.locator("button.sort")
        reveal(button)
        assert hit(pg, button), f"sort button of {th.get_attribute('data-k')} is covered or clipped"
        button.click()
        key = th.get_attribute("data-k")
        keys.append(key)
        assert "sort=" + key.replace("@", "%40") in pg.url
        assert button.get_attribute("aria-pressed") == "true"
    assert keys[-1] == "gn-paper@legacy"
    # keyboard: Tab from the first sort button walks through every column, each in view when focused
    first = heads.nth(0).locator("button.sort")
    first.focus()
    for i in range(1, n):
        pg.keyboard.press("Tab")
        focused = pg.evaluate("document.activeElement.closest('th') && document.activeElement.closest('th').dataset.k")
        assert focused == heads.nth(i).get_attribute("data-k")
        assert hit(pg, heads.nth(i).locator("button.sort")), f"focused sort button {focused} is not visible"
    # the grid scrolls sideways (touch pans the same overflow)
    assert pg.evaluate("(() => { const g = document.getElementById('grid'); return getComputedStyle(g).overflowX; })()") == "auto"
    assert pg.errors == []
    ctx.close()


@pytest.mark.parametrize("size", SIZES, ids=["desktop", "phone"])
def test_columns_reachable_without_javascript(browser, shipped, size):
    ctx, pg = new_page(browser, shipped["url"], *size, js=False)
    heads = pg.locator("#grid table >> nth=0").locator("thead th[data-k]")
    assert heads.count() == 15
    for i in range(heads.count()):
        th = heads.nth(i)
        reveal(th)
        assert hit(pg, th), f"{th.get_attribute('data-k')} cannot be scrolled into view"
    ctx.close()


def test_phone_shows_results_beside_the_case_column(browser, shipped):
    ctx, pg = new_page(browser, shipped["url"], 390, 844)
    case_col = pg.locator("#grid thead th.case >> nth=0").bounding_box()
    assert case_col["width"] <= 390 * 0.45
    first_cell = pg.locator("#grid tbody tr[data-r] >> nth=0").locator("td >> nth=0")
    first_cell.scroll_into_view_if_needed()
    box = first_cell.bounding_box()
    assert box["x"] + box["width"] <= 390 and hit(pg, first_cell)
    assert pg.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # the page itself does not scroll sideways
    ctx.close()


def test_top_strip_has_totals_per_column_and_the_headline_verdict(browser, shipped):
    ctx, pg = new_page(browser, shipped["url"])
    strip = pg.locator("#top")
    items = strip.locator("ul.totals > li")
    assert items.count() == 15
    torch = items.filter(has_text="torch@current").first.inner_text()
    assert "torch 2.13.0" in torch and re.search(r"\d+ agree", torch) and "diverge" in torch
    assert re.search(r"\d+% agree", torch)
    keras = items.filter(has_text="keras-jax@current").first.inner_text()
    assert "n/a" in keras and "diverge" in keras
    head = strip.locator(".headline").inner_text()
    assert "GroupNorm with one group is LayerNorm" in head
    assert "PyTorch" in head and "holds only when aligned-axes, or fold-spatial" in head and "2.96" in head
    assert strip.is_visible() and strip.locator(".headline").bounding_box()["y"] < 900  # on the first screen
    ctx.close()


def test_odd_one_out_finds_the_row_where_only_pytorch_disagrees(browser, shipped):
    ctx, pg = new_page(browser, shipped["url"])
    pg.check("input[name=view][value=odd]")
    ids = visible_ids(pg)
    assert shipped["odd"] in ids
    row = pg.locator(f'#grid tr[data-id="{shipped["odd"]}"]')
    texts = row.locator("td").all_text_contents()
    assert texts[0].startswith("diverge") and texts[1].startswith("diverge")
    assert "odd" in pg.url
    ctx.close()


def test_a_root_cause_group_expands_to_its_cells_and_opens_one(browser, shipped):
    ctx, pg = new_page(browser, shipped["url"])
    groups = pg.locator("#causes details.cause")
    assert groups.count() >= 4
    first = groups.nth(0)
    summary = first.locator("summary").inner_text()
    assert "Keras 3" in summary and "float32 precision" in summary
    n = int(re.match(r"(\d+) cells", summary).group(1))
    assert n > 100 and n > sum(int(re.match(r"(\d+)", groups.nth(i).locator("summary").inner_text()).group(1))
                               for i in range(1, groups.count()))
    first.locator("summary").click()
    links = first.locator("ul.cells a[data-r]")
    assert links.count() == min(n, 300) and links.first.is_visible()
    if n > 300:
        assert f"and {n - 300} more" in first.inner_text()
    assert all(re.search(r"\[keras-(ops-)?(jax|torch)@current\]", t) for t in links.all_inner_texts())
    links.first.click()
    drill = pg.locator("#drill")
    assert drill.is_visible() and "float32 precision" in drill.inner_text()
    pg.keyboard.press("Escape")
    assert not drill.is_visible()
    assert pg.evaluate("document.activeElement.matches('ul.cells a[data-r]')")
    # the group's filter shows exactly its rows in the matrix
    first.locator("a[href^='#q=cause:']").first.click()
    pg.wait_for_function("document.getElementById('count').textContent.indexOf(' of ') > 0")
    assert 0 < len(visible_ids(pg)) <= n
    ctx.close()


def test_numbers_are_full_precision_and_ulp_only_where_meaningful(browser, shipped):
    ctx, pg = new_page(browser, shipped["url"])
    assert "4404038610860739584" not in pg.locator("#grid").inner_text()
    pg.fill("input[name=q]", "adapter:flax-linen op:layer_norm dtype:float64")
    cell = pg.locator("#grid tr[data-r]:not([hidden]) td:visible").first
    cell.scroll_into_view_if_needed()
    assert cell.text_content().startswith("agree ") and cell.text_content().endswith("×")
    cell.click()
    text = pg.locator("#drill").inner_text()
    assert "ULP not reported" in text and "expected 0, got -1.3877787807814457e-17" in text
    pg.keyboard.press("Escape")
    pg.fill("input[name=q]", "")
    pg.click(f'#grid tr[data-id="{shipped["odd"]}"] td >> nth=0')
    text = pg.locator("#drill").inner_text()
    m = re.search(r"expected (-?[\d.]+(?:e-?\d+)?), got (-?[\d.]+(?:e-?\d+)?) \(difference ([\d.e-]+)\)", text)
    assert m, text
    expected, got = float(m.group(1)), float(m.group(2))
    assert len(m.group(2).lstrip("-").replace(".", "").lstrip("0")) > 5  # more than 4 significant digits
    assert abs(abs(got - expected) - 6.8e-5) < 1e-6 and m.group(3).startswith("6.8")
    # charts stay within their axis
    for svg in pg.locator("#charts svg").all():
        width = float(svg.get_attribute("width"))
        xs = svg.evaluate("s => Array.from(s.querySelectorAll('line.whisker')).map(l => +l.getAttribute('x2'))")
        assert max(xs) <= width
    ctx.close()


def test_query_filters_and_stable_ids_survive_a_reload(browser, shipped):
    ctx, pg = new_page(browser, shipped["url"])
    pg.fill("input[name=q]", "adapter:flax-* status:diverge,agree op:group_norm")
    heads = [h.get_attribute("data-k") for h in pg.locator("#grid table >> nth=0").locator("thead th[data-k]").all()
             if h.is_visible()]
    assert heads == ["flax-linen@current", "flax-nnx@current"]
    ids = visible_ids(pg)
    ops = pg.eval_on_selector_all("#grid tr[data-r]:not([hidden])", "els => els.map(e => e.closest('tbody').dataset.op)")
    assert ids and set(ops) == {"group_norm"}  # group norm cases, whatever their ids (gn-..., onnx-...-gn)
    pg.fill("input[name=q]", "precision")  # words search the explanations
    assert len(visible_ids(pg)) > 20
    pg.fill("input[name=q]", "")
    pg.click(f'#grid tr[data-id="{shipped["odd"]}"] td >> nth=1')
    url = pg.url
    assert "cell=" + shipped["odd"] + "%7Ctorch-functional%40current" in url
    pg.goto("about:blank")
    pg.goto(url)
    pg.wait_for_function("window.normconfReady !== undefined")
    assert pg.locator("#drill-title").inner_text() == shipped["odd"] + " [torch-functional@current]"
    assert pg.errors == []
    ctx.close()


def test_rerun_line_is_copied_and_sources_are_links(browser, shipped):
    ctx, pg = new_page(browser, shipped["url"])
    ctx.grant_permissions(["clipboard-read", "clipboard-write"])
    pg.click(f'#grid tr[data-id="{shipped["odd"]}"] td >> nth=0')
    line = pg.locator("#drill code.rerun").inner_text()
    assert line == f"normconf run --env-name current -k {shipped['odd']} --adapters torch"
    pg.click("#drill .cmd button")
    pg.wait_for_function("document.querySelector('#drill .cmd output').textContent !== ''")
    assert pg.evaluate("navigator.clipboard.readText()") == line
    pg.click("#drill-close")
    pg.click('#grid tr[data-id^="bn-half-nchw"] td >> nth=0')
    src = pg.locator("#drill a[href^='https://pytorch.org/']")
    assert src.count() == 1
    ctx.close()


def test_expected_divergence_shows_its_reason_and_the_reproducer_command(browser, shipped):
    case_id, adapter, env, reason = shipped["expected"]
    ctx, pg = new_page(browser, shipped["url"] + f"#cell={case_id}|{adapter}@{env}")
    pg.wait_for_selector("#drill[open]")
    dl = pg.locator("#drill dl").inner_text()
    assert "expectation" in dl and reason in dl and "cases/expectations/" in dl
    repro = pg.locator("#drill code.repro").inner_text()
    assert repro == f"normconf repro {case_id} {adapter} --results reports/results -o repro.py --issue issue.md"
    ctx.close()


def test_claims_are_a_compact_filterable_list_worst_first(browser, shipped):
    ctx, pg = new_page(browser, shipped["url"])
    items = pg.locator("ul.claims > li")
    assert items.count() == shipped["claims"]
    verdicts = [li.get_attribute("data-v") for li in items.all()]
    rank = {"fails": 0, "holds only when": 1, "error": 2, "holds": 3, "unsupported": 4}
    worst = [min(rank[v] for v in vs.split("|")) for vs in verdicts]
    assert worst == sorted(worst) and worst[0] <= 1
    assert pg.locator("#claims").bounding_box()["height"] < 4000
    pg.select_option("select[name=cfw]", "PyTorch")
    pg.select_option("select[name=cv]", "holds only when")
    shown = [li for li in items.all() if li.is_visible()]
    assert shown and all("PyTorch" in json.loads(li.get_attribute("data-fw")) for li in shown)
    one = pg.locator("#claim-T2-torch-groupnorm-1-is-layernorm")
    assert one.is_visible()
    one.locator("summary").first.click()
    body = one.inner_text()
    assert "equivalent with LayerNorm" in body and "aligned-axes" in body and "btf: fails (2.96)" in body
    ctx.close()


def test_landmarks_headings_and_dialog_focus(browser, shipped):
    ctx, pg = new_page(browser, shipped["url"])
    assert pg.locator("main").count() == 1 and pg.locator("header nav").count() == 1
    assert pg.locator("footer").count() == 1
    levels = pg.eval_on_selector_all("h1, h2, h3, h4, h5, h6", "hs => hs.filter(h => h.offsetParent !== null).map(h => +h.tagName[1])")
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:])), levels
    for sec in ("top", "matrix", "causes", "summary", "charts", "claims"):
        assert pg.locator(f"section#{sec}[aria-labelledby]").count() == 1
    link = pg.locator(f'#grid tr[data-id="{shipped["odd"]}"] td a').first
    link.focus()
    pg.keyboard.press("Enter")
    drill = pg.locator("dialog#drill")
    assert drill.is_visible() and drill.get_attribute("aria-labelledby") == "drill-title"
    assert pg.evaluate("document.getElementById('drill').contains(document.activeElement)")
    pg.keyboard.press("Escape")
    assert not drill.is_visible()
    assert pg.evaluate("document.activeElement.closest('tr') && document.activeElement.closest('tr').dataset.id") == shipped["odd"]
    ctx.close()


@pytest.mark.parametrize("size", SIZES, ids=["desktop", "phone"])
def test_axe_reports_no_violations(browser, shipped, size):
    ctx, pg = new_page(browser, shipped["url"], *size)
    pg.locator("#causes details.cause >> nth=0").locator("summary").click()
    pg.locator("ul.claims > li >> nth=0").locator("summary").first.click()
    pg.click(f'#grid tr[data-id="{shipped["odd"]}"] td >> nth=0')
    result = axe_violations(pg)
    assert result == [], json.dumps(result, indent=1)
    ctx.close()


def test_axe_without_javascript_markup(browser, shipped):
    ctx, pg = new_page(browser, shipped["url"], js=False)
    ctx2, pg2 = new_page(browser, "about:blank")
    html = pg.content()
    ctx.close()
    # axe needs script; run it on the markup the no-script reader gets, scripts removed
    html = re.sub(r"<script\b.*?</script>", "", html, flags=re.S).replace("<noscript>", "").replace("</noscript>", "")
    pg2.set_content(html)
    pg2.add_script_tag(path=str(axe_path()))
    result = pg2.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))""")
    assert result == [], json.dumps(result, indent=1)
    ctx2.close()
