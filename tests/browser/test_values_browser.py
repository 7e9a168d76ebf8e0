"""The values of every cell in real Chromium: the matrix's words and numbers (one unit per column, never
`nan`, what a cell expected to raise raised), the drill-down's figures (the output the largest difference
is in, every output, the documented default epsilon, both sides of a raise), framework text without
terminal control sequences, and the sort by a column's error over the allowed error.

``check_page`` is also a script over any written report:

    python tests/browser/test_values_browser.py reports/index.html   # exit 1 and one line per problem
"""
from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if __name__ == "__main__":  # run as a script
    sys.path.insert(0, str(ROOT))  # the imports below need the repository on the path

from harness.cases.load import load_file
from tests.browser.conftest import axe_path, new_page

#: the unit a measured cell's number ends with: a multiple of the allowed error, or an absolute error
UNITS = (("×", re.compile(r"^(?:[\d.]+(?:e-?\d+)?|>1)×$")), ("abs", re.compile(r"^[\d.]+(?:e-?\d+)? abs$")))
WORDS = ("agree", "diverge", "error", "crash", "timeout", "n/a", "skipped", "missing")


class _Matrix(HTMLParser):
    """The server-rendered matrix: per table, the column keys and every row's cell texts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables, self.cols, self.rows = [], [], []
        self.depth = 0  # inside a table.mx
        self.cell = None
        self.row_id = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and "mx" in (a.get("class") or "").split():
            self.depth, self.cols, self.rows = 1, [], []
            self.tables.append((self.cols, self.rows))
        elif not self.depth:
            return
        elif tag == "th" and a.get("data-k"):
            self.cols.append(a["data-k"])
        elif tag == "tr":
            self._end_cell()
            self.row_id = a.get("data-id", "") if "data-r" in a else None  # a group's caption row is not a case
            if self.row_id is not None:
                self.rows.append((self.row_id, []))
        elif tag == "td" and self.row_id is not None:
            self._end_cell()
            self.cell = []

    def _end_cell(self):
        if self.cell is not None:
            self.rows[-1][1].append("".join(self.cell).strip())
            self.cell = None

    def handle_endtag(self, tag):
        if not self.depth:
            return
        if tag in ("td", "tr", "tbody"):
            self._end_cell()
        if tag == "table":
            self._end_cell()
            self.depth = 0

    def handle_data(self, data):
        if self.depth and self.cell is not None:
            self.cell.append(data)


def matrix_cells(page: str):
    """(case id, column key, cell text) of every cell of the page's matrix."""
    p = _Matrix()
    p.feed(page)
    for cols, rows in p.tables:
        for rid, cells in rows:
            assert len(cells) == len(cols), f"{rid}: {len(cells)} cells for {len(cols)} columns"
            yield from ((rid, k, text) for k, text in zip(cols, cells))


def check_page(page: str, raising=frozenset()) -> list[str]:
    """What is wrong with the values of a report's matrix: a cell that shows `nan`, a ULP count (the number
    is the error over the allowed error), a number without a known unit, a column with two units, or a
    cell whose case expects the call to raise (``raising``: case ids) that does not say what it raised."""
    problems, units = [], {}
    for rid, col, text in matrix_cells(page):
        word, _, number = text.replace("!", "").replace("✓", "").strip().partition(" ")
        where = f"{rid} [{col}]: {text!r}"
        if word not in WORDS:
            problems.append(f"{where}: no status word")
        if re.search(r"\bnan\b", text, re.IGNORECASE):
            problems.append(f"{where}: nan")
            continue
        if re.search(r"\bulp\b", text):
            problems.append(f"{where}: a ULP count")
            continue
        if rid in raising and word in ("agree", "diverge"):
            if not re.match(r"^(raised \S+|\S+, other message|\S+, not \S+|did not raise)$", number):
                problems.append(f"{where}: does not say what the call raised")
            continue
        if word in ("agree", "diverge") and number and number not in ("non-finite", "shape"):
            unit = next((u for u, pat in UNITS if pat.match(number)), None)
            if unit is None:
                problems.append(f"{where}: a number without its unit")
            else:
                units.setdefault(col, {}).setdefault(unit, where)
    for col, seen in units.items():
        if len(seen) > 1:
            problems.append(f"column {col} mixes units: " + "; ".join(seen.values()))
    return problems


def raising_cases(results_paths) -> set[str]:
    """Case ids whose case expects the call to raise, from results files."""
    from harness.results.read import read_many
    return {cid for (_, _, cid), r in read_many(results_paths).results.items() if (r.case or {}).get("expect")}


# ---- the shipped cases' report (tests/browser/shipped.py)

def test_every_cell_of_the_shipped_report_has_one_unit_per_column_and_no_nan(shipped):
    page = shipped["html"].read_text(encoding="utf-8")
    raising = raising_cases(shipped["paths"])
    assert raising  # the shipped cases include calls that must raise
    assert check_page(page, raising) == []
    texts = {(rid, col): t for rid, col, t in matrix_cells(page)}
    assert any(t.startswith("agree raised ValueError") for (rid, _), t in texts.items() if rid in raising)
    assert sum(t.endswith("×") for t in texts.values()) > 1000


