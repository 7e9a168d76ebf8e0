"""A worker's reuse of exported models (torch-onnx), in the environment that has torch and onnxruntime:
a reused artefact gives the output a fresh one gives, bit for bit; the cache hits where the graph is the
same (other input values) and misses where it is not (other parameters, epsilon, statistics); ``--no-cache``
reaches the workers."""
import contextlib
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from harness.adapters import NO_CACHE_ENV, AdapterSpec, _cache, load_adapter, registry
from harness.adapters.base import Adapter, Output
from harness.cases.inputs import make_inputs
from harness.cases.load import discover, load_tree
from tests.support import smoke_cases

REPO = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def caching(on: bool):
    old = os.environ.get(NO_CACHE_ENV)
    os.environ[NO_CACHE_ENV] = "" if on else "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(NO_CACHE_ENV, None)
        else:
            os.environ[NO_CACHE_ENV] = old


def same(a: Output, b: Output) -> bool:
    return (a.y.dtype == b.y.dtype and a.y.shape == b.y.shape and a.y.tobytes() == b.y.tobytes()
            and a.snippet == b.snippet)


def other_values(a, seed):
    """Other values of the same shape and dtype."""
    return np.asarray(np.abs(np.random.default_rng(seed).standard_normal(a.shape)) * 3 + 0.1, dtype=a.dtype)


def check_reuse(adapter: str, case, cache: str, params=("gamma",), fed=()):
    """Run ``case`` through ``adapter`` with the cache on and off: the same cell twice and a cell with other
    input values reuse the artefact and give the fresh outputs; other values of ``params`` (held in the graph)
    and another epsilon build a new one, other values of ``fed`` (fed to the graph like x) reuse it. Returns
    the cache."""
    ad = load_adapter(registry()[adapter])
    assert ad.supports(case) is None, ad.supports(case)
    base = make_inputs(case)
    other_x = dataclasses.replace(base, x=other_values(base.x, 1))

    def fresh(c, inputs):
        with caching(False):
            return ad.run(c, inputs)

    with caching(True):
        _cache.clear_all()
        kept = _cache._CACHES[cache]
        first = ad.run(case, base)
        assert (kept.hits, len(kept)) == (0, 1)
        again = ad.run(case, base)
        assert kept.hits == 1, "the same cell did not reuse the artefact"
        assert same(first, again), f"{adapter}: a reused artefact changed the output"
        moved = ad.run(case, other_x)
        assert kept.hits == 2, "other input values must reuse the artefact"
        assert not same(moved, first), "other input values must give another output"
        assert same(moved, fresh(case, other_x)), f"{adapter}: a reused artefact differs from a fresh one"
        hits = kept.hits
        for name in params:
            changed = dataclasses.replace(base, **{name: other_values(getattr(base, name), 2)})
            out = ad.run(case, changed)
            assert kept.hits == hits, f"other {name} values must not reuse the artefact"
            assert same(out, fresh(case, changed))
        for name in fed:
            changed = dataclasses.replace(base, **{name: other_values(getattr(base, name), 3)})
            out = ad.run(case, changed)
            assert kept.hits == hits + 1, f"other {name} values (fed to the graph) must reuse the artefact"
            assert same(out, fresh(case, changed))
            hits = kept.hits
        eps = dataclasses.replace(case, epsilon=case.epsilon * 10)
        out = ad.run(eps, base)
        assert kept.hits == hits, "another epsilon must not reuse the artefact"
        assert same(out, fresh(eps, base))
        assert not same(out, first)
    with caching(False):
        before = (kept.hits, len(kept))
        ad.run(case, base)
        assert (kept.hits, len(kept)) == before, "with the cache off nothing is reused or kept"
    return kept


def _smoke(prefix):
    return next(c for c in smoke_cases() if c.id.startswith(prefix))


def test_torch_onnx_reuses_exports_bit_for_bit():
    # channels-first group norm (a permute around the call) and batch norm in training mode
    for cid in ("smoke-gn-nhwc-g2-eps0.001-float32", "smoke-bn-nchw-eps0.001-float64"):
        check_reuse("torch-onnx", _smoke(cid), "torch-onnx exported programs", params=("gamma", "beta"))
    registries = _cache._CACHES["torch-onnx registry"]
    assert registries.hits > 0, "torchlib's registry was built for every export"


