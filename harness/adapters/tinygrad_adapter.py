"""tinygrad: ``tinygrad.nn`` normalization modules and the ``Tensor`` methods, on the CPU device.

The worker runs with ``DEV=CPU`` (the registry's spec), so every tensor lives on tinygrad's CPU device,
whose kernels tinygrad compiles with the C compiler ``CC`` names (``clang`` by default); bfloat16 kernels
use ``__bf16``, which needs clang 15 or newer on x86_64 (the tinygrad environments install clang-19 and set
``CC=clang-19``).

* ``tinygrad`` column: ``nn.BatchNorm``, ``nn.LayerNorm``, ``nn.GroupNorm``, ``nn.InstanceNorm``,
  ``nn.RMSNorm``. BatchNorm, GroupNorm and InstanceNorm take channels at dim 1 (channels-last layouts are
  transposed, as a user must write); LayerNorm normalizes its trailing ``normalized_shape`` (the case's
  axes are moved last); RMSNorm normalizes the last axis only (several axes are moved last and flattened
  into one). BatchNorm uses batch statistics inside ``Context(TRAINING=1)`` and its running statistics
  outside it; its momentum weights the new batch and its running variance is the unbiased one.
  ``InstanceNorm`` has an affine transform by default (``affine=True``) and keeps no running statistics.
* ``tinygrad-tensor`` column: ``Tensor.layernorm(axis, eps)`` (layer norm over any axes, instance norm
  over the spatial axes) with the affine transform written out, ``Tensor.batchnorm(weight, bias, mean,
  invstd, axis)`` with the batch statistics a user computes (``x.mean(axis)``,
  ``x.var(axis, correction=0).add(eps).rsqrt()``; the docstring's example uses ``x.var(axis)``, whose
  default ``correction=1`` is the unbiased variance), and ``Tensor.normalize(p=2.0, dim, eps)``.

Parameters are created by the modules in float32; for other dtypes they are cast to the case dtype
(``m.weight = m.weight.cast(...)``), and given or random affine values are assigned to ``m.weight``/
``m.bias``. Gradients come from ``y.backward(dy)`` (``x.grad``, ``m.weight.grad``).

Each call is written out as source code and that very source is executed, so the recorded snippet is
exactly what ran. The snippet expects ``x`` (and ``gamma``/``beta``) as ``Tensor`` in the case's layout and
dtype, and leaves the result in ``y`` in the same layout.
"""
from __future__ import annotations

import math
import os

os.environ.setdefault("DEV", "CPU")

import numpy as np
import tinygrad
from tinygrad import Context, Tensor, dtypes, nn

from harness.ops.layouts import Layout, channels_first, permutation

from .base import Adapter, Output, fmt, run_snippet

_SRC = "https://github.com/tinygrad/tinygrad/blob/v0.14.0/tinygrad/{}"
_NN, _OP = _SRC.format("nn/__init__.py"), _SRC.format("mixin/op.py")
#: the defaults of tinygrad 0.14 (the signatures: the docstrings name no value)
MODULE_EPSILONS = {
    "batch_norm": (1e-5, ("def __init__(self, sz:int, eps=1e-5, affine=True, track_running_stats=True, "
                          "momentum=0.1):"), _NN),
    "layer_norm": (1e-5, ("def __init__(self, normalized_shape:int|tuple[int, ...], eps:float=1e-5, "
                          "elementwise_affine:bool=True):"), _NN),
    "group_norm": (1e-5, "def __init__(self, num_groups:int, num_channels:int, eps=1e-5, affine=True):", _NN),
    "instance_norm": (1e-5, "def __init__(self, num_features:int, eps:float=1e-5, affine:bool=True):", _NN),
    "rms_norm": (1e-6, "def __init__(self, dim:int, eps=1e-6, elementwise_affine=True):", _NN),
}
_LN = (1e-5, "def layernorm(self, axis:int|tuple[int,...]=-1, eps:float=1e-5) -> Self:", _OP)
TENSOR_EPSILONS = {
    "layer_norm": _LN, "layer_norm_no_bias": _LN, "instance_norm": _LN,
    "l2_normalize": (1e-12, "def normalize(self, p:float=2.0, dim:int=1, eps:float=1e-12) -> Self:", _OP),
}
_DT = {"float16": dtypes.float16, "bfloat16": dtypes.bfloat16, "float32": dtypes.float32, "float64": dtypes.float64}


