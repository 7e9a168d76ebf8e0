"""MLX: ``mlx.nn`` normalization modules and the ``mlx.core.fast`` functions, on the CPU.

MLX puts the features last: ``nn.BatchNorm``, ``nn.GroupNorm`` and ``nn.InstanceNorm`` take ``(N, ..., C)``
inputs (channels-first layouts are transposed to channels-last and back, as a user must write), and
``nn.LayerNorm``/``nn.RMSNorm`` and ``mx.fast.layer_norm``/``mx.fast.rms_norm`` normalize the last axis
only (``dims`` is one int): a case normalizing several axes moves them last and flattens them into one
axis (gamma/beta flattened with them), which is what a user writes.

* ``nn.BatchNorm`` runs in training mode (``m.train()``, the default) with batch statistics; the
  ``running_stats`` check trains it on the batches and normalizes in ``m.eval()``. It takes 2-, 3- or
  4-dimensional inputs only, and its momentum weights the new batch (``running = (1 - m) * running + m *
  batch``; the running variance is the unbiased one, ``ddof=1``).
* ``nn.GroupNorm``'s default (``pytorch_compatible=False``) groups the channels *interleaved*: it reshapes
  the channels into ``(-1, num_groups)``, so group g holds the channels c with ``c % num_groups == g``.
  A case with the framework option ``pytorch_compatible`` passes it.
* ``nn.InstanceNorm`` keeps no running statistics and takes inputs of rank 3 or more.
* ``nn.RMSNorm`` always has a weight (initialized to ones): an ``affine: none`` case runs it as it is.

``mx.array`` of a float64 NumPy array is float32 unless ``dtype=mx.float64`` is given: the inputs are made
with the case dtype given. Modules are made in float32 and cast to the case dtype with ``m.set_dtype`` (as a user running half
precision does); given or random affine values are assigned to ``m.weight``/``m.bias``. Gradients come
from ``mx.vjp`` of the call by x and the parameters (``dy``: the upstream gradient).

Each call is written out as source code and that very source is executed, so the recorded snippet is
exactly what ran. The snippet expects ``x`` (and ``gamma``/``beta``) as ``mx.array`` in the case's layout
and dtype, and leaves the result in ``y`` in the same layout.
"""
from __future__ import annotations

import math

import mlx.core as mx
import numpy as np
from mlx import nn

from harness.ops.layouts import Layout, channels_last, permutation

from .base import Adapter, Output, eps_kw, fmt, option_kw, run_snippet

mx.set_default_device(mx.cpu)

_SRC = "https://ml-explore.github.io/mlx/build/html/python/nn/_autosummary/mlx.nn.{}.html"
_EPS = "eps (float): A small additive constant for numerical stability. Default: 1e-5."
#: the documented defaults of MLX 0.32 (the modules' docstrings)
DEFAULT_EPSILONS = {
    "batch_norm": (1e-5, ("eps (float, optional): A small additive constant for numerical stability. "
                          "Default: 1e-5."), _SRC.format("BatchNorm")),
    "layer_norm": (1e-5, _EPS, _SRC.format("LayerNorm")),
    "layer_norm_no_bias": (1e-5, _EPS, _SRC.format("LayerNorm")),
    "group_norm": (1e-5, _EPS, _SRC.format("GroupNorm")),
    "instance_norm": (1e-5, ("eps (float): A value added to the denominator for numerical stability. "
                             "Default: 1e-5."), _SRC.format("InstanceNorm")),
    "rms_norm": (1e-5, _EPS, _SRC.format("RMSNorm")),
}

_MX_DTYPES = {"float16": mx.float16, "bfloat16": mx.bfloat16, "float32": mx.float32, "float64": mx.float64}
_NO_FAMILY = {
    "l2_normalize": "MLX has no L2-normalization function or module (mlx.nn, mlx.core); a user writes "
                    "x / mx.maximum(mx.linalg.norm(x, axis=..., keepdims=True), eps)",
    "local_response_norm": "MLX has no local response normalization (mlx.nn, mlx.core.fast)",
}


