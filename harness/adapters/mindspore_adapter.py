"""MindSpore: ``mindspore.nn`` layers and ``mindspore.ops`` functions, in PyNative mode on the CPU.

Conventions of MindSpore 2.10 that shape the calls (read in the installed ``mindspore/nn/layer/
normalization.py``, ``mindspore/ops/function/nn_func.py`` and the primitives' docstrings):

* ``nn.LayerNorm(normalized_shape, begin_norm_axis=-1, begin_params_axis=-1, epsilon=1e-7)`` normalizes
  the axes from ``begin_norm_axis`` to the last and puts gamma and beta on the axes from ``begin_params_axis``
  on: the normalized axes are moved last, the parameters' axes last of all (transposed and back, as a user
  writes), so parameters on a trailing part of the normalized axes run. Its documented default epsilon is 1e-7, not
  the 1e-5 of the other frameworks. It always has gamma and beta (no ``elementwise_affine``): a layer norm
  without a bias keeps beta at zeros, out of the gradient (``requires_grad=False``).
* The functional ``ops.layer_norm`` (the ``LayerNormExt`` kernel, eps 1e-5) has no CPU kernel ("Create
  kernelmod for op LayerNormExt failed"), nor has ``nn.LayerNormExt``: the ops column calls the
  ``ops.LayerNorm`` primitive (``begin_norm_axis``, ``begin_params_axis``, ``epsilon=1e-7``), documented for
  "Ascend GPU CPU".
* ``nn.BatchNorm1d/2d/3d``'s ``momentum`` weights the old value: "moving_mean=moving_mean*momentum+μ_β*(1-
  momentum)", default 0.9; a case's momentum (the weight of the new batch) is passed as ``1 - momentum``.
  ``ops.batch_norm``'s ``momentum`` weights the new batch ("new_running_mean = (1 - momentum) * running_mean
  + momentum * current_mean", default 0.1) and is passed as is. Training mode is ``m.set_train(True)``;
  ``ops.batch_norm(..., training=True)`` updates ``running_mean``/``running_var`` Parameters in place. The
  CPU kernel takes float16 and float32 inputs only, channels first: ``data_format='NHWC'`` is GPU only
  ("the 'NHWC' format only support in GPU target"), so channels-last layouts are transposed.
* ``nn.GroupNorm`` and ``ops.group_norm`` take ``(N, C, *)``: channels-last layouts are transposed.
* ``nn.InstanceNorm1d/2d/3d`` have no CPU kernel ("Unsupported op [InstanceNorm] on CPU") and
  ``mindspore.ops`` has no instance norm; ``ops.rms_norm`` has no CPU kernel ("The kernel RmsNorm
  unregistered") and ``mindspore.nn`` no RMSNorm layer.
* ``nn.LRN``/``ops.lrn(x, depth_radius, bias, alpha, beta)`` take 4-D NCHW float16/float32 inputs; the window
  is ``2 * depth_radius + 1`` channels (an even size has none) and the kernel does not divide alpha by the
  window (TensorFlow's LRN): the call passes ``alpha / size``, as a user porting a PyTorch/ONNX model writes.
* ``ops.L2Normalize(axis, epsilon=1e-4)`` divides by ``sqrt(max(sum(x²), epsilon))`` over one axis (a tuple
  of more is refused: "the length of 'axis' must be 1"); ``mindspore.nn`` has no L2-normalization layer.
* MindSpore 2.10's ``libmindspore_common.so`` is built against the NumPy 1.x C API: the environment holds
  NumPy 1.26 (see tox.ini).

Gradients come from ``mindspore.grad`` of ``sum(y * dy)`` (``dy``: the upstream gradient) by x and the
layer's parameters (``weights=``) or the functional call's gamma and beta (``grad_position``), which is how
MindSpore's docs compute gradients in PyNative mode.

Each call is written out as source code and that very source is executed, so the recorded snippet is
exactly what ran. The snippet expects ``x`` (and ``gamma``/``beta``) as ``mindspore.Tensor`` in the case's
layout and dtype, and leaves the result in ``y`` in the same layout.
"""
from __future__ import annotations

