"""The report in real headless Chromium."""
import re


def ready(page, url=None):
    page.goto(url or page.report_url)
    page.wait_for_function("window.normconfReady !== undefined")


def visible_ids(page):
    return page.eval_on_selector_all("#grid tr[data-r]:not([hidden])", "els => els.map(e => e.dataset.id)")


def test_renders_without_errors(page):
    ready(page)
    assert page.title().startswith("normconf")
    assert page.locator("#grid caption").first.is_visible()
    assert page.locator("#filters").is_visible()
    assert len(visible_ids(page)) == 5
    assert "diverge 0.5" in page.locator("#grid").inner_text()
    assert page.locator("#grid table >> nth=0").locator("thead th").count() == 4  # case + 3 columns
    assert page.errors == [] and page.dialogs == []


def test_filters_update_the_url_and_the_url_restores_them(page):
    ready(page)
    page.fill("input[name=q]", "op:layer_norm")
    assert sorted(visible_ids(page)) == ["ln-btf-float32", "ln-btf-small-float32"]
    assert "q=op%3Alayer_norm" in page.url
    page.fill("input[name=q]", "op:layer_norm status:error")
    assert visible_ids(page) == ["ln-btf-small-float32"]
    url = page.url
    page.goto("about:blank")
    ready(page, url)
    assert visible_ids(page) == ["ln-btf-small-float32"]
    assert page.input_value("input[name=q]") == "op:layer_norm status:error"
    assert page.errors == []


def test_query_takes_several_values_globs_and_words(page):
    ready(page)
    page.fill("input[name=q]", "op:layer_norm,batch_norm status:diverge,crash")
    ids = visible_ids(page)
    assert len(ids) == 2 and "ln-btf-float32" in ids and any(i.startswith("bn-") for i in ids)
    page.fill("input[name=q]", "adapter:keras-* status:disagree")
    heads = [h.inner_text() for h in page.locator("#grid table >> nth=0").locator("thead th").all() if h.is_visible()]
    assert len(heads) == 2 and "keras-tf" in heads[1]
    ids = visible_ids(page)
    assert len(ids) == 3 and {"ln-btf-float32", "ln-btf-small-float32"} < set(ids)
    page.fill("input[name=q]", "NCHW case")  # words search descriptions too
    assert visible_ids(page) == ["gn-nchw-g2-float64"]
    page.goto(page.report_url + "#op=layer_norm&status=error")  # links in the older form still work
    page.reload()
    page.wait_for_function("window.normconfReady !== undefined")
    assert visible_ids(page) == ["ln-btf-small-float32"]
    assert page.errors == []


def test_views_and_no_match_message(page):
    ready(page)
    page.check("input[name=view][value=disagree]")
    assert len(visible_ids(page)) == 4
    page.check("input[name=view][value=odd]")
    assert visible_ids(page) == ["gn-nchw-g2-float64"]
    page.fill("input[name=q]", "no-such-case")
    assert visible_ids(page) == []
    assert page.locator("#nomatch").is_visible()
    page.click("#clear")
    assert len(visible_ids(page)) == 5 and not page.locator("#nomatch").is_visible()


def test_adapter_and_environment_filters_hide_columns(page):
    ready(page)
    page.fill("input[name=q]", "env:legacy")
    heads = [h for h in page.locator("#grid table >> nth=0").locator("thead th").all() if h.is_visible()]
    assert len(heads) == 2 and "tfa" in heads[1].inner_text()
    page.fill("input[name=q]", "adapter:torch")
    page.check("input[name=view][value=disagree]")
    assert visible_ids(page) == ["gn-nchw-g2-float64"]


def test_drill_down_opens_with_details_and_is_shareable(page):
    ready(page)
    page.click('#grid tr[data-id="gn-nchw-g2-float64"] td >> nth=0')
    drill = page.locator("#drill")
    assert drill.is_visible()
    text = drill.inner_text()
    for part in ("gn-nchw-g2-float64 [torch@current]", "diverge 0.5", "op=group_norm layout=NCHW", "groups=2",
                 "max abs 0.5", "tolerance", "at [N=1, C=2, H=0, W=1]", "torch.norm(x)", "cases/x.yaml:3",
                 "statistics over {C,H,W}",
                 "normconf run --env-name current -k gn-nchw-g2-float64 --adapters torch"):
        assert part in text, part
    assert "cell=gn-nchw-g2-float64%7Ctorch%40current" in page.url
    url = page.url
    page.keyboard.press("Escape")
    assert not drill.is_visible()
    page.goto("about:blank")
    ready(page, url)
    assert page.locator("#drill").is_visible()
    assert "gn-nchw-g2-float64 [torch@current]" in page.locator("#drill").inner_text()
    assert page.errors == []


def test_sorting_by_a_column_puts_the_worst_first(page):
    ready(page)
    page.click("#grid thead th:nth-child(3) button.sort")  # keras-tf@current
    # one sort over every row: the rows leave their group sections for one section that says what it is
    assert page.locator("#grid tbody:not([hidden])").count() == 1
    assert "sorted by the error in keras-tf@current" in page.inner_text("#grid tbody.sorted tr.gh")
    assert page.get_attribute("#grid thead th:nth-child(3)", "aria-sort") == "descending"
    assert page.get_attribute("#grid thead th:nth-child(3) button.sort", "aria-pressed") == "true"
    assert "keras-tf@current" in page.inner_text("#sorted")
    order = page.eval_on_selector_all('#grid tbody.sorted tr[data-r]', "els => els.map(e => e.dataset.id)")
    ln = [i for i in order if i.startswith("ln-")]
    assert ln == ["ln-btf-small-float32", "ln-btf-float32"]  # error ranks above diverge
    assert order.index("ln-btf-small-float32") < order.index("ln-btf-float32")
    assert "sort=keras-tf%40current" in page.url
    page.click("#grid thead th:nth-child(3) button.sort")  # again: back to the group sections
    assert page.locator("#grid tbody.sorted").count() == 0
    assert page.inner_text("#sorted") == ""
    assert page.get_attribute("#grid thead th:nth-child(3)", "aria-sort") is None


