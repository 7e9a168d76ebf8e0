"""Keras 3 functions: keras.ops.{layer_normalization, rms_normalization, moments +
batch_normalization}, on the backend the worker sets (``keras-ops-tf``,
``keras-ops-jax``, ``keras-ops-torch``; shared pieces in ``_keras``).

keras.ops has no group or instance normalization and keeps no running
statistics: those cells are unsupported, naming the keras.layers adapter that
has them. Gradients are taken the backend's way of the function call by x and
the parameters. The documented ``axis=`` form is used even where Keras gets it
wrong, so that the matrix shows what a user of that form gets
(tests/current/test_keras.py pins it): on the torch backend a non-trailing
``axis`` of layer_normalization/rms_normalization normalizes the trailing axes
instead.
"""
from __future__ import annotations

from harness.ops.layouts import Layout

from ._keras import BACKEND_TAGS, NO_LRN, SOURCES, KerasBase, axes_arg, axis_arg, keras  # keras, set up by _keras
from .base import eps_kw, fmt

_BACKEND_EPS = "epsilon: A lower bound value for the norm. Defaults to `backend.epsilon()`. (keras.config.epsilon(): 1e-7)"
#: keras.ops: epsilon=None means backend.epsilon(), 1e-7 unless the user changed it
OPS_EPSILONS = {
    "layer_norm": (1e-7, _BACKEND_EPS, SOURCES + "ops/nn.py"),
    "layer_norm_no_bias": (1e-7, _BACKEND_EPS, SOURCES + "ops/nn.py"),
    "rms_norm": (1e-7, _BACKEND_EPS, SOURCES + "ops/nn.py"),
    "batch_norm": (1e-3, "def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3)",
                   SOURCES + "ops/nn.py"),
    "l2_normalize": (1e-7, _BACKEND_EPS, SOURCES + "ops/nn.py"),
}