def to_tiny(a, dtype):
    if a is None:
        return None
    if dtype == "bfloat16":
        return Tensor(np.asarray(a, np.float32)).cast(dtypes.bfloat16)
    return Tensor(np.ascontiguousarray(a))


def to_numpy(t, dtype):
    if dtype == "bfloat16":
        import ml_dtypes
        return t.cast(dtypes.float32).numpy().astype(ml_dtypes.bfloat16)
    return t.cast(_DT[dtype]).numpy()


def _perm(src: str, dst: str) -> tuple[str, str]:
    if src == dst:
        return "", ""
    return f".permute{fmt(permutation(src, dst))}", f".permute{fmt(permutation(dst, src))}"


def _eps(case, name="eps") -> list[str]:
    return [] if case.epsilon is None else [f"{name}={fmt(case.epsilon)}"]


class _Tiny(Adapter):
    dtypes = frozenset({"float16", "bfloat16", "float32", "float64"})
    missing_ops = {"local_response_norm": "tinygrad has no local response normalization (tinygrad.nn, Tensor)"}

    def versions(self):
        return {"tinygrad": tinygrad.__version__ if hasattr(tinygrad, "__version__") else _installed_version()}

    def code(self, case) -> str:  # pragma: no cover - per column
        raise NotImplementedError

    def repro(self, case) -> dict:
        conv = "Tensor(np.asarray(a, np.float32)).cast(dtypes.bfloat16)" if case.dtype == "bfloat16" else "Tensor(a)"
        return {"imports": "import os\nos.environ.setdefault('DEV', 'CPU')\n"
                           "from tinygrad import Context, Tensor, dtypes, nn",
                "to_framework": conv, "to_numpy": "y.cast(dtypes.float64).numpy()", "context": "",
                "versions": "{'tinygrad': __import__('importlib.metadata').metadata.version('tinygrad')}",
                "call": self.code(case)}

    def run(self, case, inputs) -> Output:
        src = self.code(case)
        ns = {"Tensor": Tensor, "nn": nn, "dtypes": dtypes, "Context": Context,
              "x": to_tiny(inputs.x, case.dtype), "gamma": to_tiny(inputs.gamma, case.dtype),
              "beta": to_tiny(inputs.beta, case.dtype)}
        if case.check == "backward":
            ns["dy"] = to_tiny(inputs.dy, case.dtype)
            run_snippet(self.name, src, ns)
            return Output(to_numpy(ns["dx"], case.dtype), src,
                          arrays={k: to_numpy(ns[k], case.dtype) for k in ("dgamma", "dbeta") if k in ns})
        ns["batches"] = [to_tiny(b, case.dtype) for b in inputs.batches]
        if case.check == "inference":
            ns["running_mean"] = to_tiny(inputs.running_mean, case.dtype)
            ns["running_var"] = to_tiny(inputs.running_var, case.dtype)
        run_snippet(self.name, src, ns)
        arrays = {k: to_numpy(ns[k], case.dtype) for k in ("running_mean", "running_var")
                  if case.check == "running_stats"}
        return Output(to_numpy(ns["y"], case.dtype), src, arrays=arrays,
                      info={"momentum_argument": "new_batch"} if case.check == "running_stats" else {})


def _installed_version() -> str:
    from importlib.metadata import version
    return version("tinygrad")


