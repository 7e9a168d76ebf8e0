"""Framework options (``options:``) and given affine values through the real adapters, in the environment
that has torch, Keras 3, JAX, Flax and ONNX: each option reaches the call (the recorded snippet passes it),
changes the numerics where it should, and makes the case unsupported where the API lacks it."""
from pathlib import Path

import pytest

from harness.cases.load import load_file
from harness.claims.load import load_claims
from harness.execution.runner import Runner
from tests.support import run_cells, snippet_reproduces

CASES = Path(__file__).resolve().parents[2] / "cases"


def cases(rel, *prefixes):
    return [c for c in load_file(CASES / rel) if c.id.startswith(prefixes)]


def by_id(cs):
    return {c.id: c for c in cs}


@pytest.mark.parametrize("adapter", ["flax-linen", "flax-nnx"])
def test_flax_use_fast_variance(adapter):
    cs = by_id(cases("options/variance.yaml", "ln-opt-variance-mean10000"))
    slow = cs["ln-opt-variance-mean10000-eps1e-05-float32-opt-use_fast_variance-false"]
    fast = cs["ln-opt-variance-mean10000-eps1e-05-float32-opt-use_fast_variance-true"]
    stable = cs["ln-opt-variance-mean10000-eps1e-05-float32-opt-algorithm-stable"]
    r_slow, r_fast, r_other = run_cells(adapter, [slow, fast, stable])
    assert r_slow.status == "agree", r_slow.message
    assert "use_fast_variance=False" in r_slow.snippet
    assert r_fast.status == "diverge" and "one-pass variance" in r_fast.fingerprint.explanation
    assert r_other.status == "unsupported" and r_other.message.endswith(f"{adapter} has no option algorithm")
    snippet_reproduces(adapter, slow)


def test_jax_standardize_algorithm():
    cs = by_id(cases("options/variance.yaml", "gn-opt-variance-g2-mean10000"))
    stable = cs["gn-opt-variance-g2-mean10000-eps1e-05-float32-opt-algorithm-stable"]
    fast = cs["gn-opt-variance-g2-mean10000-eps1e-05-float32-opt-algorithm-fast"]
    r_stable, r_fast = run_cells("jax", [stable, fast])
    assert r_stable.status == "agree", r_stable.message
    assert "algorithm='stable'" in r_stable.snippet
    assert r_fast.status == "diverge"
    snippet_reproduces("jax", stable)


@pytest.mark.parametrize("adapter", ["keras-tf", "keras-ops-tf"])
def test_keras_rms_scaling_divides_by_the_centred_variance(adapter):
    mean0, mean1 = cases("options/rms_scaling.yaml", "rms-opt-rms-scaling")
    r0, r1 = run_cells(adapter, [mean0, mean1])
    for r in (r0, r1):
        assert r.status == "diverge" and "rms_scaling=True" in r.snippet, r.message
    # x (not centred) / sqrt(var(x) + eps): at mean 1 and spread 1 about sqrt(2) times the RMS norm
    assert r1.metrics.max_abs > 5 * r0.metrics.max_abs


def test_torch_elementwise_affine():
    cs = cases("options/elementwise_affine.yaml", "ln-opt", "rms-opt")
    results = run_cells("torch", cs)
    for c, r in zip(cs, results):
        assert r.status == "agree", (c.id, r.message)
        assert f"elementwise_affine={c.option_spec['elementwise_affine']}" in r.snippet
    given = next(c for c in cs if c.id.startswith("ln-opt-elementwise-affine-values"))
    out = snippet_reproduces("torch", given)
    assert "m.weight.copy_(gamma)" in out.snippet
    (functional,) = run_cells("torch-functional", cs[:1])
    assert functional.status == "unsupported" and "has no option elementwise_affine" in functional.message
    # elementwise_affine=False has no parameters to hold given values
    import dataclasses
    bad = dataclasses.replace(cs[0], affine=given.affine, id="bad")
    (r,) = run_cells("torch", [bad])
    assert r.status == "unsupported" and "has no weight or bias" in r.message