class KerasOps(KerasBase):
    """keras.ops.{layer_normalization, rms_normalization, moments + batch_normalization}."""

    prefix = "keras-ops"
    # keras.ops keeps no running statistics; batch_normalization takes given ones (inference)
    checks = frozenset({"forward", "backward", "inference"})
    ops = frozenset({"batch_norm", "layer_norm", "layer_norm_no_bias", "rms_norm", "l2_normalize"})
    default_epsilons = OPS_EPSILONS
    mask_apis = {"batch_norm": "keras.ops.moments", "layer_norm": "keras.ops.layer_normalization",
                 "layer_norm_no_bias": "keras.ops.layer_normalization", "rms_norm": "keras.ops.rms_normalization"}
    #: rms_norm as layer_normalization(..., rms_scaling=...), what a user porting RMSNorm writes
    options = {"rms_norm": frozenset({"rms_scaling"})}

    def supports_case(self, case):
        if case.op == "rms_norm" and dict(case.options).get("rms_scaling") is False:
            return "rms_scaling: false is layer_normalization's layer norm, not an RMS norm"
        return None

    def supports(self, case):
        if case.check == "running_stats":
            return ("keras.ops functions keep no state, so there are no running statistics to check; use "
                    f"keras.layers.BatchNormalization (adapter keras-{BACKEND_TAGS.get(self.backend, '')})")
        if case.momentum is not None:
            return ("keras.ops.batch_normalization takes no momentum (it keeps no running statistics); use "
                    f"keras.layers.BatchNormalization (adapter keras-{BACKEND_TAGS.get(self.backend, '')})")
        return super().supports(case)

    @property
    def missing_ops(self):
        layers = f"(adapter keras-{BACKEND_TAGS.get(self.backend, '')})"
        return {
            "group_norm": f"keras.ops has no group normalization function (keras {keras.__version__}); "
                          f"use keras.layers.GroupNormalization {layers}",
            "instance_norm": f"keras.ops has no instance normalization function (keras {keras.__version__}); "
                             f"use keras.layers.GroupNormalization(groups=-1) {layers}",
            "local_response_norm": NO_LRN.format(keras.__version__),
        }

    def code(self, case) -> str:
        fwd = self.forward_code(case)
        if case.check != "backward":
            return fwd
        params = ["gamma"] + (["beta"] if case.spec.bias else []) if case.affine != "none" else []
        leaves = ["x"] + params
        outs = ["dx"] + ["d" + p for p in params]
        body = [ln for ln in fwd.splitlines() if ln.startswith("#")]
        code = [ln for ln in fwd.splitlines() if not ln.startswith("#")]
        if self.backend == "tensorflow":
            return "\n".join(body + ["import tensorflow as tf", "with tf.GradientTape() as tape:"]
                             + [f"    tape.watch({v})" for v in leaves] + ["    " + ln for ln in code]
                             + [f"{', '.join(outs)}{',' if len(outs) == 1 else ''} = tape.gradient(y, [{', '.join(leaves)}], "
                                "output_gradients=dy)"])
        if self.backend == "jax":
            return "\n".join(body + ["import jax", f"def f({', '.join(leaves)}):"] + ["    " + ln for ln in code]
                             + ["    return y", f"y, vjp = jax.vjp(f, {', '.join(leaves)})",
                                f"{', '.join(outs)}{',' if len(outs) == 1 else ''} = vjp(dy)"])
        return "\n".join(body + [f"{v}.requires_grad_(True)" for v in leaves] + code
                         + ["y.backward(dy)"] + [f"{o} = {v}.grad" for o, v in zip(outs, leaves)])

    def forward_code(self, case) -> str:
        lay = Layout(case.layout)
        eps = "".join(", " + k for k in eps_kw(case, "epsilon"))
        affine = case.affine != "none"
        lines = self._prelude(case)
        if case.op in ("layer_norm", "layer_norm_no_bias"):
            axes = case.axes or lay.axes[-1]
            gb = ("gamma=gamma, beta=beta, " if case.spec.bias else "gamma=gamma, ") if affine else ""
            lines.append(f"y = keras.ops.layer_normalization(x, {gb}axis={axes_arg(lay, axes)}{eps})")
        elif case.op == "rms_norm" and dict(case.options).get("rms_scaling"):
            axes = case.axes or lay.axes[-1]
            g = "gamma=gamma, " if affine else ""
            lines.append("# rms_scaling=True: deprecated in Keras 3.15")
            lines.append(f"y = keras.ops.layer_normalization(x, {g}axis={axes_arg(lay, axes)}{eps}, rms_scaling=True)")
        elif case.op == "rms_norm":
            axes = case.axes or lay.axes[-1]
            sc = ""
            if affine:
                sc = "scale=gamma, "
                if not lay.name.endswith(axes):
                    # the documented formula is x * rsqrt(mean(x**2) + eps) * scale:
                    # scale must broadcast against x, so a user shapes it
                    bshape = tuple(case.size[a] if a in axes else 1 for a in lay.axes)
                    sc = f"scale=keras.ops.reshape(gamma, {fmt(bshape)}), "
            lines.append(f"y = keras.ops.rms_normalization(x, {sc}axis={axes_arg(lay, axes)}{eps})")
        elif case.op == "l2_normalize":
            lines.append(f"y = keras.ops.normalize(x, axis={axes_arg(lay, case.semantics.axes)}, order=2{eps})")
        elif case.op == "batch_norm":
            red = [lay.index(a) for a in lay.axes if a != lay.channel]
            ax = axis_arg(lay, lay.channel)
            ob = ", offset=beta, scale=gamma" if affine else ""
            if case.check == "inference":  # the given running statistics
                lines.append(f"y = keras.ops.batch_normalization(x, running_mean, running_var, axis={ax}{ob}{eps})")
            else:
                lines.append(f"mean, variance = keras.ops.moments(x, axes={red})  # batch statistics")
                lines.append(f"y = keras.ops.batch_normalization(x, mean, variance, axis={ax}{ob}{eps})")
        else:
            raise ValueError(f"keras.ops has no {case.op}")
        return "\n".join(lines)
