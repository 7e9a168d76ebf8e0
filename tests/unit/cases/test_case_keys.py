"""Case keys that make framework behaviour expressible: tolerance, epsilon: default,
axes on group_norm, expect: raises; and claims that refuse keys they would ignore."""
import textwrap

import pytest

from harness.cases.load import CaseError, load_file
from harness.claims.load import load_claims
from harness.execution.judge import expected_error
from harness.workers.protocol import Reply

BASE = """
cases:
  - id: c
    description: d
    source: s
    op: {op}
    layout: BTF
    shape: {{B: 2, T: 3, F: 6}}
{extra}
"""


def load(tmp_path, op="layer_norm", extra=""):
    p = tmp_path / "c.yaml"
    p.write_text(BASE.format(op=op, extra=textwrap.indent(textwrap.dedent(extra), "    ")))
    return load_file(p)


def test_tolerance_key(tmp_path):
    (c,) = load(tmp_path, extra="tolerance: {factor: 20, reason: known}")
    assert c.tolerance_spec.factor == 20 and c.tolerance_spec.reason == "known"
    (c,) = load(tmp_path, extra="tolerance: {atol: 0.1, rtol: 0, reason: r}")
    assert c.tolerance_spec.atol == 0.1
    with pytest.raises(CaseError, match="reason"):
        load(tmp_path, extra="tolerance: {factor: 20}")
    with pytest.raises(CaseError, match="tolerance"):
        load(tmp_path, extra="tolerance: {factor: 2, atol: 1, reason: r}")


def test_epsilon_default(tmp_path):
    (c,) = load(tmp_path, extra="epsilon: default")
    assert c.epsilon is None and c.id.endswith("eps-default-float32")
    assert c.semantics_with(1e-3).eps == 1e-3
    with pytest.raises(CaseError, match="epsilon"):
        load(tmp_path, extra="epsilon: typical")


def test_group_norm_axes(tmp_path):
    (c,) = load(tmp_path, op="group_norm", extra="groups: 2\naxes: F")
    assert set(c.semantics.stat_axes) == {"F"} and c.semantics.groups == 2
    (d,) = load(tmp_path, op="group_norm", extra="groups: 2")
    assert set(d.semantics.stat_axes) == {"T", "F"}
    with pytest.raises(CaseError, match="must include F"):
        load(tmp_path, op="group_norm", extra="groups: 2\naxes: T")
    with pytest.raises(CaseError, match="group_norm, rms_norm and l2_normalize take axes, not batch_norm"):
        load(tmp_path, op="batch_norm", extra="axes: F")


def test_expect_raises_allows_indivisible_groups(tmp_path):
    with pytest.raises(CaseError, match="do not divide"):
        load(tmp_path, op="group_norm", extra="groups: 4")
    (c,) = load(tmp_path, op="group_norm", extra="groups: 4\nexpect: {raises: ValueError, message: [divisible, divide]}")
    assert c.expect_spec == {"raises": "ValueError", "message": ("divisible", "divide")}
    err = Reply("error", message="ValueError: channels must be divisible by groups",
                info={"exception_types": ["ValueError", "Exception"]})
    assert expected_error(c, err) == ("agree", "ValueError: channels must be divisible by groups")
    sub = Reply("error", message="InvalidArgumentError: x", info={"exception_types": ["InvalidArgumentError", "Exception"]})
    assert expected_error(c, sub)[0] == "diverge"
    backwards = Reply("error", message="ValueError: Number of groups (4) must be a multiple of the number of "
                                       "channels (6).", info={"exception_types": ["ValueError"]})
    status, text = expected_error(c, backwards)
    assert status == "diverge" and "lacks 'divisible' or 'divide'" in text
    assert expected_error(c, Reply("ok")) == ("diverge", "expected ValueError, but the call returned an output")


CLAIM = """
claims:
  - id: k
    framework: F
    adapters: [torch]
    api: a
    quote: q
    source: s
    relation: equal
    left: {left}
    right: {{op: layer_norm}}
{extra}
"""


def test_claims_take_a_dtype_and_refuse_ignored_keys(tmp_path):
    p = tmp_path / "k.yaml"
    p.write_text(CLAIM.format(left="{op: group_norm, groups: 1}", extra="    dtype: float64"))
    (c,) = load_claims(p)
    assert c.dtype == "float64"
    p.write_text(CLAIM.format(left="{op: batch_norm, axes: F}", extra=""))
    with pytest.raises(CaseError, match="batch_norm does not take axes"):
        load_claims(p)
    p.write_text(CLAIM.format(left="{op: layer_norm, groups: 2}", extra=""))
    with pytest.raises(CaseError, match="layer_norm does not take groups"):
        load_claims(p)
    p.write_text(CLAIM.format(left="{op: group_norm, groups: 1, axes: F}", extra=""))
    (c,) = load_claims(p)  # group norm statistics axes are honoured, not dropped
    assert dict(c.left)["axes"] == "F"
