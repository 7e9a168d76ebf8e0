"""The values the report shows per cell and in its drill-down and details: what a cell expected to raise
raised, one unit per column (the error over the allowed error), never `nan`, the output the largest
difference is in with every output's figures, the documented default epsilon a cell used, and framework
text without terminal control sequences.

Every record is made the way a conformance run makes it: the shipped case files, their seeded inputs, a
reply as a worker sends it, the harness's own verdict (``judge_cell``) and message (``explain``), written
with the ``Writer`` and read back."""
from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from harness.cases.inputs import make_inputs, round_to
from harness.cases.load import load_file
from harness.cases.model import Case
from harness.execution.explain import explain
from harness.execution.judge import judge_cell
from harness.numerics.backward import grads
from harness.numerics.reference import normalize
from harness.report.cells import SORT_RAISE, cell_text, ratio_text, short
from harness.report.html import render
from harness.report.model import build
from harness.report.page_data import drill_data
from harness.results.read import merge, read
from harness.results.record import Result
from harness.results.write import Writer
from harness.text import strip_escapes
from harness.workers.protocol import Reply

REPO = Path(__file__).resolve().parents[3]
PYTORCH_EPS = {"value": 1e-5, "quote": "eps: a value added to the denominator for numerical stability. Default: 1e-5",
               "source": "https://docs.pytorch.org/docs/2.13/generated/torch.nn.LayerNorm.html"}
KERAS_ANSI = ("RuntimeError: Exception encountered when calling LayerNormalization.call().\n\n\x1b[1mGiven "
              "normalized_shape=[8], expected input with shape [*, 8]\x1b[0m\n\nArguments received")
EXPORT_ANSI = ("TorchExportError: Failed to export the model with torch.export. \x1b[96mThis is step 1/3\x1b[0m of "
               "exporting the model to ONNX.\r\n\x1b]8;;https://pytorch.org/docs\x1b\\docs\x1b]8;;\x1b\\ \x9b2K"
               "\x1b(B\x07done")


def shipped(path, **pick):
    """The first case of a shipped case file whose fields have the values in ``pick``."""
    for c in load_file(REPO / path, display=path):
        if all(getattr(c, k) == v for k, v in pick.items()):
            return c
    raise AssertionError(f"no case {pick} in {path}")


def cell(case, adapter, reply, env="current") -> Result:
    """A cell's record as the runner makes it from a worker's reply."""
    inputs = make_inputs(case)
    reply = reply(inputs) if callable(reply) else reply
    judged = judge_cell(case, inputs, reply)
    r = Result(case_id=case.id, adapter=adapter, env=env, status=judged.status, versions={"fw": "1.0"},
               metrics=judged.metrics, message=reply.message, traceback=reply.traceback,
               snippet=f"y = {adapter}.norm(x)", duration=0.01, case=case.to_dict())
    if judged.status == "diverge":
        r.message = explain(case, r)
    return r


def output(case, delta=0.0, eps=None, nan=False, dtype=None):
    """A reply whose output is the reference (with ``eps``), off by ``delta`` at one element."""
    def make(inputs):
        sem = case.semantics_with(case.epsilon if eps is None else eps)
        y = np.array(round_to(normalize(inputs.x, sem, inputs.gamma, inputs.beta), dtype or case.dtype))
        y.flat[3] += delta
        if nan:
            y.flat[5] = np.nan
        info = {"epsilon_default": PYTORCH_EPS} if case.epsilon is None else {}
        return Reply("ok", y=y.astype(dtype or case.dtype), info=info)
    return make


def raised(message, *types):
    return Reply("error", message=message, traceback=f"Traceback (most recent call last):\n{message}",
                 info={"exception_types": list(types) or [message.split(":", 1)[0]]})


def page_of(tmp_path, results):
    w = Writer(tmp_path / "current.jsonl", "current")
    for r in results:
        w.write(r)
    w.close()
    merged = merge([read(tmp_path / "current.jsonl")])
    return merged, build(merged), render(merged)


def cells_of(matrix):
    return {(row.case_id, matrix.columns[j].adapter): c for row in matrix.rows for j, c in enumerate(row.cells)
            if c.result is not None}


def details_of(page, case_id, adapter):
    """The no-JavaScript details of one cell, as text."""
    m = re.search(r'<details id="x\d+-\d+" class="cell-details"><summary><span[^>]*>[^<]*</span> '
                  + re.escape(html.escape(case_id)) + r" \[" + re.escape(adapter) + r"@current\]</summary>(.*?)</details>",
                  page, re.DOTALL)
    assert m, (case_id, adapter)
    text = re.sub(r"<[^>]+>", " ", re.sub(r"</?(?:a|span|code|b)\b[^>]*>", "", m.group(0)))
    return " ".join(html.unescape(text).split())


