"""The tinygrad adapters against the reference, in the environment that has tinygrad (tox -e tinygrad-tests)."""
import inspect
from pathlib import Path

import yaml

from tests.support import check_smoke, smoke_cases, snippet_reproduces

ROOT = Path(__file__).resolve().parents[2]


def test_tinygrad_modules_smoke():
    # pinned: cause tinygrad-rms-norm-float32 (float64 RMSNorm in float32)
    results = check_smoke("tinygrad", pinned=lambda c: "diverge" if c.op == "rms_norm" and c.dtype == "float64"
                          else None)
    assert results[0].versions["tinygrad"].startswith("0.")


def test_tinygrad_tensor_smoke():
    check_smoke("tinygrad-tensor", unsupported_ops=("group_norm", "rms_norm"))


def test_snippet_is_what_ran():
    for adapter in ("tinygrad", "tinygrad-tensor"):
        for c in smoke_cases():
            if c.id.startswith(("smoke-bn-nhwc", "smoke-ln-over-TF")) and c.dtype == "float32":
                snippet_reproduces(adapter, c)


def test_documented_defaults_are_the_installed_tinygrad():
    """cases/defaults/tinygrad.yaml: every quote is in the installed source file it names, and each epsilon is
    the installed signature's default and the adapter's documented one."""
    from tinygrad import Tensor, nn
    from tinygrad.mixin import op

    from harness.adapters.tinygrad_adapter import MODULE_EPSILONS, TENSOR_EPSILONS
    files = {"nn/__init__.py": inspect.getsource(nn), "mixin/op.py": inspect.getsource(op)}
    problems = []
    for e in yaml.safe_load((ROOT / "cases/defaults/tinygrad.yaml").read_text())["defaults"]:
        for name, fact in e["facts"].items():
            src = next(v for k, v in files.items() if fact["source"].endswith(k))
            if fact["quote"] not in src:
                problems.append(f"{e['api']} {name}: quote not found: {fact['quote'][:80]}")
        eps = e["facts"]["epsilon"]["value"]
        api = e["api"].split(" ")[0]
        if api.startswith("tinygrad.nn."):
            obj, table, kw = getattr(nn, api.split(".")[-1]), MODULE_EPSILONS, "eps"
        else:
            obj, table, kw = getattr(Tensor, api.split(".")[-1]), TENSOR_EPSILONS, "eps"
        sig = inspect.signature(obj).parameters.get(kw)
        default = None if sig is None else sig.default
        documented = table.get(e["op"], (None,))[0]
        if eps is not None and (default != eps or documented != eps):
            problems.append(f"{e['api']}: epsilon {eps} vs signature {default} vs adapter {documented}")
    assert not problems, "\n".join(problems)