def test_torch_onnx_inference_keys_on_the_statistics():
    cases, _ = load_tree(discover(REPO / "cases"))
    ad = load_adapter(registry()["torch-onnx"])
    case = next(c for c in cases
                if c.op == "batch_norm" and c.check == "inference" and c.epsilon and ad.supports(c) is None)
    check_reuse("torch-onnx", case, "torch-onnx exported programs", params=("running_mean", "running_var"))


def test_registry_copy_is_the_fresh_one():
    """The reused torchlib registry exports the very graph a fresh one exports."""
    import torch

    from harness.adapters.torch_onnx_adapter import _torchlib_registry_reused

    m = torch.nn.GroupNorm(2, 4)
    x = torch.randn(2, 4, 3)

    def export():
        return torch.onnx.export(m, (x,), dynamo=True, verbose=False).model_proto.SerializeToString()

    with caching(False):
        fresh = export()
    with caching(True), _torchlib_registry_reused():
        export()
        reused = export()
    assert reused == fresh


class CacheProbe(Adapter):
    """Records in its snippet whether the worker's caches are on."""

    name = "cache-probe"
    ops = frozenset({"layer_norm"})

    def run(self, case, inputs):
        return Output(np.zeros_like(inputs.x), f"caching={_cache.enabled()}")


PROBE = AdapterSpec("cache-probe", "tests.current.test_cache:CacheProbe", description="test only")

_CASE = """
cases:
  - id: probe
    description: d
    source: s
    op: layer_norm
    layout: BTF
    shape: {B: 2, T: 3, F: 4}
"""


def test_no_cache_reaches_the_workers(tmp_path):
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "probe.yaml").write_text(_CASE)
    env = {**os.environ, "NORMCONF_ADAPTERS": "tests.current.test_cache:PROBE", "PYTHONPATH": str(REPO)}
    env.pop(NO_CACHE_ENV, None)
    seen = {}
    for flag in ("", "--no-cache"):
        res = tmp_path / f"r{flag}.jsonl"
        cmd = [sys.executable, "-m", "harness", "run", "--cases-root", str(cases), "--env-name", "t",
               "--adapters", "cache-probe", "--results", str(res), *([flag] if flag else []), str(cases)]
        p = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert res.exists(), p.stdout[-2000:] + p.stderr[-2000:]
        rows = [json.loads(line) for line in res.read_text().splitlines()]
        seen[flag] = [r.get("snippet") for r in rows if r.get("adapter") == "cache-probe" and "status" in r]
    assert seen == {"": ["caching=True"], "--no-cache": ["caching=False"]}, seen


def _jax_outputs(cases):
    """(outputs per adapter and case, the files of the run's shared JAX compilation cache) for the JAX
    columns, run one after another by their own workers of one pool."""
    from harness.workers.pool import WorkerPool

    specs = registry()
    pool = WorkerPool({a: specs[a] for a in ("jax", "flax-linen", "haiku")})
    try:
        out = {}
        for a in ("jax", "flax-linen", "haiku"):
            for c in cases:
                r = pool.call(a, c, make_inputs(c))
                if r.status == "ok":
                    out[(a, c.id)] = (r.y.dtype.str, r.y.shape, r.y.tobytes())
        files = sorted(p.name for p in (Path(pool.run_dir) / "jax").glob("*")) if \
            (Path(pool.run_dir) / "jax").is_dir() else []
        run_dir = pool.run_dir
    finally:
        pool.close()
    assert not Path(run_dir).exists(), "the run's directory outlives its pool"
    return out, files


def test_jax_columns_share_compilations_and_give_the_outputs_of_fresh_workers():
    cases = [c for c in smoke_cases() if c.op == "layer_norm"][:4]
    assert cases
    with caching(True):
        cached, files = _jax_outputs(cases)
    with caching(False):
        fresh, no_files = _jax_outputs(cases)
    assert len(cached) >= 8 and cached.keys() == fresh.keys()
    assert [k for k in cached if cached[k] != fresh[k]] == [], "outputs differ with the shared compilation cache"
    assert files, "the JAX columns' workers kept no compilation in the run's directory"
    assert no_files == [], "--no-cache still shares compilations"