def drill(matrix, case_id, adapter):
    """The page data of one cell (its fields padded with their defaults) and the string table."""
    from harness.report.html import _row_info
    from harness.report.page_data import _CELL_DEFAULTS
    data = drill_data(matrix, _row_info(matrix, None))
    r = next(i for i, row in enumerate(data["rows"]) if row[0] == case_id)
    c = next(j for j, col in enumerate(data["cols"]) if col["a"] == adapter)
    got = data["cells"][data["rows"][r][9][c]]
    return got + list(_CELL_DEFAULTS[len(got):]), data["str"], data["rows"][r]


@pytest.fixture(scope="module")
def errors_case():
    return shipped("cases/group_norm/errors.yaml", layout="BTF")


def test_a_cell_expected_to_raise_reads_as_what_happened(tmp_path, errors_case):
    c = errors_case
    rs = [cell(c, "torch", raised("ValueError: num_channels (6) must be divisible by num_groups (4)")),
          cell(c, "keras-tf", raised("ValueError: Number of groups (4) must be a multiple of the number of "
                                     "channels (6).")),
          cell(c, "jax", raised("TypeError: cannot reshape array of shape (2, 5, 6) (size 60) into shape "
                                "(2, 5, 4, 1) (size 40)")),
          cell(c, "flax-linen", Reply("ok", y=np.zeros(c.shape, np.float32)))]
    assert [r.status for r in rs] == ["agree", "diverge", "diverge", "diverge"]
    _, matrix, page = page_of(tmp_path, rs)
    got = {a: x for (_, a), x in cells_of(matrix).items()}
    assert got["torch"].text == "agree raised ValueError"
    assert got["keras-tf"].text == "diverge ValueError, other message"
    assert got["jax"].text == "diverge TypeError, not ValueError"
    assert got["flax-linen"].text == "diverge did not raise"
    assert got["torch"].value == 0 and {got[a].value for a in ("keras-tf", "jax", "flax-linen")} == {SORT_RAISE}
    assert not any("ulp" in x.text or "nan" in x.text for x in got.values())
    # both the expectation and what was raised, in the details and the drill-down
    text = details_of(page, c.id, "keras-tf")
    assert "expected raises ValueError with a message containing 'divisible by' or 'not divisible'" in text
    assert "raised ValueError: Number of groups (4) must be a multiple of the number of channels (6)." in text
    assert "raised nothing: the call returned an output" in details_of(page, c.id, "flax-linen")
    assert "cannot reshape array of shape (2, 5, 6)" in details_of(page, c.id, "jax")
    for adapter, happened in (("torch", "ValueError: num_channels (6) must be divisible by num_groups (4)"),
                              ("flax-linen", "nothing: the call returned an output")):
        d, S, _ = drill(matrix, c.id, adapter)
        assert S[d[20]].startswith("ValueError with a message containing 'divisible by'") and S[d[21]] == happened
        assert d[2] == 0  # nothing was measured


def test_every_measured_cell_is_its_error_over_the_allowed_error(tmp_path):
    cases = [c for c in load_file(REPO / "cases/layer_norm/seed_btf.yaml", display="cases/layer_norm/seed_btf.yaml")
             if c.dtype == "float32"][:4]
    rs = [cell(cases[0], "torch", output(cases[0])), cell(cases[1], "torch", output(cases[1], 0.5)),
          cell(cases[2], "torch", output(cases[2], 3e-6)), cell(cases[3], "torch", output(cases[3], 1e-3)),
          cell(cases[0], "keras-tf", output(cases[0])), cell(cases[1], "keras-tf", output(cases[1], nan=True))]
    assert [r.status for r in rs] == ["agree", "diverge", "agree", "diverge", "agree", "diverge"]
    _, matrix, page = page_of(tmp_path, rs)
    got = cells_of(matrix)
    for x in got.values():
        m = x.result.metrics
        if m.nonfinite:
            assert x.text == "diverge non-finite"
            continue
        ratio = m.max_abs / m.allowed
        assert x.number == ratio_text(ratio, x.status == "diverge") and x.value == pytest.approx(ratio)
        assert (ratio <= 1) == (x.status == "agree")
        assert x.number.endswith("×") and "ulp" not in x.text
    # the sort value follows the ratio: diverging cells above agreeing ones, larger errors first
    torch = sorted((x for (_, a), x in got.items() if a == "torch"), key=lambda x: -x.value)
    assert [x.status for x in torch] == ["diverge", "diverge", "agree", "agree"]
    assert torch[0].result.metrics.max_abs > torch[1].result.metrics.max_abs
    # the page data carries it last in the metrics list, for the page's sort
    d, _, _ = drill(matrix, cases[1].id, "torch")
    assert d[2][16] == got[(cases[1].id, "torch")].value and d[1] == got[(cases[1].id, "torch")].text
    # the drill-down and the details keep the absolute error and the ULP figure
    text = details_of(page, cases[1].id, "torch")
    m = got[(cases[1].id, "torch")].result.metrics
    assert f"max abs 0.5 ({got[(cases[1].id, 'torch')].number} the allowed {m.allowed:.3g})" in text
    assert re.search(r"max [\d.e+]+ ulp", text)


