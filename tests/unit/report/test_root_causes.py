"""Declared root causes in the report and in ``normconf expectations causes``: cells an entry explains are
grouped by its cause (classification, repository, upstream state), the others stay grouped by framework
and explanation, and a cause's text is inert."""
import re

from harness.cli import main

from .nightly import VERSIONS, cell, write

CAUSES = """\
causes:
  - id: keras-one-pass
    name: "one-pass <b>variance</b>"
    mechanism: keras.ops.moments computes E[x²]−E[x]².
    classification: bug
    repository: keras-team/keras
    affects: [{package: keras, versions: ">=3", apis: [keras.layers.GroupNormalization]}]
    upstream: {none_found: "2026-12-07", searched: ["keras moments one-pass variance"]}
    workaround: compute the variance in float64
  - id: torch-docs
    name: documented
    mechanism: the docs say so.
    classification: documented
    repository: pytorch/pytorch
    affects: [{package: torch}]
    docs: [{url: "https://docs.pytorch.org/x", quote: "unbiased"}]
    upstream: {url: "https://github.com/pytorch/pytorch/issues/77427", title: "BatchNorm running_var", state: open}
expectations:
  - {id: gn-4, adapter: keras-tf, status: diverge, reason: one-pass variance, cause: keras-one-pass}
  - {id: gn-3, adapter: torch, status: diverge, reason: documented, cause: torch-docs}
"""


def setup(tmp_path):
    recs = [cell("gn-4", "keras-tf", "current", VERSIONS, "diverge"),
            cell("gn-5", "keras-tf", "current", VERSIONS, "diverge"),
            cell("gn-3", "torch", "current", VERSIONS, "error"),  # its entry expects diverge: not explained
            cell("ln-1", "torch", "current", VERSIONS)]
    write(tmp_path / "r" / "current.jsonl", "current", recs, VERSIONS)
    cases = tmp_path / "cases"
    (cases / "expectations").mkdir(parents=True)
    (cases / "expectations" / "known.yaml").write_text(CAUSES, encoding="utf-8")
    return cases


def test_the_report_groups_explained_cells_by_their_declared_cause(tmp_path):
    cases = setup(tmp_path)
    out = tmp_path / "index.html"
    assert main(["report", str(tmp_path / "r"), "--out", str(out), "--cases", str(cases)]) == 0
    page = out.read_text()
    groups = re.findall(r'<details class="cause" id="cause-([^"]+)"', page)
    assert groups[0] == "rc-keras-one-pass" and len(groups) == 3  # the cause, then gn-5 and gn-3 by explanation
    first = page[page.index('id="cause-rc-keras-one-pass"'):]
    first = first[:first.index("</details>")]
    assert "one-pass &lt;b&gt;variance&lt;/b&gt;" in first and "<b>variance</b>" not in first
    assert '<span class="rc rc-bug">bug</span>' in first and "in keras-team/keras" in first
    assert "upstream: none found (searched 2026-12-07)" in first and "normconf file keras-one-pass" in first
    assert "Workaround: compute the variance in float64" in first
    # the torch cell errored where its entry expects a divergence: its cause does not explain it
    assert 'id="cause-rc-torch-docs"' not in page


def test_expectations_causes_lists_causes_and_what_they_explain(tmp_path, capsys):
    cases = setup(tmp_path)
    assert main(["expectations", "causes", "--cases", str(cases)]) == 0
    out = capsys.readouterr().out
    assert "keras-one-pass  [bug]  keras-team/keras  upstream: none found (searched 2026-12-07)" in out
    assert "torch-docs  [documented behaviour]  pytorch/pytorch  upstream: " \
           "https://github.com/pytorch/pytorch/issues/77427 (open)" in out
    # with results: gn-4 is explained; gn-5 (no entry) and gn-3 (not as its entry expects) are not
    assert main(["expectations", "causes", str(tmp_path / "r"), "--cases", str(cases)]) == 1
    cap = capsys.readouterr()
    assert "1 cell(s), 0 claim(s) in current (keras-tf)" in cap.out
    assert "torch-docs" in cap.out and "no record of the results read" in cap.out
    assert re.search(r"^unclassified: Keras 3: diverge: .*\n  1 cell\(s\)", cap.out, re.MULTILINE)
    assert re.search(r"^unclassified: PyTorch: error: .*", cap.out, re.MULTILINE)
    assert "3 non-agreeing record(s): 1 explained, 2 in 2 unclassified group(s)" in cap.err
    assert main(["expectations", "causes", "--cases", str(cases), "--json"]) == 0
    assert '"classification": "documented"' in capsys.readouterr().out