import math

import mindspore as ms
import numpy as np
from mindspore import Parameter, Tensor, nn, ops

from harness.ops.layouts import Layout, channels_first, permutation

from .base import Adapter, Output, eps_kw, fmt, run_snippet

ms.set_device("CPU")
# kernels run as they are called, so an error is raised by the call that caused it
ms.set_context(mode=ms.PYNATIVE_MODE, pynative_synchronize=True)

_V = "r2.10"
_SRC = f"https://www.mindspore.cn/docs/en/{_V}/api_python/{{}}.html"
_BN_DOC = "eps (float, optional): :math:`\\epsilon` added to the denominator for numerical stability. Default: ``1e-5`` ."
_LN_DOC = ("epsilon (float): A value added to the denominator for numerical stability(:math:`\\epsilon`). "
           "Default: ``1e-7`` .")
_GN_DOC = "eps (float): A value added to the denominator for numerical stability. Default: ``1e-05`` ."
_GN_F_DOC = "eps (float, optional): A value added to the denominator for numerical stability. Default: ``1e-5`` ."
_BN_F_DOC = "eps (float, optional): A small value added for numerical stability. Default: ``1e-5``, value must be `(0, 1]` ."
_L2_DOC = "epsilon (float, optional): A small value added for numerical stability. Default: ``1e-4`` ."
#: the documented defaults of MindSpore 2.10 (the docstrings the API pages render)
NN_EPSILONS = {
    "batch_norm": (1e-5, _BN_DOC, _SRC.format("nn/mindspore.nn.BatchNorm2d")),
    "layer_norm": (1e-7, _LN_DOC, _SRC.format("nn/mindspore.nn.LayerNorm")),
    "layer_norm_no_bias": (1e-7, _LN_DOC, _SRC.format("nn/mindspore.nn.LayerNorm")),
    "group_norm": (1e-5, _GN_DOC, _SRC.format("nn/mindspore.nn.GroupNorm")),
}
OPS_EPSILONS = {
    "batch_norm": (1e-5, _BN_F_DOC, _SRC.format("ops/mindspore.ops.batch_norm")),
    "layer_norm": (1e-7, _LN_DOC, _SRC.format("ops/mindspore.ops.LayerNorm")),
    "layer_norm_no_bias": (1e-7, _LN_DOC, _SRC.format("ops/mindspore.ops.LayerNorm")),
    "group_norm": (1e-5, _GN_F_DOC, _SRC.format("ops/mindspore.ops.group_norm")),
    "l2_normalize": (1e-4, _L2_DOC, _SRC.format("ops/mindspore.ops.L2Normalize")),
}

#: the API each column calls for an op (in the reasons a cell is n/a)
_NN_APIS = {"batch_norm": "mindspore.nn.BatchNorm1d/2d/3d", "layer_norm": "mindspore.nn.LayerNorm",
            "group_norm": "mindspore.nn.GroupNorm", "local_response_norm": "mindspore.nn.LRN"}
_OPS_APIS = {"batch_norm": "mindspore.ops.batch_norm", "layer_norm": "mindspore.ops.LayerNorm",
             "group_norm": "mindspore.ops.group_norm", "local_response_norm": "mindspore.ops.lrn",
             "l2_normalize": "mindspore.ops.L2Normalize"}
_MS_DTYPES = {"float16": "ms.float16", "bfloat16": "ms.bfloat16", "float32": "ms.float32", "float64": "ms.float64"}
_RMS = ("mindspore.ops.rms_norm has no CPU kernel (\"The kernel RmsNorm unregistered\") and mindspore.nn has no "
        "RMSNorm layer; run it on Ascend")
_INSTANCE = ("{api} has no CPU kernel in MindSpore 2.10 (\"Unsupported op [InstanceNorm] on CPU\"); run it on "
             "a GPU or Ascend device, or use GroupNorm with one channel per group")