class TinygradModules(_Tiny):
    name = "tinygrad"
    ops = frozenset({"batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm"})
    checks = frozenset({"forward", "backward", "running_stats", "inference"})
    default_epsilons = MODULE_EPSILONS
    takes_momentum = True
    missing_ops = {**_Tiny.missing_ops,
                   "layer_norm_no_bias": "tinygrad.nn.LayerNorm has no bias=False (and with bias=None it skips the "
                                         "weight too); Tensor.layernorm (the tinygrad-tensor column) is the API",
                   "l2_normalize": "tinygrad.nn has no L2-normalization module; Tensor.normalize (the "
                                   "tinygrad-tensor column) is the API"}
    mask_apis = {"batch_norm": "tinygrad.nn.BatchNorm", "layer_norm": "tinygrad.nn.LayerNorm",
                 "group_norm": "tinygrad.nn.GroupNorm", "instance_norm": "tinygrad.nn.InstanceNorm",
                 "rms_norm": "tinygrad.nn.RMSNorm"}
    missing_checks = {
        "cumulative": "tinygrad.nn.BatchNorm has no cumulative average: its momentum is a number "
                      "(running = (1 - momentum) * running + momentum * batch)",
        ("instance_norm", "running_stats"): "tinygrad.nn.InstanceNorm keeps no running statistics",
        ("instance_norm", "inference"): "tinygrad.nn.InstanceNorm keeps no running statistics",
        ("instance_norm", "momentum"): "tinygrad.nn.InstanceNorm takes no momentum (it keeps no running statistics)",
    }

    def supports_case(self, case):
        if case.op in ("batch_norm", "instance_norm", "group_norm") and Layout(case.layout).rank < 2:
            return f"tinygrad.nn modules take (N, C, ...) inputs; {case.layout} has no channel axis"
        return None

    def code(self, case) -> str:
        lay = Layout(case.layout)
        affine = case.affine != "none"
        eps = _eps(case)
        lines, flat = [], ""
        if case.op in ("layer_norm", "rms_norm"):
            axes = lay.ordered(case.axes or lay.axes[-1:])
            kept = [a for a in lay.name if a not in axes]
            target = "".join(kept) + "".join(axes)
            fwd, back = _perm(lay.name, target)
            if fwd:
                lines.append(f"# {lay.name} -> {target}: tinygrad normalizes the trailing dims")
            xin = f"x{fwd}"
            if case.op == "layer_norm":
                nshape = tuple(case.size[a] for a in axes)
                ctor = f"nn.LayerNorm({', '.join([fmt(nshape)] + eps + [f'elementwise_affine={affine}'])})"
            else:
                n = math.prod(case.size[a] for a in axes)
                if len(axes) > 1:
                    lines.append(f"# {''.join(axes)} flattened into one axis: nn.RMSNorm normalizes the last axis")
                    xin += f".reshape{fmt(tuple(case.size[a] for a in kept) + (n,))}"
                    back = f".reshape{fmt(tuple(case.size[a] for a in target))}{back}"
                    flat = ".reshape(-1)"
                ctor = f"nn.RMSNorm({', '.join([str(n)] + eps + [f'elementwise_affine={affine}'])})"
        else:
            target = channels_first(lay.name)
            fwd, back = _perm(lay.name, target)
            if fwd:
                lines.append(f"# {lay.name} -> {target}: tinygrad wants channels at dim 1")
            xin = f"x{fwd}"
            C = case.size[lay.channel]
            if case.op == "batch_norm":
                mom = [] if case.momentum is None else [f"momentum={case.momentum!r}"]
                ctor = f"nn.BatchNorm({', '.join([str(C)] + eps + mom + [f'affine={affine}'])})"
            elif case.op == "group_norm":
                ctor = f"nn.GroupNorm({', '.join([str(case.groups), str(C)] + eps + [f'affine={affine}'])})"
            else:
                ctor = f"nn.InstanceNorm({', '.join([str(C)] + eps + [f'affine={affine}'])})"
        lines.append(f"m = {ctor}")
        params = ["weight", "bias"][:(2 if case.op != "rms_norm" else 1)] if affine else []
        if case.sets_affine:
            lines += [f"m.{p} = {g}{flat}" for p, g in zip(params, ("gamma", "beta"))]
        elif case.dtype != "float32":
            lines += [f"m.{p} = m.{p}.cast(dtypes.{case.dtype})  # made in float32" for p in params]
        if case.op == "batch_norm" and case.dtype != "float32":
            lines.append(f"m.running_mean, m.running_var = m.running_mean.cast(dtypes.{case.dtype}), "
                         f"m.running_var.cast(dtypes.{case.dtype})")
        if case.check == "running_stats":
            lines += ["with Context(TRAINING=1):  # batch statistics, running statistics updated",
                      "    for batch in batches:", f"        m(batch{fwd}).realize()",
                      f"y = m({xin}){back}  # outside TRAINING: the running statistics",
                      "running_mean, running_var = m.running_mean, m.running_var"]
            return "\n".join(lines)
        if case.check == "inference":
            lines += ["m.running_mean, m.running_var = running_mean, running_var  # the given running statistics",
                      f"y = m({xin}){back}  # outside TRAINING: the running statistics"]
            return "\n".join(lines)
        call = f"y = m({xin}){back}"
        if case.op == "batch_norm":
            lines += ["with Context(TRAINING=1):  # batch statistics", f"    {call}"]
        else:
            lines.append(call)
        if case.check == "backward":
            lines += ["y.backward(dy)", "dx = x.grad"]
            if params:
                lines.append(f"dgamma = m.weight.grad{'.reshape(gamma.shape)' if flat else ''}")
            if len(params) > 1:
                lines.append("dbeta = m.bias.grad")
        return "\n".join(lines)