def test_the_check_finds_what_misleads():
    bad = ('<table class="mx"><thead><tr><th class="case">case</th><th data-k="a@e">a</th><th data-k="b@e">b</th>'
           '</tr></thead><tbody><tr data-r="0" data-id="r0"><th scope="row">r0</th><td class=a>agree 0.03×'
           '<td class=d>diverge nan<tr data-r="1" data-id="gn-raise"><th scope="row">x</th><td class=a>agree 0 ulp'
           '<td class=d>diverge 1.2 abs<tr data-r="2" data-id="r2"><th>r2</th><td class=d>diverge 1.2 abs'
           '<td class=d>diverge 4.2e8×</tbody></table>')
    problems = check_page(bad, {"gn-raise"})
    assert [p.rsplit(": ", 1)[-1] if "mixes" not in p else p.split(":", 1)[0] for p in problems] == [
        "nan", "a ULP count", "does not say what the call raised", "column a@e mixes units"], problems


# ---- a report of cells made the way a run makes them

@pytest.fixture(scope="module")
def values_report(tmp_path_factory):
    from harness.numerics.backward import grads
    from harness.report import write_report
    from harness.results.write import Writer
    from harness.workers.protocol import Reply
    from tests.unit.report.test_values import (
        EXPORT_ANSI,
        KERAS_ANSI,
        cell,
        output,
        raised,
        shipped,
    )
    d = tmp_path_factory.mktemp("values")
    err = shipped("cases/group_norm/errors.yaml", layout="BTF")
    train = shipped("cases/group_norm/backward.yaml", dtype="float32", groups=2)
    eps = shipped("cases/layer_norm/default_epsilon.yaml", dtype="float32")
    fwd = [c for c in load_file(ROOT / "cases/layer_norm/seed_btf.yaml", display="cases/layer_norm/seed_btf.yaml")
           if c.dtype == "float32"][:3]

    def backward(inputs):
        g = grads(inputs.x, train.semantics, inputs.dy, inputs.gamma, inputs.beta)
        return Reply("ok", y=g["dx"].astype(np.float32),
                     arrays={"dgamma": g["dgamma"].astype(np.float32), "dbeta": (g["dbeta"] * 1.5).astype(np.float32)})
    rs = [cell(err, "torch", raised("ValueError: num_channels (6) must be divisible by num_groups (4)")),
          cell(err, "keras-tf", raised("ValueError: Number of groups (4) must be a multiple of the number of "
                                       "channels (6).")),
          cell(train, "torch", backward), cell(train, "keras-tf", backward),
          cell(eps, "torch", output(eps, eps=1e-5)), cell(eps, "keras-tf", output(eps, eps=1e-3)),
          cell(fwd[0], "torch", output(fwd[0], 0.5)), cell(fwd[1], "torch", output(fwd[1], 1e-3)),
          cell(fwd[2], "torch", output(fwd[2])),
          cell(fwd[0], "keras-tf", raised(KERAS_ANSI)), cell(fwd[1], "keras-tf", raised(EXPORT_ANSI)),
          cell(fwd[2], "keras-tf", output(fwd[2]))]
    w = Writer(d / "current.jsonl", "current")
    for r in rs:
        w.write(r)
    w.close()
    out = write_report([d / "current.jsonl"], d / "index.html")
    return {"url": out.resolve().as_uri(), "html": out, "err": err.id, "train": train.id, "eps": eps.id,
            "fwd": [c.id for c in fwd], "results": rs}


def _open(browser, url):
    return new_page(browser, url)


def _drill(pg, case_id, adapter):
    pg.click(f'#grid tr[data-id="{case_id}"] td >> nth={["torch", "keras-tf"].index(adapter)}')
    drill = pg.locator("#drill")
    assert drill.is_visible()
    return drill


def _item(drill, name):
    """The text of the drill-down's <dd> after the <dt> ``name``."""
    return drill.locator(f'xpath=.//dt[normalize-space(.)="{name}"]/following-sibling::dd[1]').inner_text()


def test_the_page_reads_what_each_cell_did(browser, values_report):
    page = values_report["html"].read_text(encoding="utf-8")
    assert check_page(page, {values_report["err"]}) == []
    ctx, pg = _open(browser, values_report["url"])
    grid = pg.locator("#grid").inner_text()
    assert "agree raised ValueError" in grid and "diverge ValueError, other message" in grid
    assert " ulp" not in grid and not re.search(r"\bnan\b", grid, re.IGNORECASE)
    # a cell expected to raise: both sides of it
    drill = _drill(pg, values_report["err"], "keras-tf")
    assert _item(drill, "expected").startswith("raises ValueError with a message containing 'divisible by'")
    assert _item(drill, "raised") == "ValueError: Number of groups (4) must be a multiple of the number of channels (6)."
    assert "metrics" not in drill.inner_text()
    pg.keyboard.press("Escape")
    assert pg.errors == []
    ctx.close()


