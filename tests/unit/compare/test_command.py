"""normconf compare: its text, its JSON, its exit codes, and what the package may import."""
import ast
import json
import shutil
from pathlib import Path

import pytest

from harness.cli import main

from .records import case, cell, merged

HERE = Path(__file__).parent
ROOT = HERE.parents[2]


@pytest.fixture
def setup(tmp_path):
    """Results of three columns in tmp/results and a case directory with the fixture defaults in tmp/cases."""
    cells = []
    for dtype in ("float32", "float64"):
        for i in range(13):
            cid = f"ln-{i}-{dtype}"
            c = case(cid, dtype=dtype, seed=i, epsilon=None if i == 0 else 1e-5)
            eps = {"epsilon_default": {"value": 1e-5 if i == 0 else None, "quote": "Default: 1e-5",
                                       "source": "https://docs.pytorch.org/x"}} if i == 0 else {}
            keras_eps = {"epsilon_default": {"value": 1e-3, "quote": "Defaults to 1e-3.", "source": "https://keras.io/x"}}
            cells.append(cell(cid, "torch", "agree", c=c, metrics={"max_abs": 1e-7, "allowed": 4e-6, "ratio": 0.025,
                                                                   **eps}))
            cells.append(cell(cid, "keras-jax", "diverge" if dtype == "float64" else "agree", c=c,
                              metrics={"max_abs": 0.2 if dtype == "float64" else 1e-7, "allowed": 4e-6,
                                       "ratio": 5e4 if dtype == "float64" else 0.025, **(keras_eps if i == 0 else {})},
                              fingerprint={"explanation": "the float64 result was computed in float32"}
                              if dtype == "float64" else None))
            cells.append(cell(cid, "flax-linen", "agree", c=c))
    bn = case("bn-1", op="batch_norm")
    cells += [cell("bn-1", "torch", "agree", c=bn), cell("bn-1", "keras-jax", "agree", c=bn),
              cell("bn-1", "flax-linen", "agree", c=bn)]
    (tmp_path / "results").mkdir()
    merged(tmp_path / "results", cells)
    (tmp_path / "cases" / "defaults").mkdir(parents=True)
    shutil.copy(HERE / "defaults" / "good.yaml", tmp_path / "cases" / "defaults" / "good.yaml")
    return tmp_path


def run(setup, *args):
    return main(["compare", *args, "--results", str(setup / "results"), "--cases", str(setup / "cases")])


def test_two_columns_that_differ_exit_1_and_say_where(setup, capsys):
    assert run(setup, "torch", "keras-jax", "--op", "layer_norm") == 1
    out = capsys.readouterr().out
    assert out.startswith("normconf compare: torch@current vs keras-jax@current, op layer_norm\n")
    assert "A: torch@current (PyTorch; fw 1.0) - adapter torch" in out
    assert "not against the other column" in out
    assert "Defaults (layer_norm): A torch.nn.LayerNorm | B keras.layers.LayerNormalization" in out
    assert "  ≠ epsilon: A 1e-05 | B 0.001" in out
    assert '      B: "epsilon: Small float added to variance' in out
    assert "  ? dtype: A the input's dtype | B (not stated)" in out
    assert "  ~ axes: A the last len(normalized_shape) dimensions | B -1 - worded differently" in out
    assert "    variance: A biased | B Biased\n" in out
    assert "≠ recorded default epsilon (epsilon: default cases): A 1e-05 (float32, float64; 2 cells) | B 0.001" in out
    assert "Relations over 26 cases: 13 same, 13 differ" in out
    assert "  differ exactly when dtype=float64\n" in out
    assert "Differing cases: 13 (first 20" not in out and "Differing cases: 13\n" in out
    assert "    B keras-jax@current: diverge; error 0.2, allowed 4e-06 (ratio 5e+04); explanation: the float64" in out


def test_the_momentum_convention_is_shown_by_its_batch_weight(setup, capsys):
    assert run(setup, "torch", "keras-jax", "--op", "batch_norm") == 0
    out = capsys.readouterr().out
    assert ("    momentum: A 0.1 (batch convention, batch weight 0.1) | B 0.9 (running convention, batch weight 0.1)"
            " - the same batch weight, passed as different arguments") in out
    assert "\n  never differ\n" in out and "Relations over 1 cases: 1 same\n" in out


def test_columns_that_never_differ_exit_0(setup, capsys):
    assert run(setup, "torch", "flax") == 0
    out = capsys.readouterr().out
    assert "framework Flax (matched 'flax')" in out and "never differ" in out and "Differing cases: none" in out
    assert "Defaults (layer_norm): A torch.nn.LayerNorm | B (no defaults file)" in out


def test_json_holds_the_same_content(setup, capsys):
    assert run(setup, "torch", "keras-jax", "--json") == 1
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"columns", "op", "note", "defaults", "defaults_errors", "counts", "compared", "conditions",
                         "differing_total", "differing"}
    assert data["columns"]["a"]["column"] == "torch@current" and data["columns"]["b"]["framework"] == "Keras 3"
    assert data["counts"]["differ"] == 13 and data["counts"]["same"] == 14 and data["compared"] == 27
    assert data["conditions"]["text"] == "differ exactly when dtype=float64"
    assert data["conditions"]["conditions"][0]["exact"] is True
    assert [d["op"] for d in data["defaults"]] == ["batch_norm", "layer_norm"]
    eps = next(f for f in data["defaults"][1]["facts"] if f["fact"] == "epsilon")
    assert eps["differs"] is True and eps["a"]["value"] == 1e-5 and eps["b"]["source"].startswith("https://")
    first = data["differing"][0]
    assert set(first) == {"case_id", "relation", "params", "note", "a", "b"}
    assert set(eps) == {"fact", "differs", "text", "note", "a", "b"}
    assert first["relation"] == "differ" and first["b"]["status"] == "diverge" and first["b"]["ratio"] == 5e4
    assert data["differing_total"] == 13 and len(data["differing"]) == 13


