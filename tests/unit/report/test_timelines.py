"""normconf bisect's timelines in the report: their own section, linked to the cell's columns, and a
line in the cell's drill-down data; a bad timeline file is a warning, never a lost report."""
import json
import re

from harness.cli import main
from harness.results.timeline import Change, Step, Timeline, write_timeline

from .nightly import tonight


def timeline(case="ln-2", adapter="keras-tf"):
    steps = (Step("3.10.0", "agree", 0.13, 3.8e-07), Step("3.11.0", "diverge", 41.0, 1.2e-04, "one-pass variance"),
             Step("3.12.0", "", installed=False, message="no wheel for this Python"))
    return Timeline(case, adapter, "keras", steps, Change("3.11.0", "3.10.0", "agree", "diverge"),
                    fixed=("tensorflow==2.21.0",))


def test_a_timeline_is_shown_beside_its_cell(tmp_path):
    files = tonight(tmp_path / "r", envs=("current", "latest"))
    tl = write_timeline(tmp_path / "keras.timeline.jsonl", timeline())
    out = tmp_path / "index.html"
    assert main(["report", *map(str, files.values()), "--out", str(out), "--timeline", str(tl)]) == 0
    page = out.read_text()
    summary = ("first changed in keras 3.11.0 (agree in 3.10.0, diverge in 3.11.0); 2 release(s) of keras tried "
               "with tensorflow==2.21.0 (normconf bisect)")
    assert f'<h3 id="timeline-0">ln-2 [keras-tf]: {summary}</h3>' in page
    # linked to every column of that adapter, and the releases listed with the first change marked
    assert '<a href="#cell=ln-2|keras-tf@current">keras-tf@current</a>' in page
    assert '<a href="#cell=ln-2|keras-tf@latest">keras-tf@latest</a>' in page
    assert re.search(r'<tr class="first-change"><th scope="row">3\.11\.0</th><td>diverge</td>', page)
    assert "<td>not installed</td>" in page and "no wheel for this Python" in page
    data = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.DOTALL).group(1))
    assert data["tl"] == {"ln-2\tkeras-tf": [summary, "#timeline-0"]}
    assert '<a href="#timelines">Timelines</a>' in page


def test_a_bad_timeline_file_is_a_warning_and_the_report_is_written(tmp_path, capsys):
    files = tonight(tmp_path / "r", envs=("current",))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "result"}\n')
    out = tmp_path / "index.html"
    assert main(["report", str(files["current"]), "--out", str(out), "--timeline", str(bad)]) == 0
    assert "not a timeline file" in capsys.readouterr().err
    assert 'id="timelines"' not in out.read_text()

