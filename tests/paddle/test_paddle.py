"""The PaddlePaddle adapters (paddle.nn layers, paddle.nn.functional) against the reference on a few real
cells of every check: float32 agrees, float64 layer norm keeps its known float32-epsilon divergence, RMS
norm and half precision are unsupported with a reason, and the recorded snippet reproduces the output."""
from pathlib import Path

import pytest

from harness.cases.load import load_file
from tests.support import run_cells, snippet_reproduces

CASES = Path(__file__).resolve().parents[2] / "cases"


def pick(rel, prefix, dtype="float32", n=2):
    return [c for c in load_file(CASES / rel) if c.id.startswith(prefix) and c.dtype == dtype][:n]


@pytest.mark.parametrize("adapter", ["paddle", "paddle-functional"])
def test_float32_cells_agree_and_known_divergences_stay(adapter):
    agree = (pick("layer_norm/seed_btf.yaml", "ln-btf-over-TF") + pick("group_norm/images.yaml", "gn-")
             + pick("batch_norm/seed_btf.yaml", "bn-img-nhwc") + pick("instance_norm/seed_btf.yaml", "in-btf")
             + pick("batch_norm/backward.yaml", "bn-grad-nhwc", n=1)
             + pick("batch_norm/running_stats.yaml", "bn-running-btf-mom0.1", n=1)
             + pick("batch_norm/inference.yaml", "bn-infer-nchw", n=1))
    f64 = pick("layer_norm/seed_btf.yaml", "ln-btf-over-F", dtype="float64", n=1)
    rms = pick("rms_norm/seed_btf.yaml", "rms-", n=1)
    results = run_cells(adapter, agree + f64 + rms)
    bad = [f"{c.id}: {r.status} {r.message[:300]}" for c, r in zip(agree, results) if r.status != "agree"]
    assert not bad, "\n".join(bad)
    assert {c.check for c in agree} >= {"forward", "backward", "running_stats", "inference"}
    r64, rrms = results[len(agree):]
    # epsilon is a float32 kernel attribute: 1e-05 becomes 9.99999975e-06 in a float64 call
    assert r64.status == "diverge" and "epsilon rounded to float32" in str(r64.fingerprint), r64.message
    assert rrms.status == "unsupported" and "rms_norm" in rrms.message
    assert results[0].versions.get("paddlepaddle")


def test_snippet_reproduces():
    (case,) = pick("layer_norm/seed_btf.yaml", "ln-btf-over-TF", n=1)
    snippet_reproduces("paddle", case)


def test_layer_norm_takes_elementwise_affine():
    cases = pick("options/elementwise_affine.yaml", "ln-opt-elementwise-affine", n=3)
    assert {dict(c.options)["elementwise_affine"] for c in cases} == {False, True}
    results = run_cells("paddle", cases)
    bad = [f"{c.id}: {r.status} {r.message[:300]}" for c, r in zip(cases, results) if r.status != "agree"]
    assert not bad, "\n".join(bad)
    assert all(f"elementwise_affine={dict(c.options)['elementwise_affine']}" in r.snippet
               for c, r in zip(cases, results))
    (fn,) = run_cells("paddle-functional", cases[:1])
    assert fn.status == "unsupported" and "elementwise_affine" in fn.message