def test_onnx_stash_type():
    asked = by_id(cases("options/stash_type.yaml", "onnx-opt-stash-ln", "onnx-opt-stash-gn"))
    ln64 = asked["onnx-opt-stash-ln-eps7.62939e-06-float64-opt-stash_type-11"]
    gn64 = asked["onnx-opt-stash-gn-g2-eps7.62939e-06-float64-opt-stash_type-11"]
    default = by_id(cases("onnx/stash_type.yaml", "onnx-stash-gn-g2"))["onnx-stash-gn-g2-eps7.62939e-06-float64"]
    r_ln, r_gn, r_default = run_cells("onnxruntime", [ln64, gn64, default])
    assert r_ln.status == "agree" and "stash_type=11" in r_ln.snippet, r_ln.message
    assert r_gn.status == "agree", r_gn.message
    assert r_default.status == "diverge"  # stash_type 1 (the default): stage one in float32
    (r18,) = run_cells("onnxruntime-opset18", [gn64])
    assert r18.status == "unsupported" and "has no option stash_type" in r18.message
    (ref,) = run_cells("onnx-ref", [ln64])
    assert ref.status == "error" and "stash_type=11" in ref.message  # onnx.reference implements 1 only
    snippet_reproduces("onnxruntime", ln64)


@pytest.mark.parametrize("adapter", ["torch", "torch-functional", "flax-linen", "flax-nnx", "jax", "onnxruntime",
                                     "keras-torch"])
def test_given_affine_values_are_set(adapter):
    cs = cases("affine/values.yaml", "ln-values", "rms-values", "gn-values", "bn-negative")
    results = run_cells(adapter, cs)
    bad = [f"{c.id}: {r.status} {r.message[:200]}" for c, r in zip(cs, results)
           if r.status != ("unsupported" if adapter == "jax" and c.op == "rms_norm" else "agree")]
    assert not bad, "\n".join(bad)
    # an adapter that did not set them would use ones and zeros: the huge gamma shows
    assert any(c.id.startswith("ln-values-affine-g1e10") for c in cs)


def test_one_feature_huge_gamma_gives_beta():
    (f32,) = [c for c in cases("affine/values.yaml", "ln-one-feature") if c.dtype == "float32"]
    for adapter, status in (("torch", "agree"), ("flax-linen", "agree"), ("keras-tf", "diverge")):
        (r,) = run_cells(adapter, [f32])
        assert r.status == status, (adapter, r.status, r.message)
        if status == "diverge":  # beta (0.5) lost: x * inv and mean * inv cancel
            assert r.metrics.max_abs == pytest.approx(0.5)


def test_numerical_claims_fail_where_the_default_variance_is_one_pass():
    claims = {c.id: c for c in load_claims(CASES / "claims" / "numerics.yaml")}
    runner = Runner("test", None, ["flax-linen", "jax"])
    try:
        got = {(cid, a): runner.run_claim(claims[cid], a) for cid, a in (
            ("N1-jax-standardize-stable-is-numerically-stable", "jax"),
            ("N2-jax-standardize-zero-mean-unit-variance", "jax"),
            ("N3-flax-layernorm-two-pass-variance-is-stable", "flax-linen"),
            ("N4-flax-layernorm-mean-0-std-1", "flax-linen"))}
    finally:
        runner.close()
    verdicts = {k: r.verdict for k, r in got.items()}
    assert verdicts == {("N1-jax-standardize-stable-is-numerically-stable", "jax"): "holds",
                        ("N2-jax-standardize-zero-mean-unit-variance", "jax"): "fails",
                        ("N3-flax-layernorm-two-pass-variance-is-stable", "flax-linen"): "holds",
                        ("N4-flax-layernorm-mean-0-std-1", "flax-linen"): "fails"}, verdicts
    assert "one-pass variance" in got[("N4-flax-layernorm-mean-0-std-1", "flax-linen")].explanation
