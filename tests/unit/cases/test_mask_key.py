"""The ``mask`` case key: expansion and ids, the drawn positions, records, refusals at load, adapters
that take no mask."""

import numpy as np
import pytest

from harness.adapters.base import Adapter
from harness.cases.inputs import full_mask, make_inputs, position_mask
from harness.cases.load import CaseError
from harness.cases.model import Case, params_text
from harness.results.validate import _CASE_TYPES
from tests.unit.cases.casefile import load_one


def load(tmp_path, extra, op="batch_norm", layout="BTF"):
    shape = {"BTF": "{B: 2, T: 5, F: 4}", "BF": "{B: 2, F: 4}"}.get(layout, "{N: 2, C: 4, H: 3, W: 2}")
    return load_one(tmp_path, op=op, layout=layout, shape=shape, extra=extra)


def test_lengths_mask_ids_positions_and_round_trip(tmp_path):
    (c,) = load(tmp_path, "mask: {lengths: [5, 2]}")
    assert c.mask == (("axis", "T"), ("lengths", (5, 2)))
    assert c.id == "c-mask-T-len5_2-eps1e-05-float32"
    m = position_mask(c)
    assert m.shape == (2, 5) and m.tolist() == [[True] * 5, [True, True, False, False, False]]
    inputs = make_inputs(c)
    assert inputs.mask.tolist() == m.tolist()
    assert full_mask(m, c.layout, c.shape).shape == (2, 5, 4)
    d = c.to_dict()
    assert d["mask"] == {"axis": "T", "lengths": [5, 2]}
    assert Case.from_dict(d) == c and Case.from_dict(d).id == c.id
    assert "mask=lengths:T=5,2" in params_text(d)
    assert _CASE_TYPES["mask"](d["mask"]) and not _CASE_TYPES["mask"]({"random": 1.5})
    assert _CASE_TYPES["mask"](None) and not _CASE_TYPES["mask"]({"axis": "T"})


def test_a_list_of_masks_is_a_grid_and_random_masks_are_seeded(tmp_path):
    cases = load(tmp_path, "mask: [{lengths: [3, 0]}, {random: 0.5}]\nseed: [1, 2]")
    assert [c.id for c in cases] == ["c-mask-T-len3_0-seed1-eps1e-05-float32", "c-mask-T-len3_0-seed2-eps1e-05-float32",
                                     "c-mask-rand0.5-seed1-eps1e-05-float32", "c-mask-rand0.5-seed2-eps1e-05-float32"]
    r1, r2 = cases[2], cases[3]
    assert r1.mask == (("random", 0.5),)
    assert np.array_equal(position_mask(r1), position_mask(r1))
    assert not np.array_equal(position_mask(r1), position_mask(r2))
    assert 0 < position_mask(r1).mean() < 1
    # the mask has its own stream: x is the same as without a mask
    (plain,) = load(tmp_path, "seed: 1")
    assert np.array_equal(make_inputs(r1).x, make_inputs(plain).x)
    assert make_inputs(plain).mask is None
    assert Case.from_dict(r1.to_dict()) == r1


def test_lengths_along_a_chosen_axis_of_an_image(tmp_path):
    (c,) = load(tmp_path, "mask: {lengths: [1, 2], axis: W}", layout="NCHW")
    assert c.id == "c-mask-W-len1_2-eps1e-05-float32"
    m = position_mask(c)  # [N, H, W]
    assert m.shape == (2, 3, 2)
    assert m[0].tolist() == [[True, False]] * 3 and m[1].all()
    (d,) = load(tmp_path, "mask: {lengths: [3, 1]}", layout="NHWC")
    assert dict(d.mask)["axis"] == "H"


@pytest.mark.parametrize("extra,layout,line,key,text", [
    ("mask: {lengths: [5, 2, 1]}", "BTF", 9, "mask", "3 lengths for a batch of 2 (B)"),
    ("mask: {lengths: [6, 2]}", "BTF", 9, "mask", "length 6 exceeds the size of T (5)"),
    ("mask: {lengths: [2, 2], axis: F}", "BTF", 9, "mask", "axis F is the channel axis"),
    ("mask: {lengths: [2, 2], axis: B}", "BTF", 9, "mask", "axis B is the batch axis"),
    ("mask: {lengths: [2, 2], axis: H}", "BTF", 9, "mask", "axis H is not an axis of layout BTF"),
    ("mask: {lengths: [2, 2]}", "BF", 9, "mask", "layout BF has no axis besides the batch and the channel"),
    ("mask: {random: 1.0}", "BTF", 9, "mask.random", "greater than or equal to the maximum of 1"),
    ("mask: {random: -0.1}", "BTF", 9, "mask.random", "less than the minimum of 0"),
    ("mask: {random: 0.3, lengths: [1, 1]}", "BTF", 9, "mask", "either lengths"),
    ("mask: {random: 0.3, axis: T}", "BTF", 9, "mask", "axis applies to a lengths mask only"),
    ("mask: {lengths: [1, -1]}", "BTF", 9, "mask.lengths", "less than the minimum of 0"),
    ("mask: {width: 3}", "BTF", 9, "width", "unknown key"),
    ("mask: {lengths: [1, 1]}\ncheck: backward", "BTF", 9, "mask", "a mask applies to check: forward only"),
])
def test_refusals_name_file_line_and_key(tmp_path, extra, layout, line, key, text):
    with pytest.raises(CaseError) as e:
        load(tmp_path, extra, layout=layout)
    msg = str(e.value)
    assert "\n" not in msg and text in msg, msg
    assert msg.startswith(f"{tmp_path / 'c.yaml'}:{line}: key '{key}'"), msg


def test_the_generic_adapter_refuses_masks_with_the_api_it_would_call(tmp_path):
    (c,) = load(tmp_path, "mask: {lengths: [5, 2]}", op="layer_norm")

    class NoMask(Adapter):
        name = "plain"
        ops = frozenset({"layer_norm"})

    class Named(NoMask):
        mask_apis = {"layer_norm": "plain.LayerNorm"}

    class Masked(NoMask):
        masks = frozenset({"layer_norm"})

    assert NoMask().supports(c) == "plain LayerNorm takes no mask"
    assert Named().supports(c) == "plain.LayerNorm takes no mask"
    assert Masked().supports(c) is None
    (plain,) = load(tmp_path, "", op="layer_norm")
    assert NoMask().supports(plain) is None
