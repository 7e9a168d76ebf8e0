"""Keras 3: keras.layers normalization layers and keras.ops functions.

One module serves three backends: the worker sets ``KERAS_BACKEND``
(tensorflow, jax or torch) before this module is imported, and the adapter
takes its name from it (``keras-tf``, ``keras-ops-jax``, ...).

Each call is written out as source code and that very source is executed, so
the recorded snippet is exactly what ran. The snippet expects ``x`` (and
``gamma``/``beta`` when the case has an affine transform) as backend tensors
in the case's layout and dtype, ``keras`` and ``np``, and leaves the result in
``y`` in the same layout.

Keras layers are channels-last by default but take an ``axis`` argument, so a
channels-first layout is addressed with ``axis=1`` rather than with a
transpose; LayerNormalization and RMSNormalization take a list of axes. Every
call passes ``epsilon`` explicitly (Keras defaults to 1e-3, torch to 1e-5).

JAX runs float64 as float32 unless x64 is enabled, so with the JAX backend
this module enables ``jax_enable_x64`` once, before any tensor is created (what
a user who wants float64 must do); ``versions()`` records it. Every run checks
that the output really has the case dtype.

The documented ``axis=`` form is used even where Keras gets it wrong, so that
the matrix shows what a user of that form gets (tests/current/test_keras.py
pins each of these): on the JAX and torch backends float64 is computed in
float32 (``keras.backend.result_type`` maps float64 to float32 there);
``RMSNormalization(axis=1)`` does not broadcast its scale; on the torch backend
a non-trailing ``axis`` of layer_normalization/rms_normalization normalizes the
trailing axes instead.
"""
from __future__ import annotations

import importlib
import os

import numpy as np

_BACKEND_TAGS = {"tensorflow": "tf", "jax": "jax", "torch": "torch"}
_REQUESTED = os.environ.get("KERAS_BACKEND", "")

if _REQUESTED == "jax":  # before keras creates any array
    import jax

    jax.config.update("jax_enable_x64", True)

import keras  # noqa: E402

from ..layouts import Layout  # noqa: E402
from .base import Adapter, Output, eps_kw, fmt, run_snippet  # noqa: E402

_HALF = ("float16", "bfloat16")

_K = "https://github.com/keras-team/keras/blob/v3.15.1/keras/src/"
_VAR = "epsilon: Small float added to variance to avoid dividing by zero. Defaults to 1e-3."
#: documented defaults of the Keras 3.15 layers (docstrings, or the signature where the docstring is silent)
LAYER_EPSILONS = {
    "layer_norm": (1e-3, _VAR, _K + "layers/normalization/layer_normalization.py"),
    "layer_norm_no_bias": (1e-3, _VAR, _K + "layers/normalization/layer_normalization.py"),
    "group_norm": (1e-3, _VAR, _K + "layers/normalization/group_normalization.py"),
    "instance_norm": (1e-3, _VAR + " (GroupNormalization, groups=-1)",
                      _K + "layers/normalization/group_normalization.py"),
    "batch_norm": (1e-3, "def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, ...)",
                   _K + "layers/normalization/batch_normalization.py"),
    "rms_norm": (1e-6, "def __init__(self, axis=-1, epsilon=1e-6, **kwargs)",
                 _K + "layers/normalization/rms_normalization.py"),
}
_BACKEND_EPS = "epsilon: A lower bound value for the norm. Defaults to `backend.epsilon()`. (keras.config.epsilon(): 1e-7)"
#: keras.ops: epsilon=None means backend.epsilon(), 1e-7 unless the user changed it
OPS_EPSILONS = {
    "layer_norm": (1e-7, _BACKEND_EPS, _K + "ops/nn.py"),
    "layer_norm_no_bias": (1e-7, _BACKEND_EPS, _K + "ops/nn.py"),
    "rms_norm": (1e-7, _BACKEND_EPS, _K + "ops/nn.py"),
    "batch_norm": (1e-3, "def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3)",
                   _K + "ops/nn.py"),
}


def _axis(lay: Layout, a: str) -> int:
    """Keras axis index for axis name ``a``: -1 for the last axis (Keras's
    default and what users write), the positive index otherwise."""
    i = lay.index(a)
    return -1 if i == lay.rank - 1 else i


