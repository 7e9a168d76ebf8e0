"""Whatever the results writer writes, the reader reads back: every string a case file may hold
(non-BMP characters, escapes, quotes, tabs and newlines) comes back as it was written, and a string
the loader refuses (a lone surrogate, a control character) never reaches a results file from a case;
one that reaches it from elsewhere (an adapter's message, a file name) is written so it reads back."""
import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cases.load import CaseError, load_file
from harness.cases.yamlsource import string_problem
from harness.results.read import read
from harness.results.record import Result
from harness.results.write import Writer

#: strings a case file may carry: non-BMP characters, escapes, quotes, JSON's own syntax, tab, newline
ODD = ["😀 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \U0010fffd", "back\\slash \\u0041 \\ud800 \\n", 'quote " and \' and `', "tab\tand\nnewline",
       "é ß 中文 العربية", "{\"kind\": \"result\"}", "\ufeffbom \u2028 \u2029 \ufffd", "\x7e~"]


class _Quoted(str):
    """A string written double-quoted: a plain scalar such as 0E0 or null would load as a number or None."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Quoted, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v), style='"'))


def _case_file(tmp_path, *, description, tags=(), source="s"):
    doc = {"cases": [{"id": "rt", "description": _Quoted(description), "source": _Quoted(source),
                      "op": "layer_norm", "layout": "BF", "shape": {"B": 2, "F": 3},
                      "tags": [_Quoted(t) for t in tags]}]}
    p = tmp_path / "c.yaml"
    p.write_text(yaml.dump(doc, Dumper=_Dumper, allow_unicode=False, width=1000, sort_keys=False), encoding="utf-8")
    return p


def _write_read(tmp_path, case, **fields):
    path = tmp_path / "r.jsonl"
    w = Writer(path, "e")
    w.adapter("a\udcff", {"fw": "1.0\udc80"})  # a name decoded with surrogateescape
    w.write(Result(case_id=case.id, adapter="a", env="e", status="error", case=case.to_dict(), **fields))
    w.close()
    for line in path.read_bytes().splitlines():
        json.loads(line.decode("utf-8"))  # every line is UTF-8 and JSON
    got = read(path, warn=False)
    assert got.problems == [], got.problems
    (r,) = got.results
    return r, got


@pytest.mark.parametrize("text", ODD)
def test_every_string_a_case_may_hold_reads_back(tmp_path, text):
    (case,) = load_file(_case_file(tmp_path, description=text, tags=[text], source=text))
    assert case.description == text
    r, _ = _write_read(tmp_path, case, message=text, traceback=text)
    assert r.case["description"] == text and r.case["source"] == text and r.case["tags"] == [text]
    assert r.message == text and r.traceback == text


def test_strings_from_outside_a_case_are_written_so_they_read_back(tmp_path):
    (case,) = load_file(_case_file(tmp_path, description="d"))
    msg = "ValueError: bad \udc80 byte \x1b[31mred\x1b[0m \x00 end"  # an adapter's message
    r, got = _write_read(tmp_path, case, message=msg)
    assert r.message == msg.replace("\udc80", "\ufffd")
    assert got.adapters["a\ufffd"] == {"fw": "1.0\ufffd"}, got.adapters


@pytest.mark.parametrize("text", ["lone \ud800 surrogate", "\udfff", "nul \x00", "esc \x1b[2J", "cr \r",
                                  "c1 \x85", "del \x7f", "bidi \u202e", "isolate \u2066", "mark \u200f"])
def test_strings_no_results_file_could_carry_are_refused_with_the_key(tmp_path, text):
    p = _case_file(tmp_path, description=text)
    with pytest.raises(CaseError) as ei:
        load_file(p, display="c.yaml")
    s = str(ei.value)
    assert s.startswith("c.yaml:3: key 'description': "), s
    assert s.isprintable() and "\n" not in s


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(st.characters(codec=None, exclude_categories=()), min_size=1, max_size=12))
def test_any_string_is_refused_at_load_or_reads_back(tmp_path, text):
    if text != text.strip() or text.startswith(("\ufeff",)):
        text = "x" + text.strip() + "x"  # YAML folds surrounding whitespace of plain and quoted scalars alike
    p = _case_file(tmp_path, description=text, tags=[text])
    try:
        (case,) = load_file(p, display="c.yaml")
    except CaseError as e:
        assert string_problem(text) is not None or "YAML" in str(e), (text, str(e))
        assert "key 'description'" in str(e) or "key 'tags'" in str(e) or "YAML" in str(e), str(e)
        return
    assert string_problem(case.description) is None
    r, _ = _write_read(tmp_path, case, message=case.description)
    assert r.case["description"] == case.description and r.case["tags"] == list(case.tags)
    assert r.message == case.description
