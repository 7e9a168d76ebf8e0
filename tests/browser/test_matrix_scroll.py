"""The matrix's row sections paint wherever the scroll box is scrolled to.

Row sections (<tbody>) skip layout while off screen (content-visibility: auto). A skipped section's size
comes from its placeholder; the placeholder must span the table's width, or a section first reached with
the box scrolled sideways is laid out as a narrow strip at the left, counts as off screen, and stays blank.
"""
import pytest

from tests.browser.conftest import new_page

SECTIONS = """() => {
  var g = document.getElementById('grid'), gb = g.getBoundingClientRect();
  var head = document.querySelector('#mx thead').getBoundingClientRect().width;
  return Array.prototype.filter.call(document.querySelectorAll('#mx tbody'), function (tb) {
    var b = tb.getBoundingClientRect();
    return !tb.hidden && b.bottom > gb.top && b.top < gb.bottom;
  }).map(function (tb) {
    var cells = Array.prototype.filter.call(tb.querySelectorAll('td'), function (td) {
      var b = td.getBoundingClientRect();
      return b.width > 0 && b.right > gb.left && b.left < gb.right && b.bottom > gb.top && b.top < gb.bottom;
    });
    return {g: tb.dataset.g, width: tb.getBoundingClientRect().width, head: head, cells: cells.length,
            painted: cells.filter(function (td) { return td.checkVisibility({contentVisibilityAuto: true}); }).length};
  });
}"""


def scrolled_far(pg, top):
    """Scroll the matrix box to its last column and to ``top`` before the page brings it into view."""
    pg.evaluate("t => { var g = document.getElementById('grid'); g.scrollLeft = g.scrollWidth; g.scrollTop = t; }",
                top)
    pg.evaluate("document.getElementById('grid').scrollIntoView()")
    pg.wait_for_timeout(300)
    return pg.evaluate(SECTIONS)


@pytest.mark.parametrize("js", [True, False], ids=["script", "no-script"])
@pytest.mark.parametrize("top", [0, 4000])
def test_sections_reached_scrolled_sideways_are_painted(browser, shipped, js, top):
    ctx, pg = new_page(browser, shipped["url"], width=640, height=900, js=js)
    try:
        assert pg.evaluate("document.getElementById('grid').scrollWidth > document.getElementById('grid').clientWidth")
        seen = scrolled_far(pg, top)
        assert seen, "no row section in the scroll box"
        for s in seen:
            assert abs(s["width"] - s["head"]) < 1, f"section {s['g']} is {s['width']}px wide, the header {s['head']}px"
            assert s["painted"] == s["cells"], f"section {s['g']}: {s}"
        assert sum(s["cells"] for s in seen) > 0, "no cell in the scroll box"
    finally:
        ctx.close()


def test_sections_follow_the_columns_a_filter_leaves(browser, shipped):
    ctx, pg = new_page(browser, shipped["url"] + "#q=fw:torch,keras", width=640, height=900)
    try:
        seen = scrolled_far(pg, 0)
        assert seen
        for s in seen:
            assert abs(s["width"] - s["head"]) < 1, s
            assert s["painted"] == s["cells"], s
        assert sum(s["cells"] for s in seen) > 0
    finally:
        ctx.close()