_F16_F32 = "the {api} CPU kernel takes float16 and float32 inputs only (\"must be a type of {{Tensor[Float16], " \
           "Tensor[Float32]}}, but got Tensor[{dtype}]\")"
_KERNEL_DTYPE = {"float64": "Float64", "bfloat16": "BFloat16"}
_NO_BF16 = ("the {api} CPU kernel is registered for float16, float32 and float64 only: a bfloat16 input fails "
            "kernel selection (\"Select CPU operator\" / \"KernelMod Init Failed\")")


def to_ms(a, dtype: str):
    if a is None:
        return None
    if dtype == "bfloat16":
        return Tensor(np.asarray(a, np.float32)).astype(ms.bfloat16)
    return Tensor(np.ascontiguousarray(a))


def to_numpy(t, dtype: str):
    if dtype == "bfloat16":
        import ml_dtypes
        return t.astype(ms.float32).asnumpy().astype(ml_dtypes.bfloat16)
    return np.asarray(t.asnumpy())


def _perm(src: str, dst: str) -> tuple[str, str]:
    """Code wrapping an expression to transpose it from layout src to dst and back ('{}' if same)."""
    if src == dst:
        return "{}", "{}"
    return (f"ops.transpose({{}}, {tuple(permutation(src, dst))})", f"ops.transpose({{}}, {tuple(permutation(dst, src))})")