def _axes_arg(lay: Layout, axes: str) -> str:
    """The ``axis=`` argument for a set of reduced axes (layout order)."""
    if len(axes) == 1:
        return str(_axis(lay, axes))
    return "[" + ", ".join(str(lay.index(a)) for a in axes) + "]"


def _to_tensor(a, dtype):
    if a is None:
        return None
    if dtype in _HALF:  # ml_dtypes/float16 arrays: go through float32 (exact)
        a = np.asarray(a, np.float32)
    return keras.ops.convert_to_tensor(np.ascontiguousarray(a), dtype=dtype)


def _to_numpy(y, dtype):
    got = keras.backend.standardize_dtype(y.dtype)
    if got != dtype:
        raise TypeError(f"Keras returned a {got} output for a {dtype} case "
                        f"(backend {keras.backend.backend()})")
    if dtype == "bfloat16":
        import ml_dtypes
        return keras.ops.convert_to_numpy(keras.ops.cast(y, "float32")).astype(ml_dtypes.bfloat16)
    return np.asarray(keras.ops.convert_to_numpy(y))


class _Keras(Adapter):
    prefix = "keras"
    dtypes = frozenset({"float16", "bfloat16", "float32", "float64"})

    def __init__(self):
        self.backend = _REQUESTED or keras.backend.backend()
        self.name = f"{self.prefix}-{_BACKEND_TAGS.get(self.backend, self.backend)}"

    def versions(self):
        backend = keras.backend.backend()
        v = {"keras": keras.__version__, "backend": backend}
        mod = importlib.import_module(backend)
        v[backend] = str(getattr(mod, "__version__", "?"))
        if backend == "jax":
            import jax
            import jaxlib
            v["jaxlib"] = jaxlib.__version__
            v["jax_enable_x64"] = str(bool(jax.config.jax_enable_x64))
        return v

    def unavailable(self):
        version = getattr(keras, "__version__", "")
        if not version.startswith("3."):
            return f"keras {version or '(unknown version)'} is not Keras 3; this adapter needs keras>=3"
        actual = keras.backend.backend()
        if self.backend not in _BACKEND_TAGS:
            return f"unknown KERAS_BACKEND {self.backend!r} (expected one of {', '.join(_BACKEND_TAGS)})"
        if actual != self.backend:
            return (f"keras was already imported with backend {actual!r}; KERAS_BACKEND={self.backend!r} "
                    "must be set before the first import of keras")
        return None

    def _prelude(self, case) -> list[str]:
        if self.backend == "jax" and case.dtype == "float64":
            return ['# jax.config.update("jax_enable_x64", True) ran before x was created']
        return []

    def code(self, case) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def repro(self, case) -> dict:
        imports = ["import os", f"os.environ['KERAS_BACKEND'] = {self.backend!r}  # before keras is imported"]
        if self.backend == "jax":
            imports += ["import jax", "jax.config.update('jax_enable_x64', True)  # as the adapter does"]
        imports.append("import keras")
        half = case.dtype in _HALF
        a = "np.asarray(a, np.float32)" if half else "np.ascontiguousarray(a)"
        y = "keras.ops.cast(y, 'float32')" if half else "y"
        return {"imports": "\n".join(imports),
                "to_framework": f"keras.ops.convert_to_tensor({a}, dtype={case.dtype!r})",
                "to_numpy": f"np.asarray(keras.ops.convert_to_numpy({y})).astype(np.float64)",
                "context": "", "versions": "{'keras': keras.__version__, 'backend': keras.backend.backend()}",
                "call": self.code(case)}

    def run(self, case, inputs) -> Output:
        src = self.code(case)
        ns = {
            "keras": keras, "np": np,
            "x": _to_tensor(inputs.x, case.dtype),
            "gamma": _to_tensor(inputs.gamma, case.dtype),
            "beta": _to_tensor(inputs.beta, case.dtype),
        }
        if case.check == "backward":
            ns["dy"] = _to_tensor(inputs.dy, case.dtype)
        if case.check == "running_stats":
            ns["batches"] = [_to_tensor(b, case.dtype) for b in inputs.batches]
        run_snippet(self.name, src, ns)
        if case.check == "backward":
            return Output(_to_numpy(ns["dx"], case.dtype), src,
                          arrays={k: _to_numpy(ns[k], case.dtype) for k in ("dgamma", "dbeta") if k in ns})
        arrays = {k: _to_numpy(keras.ops.convert_to_tensor(ns[k]), case.dtype)
                  for k in ("running_mean", "running_var") if k in ns}
        return Output(_to_numpy(ns["y"], case.dtype), src, arrays=arrays,
                      info={"momentum_argument": "old_value"} if case.check == "running_stats" else {})