def test_hostile_strings_stay_inert(page):
    ready(page)
    page.click('#grid tr[data-id^="bn-"] td >> nth=1')  # the crash cell of the hostile case
    page.keyboard.press("Escape")
    page.click('#grid tr[data-id="ln-btf-small-float32"] td >> nth=1')  # error with hostile message
    page.hover("#drill pre.message")
    page.hover('#grid tr[data-id^="bn-"] th')
    pwned = page.evaluate("window.__pwned")
    assert pwned is None
    assert page.dialogs == []
    assert page.evaluate("document.querySelectorAll('script').length") == 3  # the page script and its two data blocks
    assert page.evaluate("document.querySelectorAll('[onmouseover]').length") == 0
    page.keyboard.press("Escape")
    for sel in ('#grid tr[data-id="gn-nchw-g2-float64"] td >> nth=0', '#grid tr[data-id="ln-btf-small-float32"] td >> nth=0'):
        page.click(sel)  # one source is https, the other hides javascript: behind a tab
        page.keyboard.press("Escape")
    page.click('#grid tr[data-id="gn-nchw-g2-float64"] td >> nth=0')
    assert page.locator('#drill a[href="https://example.org/groupnorm"]').count() == 1
    page.keyboard.press("Escape")
    page.click('#grid tr[data-id="ln-btf-small-float32"] td >> nth=0')
    assert "script:window.__pwned=5" in page.locator("#drill").inner_text()  # shown, not linked
    links = page.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))")
    assert links and all(not re.match(r"^\s*[a-z][a-z0-9+.-]*:", h, re.I) or h.startswith(("https://", "http://"))
                         for h in links), links
    assert page.evaluate("Array.from(document.querySelectorAll('a')).filter(a => /^(javascript|data|vbscript):/i.test(a.href)).length") == 0
    assert "<script>window.__pwned=1</script>" in page.locator("#drill").inner_text()
    assert page.errors == []


def test_readable_without_javascript(browser, report):
    ctx = browser.new_context(java_script_enabled=False)
    pg = ctx.new_page()
    pg.goto(report)
    assert pg.locator("#grid").is_visible()
    assert not pg.locator("#filters").is_visible()
    assert "Filters, sorting and the drill-down panel need JavaScript" in pg.locator("body").inner_text()
    # every disagreeing cell links to its server-rendered details
    assert pg.locator('a[href="https://example.org/groupnorm"]').count() >= 1
    pg.click('#grid tr[data-id="gn-nchw-g2-float64"] td a')
    assert re.search(r"#x\d+-\d+$", pg.url)
    details = pg.locator(pg.url[pg.url.index("#"):])
    details.locator("summary").click()
    assert "max abs 0.5" in details.inner_text()
    assert pg.locator("#summary table").is_visible() and pg.locator("#charts svg").count() >= 1
    # each root-cause group lists its cells, and every case's parameters are listed
    groups = pg.locator("#causes details.cause")
    assert groups.count() >= 1
    assert pg.locator("#causes details.cause ul.cells a[href^='#x']").count() == 4
    params = pg.locator("#case-parameters li")
    assert params.count() == 5
    assert "gn-nchw-g2-float64 op=group_norm layout=NCHW" in pg.locator("#case-parameters").inner_text()
    ctx.close()


def test_row_header_tooltip_names_the_parameters_and_dtype_layout_filters(page):
    ready(page)
    th = page.locator('#grid tr[data-id="gn-nchw-g2-float64"] th')
    assert th.get_attribute("title") is None  # set from the page data on first hover
    th.hover()
    title = th.get_attribute("title")
    assert title.startswith("op=group_norm layout=NCHW") and "groups=2" in title and "dtype=float64" in title
    page.fill("input[name=q]", "layout:NCHW")
    assert visible_ids(page) == ["gn-nchw-g2-float64"]
    page.fill("input[name=q]", "dtype:float64,bfloat16 layout:BTF,NCHW")
    assert visible_ids(page) == ["gn-nchw-g2-float64"]
    page.fill("input[name=q]", "dtype:float32 layout:N*")
    assert visible_ids(page) == []
    assert page.errors == []


def test_disagreements_link_switches_the_view(page):
    ready(page)
    assert "4 cells disagree" in page.locator("#causes").inner_text()
    page.click("#causes a[href='#view=disagree']")
    page.wait_for_function("document.getElementById('count').textContent.startsWith('4 of')")
    assert page.is_checked("input[name=view][value=disagree]")


def test_start_here_leads_to_the_seed_question(page):
    ready(page)
    box = page.locator(".start")
    assert "GroupNorm with one group is LayerNorm" in box.inner_text()
    box.locator("a[href='#q=gn-btf-g1-']").click()
    page.wait_for_function("document.getElementById('count').textContent.startsWith('1 of')")
    assert visible_ids(page) == ["gn-btf-g1-float32"]