class TinygradTensor(_Tiny):
    name = "tinygrad-tensor"
    ops = frozenset({"batch_norm", "layer_norm", "layer_norm_no_bias", "instance_norm", "l2_normalize"})
    checks = frozenset({"forward", "backward"})
    default_epsilons = TENSOR_EPSILONS
    decoupled_affine = False
    missing_ops = {**_Tiny.missing_ops,
                   "group_norm": "Tensor has no group norm method; tinygrad.nn.GroupNorm (the tinygrad column) is "
                                 "the API",
                   "rms_norm": "Tensor has no RMS norm method; tinygrad.nn.RMSNorm (the tinygrad column) is the API"}
    mask_apis = {"batch_norm": "Tensor.batchnorm", "layer_norm": "Tensor.layernorm",
                 "layer_norm_no_bias": "Tensor.layernorm", "instance_norm": "Tensor.layernorm"}

    def supports(self, case):
        if case.op == "batch_norm" and case.epsilon is None:
            return ("Tensor.batchnorm takes invstd, not an epsilon: the user adds epsilon to the variance, and "
                    "there is no default")
        return super().supports(case)

    def code(self, case) -> str:
        lay = Layout(case.layout)
        sizes = case.size
        affine = case.affine != "none"
        if case.op == "l2_normalize":
            dims = lay.indices(case.semantics.axes)
            dim = dims[0] if len(dims) == 1 else dims
            lines = [f"y = x.normalize(p=2.0, dim={fmt(dim)}{''.join(', ' + e for e in _eps(case))})"]
        elif case.op == "batch_norm":
            c = lay.index(lay.channel)
            red = tuple(i for i in range(lay.rank) if i != c)
            wb = "gamma, beta" if affine else "None, None"
            lines = [f"mean = x.mean(axis={fmt(red)})",
                     f"invstd = x.var(axis={fmt(red)}, correction=0).add({fmt(case.epsilon)}).rsqrt()",
                     f"y = x.batchnorm({wb}, mean, invstd, axis={c})"]
        else:
            axes = lay.ordered(case.axes or lay.axes[-1:]) if case.op != "instance_norm" else lay.spatial
            idx = lay.indices(axes)
            axis = idx[0] if len(idx) == 1 else idx
            pax = axes if case.op != "instance_norm" else (lay.channel,)
            lines = [f"y = x.layernorm(axis={fmt(axis)}{''.join(', ' + e for e in _eps(case))})"]
            if affine:
                trailing = lay.axes[len(lay.axes) - len(pax):] == tuple(lay.ordered(pax))
                bshape = "" if trailing else f".reshape{fmt(tuple(sizes[a] if a in pax else 1 for a in lay.axes))}"
                lines[0] += f" * gamma{bshape}" + (f" + beta{bshape}" if case.spec.bias else "")
        if case.check == "backward":
            lines += ["y.backward(dy)", "dx = x.grad"]
            if affine:
                lines.append("dgamma = gamma.grad")
                if case.spec.bias:
                    lines.append("dbeta = beta.grad")
        return "\n".join(lines)