def test_records_without_the_allowed_error_show_the_absolute_error_with_its_unit():
    case = {"id": "old", "op": "layer_norm", "layout": "BF", "shape": {"B": 2, "F": 4}, "dtype": "float32"}
    old = {"max_abs": 1.19, "max_rel": 0.5, "max_ulp": 1e7, "n": 8, "n_bad": 3}
    assert cell_text(Result(case_id="old", adapter="a", env="e", status="diverge", metrics=old, case=case))[:2] == \
        ("diverge", "1.2 abs")
    assert cell_text(Result(case_id="old", adapter="a", env="e", status="agree", case=case,
                            metrics=dict(old, max_abs=2.4e-7, max_ulp=2.0)))[:2] == ("agree", "2.4e-7 abs")


def test_nan_is_never_a_cells_number():
    case = {"id": "n", "op": "layer_norm", "layout": "BF", "shape": {"B": 2, "F": 4}, "dtype": "float32"}
    for status, m in (("diverge", {"max_abs": "nan", "allowed": 1e-6}), ("diverge", {"max_abs": "inf", "allowed": 1e-6}),
                      ("agree", {"max_abs": "nan", "allowed": 1e-6}), ("diverge", {"max_abs": "nan"}),
                      ("agree", {"max_abs": 0.0, "allowed": "nan"}), ("diverge", {"max_abs": 1.0, "allowed": 0.0}),
                      ("agree", {"max_abs": 1e-7, "allowed": 0.0}), ("agree", {}), ("diverge", {})):
        r = Result(case_id="n", adapter="a", env="e", status=status, metrics=m, case=case)
        word, number, value = cell_text(r)
        assert "nan" not in number.lower() and word == status, (status, m, number)
        assert math.isfinite(value)
    nonfinite = Result(case_id="n", adapter="a", env="e", status="diverge", metrics={"max_abs": "inf", "allowed": 1e-6})
    assert cell_text(nonfinite)[1] == "non-finite"


def test_ratio_words_are_short_and_a_divergence_never_reads_as_within_bounds():
    assert [short(v) for v in (0, 0.031, 4.2, 12.3, 4.2e8, 4.2e-4)] == ["0", "0.031", "4.2", "12", "4.2e8", "4.2e-4"]
    assert ratio_text(0.9999) == "1×"
    assert ratio_text(1.004, diverges=True) == "1.004×"
    assert ratio_text(1 + 1e-12, diverges=True) == ">1×"
    assert ratio_text(0.5, diverges=True) == ">1×"  # an elementwise tolerance measured at the largest difference


def test_a_cases_own_elementwise_tolerance_is_the_allowed_error(tmp_path):
    d = shipped("cases/layer_norm/seed_btf.yaml", dtype="float32").to_dict()
    d.update(id="ln-own-tol", tolerance={"atol": 1e-3, "rtol": 0.0, "reason": "a sequential sum in the model"})
    c = Case.from_dict(d)
    r = cell(c, "torch", output(c, 5e-4))
    assert r.status == "agree" and r.metrics.rule == "atol/rtol"
    _, matrix, page = page_of(tmp_path, [r, cell(c, "keras-tf", output(c, 4e-3))])
    got = cells_of(matrix)
    assert got[(c.id, "torch")].number == ratio_text(r.metrics.max_abs / 1e-3)
    assert got[(c.id, "keras-tf")].status == "diverge" and got[(c.id, "keras-tf")].number.endswith("×")
    text = details_of(page, c.id, "keras-tf")
    assert "atol + rtol·|expected| = 0.001 + 0·|expected|, the case's own tolerance (a sequential sum in the model)" \
        in text
    _, S, row = drill(matrix, c.id, "keras-tf")
    assert S[row[12]].startswith("|actual − expected| ≤ atol + rtol·|expected| = 0.001")