def to_mx(a, dtype):
    if a is None:
        return None
    if dtype == "bfloat16":
        return mx.array(np.asarray(a, np.float32)).astype(mx.bfloat16)
    # dtype given: mx.array makes float32 of a float64 numpy array unless told otherwise
    return mx.array(np.ascontiguousarray(a), dtype=_MX_DTYPES[dtype])


def to_numpy(y, dtype):
    if dtype == "bfloat16":
        import ml_dtypes
        return np.array(y.astype(mx.float32)).astype(ml_dtypes.bfloat16)
    return np.array(y)


def _perm(src: str, dst: str) -> tuple[str, str]:
    """``mx.transpose`` wrappers from layout src to dst and back (identity when equal)."""
    if src == dst:
        return "{}", "{}"
    return f"mx.transpose({{}}, {fmt(permutation(src, dst))})", f"mx.transpose({{}}, {fmt(permutation(dst, src))})"


class _MLX(Adapter):
    dtypes = frozenset({"float16", "bfloat16", "float32", "float64"})
    missing_ops = _NO_FAMILY
    functional = False

    def versions(self):
        return {"mlx": mx.__version__}

    # -- code generation ------------------------------------------------------
    def _layout(self, case):
        """(comment lines, a function writing the call's input from x's name, lines putting ``yt`` back into
        x's layout as ``y``, the number of features, the suffix that flattens gamma/beta)."""
        lay = Layout(case.layout)
        if case.op not in ("layer_norm", "layer_norm_no_bias", "rms_norm"):
            target = channels_last(lay.name)
            fwd, back = _perm(lay.name, target)
            notes = [f"# {lay.name} -> {target}: MLX wants channels last"] if target != lay.name else []
            return notes, fwd.format, [f"y = {back.format('yt')}"], case.size[lay.channel], ""
        axes = lay.ordered(case.axes or lay.axes[-1:])
        kept = [a for a in lay.name if a not in axes]
        target = "".join(kept) + "".join(axes)
        n = math.prod(case.size[a] for a in axes)
        fwd, back = _perm(lay.name, target)
        notes = [f"# {lay.name} -> {target}: MLX normalizes the last axis"] if target != lay.name else []
        post = []
        if len(axes) > 1:
            flat = tuple(case.size[a] for a in kept) + (n,)
            notes.append(f"# {''.join(axes)} flattened into one axis of {n} features")
            post.append(f"yt = yt.reshape{fmt(tuple(case.size[a] for a in target))}")
            return notes, lambda v: f"{fwd.format(v)}.reshape{fmt(flat)}", \
                post + [f"y = {back.format('yt')}"], n, ".reshape(-1)"
        return notes, fwd.format, [f"y = {back.format('yt')}"], n, ""

    def module_lines(self, case, n) -> list[str]:
        """``m = nn.<Module>(...)`` in the case dtype, with the case's parameters."""
        affine = case.affine != "none"
        eps = eps_kw(case, "eps")
        if case.op in ("layer_norm", "layer_norm_no_bias"):
            kw = [str(n)] + eps + [f"affine={affine}"] + (["bias=False"] if affine and not case.spec.bias else [])
            ctor = f"nn.LayerNorm({', '.join(kw)})"
        elif case.op == "rms_norm":
            ctor = f"nn.RMSNorm({', '.join([str(n)] + eps)})" + \
                   ("  # nn.RMSNorm always has a weight, initialized to ones" if not affine else "")
        elif case.op == "group_norm":
            kw = [str(case.groups), str(n)] + eps + [f"affine={affine}"] + option_kw(case, "pytorch_compatible")
            ctor = f"nn.GroupNorm({', '.join(kw)})"
        elif case.op == "instance_norm":
            ctor = f"nn.InstanceNorm({', '.join([str(n)] + eps + [f'affine={affine}'])})"
        else:
            mom = [] if case.momentum is None else [f"momentum={case.momentum!r}"]
            ctor = f"nn.BatchNorm({', '.join([str(n)] + eps + mom + [f'affine={affine}'])})"
        lines = [f"m = {ctor}"]
        if case.dtype != "float32":
            lines.append(f"m.set_dtype(mx.{case.dtype})")
        return lines

    def params(self, case) -> list[str]:
        """The names of the module's parameters that the case's gamma/beta are."""
        if case.affine == "none":
            return []
        return ["weight"] + (["bias"] if case.spec.bias else [])

    def code(self, case) -> str:
        notes, into, post, n, flat = self._layout(case)
        pre = notes + [f"xt = {into('x')}"]
        names = self.params(case)
        if self.functional:
            return self._functional(case, pre, into, post, flat, names)
        lines = self.module_lines(case, n)
        if case.sets_affine:
            lines += [f"m.{p} = {g}{flat}" for p, g in zip(names, ("gamma", "beta"))]
        if case.check == "running_stats":
            lines += notes + ["m.train()  # batch statistics, running statistics updated",
                              "for batch in batches:", f"    m({into('batch')})",
                              "m.eval()  # the running statistics", pre[-1], "yt = m(xt)"] + post
            lines.append("running_mean, running_var = m.running_mean, m.running_var")
            return "\n".join(lines)
        if case.check == "inference":
            lines += ["m.running_mean = running_mean  # the given running statistics",
                      "m.running_var = running_var", "m.eval()"]
        elif case.op == "batch_norm":
            lines.append("m.train()  # batch statistics")
        if case.check == "backward":
            lines += pre + [f"def f({', '.join(['xt'] + names)}):"]
            if names:
                lines.append(f"    m.update({{{', '.join(f'{p!r}: {p}' for p in names)}}})")
            lines.append("    return m(xt)")
            lines += self._vjp(into, ["xt"] + [f"m.{p}" for p in names], post,
                               [(d, f".reshape({g}.shape)" if flat else "") for d, g in
                                zip(("dgamma", "dbeta"), ("gamma", "beta"))][:len(names)])
            return "\n".join(lines)
        return "\n".join(lines + pre + ["yt = m(xt)"] + post)

    @staticmethod
    def _vjp(into, args, post, grads) -> list[str]:
        """``mx.vjp`` of f at ``args`` with the upstream gradient in f's layout; dx put back into the case's
        layout, the parameters' gradients (``grads``: name, reshape suffix) after it."""
        out = [f"dyt = {into('dy')}", f"_, vjps = mx.vjp(f, [{', '.join(args)}], [dyt])", "yt = vjps[0]"]
        out += [ln.replace("y = ", "dx = ", 1) if ln.startswith("y = ") else ln for ln in post]
        out += [f"{d} = vjps[{i + 1}]{shape}" for i, (d, shape) in enumerate(grads)]
        return out

    def _functional(self, case, pre, into, post, flat, names) -> str:
        eps = fmt(case.epsilon)
        fargs = ["xt"] + ["gamma", "beta"][:len(names)]
        g = f"gamma{flat}" if names else "None"
        if case.op == "rms_norm":
            call = f"mx.fast.rms_norm(xt, {g}, {eps})"
        else:
            call = f"mx.fast.layer_norm(xt, {g}, {f'beta{flat}' if len(names) > 1 else 'None'}, {eps})"
        if case.check != "backward":
            return "\n".join(pre + [f"yt = {call}"] + post)
        # the parameters as given (flattened inside f where the call needs one axis)
        lines = pre + [f"def f({', '.join(fargs)}):", f"    return {call}"]
        return "\n".join(lines + self._vjp(into, fargs, post, [(d, "") for d in ("dgamma", "dbeta")][:len(names)]))

    # -- running ---------------------------------------------------------------
    def repro(self, case) -> dict:
        conv = "mx.array(a).astype(mx.bfloat16)" if case.dtype == "bfloat16" else \
            f"mx.array(a, dtype=mx.{case.dtype})"
        return {"imports": "import mlx.core as mx\nimport mlx.nn as nn\nmx.set_default_device(mx.cpu)",
                "to_framework": conv, "to_numpy": "np.array(y.astype(mx.float32 if y.dtype == mx.bfloat16 "
                                                  "else y.dtype)).astype(np.float64)",
                "context": "", "versions": "{'mlx': mx.__version__}", "call": self.code(case)}

    def run(self, case, inputs) -> Output:
        src = self.code(case)
        ns = {"mx": mx, "nn": nn, "x": to_mx(inputs.x, case.dtype), "gamma": to_mx(inputs.gamma, case.dtype),
              "beta": to_mx(inputs.beta, case.dtype)}
        if case.check == "backward":
            ns["dy"] = to_mx(inputs.dy, case.dtype)
            run_snippet(self.name, src, ns)
            return Output(to_numpy(ns["dx"], case.dtype), src,
                          arrays={k: to_numpy(ns[k], case.dtype) for k in ("dgamma", "dbeta") if k in ns})
        ns["batches"] = [to_mx(b, case.dtype) for b in inputs.batches]
        if case.check == "inference":
            ns["running_mean"] = to_mx(inputs.running_mean, case.dtype)
            ns["running_var"] = to_mx(inputs.running_var, case.dtype)
        run_snippet(self.name, src, ns)
        arrays = {k: to_numpy(ns[k], case.dtype) for k in ("running_mean", "running_var")
                  if case.check == "running_stats"}
        return Output(to_numpy(ns["y"], case.dtype), src, arrays=arrays,
                      info={"momentum_argument": "new_batch"} if case.check == "running_stats" else {})


