"""Selectors: adapter@env, an adapter's first environment, a framework matched loosely, unknown names."""
import pytest

from harness.compare import ColumnIndex, UnknownColumn
from harness.results.parts import NOT_INSTALLED

from .records import cell, merged


def index(tmp_path, columns):
    cells = []
    for key in columns:
        adapter, env = key.split("@")
        cells.append(cell("c1", adapter, "agree", env=env))
    return ColumnIndex(merged(tmp_path, cells))


def test_adapter_at_env_is_taken_as_given(tmp_path):
    ix = index(tmp_path, ["torch@current", "torch@latest"])
    sel = ix.select("torch@latest")
    assert (sel.column.key, sel.how) == ("torch@latest", "as given")


def test_an_adapter_selects_its_first_environment_pinned_before_moving_then_by_name(tmp_path):
    ix = index(tmp_path, ["torch@zeta", "torch@nightly", "torch@alpha", "torch@latest"])
    assert ix.select("torch").column.key == "torch@latest"
    (tmp_path / "b").mkdir()
    ix = index(tmp_path / "b", ["torch@zeta", "torch@alpha"])
    assert ix.select("torch").column.key == "torch@alpha"


def test_a_column_whose_framework_is_absent_is_no_column(tmp_path):
    cells = [cell("c1", "torch", "unsupported", env="current", absent=NOT_INSTALLED, message="not installed: torch"),
             cell("c1", "torch", "agree", env="legacy")]
    ix = ColumnIndex(merged(tmp_path, cells))
    assert [c.key for c in ix.columns] == ["torch@legacy"]
    sel = ix.select("torch")
    assert sel.column.key == "torch@legacy" and "legacy" in sel.how


@pytest.mark.parametrize("selector,want", [
    ("keras", "keras-tf@legacy"),  # Keras 3 (not tf.keras), its first column in registry order
    ("KERAS 3", "keras-tf@legacy"),
    ("torch", "torch-functional@current"),  # no torch column: the framework PyTorch
    ("pytorch", "torch-functional@current"),
    ("tf.keras", "tf-keras@legacy"),
    ("TFKeras", "tf-keras@legacy"),
    ("onnx", "onnx-ref@current"),
    ("flax", "flax-nnx@current"),
])
def test_a_framework_is_matched_loosely_and_selects_its_first_column(tmp_path, selector, want):
    ix = index(tmp_path, ["tf-keras@legacy", "keras-jax@current", "keras-tf@legacy", "torch-functional@current",
                          "torch-onnx@current", "onnxruntime@current", "onnx-ref@current", "flax-nnx@current"])
    sel = ix.select(selector)
    assert sel.column.key == want
    assert sel.column.framework in sel.how and repr(selector) in sel.how


def test_an_exact_adapter_name_wins_over_a_framework(tmp_path):
    ix = index(tmp_path, ["torch-onnx@current", "jax@current", "flax-linen@current"])
    assert ix.select("jax").column.key == "jax@current"
    assert ix.select("torch").column.key == "torch-onnx@current"  # torch.onnx is the only framework with "torch"


def test_an_unknown_selector_names_the_nearest_valid_names(tmp_path):
    ix = index(tmp_path, ["torch@current", "keras-jax@current", "keras-tf@current"])
    with pytest.raises(UnknownColumn) as e:
        ix.select("kears-jax")
    assert "keras-jax" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(UnknownColumn) as e:
        ix.select("torch@legacy")
    assert "torch@current" in str(e.value)
    with pytest.raises(UnknownColumn) as e:
        ix.select("zzzzzz")
    assert "valid names include" in str(e.value) and "torch@current" in str(e.value)


def test_columns_follow_the_registry_order(tmp_path):
    ix = index(tmp_path, ["flax-linen@current", "my-plugin@current", "torch@legacy", "torch@current",
                          "keras-tf@current"])
    assert [c.key for c in ix.columns] == ["torch@current", "torch@legacy", "keras-tf@current",
                                           "flax-linen@current", "my-plugin@current"]
    assert ix.columns[-1].framework == "my"  # a plug-in adapter without a framework: its name's first word
