"""The MLX adapters against the reference, in the environment that has MLX (tox -e mlx-tests)."""
import inspect
import re
from pathlib import Path

import yaml

from harness.ops.layouts import Layout
from tests.support import check_smoke, smoke_cases, snippet_reproduces

ROOT = Path(__file__).resolve().parents[2]
_FAST = ("layer_norm", "layer_norm_no_bias", "rms_norm", "instance_norm")


def _interleaved(c):
    """group norm with 1 < groups < C: mlx.nn.GroupNorm's default groups channels c mod num_groups."""
    return c.op == "group_norm" and 1 < c.groups < c.size[Layout(c.layout).channel]


def test_mlx_modules_smoke():
    # pinned: cause mlx-group-norm-interleaved-groups, and mlx-fast-norms-float32 (float64 in float32)
    results = check_smoke("mlx", pinned=lambda c: "diverge" if _interleaved(c) or
                          (c.dtype == "float64" and c.op in _FAST) else None)
    assert results[0].versions["mlx"].startswith("0.")


def test_mlx_fast_smoke():
    check_smoke("mlx-fast", unsupported_ops=("batch_norm", "group_norm", "instance_norm"),
                pinned=lambda c: "diverge" if c.dtype == "float64" else None)


def test_snippet_is_what_ran():
    # channels-first input: the recorded call includes the transposes a user writes around nn.GroupNorm
    for adapter in ("mlx", "mlx-fast"):
        for c in smoke_cases():
            if c.id.startswith(("smoke-gn-nchw-g1", "smoke-ln-over-TF", "smoke-rms-img-nchw")) \
                    and c.dtype == "float32" and (adapter == "mlx" or c.op != "group_norm"):
                snippet_reproduces(adapter, c)


def _text(s: str) -> str:
    return " ".join(s.replace("``", "").split())


def test_documented_defaults_are_the_installed_mlx():
    """cases/defaults/mlx.yaml: every docs quote is in the installed API's docstring, every source quote in the
    installed file (the C++ of mlx/fast.cpp is not installed), and each epsilon is the signature's default and
    the adapter's documented one."""
    import mlx.core as mx
    import mlx.nn.layers.normalization as norm
    from mlx import nn

    from harness.adapters.mlx_adapter import DEFAULT_EPSILONS
    entries = yaml.safe_load((ROOT / "cases/defaults/mlx.yaml").read_text())["defaults"]
    source = _text(inspect.getsource(norm))
    problems = []
    for e in entries:
        api = e["api"]
        obj = getattr(nn, api.split(".")[-1]) if api.startswith("mlx.nn.") else getattr(mx.fast, api.split(".")[-1])
        doc = _text(obj.__doc__ or "")
        for name, fact in e["facts"].items():
            quote, src = _text(fact.get("quote", "")), fact.get("source", "")
            if not quote or src.endswith("fast.cpp"):
                continue
            where = source if src.endswith("normalization.py") else doc
            if quote not in where:
                problems.append(f"{api} {name}: quote not found: {quote[:80]}")
        eps = e["facts"]["epsilon"]["value"]
        if api.startswith("mlx.nn."):
            sig = inspect.signature(obj).parameters["eps"].default
            if sig != eps or DEFAULT_EPSILONS[e["op"]][0] != eps:
                problems.append(f"{api}: epsilon {eps} vs signature {sig} vs adapter {DEFAULT_EPSILONS[e['op']][0]}")
        elif not re.search(r"eps: float[,)]", obj.__doc__.splitlines()[0]):
            problems.append(f"{api}: eps is no longer a required argument")
    assert not problems, "\n".join(problems)
