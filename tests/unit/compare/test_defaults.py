"""Documented defaults: loading and refusing files, and facts side by side (momentum by its batch weight)."""
import json
from pathlib import Path

import pytest

from harness.cases import discover
from harness.cases.yamlsource import CaseError
from harness.compare import defaults_table, discover_defaults, load_defaults
from harness.compare.defaults import fact_rows, load_file

HERE = Path(__file__).parent / "defaults"


def test_a_good_file_loads_every_entry_and_fact():
    d, errors = load_defaults([HERE / "good.yaml"])
    assert errors == []
    ln = d.of("keras-jax", "layer_norm")
    assert ln.api == "keras.layers.LayerNormalization" and ln.adapters == ("keras-tf", "keras-jax", "keras-torch")
    assert d.of("keras-torch", "layer_norm") is ln and d.of("keras-jax", "rms_norm") is None
    eps = ln.fact_map["epsilon"]
    assert eps.value == 1e-3 and eps.quote.startswith("epsilon: Small float") and eps.source.startswith("https://")
    dtype = d.of("torch", "layer_norm").fact_map["dtype"]
    assert dtype.undocumented.startswith("the docs do not say") and dtype.note and not dtype.quote
    assert d.of("torch", "batch_norm").fact_map["momentum"].batch_weight == pytest.approx(0.1)
    assert d.of("keras-jax", "batch_norm").fact_map["momentum"].batch_weight == pytest.approx(0.1)
    assert d.of("torch-functional", "batch_norm").fact_map["momentum"].batch_weight is None
    assert ln.where.endswith("good.yaml:16")


def test_discover_finds_the_defaults_directory(tmp_path):
    assert discover_defaults(tmp_path) == []
    (tmp_path / "defaults").mkdir()
    (tmp_path / "defaults" / "b.yaml").write_text((HERE / "good.yaml").read_text())
    (tmp_path / "defaults" / "a.yaml").write_text("defaults: []\n")
    assert [p.name for p in discover_defaults(tmp_path)] == ["a.yaml", "b.yaml"]


ENTRY = """defaults:
  - api: torch.nn.LayerNorm
    adapters: [torch]
    op: layer_norm
    facts:
{facts}
"""
QUOTED = '{value: 1.0e-5, quote: "Default: 1e-5", source: "https://docs.pytorch.org/x"}'


@pytest.mark.parametrize("facts,line,key,words", [
    (f"      epsilons: {QUOTED}", 6, "epsilons", "unknown key"),
    ('      momentum: {value: 0.1, quote: "q", source: "https://x.org"}', 6, "facts.momentum", "convention"),
    ('      momentum: {value: 0.1, convention: exponential, quote: "q", source: "https://x.org"}', 6,
     "facts.momentum.convention", "exponential"),
    ('      momentum: {value: 1.5, convention: batch, quote: "q", source: "https://x.org"}', 6,
     "facts.momentum.value", "from 0 to 1"),
    ("      epsilon: {value: 1.0e-5}", 6, "facts.epsilon", "needs quote and source, or undocumented"),
    ('      epsilon: {value: 1.0e-5, quote: "q"}', 6, "facts.epsilon", "needs source"),
    ('      epsilon: {value: 1.0e-5, source: "https://x.org"}', 6, "facts.epsilon", "needs quote"),
    ('      epsilon: {value: 1.0e-5, quote: "q", source: "https://x.org", undocumented: "u"}', 6, "facts.epsilon",
     "not both"),
    ('      epsilon: {value: 1.0e-5, quote: "q", source: "http://x.org"}', 6, "facts.epsilon.source", "does not match"),
    ('      epsilon: {value: [1, 2], undocumented: "u"}', 6, "facts.epsilon.value", "is not of type 'number', 'string'"),
    ('      epsilon:\n        quote: "q"\n        source: "https://x.org"', 6, "facts.epsilon", "'value' is a required"),
    ("      {}", 5, "facts", "should be non-empty"),
])
def test_each_refusal_is_one_line_naming_file_line_and_key(tmp_path, facts, line, key, words):
    p = tmp_path / "bad.yaml"
    p.write_text(ENTRY.format(facts=facts))
    with pytest.raises(CaseError) as e:
        load_file(p, "bad.yaml")
    text = str(e.value)
    assert "\n" not in text
    assert text.startswith(f"bad.yaml:{line}: key '{key}':"), text
    assert words in text, text


@pytest.mark.parametrize("text,line,key,words", [
    (ENTRY.format(facts=f"      epsilon: {QUOTED}").replace("[torch]", "[torch, torhc-functional]"), 3, "adapters",
     "did you mean torch-functional"),
    (ENTRY.format(facts=f"      epsilon: {QUOTED}").replace("layer_norm", "layernorm"), 4, "op", "is not one of"),
    (ENTRY.format(facts=f"      epsilon: {QUOTED}").replace("    op:", "    opp: x\n    op:"), 4, "opp", "unknown key"),
    ("defaults:\n  - api: x\n", 2, None, "'adapters' is a required property"),
    ("", 1, None, "empty file"),
    ("defaults: [\n", 2, None, ""),
    ("other: 1\n", 1, "other", "unknown key"),
])
def test_structural_refusals(tmp_path, text, line, key, words):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(CaseError) as e:
        load_file(p, "bad.yaml")
    got = str(e.value)
    assert "\n" not in got and got.startswith(f"bad.yaml:{line}:"), got
    if key:
        assert f"key '{key}'" in got, got
    assert words in got, got


