"""The MindSpore adapters (mindspore.nn layers, mindspore.ops functions) against the reference on a few real
cells of every check: float32 agrees (channels-last layouts transposed, LayerNorm parameters on the last
normalized axis, LRN's alpha divided by the window), the running statistics keep their known unbiased-variance
divergence with the running mean agreeing (momentum passed in each API's convention), float64 layer norm keeps
its float32 statistics, RMS norm is unsupported with a reason, and the recorded snippet reproduces the output."""
from pathlib import Path

import pytest

from harness.cases.load import load_file
from tests.support import run_cells, snippet_reproduces

CASES = Path(__file__).resolve().parents[2] / "cases"


def pick(rel, prefix, dtype="float32", n=2):
    return [c for c in load_file(CASES / rel) if c.id.startswith(prefix) and c.dtype == dtype][:n]


@pytest.mark.parametrize("adapter", ["mindspore", "mindspore-ops"])
def test_float32_cells_agree_and_known_divergences_stay(adapter):
    agree = (pick("layer_norm/seed_btf.yaml", "ln-btf-over-TF") + pick("group_norm/images.yaml", "gn-")
             + pick("batch_norm/seed_btf.yaml", "bn-img-nhwc") + pick("local_response_norm/window.yaml", "lrn-nchw")
             + pick("batch_norm/backward.yaml", "bn-grad-nhwc", n=1)
             + pick("layer_norm/backward.yaml", "ln-grad-decoupled", n=1)
             + pick("batch_norm/inference.yaml", "bn-infer-nchw", n=1))
    if adapter == "mindspore-ops":
        agree += pick("l2_normalize/epsilon.yaml", "l2-btf-over-F", n=1)
    running = pick("batch_norm/running_stats.yaml", "bn-running-btf-mom0.1", n=1)
    f64 = pick("layer_norm/seed_btf.yaml", "ln-btf-over-F", dtype="float64", n=1)
    rms = pick("rms_norm/seed_btf.yaml", "rms-", n=1)
    results = run_cells(adapter, agree + running + f64 + rms)
    bad = [f"{c.id}: {r.status} {r.message[:300]}" for c, r in zip(agree, results) if r.status != "agree"]
    assert not bad, "\n".join(bad)
    assert {c.check for c in agree} >= {"forward", "backward", "inference"}
    rrun, r64, rrms = results[len(agree):]
    # the unbiased running variance, while the running mean (momentum's convention) agrees
    assert rrun.status == "diverge" and "unbiased" in str(rrun.fingerprint), rrun.message
    assert "running_mean agrees" in str(rrun.fingerprint), rrun.message
    # the CPU kernel's statistics are float32 whatever the input dtype
    assert r64.status == "diverge" and "float32" in str(r64.fingerprint), r64.message
    assert rrms.status == "unsupported" and "RmsNorm" in rrms.message
    assert results[0].versions.get("mindspore")


@pytest.mark.parametrize("adapter", ["mindspore", "mindspore-ops"])
def test_snippet_reproduces(adapter):
    (case,) = pick("batch_norm/seed_btf.yaml", "bn-img-nhwc", n=1)
    snippet_reproduces(adapter, case)