def test_one_adapter_in_two_environments_has_one_api(setup, capsys, tmp_path):
    cells = [cell("c1", "torch", "agree", env=env) for env in ("current", "latest")]
    (tmp_path / "two").mkdir()
    merged(tmp_path / "two", cells)
    assert main(["compare", "torch@current", "torch@latest", "--results", str(tmp_path / "two"), "--cases",
                 str(setup / "cases")]) == 0
    out = capsys.readouterr().out
    assert "    epsilon: A 1e-05 | B 1e-05 - the same API on both sides" in out and "\n  ? " not in out


def test_the_first_20_differing_cases_or_all(setup, capsys, tmp_path):
    cells = [cell(f"c{i}", "torch", "agree") for i in range(25)] + [cell(f"c{i}", "jax", "diverge") for i in range(25)]
    (tmp_path / "many").mkdir()
    merged(tmp_path / "many", cells)
    args = ["compare", "torch", "jax", "--results", str(tmp_path / "many"), "--cases", str(setup / "cases")]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "Differing cases: 25 (first 20; --all for every one)" in out and out.count("  c") == 20
    assert "differ in every compared case" in out
    assert main(args + ["--all", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert len(data["differing"]) == 25 and data["differing_total"] == 25


@pytest.mark.parametrize("args,words", [
    (["kears-jax", "torch"], "nearest valid names: keras-jax"),
    (["torch", "torch@legacy"], "no column 'torch@legacy'"),
    (["torch", "torch"], "both select torch@current"),
    (["torch", "keras-jax", "--op", "layernorm"], "unknown op 'layernorm'; did you mean layer_norm"),
])
def test_usage_errors_exit_2_with_one_line(setup, capsys, args, words):
    assert run(setup, *args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("normconf: compare: ") and words in captured.err


def test_no_results_exit_2(tmp_path, capsys):
    assert main(["compare", "torch", "jax", "--results", str(tmp_path / "nothing"), "--cases", str(tmp_path)]) == 2
    assert "no results files found" in capsys.readouterr().err


def test_a_broken_defaults_file_is_a_warning_and_the_comparison_goes_on(setup, capsys):
    (setup / "cases" / "defaults" / "zz.yaml").write_text("defaults:\n  - api: x\n    adapters: [torch]\n")
    assert run(setup, "torch", "keras-jax") == 1
    captured = capsys.readouterr()
    assert "normconf: warning: " in captured.err and "zz.yaml:2:" in captured.err
    assert "torch.nn.LayerNorm" in captured.out


def test_root_causes_come_from_the_expectations(setup, capsys):
    (setup / "cases" / "expectations").mkdir()
    (setup / "cases" / "expectations" / "known.yaml").write_text(
        "causes:\n"
        "  - id: keras-float64-as-float32\n"
        "    name: Keras computes float64 in float32\n"
        "    mechanism: the float64 inputs are cast to float32.\n"
        "    classification: harness\n"
        "expectations:\n"
        "  - id: 'ln-*-float64'\n"
        "    adapter: keras-jax\n"
        "    status: diverge\n"
        "    reason: float32 computation\n"
        "    cause: keras-float64-as-float32\n")
    assert run(setup, "torch", "keras-jax", "--json") == 1
    data = json.loads(capsys.readouterr().out)
    assert {d["b"].get("cause") for d in data["differing"]} == {"keras-float64-as-float32"}
    assert data["differing"][0]["b"]["cause_name"] == "Keras computes float64 in float32"


def test_the_package_imports_no_adapter_module_and_no_framework():
    allowed = ("harness.results", "harness.cases", "harness.ops", "harness.text", "harness.compare")
    frameworks = ("torch", "tensorflow", "keras", "jax", "flax", "onnx", "onnxruntime")
    for path in (ROOT / "harness" / "compare").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                continue
            if isinstance(node, ast.ImportFrom) and node.module == "harness":
                names = [f"harness.{a.name}" for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if name.startswith("harness"):
                    assert name == "harness.adapters" or name.startswith(allowed), (path, name)
                else:
                    assert name.split(".")[0] not in frameworks, (path, name)


def test_text_from_records_reaches_the_terminal_inert(tmp_path, capsys):
    hostile = "\x1b[31mred\x1b[0m\u202eevil\nsecond line"
    c = case("x-\x1b[2J", description=hostile, dtype="float64")
    cells = [cell(c["id"], "torch", "agree", c=c),
             cell(c["id"], "jax", "diverge", c=c, fingerprint={"explanation": hostile}, message=hostile),
             cell("ok", "torch", "agree"), cell("ok", "jax", "agree")]
    (tmp_path / "r").mkdir()
    merged(tmp_path / "r", cells)
    assert main(["compare", "torch", "jax", "--results", str(tmp_path / "r"), "--cases", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out and "\\x1b[31mred" in out
    assert main(["compare", "torch", "jax", "--results", str(tmp_path / "r"), "--cases", str(tmp_path), "--json"]) == 1
    raw = capsys.readouterr().out
    assert "\x1b" not in raw and "\u202e" not in raw
    assert json.loads(raw)["differing"][0]["b"]["explanation"] == hostile