class KerasLayers(_Keras):
    """keras.layers.{LayerNormalization, GroupNormalization, BatchNormalization, RMSNormalization}."""

    prefix = "keras"
    checks = frozenset({"forward", "backward", "running_stats"})
    ops = frozenset({"batch_norm", "layer_norm", "layer_norm_no_bias", "group_norm", "instance_norm", "rms_norm"})
    default_epsilons = LAYER_EPSILONS

    def supports_case(self, case):
        if case.op == "rms_norm" and not hasattr(keras.layers, "RMSNormalization"):
            return f"keras {keras.__version__} has no keras.layers.RMSNormalization; upgrade Keras"
        return None

    def code(self, case) -> str:
        if case.check == "running_stats":
            return self.running_code(case)
        lines, call, weights = self.layer(case)
        if case.check == "backward":
            return self.layer_backward(case, lines, call.split("  #")[0], weights)
        return "\n".join(lines + [f"y = {call}"])

    def running_code(self, case) -> str:
        """Train BatchNormalization on ``batches``, then normalize x in inference mode. Keras's
        momentum weights the old value: a case momentum m (the new batch's weight) is 1 - m here."""
        lay = Layout(case.layout)
        eps = "".join(", " + k for k in eps_kw(case, "epsilon"))
        aff = ", center=False, scale=False" if case.affine == "none" else ""
        lines = self._prelude(case)
        lines.append(f"m = keras.layers.BatchNormalization(axis={_axis(lay, lay.channel)}, "
                     f"momentum={1 - case.momentum!r}{eps}{aff}, dtype={case.dtype!r})  "
                     f"# momentum {case.momentum!r} weighting the new batch")
        lines.append("m.build(x.shape)")
        if case.affine == "random":
            lines += ["m.gamma.assign(gamma)", "m.beta.assign(beta)"]
        lines += ["for batch in batches:", "    m(batch, training=True)  # batch statistics, moving statistics updated",
                  "y = m(x, training=False)  # moving statistics",
                  "running_mean, running_var = m.moving_mean, m.moving_variance"]
        return "\n".join(lines)

    def layer_backward(self, case, lines, call, weights) -> str:
        """Gradients of the layer call by x and the layer's weights, the backend's way."""
        names = [w for w in weights if case.affine != "none" and (w != "beta" or case.spec.bias)]
        outs = ["dgamma" if w in ("gamma", "scale") else "dbeta" for w in names]
        lines = lines + (["m.build(x.shape)"] if "m.build(x.shape)" not in lines else [])
        if self.backend == "tensorflow":
            return "\n".join(lines + [
                "import tensorflow as tf",
                "with tf.GradientTape() as tape:", "    tape.watch(x)", f"    y = {call}",
                f"{', '.join(['dx'] + outs)}{',' if not outs else ''} = tape.gradient(y, [{', '.join(['x'] + [f'm.{w}' for w in names])}], "
                "output_gradients=dy)"])
        if self.backend == "jax":
            call = call.replace("m(x", "m.stateless_call(tv, ntv, x")
            return "\n".join(lines + [
                "import jax",
                "tv = [v.value for v in m.trainable_variables]",
                "ntv = [v.value for v in m.non_trainable_variables]",
                "def f(x, tv):", f"    return {call}[0]",
                "y, vjp = jax.vjp(f, x, tv)", "dx, dtv = vjp(dy)",
                "grads = {v.name: g for v, g in zip(m.trainable_variables, dtv)}"]
                + [f"{o} = grads[{w!r}]" for o, w in zip(outs, names)])
        return "\n".join(["x.requires_grad_(True)"] + lines + [f"y = {call}", "y.backward(dy)", "dx = x.grad"]
                         + [f"{o} = m.{w}.value.grad" for o, w in zip(outs, names)])

    def layer(self, case):
        """(lines that build the layer, the call, the names of its weights)."""
        lay = Layout(case.layout)
        eps = "".join(", " + k for k in eps_kw(case, "epsilon"))
        dt = f"dtype={case.dtype!r}"
        setp = case.affine == "random"
        noaff = case.affine == "none"
        lines = self._prelude(case)
        weights = ("gamma", "beta")
        call = "m(x)"
        if case.op in ("layer_norm", "layer_norm_no_bias"):
            axes = case.axes or lay.axes[-1]
            aff = ", center=False, scale=False" if noaff else ("" if case.spec.bias else ", center=False")
            lines.append(f"m = keras.layers.LayerNormalization(axis={_axes_arg(lay, axes)}{eps}{aff}, {dt})")
            weights = ("gamma", "beta") if case.spec.bias else ("gamma",)
        elif case.op == "rms_norm":
            axes = case.axes or lay.axes[-1]
            if noaff:
                lines.append("# RMSNormalization has no scale=False; its scale is initialised to ones")
            lines.append(f"m = keras.layers.RMSNormalization(axis={_axes_arg(lay, axes)}{eps}, {dt})")
            weights = ("scale",)
        else:
            ax = _axis(lay, lay.channel)
            aff = ", center=False, scale=False" if noaff else ""
            if case.op == "batch_norm":
                lines.append(f"m = keras.layers.BatchNormalization(axis={ax}{eps}{aff}, {dt})")
                call = "m(x, training=True)  # batch statistics"
            elif case.op == "group_norm":
                lines.append(f"m = keras.layers.GroupNormalization(groups={case.groups}, axis={ax}"
                             f"{eps}{aff}, {dt})")
            elif case.op == "instance_norm":
                lines.append(f"m = keras.layers.GroupNormalization(groups=-1, axis={ax}"
                             f"{eps}{aff}, {dt})  # groups=-1: instance normalization")
            else:
                raise ValueError(f"unknown op {case.op}")
        if setp:
            lines.append("m.build(x.shape)")
            lines.append(f"m.{weights[0]}.assign(gamma)")
            if "beta" in weights:
                lines.append("m.beta.assign(beta)")
        return lines, call, weights


