"""The first screen of a nightly report in real headless Chromium: the answer line above everything
else at desktop and phone sizes, each environment's line (a missing one named), what changed since the
baseline, the ``outcome:`` query, and the page still valid and accessible."""
import json
import re

import pytest

from harness.report import write_report
from tests.browser.conftest import axe_violations, new_page
from tests.unit.report.nightly import last_night, tonight

SIZES = [(1440, 900), (390, 844)]
ANSWER = ("Not as expected: 3 unexpected cells (latest 2, nightly 1), 1 cell fixed in keras 3.16.0, "
          "1 claim fixed in keras 3.16.0.dev2026102704, 0 harness failures; no results from weekly")


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """Tonight's four environments against last night's, and a ``weekly`` results path that is missing."""
    d = tmp_path_factory.mktemp("night")
    files = tonight(d / "results")
    base = last_night(d / "last")
    given = [*files.values(), d / "results" / "weekly.jsonl"]
    out = write_report(list(files.values()), d / "index.html", list(base.values()), given=given)
    return out.resolve().as_uri()


def visible_ids(pg):
    return pg.eval_on_selector_all("#grid tr[data-r]:not([hidden])", "els => els.map(e => e.dataset.id)")


@pytest.mark.parametrize("size", SIZES, ids=["desktop", "phone"])
def test_the_answer_line_comes_first_on_the_first_screen(browser, night, size):
    ctx, pg = new_page(browser, night, *size)
    h1 = pg.locator("h1")
    assert h1.inner_text() == ANSWER
    box = h1.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= size[1]  # the whole line on the first screen
    assert box["x"] + box["width"] <= size[0]  # and not cut at the side
    # nothing that the page shows starts above it (the skip link waits off screen until focused)
    above = pg.evaluate("""top => Array.from(document.body.querySelectorAll('*')).filter(e => {
        if (e.closest('h1') || e.contains(document.querySelector('h1'))) return false;
        const r = e.getBoundingClientRect();
        return r.width > 0 && r.height > 0 && r.right > 0 && r.top < top;
      }).map(e => e.tagName + '.' + e.className)""", box["y"])
    assert above == []
    # the environments, then what changed, then the rest of the page
    tops = {sel: pg.locator(sel).first.bounding_box()["y"]
            for sel in ("#answer-envs", "#changes-top", "header nav", ".totals", "#grid")}
    assert box["y"] < tops["#answer-envs"] < tops["#changes-top"] < tops["header nav"] < tops[".totals"] < tops["#grid"]
    envs = pg.locator("#answer-envs > li")
    assert [t.split(":")[0] for t in envs.all_inner_texts()] == ["current", "legacy", "latest", "nightly", "weekly"]
    weekly = envs.nth(4).inner_text()
    assert re.search(r"weekly: no results — \S+weekly\.jsonl is missing: the environment did not install or its "
                     r"run did not start", weekly), weekly
    assert envs.nth(4).bounding_box()["y"] < size[1]  # the missing environment is named on the first screen
    changed = pg.locator("#changes-top").inner_text()
    assert changed.startswith("Changed since the baseline (current, latest, nightly): 3 new divergences, 1 fix, "
                              "1 claim verdict change")
    assert pg.locator("#changes-top").bounding_box()["y"] < size[1]
    assert pg.errors == []
    ctx.close()


def test_outcome_filters_the_matrix_and_survives_a_reload(browser, night):
    ctx, pg = new_page(browser, night)
    pg.fill("input[name=q]", "outcome:fixed")
    assert visible_ids(pg) == ["gn-4"]
    pg.fill("input[name=q]", "outcome:unexpected env:latest")
    assert sorted(visible_ids(pg)) == ["gn-3", "ln-2"]
    pg.fill("input[name=q]", "outcome:unexpected,fixed")
    assert sorted(visible_ids(pg)) == ["gn-3", "gn-4", "ln-1", "ln-2"]
    pg.fill("input[name=q]", "outcome:fixed adapter:torch")  # the fixed cell is in a keras-tf column
    assert visible_ids(pg) == []
    pg.fill("input[name=q]", "outcome:unexpected,fixed env:current,legacy")  # the pinned environments are fine
    assert visible_ids(pg) == []
    pg.fill("input[name=q]", "outcome:expected env:latest")  # rows with an expected cell in latest
    assert sorted(visible_ids(pg)) == ["gn-3", "gn-4", "gn-5", "ln-1", "ln-2"]
    pg.fill("input[name=q]", "outcome:fixed")
    url = pg.evaluate("location.href")  # the page's own: Playwright's page.url may lag behind replaceState
    assert url.endswith("#q=outcome%3Afixed")
    pg.goto("about:blank")
    pg.goto(url)
    pg.wait_for_function("window.normconfReady !== undefined")
    assert visible_ids(pg) == ["gn-4"] and pg.input_value("input[name=q]") == "outcome:fixed"
    assert pg.errors == []
    ctx.close()


def test_an_environment_lists_its_cells_and_opens_them(browser, night):
    ctx, pg = new_page(browser, night)
    latest = pg.locator("#answer-envs > li", has_text="latest:")
    latest.locator("details.which > summary").click()
    items = latest.locator("details.which li")
    assert items.count() == 3
    text = latest.locator("details.which").inner_text()
    assert "ln-2 [keras-tf@latest] unexpected: new divergence" in text
    assert "gn-4 [keras-tf@latest] fixed: agree, the entry expects diverge: one-pass variance" in text
    latest.locator("a", has_text="gn-4 [keras-tf@latest]").click()  # an agreeing cell: its drill-down
    drill = pg.locator("#drill")
    assert drill.is_visible()
    assert "fixed in keras 3.16.0 (an unexpected pass: the entry expects diverge): one-pass variance" \
        in drill.inner_text()
    pg.keyboard.press("Escape")
    latest.locator("a", has_text="Show these rows in the matrix").click()
    pg.wait_for_function("document.getElementById('count').textContent.indexOf(' of ') > 0")
    assert sorted(visible_ids(pg)) == ["gn-3", "gn-4", "ln-2"]
    # a group of changes opens to its cells
    group = pg.locator("#changes-top ul.groups > li").first
    group.locator("summary").click()
    assert "ln-2 [keras-tf@latest]: agree 1e-7 abs → diverge 0.5 abs" in group.inner_text()
    assert pg.errors == []
    ctx.close()


def test_without_javascript_the_lists_link_to_the_details(browser, night):
    ctx, pg = new_page(browser, night, js=False)
    assert pg.locator("h1").inner_text() == ANSWER
    nightly = pg.locator("#answer-envs > li", has_text="nightly:")
    nightly.locator("details.which > summary").click()
    link = nightly.locator("a[href^='#x']")
    assert link.count() == 1
    link.click()
    target = pg.locator(pg.url[pg.url.index("#"):])
    assert target.count() == 1 and "ln-1 [keras-tf@nightly]" in target.locator("summary").inner_text()
    ctx.close()


@pytest.mark.parametrize("size", SIZES, ids=["desktop", "phone"])
def test_axe_reports_no_violations_on_the_first_screen(browser, night, size):
    ctx, pg = new_page(browser, night, *size)
    for d in pg.locator("#answer-envs details, #changes-top details").all():
        d.locator("summary").first.click()
    pg.fill("input[name=q]", "outcome:unexpected")
    result = axe_violations(pg)
    assert result == [], json.dumps(result, indent=1)
    ctx.close()
