"""The Flax (linen, nnx) and core JAX adapters against the reference, in the
environment that has JAX and Flax."""
import dataclasses
import subprocess
import sys

from harness.execution.runner import Runner
from tests.support import check_smoke, run_cells, smoke_cases, snippet_reproduces


def _case(prefix):
    return next(c for c in smoke_cases() if c.id.startswith(prefix))


def test_flax_linen_smoke():
    results = check_smoke("flax-linen")
    assert set(results[0].versions) >= {"flax", "jax", "jaxlib"}


def test_flax_nnx_smoke():
    results = check_smoke("flax-nnx")
    assert set(results[0].versions) >= {"flax", "jax", "jaxlib"}


def test_jax_smoke():
    # core JAX has no RMS norm: jax.nn.standardize always centres
    results = check_smoke("jax", unsupported_ops=("rms_norm",))
    assert set(results[0].versions) >= {"jax", "jaxlib"}
    rms = [r for c, r in zip(smoke_cases(), results) if c.op == "rms_norm"]
    assert rms and all("no RMS norm" in r.message for r in rms)


def test_flax_and_jax_snippets_are_what_ran():
    # channels first and last (Flax takes channels last: the call must carry the user's transposes),
    # and JAX's reshape into groups
    for adapter in ("flax-linen", "flax-nnx", "jax"):
        for cid in ("smoke-gn-nchw-g2", "smoke-gn-nhwc-g2"):
            (r,) = run_cells(adapter, [_case(cid)])
            assert r.status == "agree", r.message
            snippet_reproduces(adapter, _case(cid))


def test_half_precision():
    """float16 and bfloat16 are declared: a few cases of each op must agree."""
    picks = ("smoke-bn-nchw", "smoke-gn-nhwc-g2", "smoke-in-ncl", "smoke-ln-img-nchw-over-CHW", "smoke-rms-over-TF")
    cases = [dataclasses.replace(c, dtype=d, id=f"{c.id}-{d}") for c in smoke_cases()
             if c.dtype == "float32" and c.id.startswith(picks) for d in ("float16", "bfloat16")]
    assert len(cases) == 2 * len(picks)
    adapters = ["flax-linen", "flax-nnx", "jax"]
    runner = Runner("test", None, adapters)
    try:
        results = [(a, c, runner.run_cell(c, a)) for a in adapters for c in cases]
    finally:
        runner.close()
    bad = [f"{a} {c.id}: {r.status} {r.message}" for a, c, r in results
           if r.status != ("unsupported" if (a == "jax" and c.op == "rms_norm") else "agree")]
    assert not bad, "\n".join(bad)


def _jax_sees_a_gpu() -> bool:
    # asked in a child process: the test process stays free of frameworks
    code = "import jax\ntry:\n    print(bool(jax.devices('gpu')))\nexcept RuntimeError:\n    print(False)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1] == "True"


def test_jax_gpu_column_is_hidden_without_a_device():
    has_gpu = _jax_sees_a_gpu()
    (r,) = run_cells("jax-gpu", [_case("smoke-bn-nchw")])
    if has_gpu:
        assert r.status == "agree", r.message
        assert "device" in r.versions
    else:
        assert r.status == "unsupported" and r.message.startswith("not available")
        assert "no GPU device visible to JAX" in r.message
    # the report hides the column exactly when there is no device
    assert bool(r.absent) == (not has_gpu)
