"""Masked statistics (cases/masked/) with the frameworks that take a mask: Flax linen and nnx modules
(mask=), jax.nn.standardize (where=) and Keras 3 BatchNormalization (mask=); the other Keras layers
have none and are unsupported. The divergences pinned here are the framework behaviours of
cases/expectations/masked.yaml: a fix makes the pin fail."""
import dataclasses

import numpy as np
import pytest

from harness.cases.inputs import full_mask, make_inputs
from harness.cases.load import load_file
from harness.numerics.masked import normalize_masked
from harness.numerics.reference import normalize
from tests.support import run_cells

CASES = {c.id: c for c in load_file("cases/masked/masked.yaml")}
PICKS = ["bn-masked-mask-T-len6_4_1-eps1e-05-float32", "bn-masked-mask-T-len5_0_2-eps1e-05-float64",
         "bn-masked-mask-rand0.3-eps1e-05-float32", "ln-masked-mask-T-len6_3_0-eps1e-05-float32",
         "ln-masked-last-axis-mask-T-len6_3_1-eps1e-05-float32", "gn-masked-mask-T-len6_4_2-g2-eps1e-05-float32",
         "rms-masked-mask-rand0.3-eps1e-05-float32", "in-masked-mask-T-len6_4_2-eps1e-05-float32"]


def test_the_masks_matter_on_these_inputs():
    """The masked and the unmasked references differ far beyond any tolerance on every picked case, so
    an adapter that drops the mask cannot agree."""
    for cid in PICKS:
        c = CASES[cid]
        i = make_inputs(c)
        m = full_mask(i.mask, c.layout, i.x.shape)
        a, b = normalize_masked(i.x, c.semantics, m, i.gamma, i.beta), normalize(i.x, c.semantics, i.gamma, i.beta)
        fin = np.isfinite(a)
        assert not fin.all() or np.max(np.abs(a - b)) > 0.1, cid


@pytest.mark.parametrize("adapter", ["flax-linen", "flax-nnx", "jax"])
def test_flax_and_jax_pass_their_mask(adapter):
    cases = [CASES[c] for c in PICKS]
    results = run_cells(adapter, cases)
    for c, r in zip(cases, results):
        if adapter == "jax" and c.op == "rms_norm":
            assert r.status == "unsupported", (c.id, r.message)
            continue
        assert ("mask=mask_x" if adapter != "jax" else "where=where") in r.snippet, r.snippet
        if c.op == "instance_norm":  # a sequence of 2 valid steps: the one-pass variance shows
            assert r.status == "diverge" and "one-pass variance" in r.fingerprint.explanation, (c.id, r.message)
        else:
            assert r.status == "agree", (adapter, c.id, r.status, r.message)


@pytest.mark.parametrize("adapter", ["keras-tf", "keras-torch"])
def test_keras_batch_normalization_passes_its_mask_and_the_other_layers_have_none(adapter):
    cases = [CASES[c] for c in PICKS]
    results = run_cells(adapter, cases)
    for c, r in zip(cases, results):
        if c.op != "batch_norm":
            assert r.status == "unsupported" and "takes no mask" in r.message, (c.id, r.status, r.message)
        elif c.dtype == "float64":  # pinned: count + backend.epsilon(); torch: float64 computed in float32
            want = "count plus 1e-07" if adapter == "keras-tf" else "computed in float32"
            assert r.status == "diverge" and want in r.fingerprint.explanation, (c.id, r.fingerprint)
        else:
            assert r.status == "agree" and "mask=mask" in r.snippet, (adapter, c.id, r.status, r.message)
    nhwc = CASES["bn-masked-nhwc-mask-H-len4_2-eps1e-05-float32"]
    nchw = dataclasses.replace(nhwc, id="bn-masked-nchw", layout="NCHW",
                               sizes=tuple((a, nhwc.size[a]) for a in "NCHW"))
    (r,) = run_cells(adapter, [nchw])
    assert r.status == "unsupported" and "channels-first" in r.message, r.message