class MLXModules(_MLX):
    name = "mlx"
    ops = frozenset({"batch_norm", "layer_norm", "layer_norm_no_bias", "group_norm", "instance_norm", "rms_norm"})
    checks = frozenset({"forward", "backward", "running_stats", "inference"})
    default_epsilons = DEFAULT_EPSILONS
    options = {"group_norm": frozenset({"pytorch_compatible"})}
    takes_momentum = True
    mask_apis = {"batch_norm": "mlx.nn.BatchNorm", "layer_norm": "mlx.nn.LayerNorm",
                 "layer_norm_no_bias": "mlx.nn.LayerNorm", "group_norm": "mlx.nn.GroupNorm",
                 "instance_norm": "mlx.nn.InstanceNorm", "rms_norm": "mlx.nn.RMSNorm"}
    missing_checks = {
        "cumulative": "mlx.nn.BatchNorm has no cumulative average: its momentum is a number "
                      "(running = (1 - momentum) * running + momentum * batch)",
        ("instance_norm", "running_stats"): "mlx.nn.InstanceNorm keeps no running statistics",
        ("instance_norm", "inference"): "mlx.nn.InstanceNorm keeps no running statistics",
        ("instance_norm", "momentum"): "mlx.nn.InstanceNorm takes no momentum (it keeps no running statistics)",
    }

    def supports_case(self, case):
        rank = Layout(case.layout).rank
        if case.op == "batch_norm" and not 2 <= rank <= 4:
            return (f"mlx.nn.BatchNorm takes 2-, 3- or 4-dimensional inputs (NC, NLC, NHWC); this one has {rank} "
                    "(fold the extra spatial axes into one)")
        if case.op == "instance_norm" and rank < 3:
            return "mlx.nn.InstanceNorm takes inputs of rank 3 or more (N, ..., C)"
        return None


class MLXFast(_MLX):
    name = "mlx-fast"
    functional = True
    ops = frozenset({"layer_norm", "layer_norm_no_bias", "rms_norm"})
    checks = frozenset({"forward", "backward"})
    missing_ops = {**_NO_FAMILY, **{op: f"mlx.core.fast has no {t}; mlx.nn.{c} (the mlx column) is the API" for op, t, c in (
        ("batch_norm", "batch norm", "BatchNorm"), ("group_norm", "group norm", "GroupNorm"),
        ("instance_norm", "instance norm", "InstanceNorm"))}}
    mask_apis = {"layer_norm": "mlx.core.fast.layer_norm", "layer_norm_no_bias": "mlx.core.fast.layer_norm",
                 "rms_norm": "mlx.core.fast.rms_norm"}

    def supports(self, case):
        if case.op in self.ops and case.epsilon is None:
            return (f"mlx.core.fast.{'rms_norm' if case.op == 'rms_norm' else 'layer_norm'} has no default epsilon: "
                    "eps is a required argument")
        return super().supports(case)