def test_a_second_entry_for_the_same_adapter_and_op_is_refused(tmp_path):
    twice = ENTRY.format(facts=f"      epsilon: {QUOTED}")
    twice += twice.split("defaults:\n", 1)[1].replace("api: torch.nn.LayerNorm", "api: torch.nn.functional.layer_norm")
    p = tmp_path / "twice.yaml"
    p.write_text(twice)
    d, errors = load_defaults([p], relative_to=tmp_path)
    assert d.entries == [] and len(errors) == 1
    assert errors[0].startswith("twice.yaml:8: key 'adapters': adapter 'torch' already has defaults for op "
                                "layer_norm (twice.yaml:2: torch.nn.LayerNorm)"), errors[0]


def test_a_file_repeating_an_earlier_files_adapter_and_op_is_left_out_whole():
    d, errors = load_defaults([HERE / "good.yaml", HERE / "other.yaml"], relative_to=HERE)
    assert len(errors) == 1 and errors[0].startswith("other.yaml:4: key 'adapters': adapter 'torch' already")
    assert d.of("tfa", "layer_norm") is None  # the whole file is refused, not only the repeated adapter
    assert d.of("torch", "layer_norm").api == "torch.nn.LayerNorm"


def test_an_unreadable_file_is_one_line_and_the_others_still_load(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"defaults: \xff\n")
    d, errors = load_defaults([bad, HERE / "good.yaml"])
    assert len(errors) == 1 and "not valid UTF-8" in errors[0] and d.of("torch", "layer_norm") is not None


def test_a_defaults_directory_beside_the_cases_is_not_read_as_cases(tmp_path):
    (tmp_path / "defaults").mkdir()
    (tmp_path / "defaults" / "torch.yaml").write_text((HERE / "good.yaml").read_text())
    (tmp_path / "layer_norm").mkdir()
    (tmp_path / "layer_norm" / "basic.yaml").write_text("cases: []\n")
    assert discover(tmp_path) == [tmp_path / "layer_norm" / "basic.yaml"]


def rows(adapters, op):
    d, _ = load_defaults([HERE / "good.yaml"])
    return {r.key: r for r in fact_rows({a: d.of(a, op) for a in adapters})}


def test_momentum_compares_the_weight_of_the_batch_statistic():
    same = rows(["torch", "keras-jax"], "batch_norm")["momentum"]
    assert same.differs is False  # PyTorch 0.1 (batch) is Keras 0.9 (running)
    assert "momentum=0.1 (batch) vs momentum=0.9 (running)" in same.note
    assert rows(["torch", "flax-linen"], "batch_norm")["momentum"].differs is True  # 0.1 vs 1 - 0.99
    assert rows(["keras-jax", "flax-linen"], "batch_norm")["momentum"].differs is True  # same convention, 0.9 vs 0.99
    assert rows(["torch", "torch-functional"], "batch_norm")["momentum"].differs is True  # cumulative
    one = rows(["torch", "tfa"], "batch_norm")["momentum"]
    assert one.differs is None and one.facts["tfa"] is None


def test_other_facts_compare_numbers_and_text():
    r = rows(["torch", "keras-jax"], "layer_norm")
    assert r["epsilon"].differs is True
    assert r["variance"].differs is False  # "biased" and "Biased"
    assert r["axes"].differs is True and r["axes"].note.startswith("worded differently")  # a text and a number
    assert r["epsilon"].note == ""
    assert r["dtype"].differs is None  # only torch states it
    assert list(r) == ["epsilon", "axes", "variance", "dtype"]  # in FACTS order


def test_the_defaults_table_is_json_for_any_set_of_adapters():
    d, _ = load_defaults([HERE / "good.yaml"])
    table = defaults_table(d, ["torch", "keras-jax", "flax-linen"])
    json.dumps(table, allow_nan=False)
    assert [o["op"] for o in table["ops"]] == ["batch_norm", "layer_norm"]
    bn = table["ops"][0]
    assert bn["apis"] == {"torch": "torch.nn.BatchNorm1d", "keras-jax": "keras.layers.BatchNormalization",
                          "flax-linen": "flax.linen.BatchNorm"}
    mom = next(f for f in bn["facts"] if f["fact"] == "momentum")
    assert mom["differs"] is True and mom["values"]["keras-jax"]["batch_weight"] == pytest.approx(0.1)
    assert mom["values"]["flax-linen"]["convention"] == "running"
    assert defaults_table(d, ["torch"], ["rms_norm"]) == {"ops": [{"op": "rms_norm", "apis": {"torch": None},
                                                                   "where": {}, "facts": []}]}