class KerasOps(_Keras):
    """keras.ops.{layer_normalization, rms_normalization, moments + batch_normalization}."""

    prefix = "keras-ops"
    checks = frozenset({"forward", "backward"})  # keras.ops keeps no running statistics

    def supports(self, case):
        if case.check == "running_stats":
            return ("keras.ops functions keep no state, so there are no running statistics to check; use "
                    f"keras.layers.BatchNormalization (adapter keras-{_BACKEND_TAGS.get(self.backend, '')})")
        return super().supports(case)
    ops = frozenset({"batch_norm", "layer_norm", "layer_norm_no_bias", "rms_norm"})
    default_epsilons = OPS_EPSILONS

    @property
    def missing_ops(self):
        layers = f"(adapter keras-{_BACKEND_TAGS.get(self.backend, '')})"
        return {
            "group_norm": f"keras.ops has no group normalization function (keras {keras.__version__}); "
                          f"use keras.layers.GroupNormalization {layers}",
            "instance_norm": f"keras.ops has no instance normalization function (keras {keras.__version__}); "
                             f"use keras.layers.GroupNormalization(groups=-1) {layers}",
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
            lines.append(f"y = keras.ops.layer_normalization(x, {gb}axis={_axes_arg(lay, axes)}{eps})")
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
            lines.append(f"y = keras.ops.rms_normalization(x, {sc}axis={_axes_arg(lay, axes)}{eps})")
        elif case.op == "batch_norm":
            red = [lay.index(a) for a in lay.axes if a != lay.channel]
            ax = _axis(lay, lay.channel)
            lines.append(f"mean, variance = keras.ops.moments(x, axes={red})  # batch statistics")
            ob = ", offset=beta, scale=gamma" if affine else ""
            lines.append(f"y = keras.ops.batch_normalization(x, mean, variance, axis={ax}{ob}{eps})")
        else:
            raise ValueError(f"keras.ops has no {case.op}")
        return "\n".join(lines)