def test_the_largest_difference_names_its_output_and_every_output_is_shown(tmp_path):
    c = shipped("cases/group_norm/backward.yaml", dtype="float32", groups=2)

    def reply(inputs):
        g = grads(inputs.x, c.semantics, inputs.dy, inputs.gamma, inputs.beta)
        return Reply("ok", y=g["dx"].astype(np.float32),
                     arrays={"dgamma": g["dgamma"].astype(np.float32), "dbeta": (g["dbeta"] * 1.5).astype(np.float32)})
    r = cell(c, "torch", reply)
    assert r.status == "diverge" and r.metrics.output == "dbeta"
    _, matrix, page = page_of(tmp_path, [r])
    x = cells_of(matrix)[(c.id, "torch")]
    assert x.number == ratio_text(r.metrics.max_abs / r.metrics.allowed, True)
    text = details_of(page, c.id, "torch")
    i = r.metrics.worst_index[0]
    assert f"largest difference in dbeta at [{i}]: expected " in text
    table = re.search(r'<table class="outputs">.*?</table>', page, re.DOTALL).group(0)
    rows = re.findall(r"<tr><th scope=\"row\">(\w+)( \(worst\))?</th>(.*?)</tr>", table)
    assert [(n, bool(w)) for n, w, _ in rows] == [("dbeta", True), ("dx", False), ("dgamma", False)]
    for name, _, tds in rows:
        o = r.metrics.outputs[name]
        cols = [html.unescape(t) for t in re.findall(r"<td>(.*?)</td>", tds)]
        assert cols[3] == ("agrees" if o.ok else "diverges") and cols[2] == ratio_text(o.max_abs / o.allowed, not o.ok)
    d, S, _ = drill(matrix, c.id, "torch")
    assert S[d[17]] == "dbeta"
    assert sorted(S[o[0]] for o in d[18]) == ["dbeta", "dgamma", "dx"]
    assert {S[o[0]]: (o[4], S[o[3]]) for o in d[18]}["dbeta"] == (0, x.number)


def test_a_default_epsilon_cell_shows_the_documented_default_and_the_row_says_so(tmp_path):
    c = shipped("cases/layer_norm/default_epsilon.yaml", dtype="float32")
    assert c.epsilon is None
    rs = [cell(c, "torch", output(c, eps=1e-5)), cell(c, "keras-tf", output(c, eps=1e-3))]
    assert [r.status for r in rs] == ["agree", "diverge"]
    _, matrix, page = page_of(tmp_path, rs)
    text = details_of(page, c.id, "keras-tf")
    assert ("epsilon 1e-05, the documented default: “eps: a value added to the denominator for numerical stability. "
            "Default: 1e-5” (https://docs.pytorch.org/docs/2.13/generated/torch.nn.LayerNorm.html)") in text
    assert 'href="https://docs.pytorch.org/docs/2.13/generated/torch.nn.LayerNorm.html"' in page
    d, S, row = drill(matrix, c.id, "torch")
    assert S[d[19][0]] == "1e-05" and S[d[19][1]] == PYTORCH_EPS["quote"] and S[d[19][3]] == PYTORCH_EPS["source"]
    assert "eps=each framework's documented default" in S[row[2]] and "eps=0" not in S[row[2]]
    assert "eps=0 " not in page


def test_terminal_escapes_never_reach_the_page(tmp_path):
    c = shipped("cases/layer_norm/seed_btf.yaml", dtype="float32")
    r = cell(c, "keras-torch", raised(KERAS_ANSI))
    r2 = cell(c, "torch-onnx", raised(EXPORT_ANSI))
    r3 = cell(c, "keras-jax", raised("\x1b[31mValueError\x1b[0m: bad"))
    assert {r.status, r2.status, r3.status} == {"error"}
    _, matrix, page = page_of(tmp_path, [r, r2, r3])
    assert "\x1b" not in page and "\x9b" not in page and "\x07" not in page and "\\u001b" not in page.lower()
    assert "[1m" not in page and "[96m" not in page and "]8;;" not in page
    assert "Given normalized_shape=[8], expected input with shape [*, 8]" in page
    assert cells_of(matrix)[(c.id, "keras-jax")].text == "error ValueError"
    # root-cause titles and the search text (the page data's messages) too
    causes = [x.text for x in matrix.causes]
    assert causes and not any("\x1b" in t for t in causes)
    data = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.DOTALL).group(1))
    assert not any("\x1b" in s or "\x9b" in s for s in data["str"])
    assert not any("\x1b" in k["t"] for k in data["causes"])


def test_strip_escapes_removes_every_control_sequence():
    assert strip_escapes(EXPORT_ANSI) == ("TorchExportError: Failed to export the model with torch.export. This is "
                                          "step 1/3 of exporting the model to ONNX.\ndocs done")
    assert strip_escapes("progress 10%\rprogress 20%\r\n") == "progress 10%\nprogress 20%\n"
    assert strip_escapes("a\x1b7b\x1bcc\x1b[?25ld\x1bP1$r\x1b\\e\x1b]0;title\x07f") == "abcdef"
    assert strip_escapes("unterminated \x1b]8;;https://e\nnext line") == "unterminated \nnext line"
    plain = "tabs\tand\nlines, ünïcode ≤ 1×"
    assert strip_escapes(plain) is plain
