"""Finding a cell's case file, and the harness code and requirements a candidate environment gets."""
import pytest

from harness.bisect import cell
from harness.bisect.cell import CellError, harness_requirements, harness_source, locate

ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]


def test_locate_finds_the_case_file_of_a_shipped_case():
    c = locate("ln-img-nchw-over-C-eps1e-05-float32", "keras-torch", ROOT / "cases")
    assert c.case_file == ROOT / "cases" / "layer_norm" / "images.yaml" and c.cases_root == ROOT / "cases"
    assert c.node_id == f"{c.case_file}::ln-img-nchw-over-C-eps1e-05-float32[keras-torch]"


def test_an_unknown_case_is_one_line(tmp_path):
    (tmp_path / "bad.yaml").write_text("cases: [\n")
    with pytest.raises(CellError, match="no case 'nope'.*1 case file.s. could not be read"):
        locate("nope", "torch", tmp_path)
    with pytest.raises(CellError, match="no such case directory"):
        locate("nope", "torch", tmp_path / "missing")


def test_the_harness_comes_from_the_checkout_or_a_copy(tmp_path, monkeypatch):
    assert harness_source(tmp_path) == ROOT  # this checkout
    monkeypatch.setattr(cell, "_checkout", lambda: None)  # as if normconf were installed
    copy = harness_source(tmp_path)
    assert copy.parent == tmp_path / "harness" and (copy / "harness" / "bisect" / "cell.py").is_file()
    assert not list(copy.rglob("__pycache__"))
    assert harness_source(tmp_path) == copy  # the same code, the same copy


def test_the_candidates_get_the_harness_runtime_requirements_but_not_uv():
    names = {r.split(">")[0].split("=")[0].split("<")[0].strip().lower() for r in harness_requirements()}
    assert {"numpy", "pyyaml", "pytest", "orjson", "ml_dtypes", "packaging"} <= names and "uv" not in names


def test_adapter_modules_come_from_where_they_are_here(monkeypatch):
    monkeypatch.setenv("NORMCONF_ADAPTERS", "tests.bisect_adapters:SPECS, numpy:x,no_such_module_here:y")
    assert cell.adapter_paths() == [str(ROOT)]  # numpy is in site-packages: never put on the path