class _MindSpore(Adapter):
    dtypes = frozenset({"float16", "bfloat16", "float32", "float64"})
    checks = frozenset({"forward", "backward", "running_stats", "inference"})
    stats_ops = frozenset({"batch_norm"})
    takes_momentum = True
    cumulative_momentum = False
    #: LayerNorm's gamma and beta span the axes from begin_params_axis on, apart from begin_norm_axis
    decoupled_affine = True
    functional = False

    def versions(self):
        return {"mindspore": ms.__version__}

    @property
    def missing_checks(self):
        bn = "mindspore.ops.batch_norm" if self.functional else "mindspore.nn.BatchNorm1d/2d/3d"
        return {"cumulative": f"{bn} has no cumulative average: its momentum is a number"}

    def api(self, op: str) -> str:
        raise NotImplementedError

    def supports(self, case):
        if case.op in ("batch_norm", "local_response_norm") and case.dtype in ("float64", "bfloat16"):
            return _F16_F32.format(api=self.api(case.op), dtype=_KERNEL_DTYPE[case.dtype])
        if case.op in ("layer_norm", "layer_norm_no_bias", "group_norm") and case.dtype == "bfloat16":
            return _NO_BF16.format(api=self.api(case.op))
        return super().supports(case)

    def supports_case(self, case):
        lay = Layout(case.layout)
        if case.op == "local_response_norm":
            if lay.rank != 4:
                return f"{self.api(case.op)} takes 4-D (N, C, H, W) inputs only (\"the rank of input must be equal to 4\")"
            if case.arg("size") % 2 == 0:
                return (f"MindSpore's LRN window is 2*depth_radius+1 channels, always odd: a window of "
                        f"{case.arg('size')} channels (PyTorch/ONNX size) has no depth_radius")
        if case.op in ("layer_norm", "layer_norm_no_bias") \
                and not set(case.semantics.affine_axes) <= set(case.semantics.stat_axes):
            return (f"{self.api(case.op)}'s gamma and beta span the axes from begin_params_axis on; this "
                    "column puts them on the last of the normalized axes only")
        if case.op == "l2_normalize" and len(case.semantics.axes) != 1:
            return ("mindspore.ops.L2Normalize takes one axis (\"the length of 'axis' must be 1, but got 2, later "
                    "will support multiple axis\"); reshape the normalized axes into one first")
        return None

    # -- code generation ------------------------------------------------------
    @staticmethod
    def _eps(case, name: str) -> str:
        return "".join(", " + k for k in eps_kw(case, name))

    def layer_norm(self, case) -> tuple[list[str], str, list[str]]:
        """(setup lines, the call on ``x``, the parameters to differentiate) for layer norm."""
        lay = Layout(case.layout)
        axes = case.axes or lay.axes[-1]
        aff = case.affine_axes or axes  # the parameters' axes: the last ones of the normalized axes
        kept = "".join(a for a in lay.name if a not in axes)
        target = kept + "".join(a for a in axes if a not in aff) + aff  # the normalized axes last
        fwd, back = _perm(lay.name, target)
        nshape = tuple(case.size[a] for a in aff)
        begin = lay.rank - len(axes)
        pbegin = lay.rank - len(aff)
        affine = case.affine != "none"
        bias = case.spec.bias
        lines = [f"# {lay.name} -> {target}: MindSpore normalizes the axes from begin_norm_axis on"] if fwd != "{}" else []
        dt = _MS_DTYPES[case.dtype]
        if self.functional:
            g = "gamma" if affine else f"ops.ones({nshape}, {dt})"
            b = "beta" if affine and bias else f"ops.zeros({nshape}, {dt})"
            lines.append(f"layer_norm = ops.LayerNorm(begin_norm_axis={begin}, begin_params_axis={pbegin}"
                         f"{self._eps(case, 'epsilon')})")
            call = back.format(f"layer_norm({fwd.format('x')}, {g}, {b})[0]")
            return lines, call, (["gamma"] + (["beta"] if bias else [])) if affine else []
        lines.append(f"m = nn.LayerNorm({nshape}, begin_norm_axis={begin}, begin_params_axis={pbegin}"
                     f"{self._eps(case, 'epsilon')}, dtype={dt})")
        if case.sets_affine:
            lines.append("m.gamma.set_data(gamma)")
            if bias:
                lines.append("m.beta.set_data(beta)")
        if not bias:
            lines.append("m.beta.requires_grad = False  # no bias: beta stays zeros")
        call = back.format(f"m({fwd.format('x')})")
        return lines, call, (["m.gamma"] + (["m.beta"] if bias else [])) if affine else []

    def group_norm(self, case):
        lay = Layout(case.layout)
        fwd, back = _perm(lay.name, channels_first(lay.name))
        C = case.size[lay.channel]
        affine = case.affine != "none"
        lines = [f"# {lay.name} -> {channels_first(lay.name)}: GroupNorm takes (N, C, *)"] if fwd != "{}" else []
        if self.functional:
            wb = ", weight=gamma, bias=beta" if affine else ""
            call = back.format(f"ops.group_norm({fwd.format('x')}, {case.groups}{wb}{self._eps(case, 'eps')})")
            return lines, call, ["gamma", "beta"] if affine else []
        lines.append(f"m = nn.GroupNorm({case.groups}, {C}{self._eps(case, 'eps')}, affine={affine}, "
                     f"dtype={_MS_DTYPES[case.dtype]})")
        if case.sets_affine:
            lines += ["m.gamma.set_data(gamma)", "m.beta.set_data(beta)"]
        return lines, back.format(f"m({fwd.format('x')})"), ["m.gamma", "m.beta"] if affine else []

    def batch_norm(self, case, training: bool = True):
        lay = Layout(case.layout)
        fwd, back = _perm(lay.name, channels_first(lay.name))
        C = case.size[lay.channel]
        affine = case.affine != "none"
        dt = _MS_DTYPES[case.dtype]
        lines = [(f"# {lay.name} -> {channels_first(lay.name)}: the CPU kernel takes channels first "
                  "(data_format='NHWC' is GPU only)")] if fwd != "{}" else []
        if self.functional:
            mom = "" if case.momentum is None else f", momentum={case.momentum!r}"
            if affine:
                lines += ["weight = Parameter(gamma, name='weight')", "bias = Parameter(beta, name='bias')"]
            else:  # the CPU primitive wants a weight and a bias
                lines += [f"weight = Parameter(ops.ones({C}, {dt}), name='weight', requires_grad=False)",
                          f"bias = Parameter(ops.zeros({C}, {dt}), name='bias', requires_grad=False)"]
            if case.check != "inference":
                lines += [f"running_mean = Parameter(ops.zeros({C}, {dt}), name='running_mean')",
                          f"running_var = Parameter(ops.ones({C}, {dt}), name='running_var')"]
            call = back.format(f"ops.batch_norm({fwd.format('{}')}, running_mean, running_var, weight, bias, "
                               f"training={training}{mom}{self._eps(case, 'eps')})")
            return lines, call, ["weight", "bias"] if affine else []
        nd = max(len(lay.spatial), 1)
        mom = "" if case.momentum is None else f", momentum={1 - case.momentum!r}"
        lines.append(f"m = nn.BatchNorm{nd}d({C}{self._eps(case, 'eps')}{mom}, affine={affine}, dtype={dt})"
                     + ("  # momentum weights the old value" if mom else ""))
        if case.sets_affine:
            lines += ["m.gamma.set_data(gamma)", "m.beta.set_data(beta)"]
        return lines, back.format(f"m({fwd.format('{}')})"), ["m.gamma", "m.beta"] if affine else []

    def family(self, case) -> str:
        if case.op == "l2_normalize":
            axis = Layout(case.layout).indices(case.semantics.axes)[0]
            return f"y = ops.L2Normalize(axis={axis}{self._eps(case, 'epsilon')})(x)"
        lay = Layout(case.layout)
        fwd, back = _perm(lay.name, channels_first(lay.name))
        n = case.arg("size")
        args = (f"depth_radius={(n - 1) // 2}, bias={fmt(float(case.arg('k')))}, "
                f"alpha={fmt(float(case.arg('alpha')))} / {n}, beta={fmt(float(case.arg('beta')))}")
        lines = [(f"# window of {n} channels (PyTorch/ONNX size={n}): depth_radius={(n - 1) // 2} on each side; "
                  "the kernel does not divide alpha by the window size")]
        if fwd != "{}":
            lines.append(f"# {lay.name} -> {channels_first(lay.name)}: LRN takes NCHW")
        call = f"ops.lrn({fwd.format('x')}, {args})" if self.functional else f"nn.LRN({args})({fwd.format('x')})"
        return "\n".join(lines + [f"y = {back.format(call)}"])

    def code(self, case) -> str:
        if case.spec.definition is not None:
            return self.family(case)
        if case.op == "batch_norm":
            if case.check in ("running_stats", "inference"):
                return self.stats_code(case)
            lines, call, params = self.batch_norm(case)
            if not self.functional:
                lines.append("m.set_train(True)  # batch statistics")
            call = call.format("x")
        elif case.op == "group_norm":
            lines, call, params = self.group_norm(case)
        else:
            lines, call, params = self.layer_norm(case)
        if case.check != "backward":
            return "\n".join(lines + [f"y = {call}"])
        by_position = bool(params) and params[0] == "gamma"  # the functional call's own arguments
        lines += ["def loss(x" + "".join(f", {p}" for p in params if by_position) + "):",
                  f"    return (({call}) * dy).sum()"]
        if not params:
            return "\n".join(lines + ["dx = ms.grad(loss)(x)"])
        names = ["dgamma", "dbeta"][:len(params)]
        if by_position:
            pos = tuple(range(len(params) + 1))
            return "\n".join([*lines, (f"dx, {', '.join(names)} = ms.grad(loss, grad_position={pos})"
                                       f"(x, {', '.join(params)})")])
        return "\n".join([*lines, (f"dx, ({', '.join(names)},) = ms.grad(loss, grad_position=0, "
                                   f"weights=[{', '.join(params)}])(x)")])

    def stats_code(self, case) -> str:
        """Batch norm with running statistics: trained on ``batches`` (running_stats) or given (inference),
        then normalizing x in inference mode."""
        if self.functional:
            lines, train, _ = self.batch_norm(case, training=True)
            _, infer, _ = self.batch_norm(case, training=False)
            if case.check == "running_stats":
                lines += ["for batch in batches:  # updates running_mean and running_var in place",
                          f"    {train.format('batch')}"]
            return "\n".join(lines + [f"y = {infer.format('x')}"])
        lines, call, _ = self.batch_norm(case)
        if case.check == "inference":
            lines += ["m.moving_mean.set_data(running_mean)  # the given running statistics",
                      "m.moving_variance.set_data(running_var)"]
        else:
            lines += ["m.set_train(True)  # batch statistics, running statistics updated", "for batch in batches:",
                      f"    {call.format('batch')}"]
        lines += ["m.set_train(False)  # the running statistics", f"y = {call.format('x')}"]
        if case.check == "running_stats":
            lines.append("running_mean, running_var = m.moving_mean, m.moving_variance")
        return "\n".join(lines)

    def repro(self, case) -> dict:
        conv = "ms.Tensor(a).astype(ms.bfloat16)" if case.dtype == "bfloat16" else "ms.Tensor(a)"
        return {"imports": ("import mindspore as ms\nfrom mindspore import Parameter, nn, ops\n"
                            "ms.set_device('CPU')\nms.set_context(mode=ms.PYNATIVE_MODE)"),
                "to_framework": conv, "to_numpy": "y.astype(ms.float32).asnumpy().astype(np.float64)",
                "context": "", "versions": "{'mindspore': ms.__version__}", "call": self.code(case)}

    def run(self, case, inputs) -> Output:
        src = self.code(case)
        dt = case.dtype
        # mindspore.grad reads the differentiated function's __module__ (a str): the snippet's globals name one
        ns = {"__name__": "snippet", "ms": ms, "nn": nn, "ops": ops, "Parameter": Parameter, "math": math,
              "x": to_ms(inputs.x, dt), "gamma": to_ms(inputs.gamma, dt), "beta": to_ms(inputs.beta, dt)}
        if case.check == "backward":
            ns["dy"] = to_ms(inputs.dy, dt)
            run_snippet(self.name, src, ns)
            return Output(to_numpy(ns["dx"], dt), src,
                          arrays={k: to_numpy(ns[k], dt) for k in ("dgamma", "dbeta") if k in ns})
        ns["batches"] = [to_ms(b, dt) for b in inputs.batches]
        if case.check == "inference":
            ns["running_mean"] = to_ms(inputs.running_mean, dt)
            ns["running_var"] = to_ms(inputs.running_var, dt)
        run_snippet(self.name, src, ns)
        arrays = {k: to_numpy(ns[k], dt) for k in ("running_mean", "running_var") if case.check == "running_stats"}
        info = {}
        if case.check == "running_stats":
            info = {"momentum_argument": "new_batch" if self.functional else "old_value"}
        return Output(to_numpy(ns["y"], dt), src, arrays=arrays, info=info)


