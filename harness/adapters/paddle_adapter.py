"""PaddlePaddle: ``paddle.nn`` layers and ``paddle.nn.functional``.

Conventions of paddle 3.3 that shape the calls (quoted from the installed
``paddle/nn/layer/norm.py`` and ``paddle/nn/functional/norm.py``):

* BatchNorm takes channels-last inputs through ``data_format`` ("NC", "NCL",
  "NLC", "NCHW", "NHWC", "NCDHW", "NDHWC"), and so does GroupNorm and
  LocalResponseNorm: no transpose is written for them. InstanceNorm's
  ``data_format`` is "NC", "NCL", "NCHW" or "NCDHW" (the functional form does not
  even pass it to ``_C_ops.instance_norm(x, weight, bias, eps)``): channels-last
  layouts are transposed to channels-first and back, as a user must write.
* ``momentum`` weights the old value: "moving_mean = moving_mean * momentum +
  \\mu_{\\beta} * (1. - momentum)", default 0.9. A case's momentum (the weight of
  the new batch) is passed as ``1 - momentum``. There is no cumulative average.
* InstanceNorm keeps no running statistics: its ``momentum`` argument is not used.
* BatchNorm and InstanceNorm layers take no ``dtype``: their parameters and
  running statistics are made in ``paddle.get_default_dtype()`` (float32 unless
  set), so the snippet sets the default dtype to the case's; LayerNorm and
  GroupNorm take ``dtype=``.
* LayerNorm keeps one 1-d weight (and bias) of ``prod(normalized_shape)``
  entries: multi-axis gamma/beta are flattened.
* ``paddle.nn.functional.normalize`` divides by ``max(||x||_p, epsilon)`` over one
  ``axis`` (an int); paddle.nn has no L2-normalization layer.
* The CPU wheel registers no float16/bfloat16 CPU kernel for these operators and
  no CPU kernel at all for ``paddle.nn.functional.rms_norm`` ("Applies Layer
  Normalization over the last dimension of the input tensor using CUDA
  implementation"); paddle.nn has no RMSNorm layer.

Each call is written out as source code and that very source is executed, so
the recorded snippet is exactly what ran. The snippet expects ``x`` (and
``gamma``/``beta`` when the case has an affine transform) as paddle tensors in
the case's layout and dtype, and leaves the result in ``y`` in the same layout.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from harness.ops.layouts import Layout, channels_first, permutation

from .base import Adapter, Output, eps_kw, fmt, option_kw, run_snippet

_V = "3.3"
_SRC = f"https://www.paddlepaddle.org.cn/documentation/docs/en/{_V}/api/paddle/nn/{{}}_en.html"
_DOC = "epsilon(float, optional): The small value added to the variance to prevent division by zero. Default: 1e-5."
_LN_DOC = ("epsilon(float, optional): The small value added to the variance to prevent division by zero. "
           "Default: 1e-05.")
_IN_DOC = "epsilon(float, optional): A value added to the denominator for numerical stability. Default is 1e-5."
_GN_DOC = "epsilon(float, optional): The small value added to the variance to prevent division by zero. Default: 1e-05."
_NORMALIZE_DOC = "epsilon (float, optional): Small float added to denominator to avoid dividing by zero. Default is 1e-12."
#: the documented defaults of paddle 3.3 (the layers' docstrings; the functional forms share the values)
DEFAULT_EPSILONS = {
    "batch_norm": (1e-5, _DOC, _SRC.format("BatchNorm2D")),
    "layer_norm": (1e-5, _LN_DOC, _SRC.format("LayerNorm")),
    "layer_norm_no_bias": (1e-5, _LN_DOC, _SRC.format("LayerNorm")),
    "group_norm": (1e-5, _GN_DOC, _SRC.format("GroupNorm")),
    "instance_norm": (1e-5, _IN_DOC, _SRC.format("InstanceNorm2D")),
    "l2_normalize": (1e-12, _NORMALIZE_DOC, _SRC.format("functional/normalize")),
}

#: paddle's data_format for a layout whose channels it can take in place (BatchNorm, GroupNorm, LRN)
_FORMATS = {"BF": "NC", "BTF": "NLC", "NCL": "NCL", "NLC": "NLC", "NCHW": "NCHW", "NHWC": "NHWC",
            "NCDHW": "NCDHW", "NDHWC": "NDHWC"}
#: channels-first format of each rank (InstanceNorm)
_CF_FORMATS = {2: "NC", 3: "NCL", 4: "NCHW", 5: "NCDHW"}

_HALF = ("the paddlepaddle CPU wheel registers no {dtype} CPU kernel for paddle's normalization operators "
         "(\"kernel_key.backend() == Backend::CPU\"); run it on a GPU build")
_RMS = ("paddle.nn has no RMSNorm layer, and paddle.nn.functional.rms_norm (\"using CUDA implementation\") has no "
        "CPU kernel in the paddlepaddle CPU wheel (\"The kernel `rms_norm` is not registered\"); run it on a GPU build")


def to_paddle(a):
    return None if a is None else paddle.to_tensor(np.ascontiguousarray(a))


def to_numpy(t):
    return np.asarray(t.detach().numpy() if hasattr(t, "detach") else t.numpy())


def _perm(src: str, dst: str) -> tuple[str, str]:
    """Code suffixes that transpose from layout src to dst and back ('' if same)."""
    if src == dst:
        return "", ""
    return (f".transpose({list(permutation(src, dst))})", f".transpose({list(permutation(dst, src))})")


class _Paddle(Adapter):
    ops = frozenset({"batch_norm", "layer_norm", "layer_norm_no_bias", "group_norm", "instance_norm",
                     "l2_normalize", "local_response_norm"})
    dtypes = frozenset({"float32", "float64"})
    default_epsilons = DEFAULT_EPSILONS
    checks = frozenset({"forward", "backward", "running_stats", "inference"})
    stats_ops = frozenset({"batch_norm"})
    takes_momentum = True
    cumulative_momentum = False
    functional = False

    @property
    def missing_ops(self):
        return {"rms_norm": _RMS}

    @property
    def missing_checks(self):
        inst = "paddle.nn.functional.instance_norm" if self.functional else "paddle.nn.InstanceNorm1D/2D/3D"
        why = (f"{inst} keeps no running statistics: it normalizes with each instance's own statistics and its "
               "momentum argument is not used (_C_ops.instance_norm(x, weight, bias, eps))")
        bn = "paddle.nn.functional.batch_norm" if self.functional else "paddle.nn.BatchNorm1D/2D/3D"
        return {"cumulative": f"{bn} has no cumulative average: its momentum is a number (moving_mean = "
                              "moving_mean * momentum + batch_mean * (1 - momentum))",
                ("instance_norm", "running_stats"): why, ("instance_norm", "inference"): why,
                ("instance_norm", "momentum"): f"{inst} takes a momentum but keeps no running statistics"}

    def versions(self):
        return {"paddlepaddle": paddle.__version__}

    def supports(self, case):
        if case.op in self.ops and case.dtype in ("float16", "bfloat16"):
            return _HALF.format(dtype=case.dtype)
        return super().supports(case)

    def supports_case(self, case):
        lay = Layout(case.layout)
        if case.op == "local_response_norm" and lay.rank < 3:
            return ("paddle LocalResponseNorm takes 3-D to 5-D inputs (\"Expected 3D or higher dimensionality "
                    "input\"); a rank-2 input needs a spatial axis of size 1 added")
        if case.op == "l2_normalize" and len(case.semantics.axes) != 1:
            return ("paddle.nn.functional.normalize takes one axis (axis: int); reshape the normalized axes "
                    "into one first")
        if case.op == "instance_norm" and lay.rank < 3:
            return "paddle InstanceNorm wants at least one spatial axis (InstanceNorm1D: (N, C, L))"
        if dict(case.options).get("elementwise_affine") is False and case.affine != "none":
            return (f"paddle.nn.LayerNorm(elementwise_affine=False) has no weight or bias to hold the case's affine "
                    f"{case.affine}; give affine: none")
        return None

    # -- code generation ------------------------------------------------------
    def code(self, case) -> str:
        head = [] if self.functional else [f"paddle.set_default_dtype({case.dtype!r})  # the layers' parameters"]
        if case.check == "backward":
            return "\n".join(head + [self.backward_code(case)])
        if case.check in ("running_stats", "inference"):
            return "\n".join(head + [self.stats_code(case)])
        return "\n".join(head + [self.forward_code(case)])

    @staticmethod
    def momentum_kw(case) -> str:
        """``, momentum=1 - m`` (paddle's momentum weights the old value), or nothing without one."""
        if case.momentum is None:
            return ""
        return f", momentum={1 - case.momentum!r}"

    def _bn_layer(self, case) -> str:
        lay = Layout(case.layout)
        C = case.size[lay.channel]
        nd = max(len(lay.spatial), 1)
        eps = "".join(", " + k for k in eps_kw(case, "epsilon"))
        off = "" if case.affine != "none" else ", weight_attr=False, bias_attr=False"
        return f"nn.BatchNorm{nd}D({C}{self.momentum_kw(case)}{eps}{off}, data_format={_FORMATS[lay.name]!r})"

    def _set_affine(self, case, flat: bool = False) -> list[str]:
        if not case.sets_affine:
            return []
        f = ".flatten()" if flat else ""
        lines = [f"m.weight.set_value(gamma{f})"]
        if case.spec.bias:
            lines.append(f"m.bias.set_value(beta{f})")
        return lines

    def stats_code(self, case) -> str:
        """Batch norm with running statistics: trained on ``batches`` (running_stats) or given (inference),
        then normalizing x in inference mode."""
        lay = Layout(case.layout)
        C = case.size[lay.channel]
        fmt_ = _FORMATS[lay.name]
        eps = "".join(", " + k for k in eps_kw(case, "epsilon"))
        affine = case.affine != "none"
        if self.functional:
            wb = "weight=gamma, bias=beta" if affine else "weight=None, bias=None"
            lines = []
            if case.check == "running_stats":
                lines += [f"running_mean = paddle.zeros([{C}], dtype={case.dtype!r})",
                          f"running_var = paddle.ones([{C}], dtype={case.dtype!r})",
                          "for batch in batches:  # updates running_mean and running_var in place",
                          (f"    F.batch_norm(batch, running_mean, running_var, {wb}, training=True"
                           f"{self.momentum_kw(case)}{eps}, data_format={fmt_!r})")]
            lines.append(f"y = F.batch_norm(x, running_mean, running_var, {wb}, training=False{eps}, "
                         f"data_format={fmt_!r})")
            return "\n".join(lines)
        lines = [f"m = {self._bn_layer(case)}"] + self._set_affine(case)
        if case.check == "inference":
            lines += ["m._mean.set_value(running_mean)  # the given running statistics",
                      "m._variance.set_value(running_var)"]
        else:
            lines += ["m.train()  # batch statistics, running statistics updated",
                      "for batch in batches:", "    m(batch)"]
        lines += ["m.eval()  # the running statistics", "y = m(x)"]
        if case.check == "running_stats":
            lines.append("running_mean, running_var = m._mean, m._variance")
        return "\n".join(lines)

    def backward_code(self, case) -> str:
        """The forward call under paddle's autograd: ``dy`` is the upstream gradient."""
        affine = case.affine != "none"
        bias = affine and case.spec.bias
        leaves = ["x"] + (["gamma"] + (["beta"] if bias else []) if self.functional and affine else [])
        lines = [f"{v}.stop_gradient = False" for v in leaves]
        lines += [self.forward_code(case), "y.backward(dy)", "dx = x.grad"]
        multi = case.op in ("layer_norm", "layer_norm_no_bias") and len(case.axes or "x") > 1
        shape = ".reshape(gamma.shape)" if multi and not self.functional else ""  # the layer's 1-d weight
        if affine:
            weight = "scale" if case.op == "instance_norm" else "weight"  # InstanceNorm names it scale
            lines.append("dgamma = gamma.grad" if self.functional else f"dgamma = m.{weight}.grad{shape}")
        if bias:
            lines.append("dbeta = beta.grad" if self.functional else f"dbeta = m.bias.grad{shape}")
        return "\n".join(lines)

    def family_code(self, case) -> str:
        lay = Layout(case.layout)
        if case.op == "l2_normalize":
            axis = lay.indices(case.semantics.axes)[0]
            eps = "".join(", " + k for k in eps_kw(case, "epsilon"))
            return f"y = F.normalize(x, p=2, axis={axis}{eps})"
        args = (f"{case.arg('size')}, alpha={fmt(float(case.arg('alpha')))}, beta={fmt(float(case.arg('beta')))}, "
                f"k={fmt(float(case.arg('k')))}, data_format={_FORMATS[lay.name]!r}")
        if self.functional:
            return f"y = F.local_response_norm(x, {args})"
        return f"m = nn.LocalResponseNorm({args})\ny = m(x)"

    def forward_code(self, case) -> str:
        if case.spec.definition is not None:
            return self.family_code(case)
        lay = Layout(case.layout)
        sizes = case.size
        affine = case.affine != "none"
        lines = []
        eps = "".join(", " + k for k in eps_kw(case, "epsilon"))
        if case.op in ("layer_norm", "layer_norm_no_bias"):
            axes = case.axes or lay.axes[-1]
            kept = "".join(a for a in lay.name if a not in axes)
            target = kept + axes  # normalized axes last, in layout order
            fwd, back = _perm(lay.name, target)
            nshape = [sizes[a] for a in axes]
            if fwd:
                lines.append(f"# {lay.name} -> {target}: paddle normalizes the trailing dims")
            has_bias = case.spec.bias
            if self.functional:
                flat = ".flatten()" if len(nshape) > 1 else ""  # the kernel takes a 1-d weight and bias
                w = f"gamma{flat}" if affine else "None"
                b = f"beta{flat}" if affine and has_bias else "None"
                lines.append(f"y = F.layer_norm(x{fwd}, {nshape}, weight={w}, bias={b}{eps}){back}")
            else:
                given = option_kw(case, "elementwise_affine")  # the case's framework option, as passed
                kw = (f", {given[0]}" if given else "" if affine else ", elementwise_affine=False") \
                    + ("" if has_bias else ", bias=False")
                lines.append(f"m = nn.LayerNorm({nshape}{eps}{kw}, dtype={case.dtype!r})")
                lines += self._set_affine(case, flat=len(nshape) > 1)
                lines.append(f"y = m(x{fwd}){back}")
            return "\n".join(lines)
        C = sizes[lay.channel]
        w = "gamma" if affine else "None"
        b = "beta" if affine else "None"
        if case.op == "batch_norm":
            fmt_ = _FORMATS[lay.name]
            if self.functional:
                lines += [f"running_mean = paddle.zeros([{C}], dtype={case.dtype!r})",
                          f"running_var = paddle.ones([{C}], dtype={case.dtype!r})",
                          (f"y = F.batch_norm(x, running_mean, running_var, weight={w}, bias={b}, training=True"
                           f"{self.momentum_kw(case)}{eps}, data_format={fmt_!r})")]
            else:
                lines += [f"m = {self._bn_layer(case)}", "m.train()  # batch statistics"] + self._set_affine(case)
                lines.append("y = m(x)")
            return "\n".join(lines)
        if case.op == "group_norm":
            fmt_, xin, back = _FORMATS[lay.name], "x", ""
            if lay.rank == 2:  # GroupNorm takes no "NC": a length axis of size 1 added
                fmt_, xin, back = "NCL", "x.unsqueeze(-1)", ".squeeze(-1)"
                lines.append("# (N, C) -> (N, C, 1): paddle GroupNorm wants NCL, NCHW or NCDHW (or channels last)")
            if self.functional:
                lines.append(f"y = F.group_norm({xin}, {case.groups}{eps}, weight={w}, bias={b}, "
                             f"data_format={fmt_!r}){back}")
            else:
                lines.append(f"m = nn.GroupNorm({case.groups}, {C}{eps}, affine={affine}, dtype={case.dtype!r}, "
                             f"data_format={fmt_!r})")
                lines += self._set_affine(case)
                lines.append(f"y = m({xin}){back}")
            return "\n".join(lines)
        # instance_norm: channels first only
        target = channels_first(lay.name)
        fwd, back = _perm(lay.name, target)
        if fwd:
            lines.append(f"# {lay.name} -> {target}: paddle InstanceNorm wants channels at dim 1")
        fmt_ = _CF_FORMATS[lay.rank]
        if self.functional:
            lines.append(f"y = F.instance_norm(x{fwd}, weight={w}, bias={b}{eps.replace('epsilon', 'eps')}, "
                         f"data_format={fmt_!r}){back}")
        else:
            nd = len(lay.spatial)
            off = "" if affine else ", weight_attr=False, bias_attr=False"
            lines.append(f"m = nn.InstanceNorm{nd}D({C}{eps}{off}, data_format={fmt_!r})")
            if case.sets_affine:
                lines += ["m.scale.set_value(gamma)", "m.bias.set_value(beta)"]
            lines.append(f"y = m(x{fwd}){back}")
        return "\n".join(lines)

    def repro(self, case) -> dict:
        return {"imports": "import paddle\nimport paddle.nn as nn\nimport paddle.nn.functional as F",
                "to_framework": "paddle.to_tensor(np.ascontiguousarray(a))",
                "to_numpy": "y.numpy().astype(np.float64)",
                "context": "" if case.check == "backward" else "paddle.no_grad()",
                "versions": "{'paddlepaddle': paddle.__version__}", "call": self.code(case)}

    def run(self, case, inputs) -> Output:
        src = self.code(case)
        ns = {"paddle": paddle, "nn": nn, "F": F, "math": math,
              "x": to_paddle(inputs.x), "gamma": to_paddle(inputs.gamma), "beta": to_paddle(inputs.beta)}
        try:
            with warnings.catch_warnings():
                # BatchNorm in training mode warns on every call that it tracks the global statistics
                warnings.simplefilter("ignore")
                if case.check == "backward":
                    ns["dy"] = to_paddle(inputs.dy)
                    run_snippet(self.name, src, ns)
                    return Output(to_numpy(ns["dx"]), src, arrays={
                        k: to_numpy(ns[k]) for k in ("dgamma", "dbeta") if k in ns})
                ns["batches"] = [to_paddle(b) for b in inputs.batches]
                if case.check == "inference":
                    ns["running_mean"] = to_paddle(inputs.running_mean)
                    ns["running_var"] = to_paddle(inputs.running_var)
                with paddle.no_grad():
                    run_snippet(self.name, src, ns)
        finally:
            paddle.set_default_dtype("float32")
        arrays = {k: to_numpy(ns[k]) for k in ("running_mean", "running_var")
                  if k in ns and case.check == "running_stats"}
        return Output(to_numpy(ns["y"]), src, arrays=arrays,
                      info={"momentum_argument": "old_value"} if case.check == "running_stats" else {})


class PaddleLayers(_Paddle):
    name = "paddle"
    ops = _Paddle.ops - {"l2_normalize"}
    #: LayerNorm's constructor argument (paddle.nn.functional.layer_norm takes weight=None instead)
    options = {op: frozenset({"elementwise_affine"}) for op in ("layer_norm", "layer_norm_no_bias")}

    @property
    def missing_ops(self):
        return {**super().missing_ops,
                "l2_normalize": "paddle.nn has no L2-normalization layer; paddle.nn.functional.normalize (the "
                                "paddle-functional column) is the API"}


class PaddleFunctional(_Paddle):
    name = "paddle-functional"
    functional = True