def test_the_drill_down_names_the_output_and_shows_every_output(browser, values_report):
    ctx, pg = _open(browser, values_report["url"])
    r = next(x for x in values_report["results"] if x.case_id == values_report["train"] and x.adapter == "torch")
    drill = _drill(pg, values_report["train"], "torch")
    assert _item(drill, "largest difference").startswith(f"in dbeta at [{r.metrics.worst_index[0]}]: expected ")
    cell_text = pg.locator(f'#grid tr[data-id="{values_report["train"]}"] td >> nth=0').inner_text()
    number = cell_text.split(" ", 1)[1]
    assert _item(drill, "metrics").startswith("max abs ") and f"({number} the allowed " in _item(drill, "metrics")
    rows = drill.locator("table.outputs tbody tr")
    assert rows.count() == 3
    first = rows.nth(0).locator("th, td").all_inner_texts()
    assert first[0] == "dbeta (worst)" and first[3] == number and first[4] == "diverges"
    names = sorted(rows.nth(i).locator("th").inner_text() for i in range(3))
    assert names == ["dbeta (worst)", "dgamma", "dx"]
    assert all(rows.nth(i).locator("td").nth(3).inner_text() == "agrees" for i in (1, 2))
    # the table reads well to assistive technology
    pg.add_script_tag(path=str(axe_path()))
    violations = pg.evaluate("""async () => {
        const r = await axe.run('#drill', {resultTypes: ['violations']});
        return r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '));
    }""")
    assert violations == []
    assert pg.errors == []
    ctx.close()


def test_the_drill_down_shows_the_documented_default_epsilon(browser, values_report):
    ctx, pg = _open(browser, values_report["url"])
    drill = _drill(pg, values_report["eps"], "torch")
    assert _item(drill, "epsilon") == ("1e-05, the documented default: “eps: a value added to the denominator for "
                                       "numerical stability. Default: 1e-5” "
                                       "(https://docs.pytorch.org/docs/2.13/generated/torch.nn.LayerNorm.html)")
    link = drill.locator('a[href="https://docs.pytorch.org/docs/2.13/generated/torch.nn.LayerNorm.html"]')
    assert link.count() == 1 and link.get_attribute("rel") == "noreferrer"
    ref = _item(drill, "reference")
    assert "eps=each framework's documented default" in ref and "eps=0" not in ref
    assert pg.errors == []
    ctx.close()


def test_framework_text_has_no_terminal_escapes_and_search_reads_it_plain(browser, values_report):
    ctx, pg = _open(browser, values_report["url"])
    for case_id in values_report["fwd"][:2]:
        drill = _drill(pg, case_id, "keras-tf")
        text = drill.inner_text()
        assert "\x1b" not in text and "[1m" not in text and "[96m" not in text and "]8;;" not in text
        pg.keyboard.press("Escape")
    assert "This is step 1/3 of exporting" in pg.locator("#drill pre.message").inner_text()
    pg.fill("input[name=q]", "step 1/3")
    assert pg.eval_on_selector_all("#grid tr[data-r]:not([hidden])", "e => e.map(x => x.dataset.id)") == \
        [values_report["fwd"][1]]
    pg.fill("input[name=q]", "[96mthis")
    assert pg.eval_on_selector_all("#grid tr[data-r]:not([hidden])", "e => e.length") == 0
    # the root-cause groups' titles
    causes = pg.locator("#causes").inner_text()
    assert "[1m" not in causes and "\x1b" not in causes and "[96m" not in causes
    assert "This is step 1/3 of exporting" in causes
    assert pg.errors == []
    ctx.close()


def test_sorting_a_column_follows_the_error_over_the_allowed_error(browser, values_report):
    ctx, pg = _open(browser, values_report["url"])
    pg.locator('#grid thead th[data-k="torch@current"] button.sort').first.click()
    ids = values_report["fwd"]  # one case file: in one section of rows however the grid groups them
    order = pg.eval_on_selector_all("#grid tr[data-r]", "e => e.map(x => x.dataset.id)")
    got = {r.case_id: r for r in values_report["results"] if r.adapter == "torch"}
    want = sorted(ids, key=lambda i: -got[i].metrics.max_abs / got[i].metrics.allowed)
    assert [i for i in order if i in want] == want and want[0] == ids[0]
    assert pg.errors == []
    ctx.close()


if __name__ == "__main__":
    text = Path(sys.argv[1]).read_text(encoding="utf-8")
    results = sys.argv[2:]
    found = check_page(text, raising_cases(results) if results else frozenset())
    n = sum(1 for _ in matrix_cells(text))
    print("\n".join(found) or f"{n} cells: no nan, no ULP count, one unit per column"
          + (", every cell expected to raise says what it raised" if results else ""))
    sys.exit(1 if found else 0)