class MindSporeLayers(_MindSpore):
    name = "mindspore"
    ops = frozenset({"batch_norm", "layer_norm", "layer_norm_no_bias", "group_norm", "local_response_norm"})
    default_epsilons = NN_EPSILONS

    def api(self, op):
        return _NN_APIS.get(op.removesuffix("_no_bias"), op)

    @property
    def missing_ops(self):
        return {"rms_norm": _RMS, "instance_norm": _INSTANCE.format(api="mindspore.nn.InstanceNorm1d/2d/3d"),
                "l2_normalize": "mindspore.nn has no L2-normalization layer; mindspore.ops.L2Normalize (the "
                                "mindspore-ops column) is the API"}


class MindSporeOps(_MindSpore):
    name = "mindspore-ops"
    ops = frozenset({"batch_norm", "layer_norm", "layer_norm_no_bias", "group_norm", "local_response_norm",
                     "l2_normalize"})
    default_epsilons = OPS_EPSILONS
    functional = True

    def api(self, op):
        return _OPS_APIS.get(op.removesuffix("_no_bias"), op)

    @property
    def missing_ops(self):
        return {"rms_norm": _RMS,
                "instance_norm": "mindspore.ops has no instance norm function; mindspore.nn.InstanceNorm2d has no "
                                 "CPU kernel (\"Unsupported op [InstanceNorm] on CPU\")"}
