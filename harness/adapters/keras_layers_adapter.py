"""Keras 3 layers: keras.layers.{LayerNormalization, GroupNormalization,
BatchNormalization, RMSNormalization}, on the backend the worker sets
(``keras-tf``, ``keras-jax``, ``keras-torch``; shared pieces in ``_keras``).

Keras layers are channels-last by default but take an ``axis`` argument, so a
channels-first layout is addressed with ``axis=1`` rather than with a
transpose; LayerNormalization and RMSNormalization take a list of axes.
Gradients are taken the backend's way (``tf.GradientTape``, ``jax.vjp`` of the
layer's stateless call, ``torch`` autograd); running statistics come from
training BatchNormalization on the case's batches.

A case with the framework option ``rms_scaling`` runs ``rms_norm`` as
``LayerNormalization(..., rms_scaling=True)``, as a user porting an RMSNorm
writes it (deprecated in Keras 3.15; it divides by the centred variance).

The documented ``axis=`` form is used even where Keras gets it wrong, so that
the matrix shows what a user of that form gets (tests/current/test_keras.py
pins it): ``RMSNormalization(axis=1)`` does not broadcast its scale.
"""
from __future__ import annotations

from harness.ops.layouts import Layout

from ._keras import NO_LRN, SOURCES, KerasBase, axes_arg, axis_arg, keras  # keras, set up by _keras
from .base import eps_kw, fmt

_VAR = "epsilon: Small float added to variance to avoid dividing by zero. Defaults to 1e-3."
#: documented defaults of the Keras 3.15 layers (docstrings, or the signature where the docstring is silent)
LAYER_EPSILONS = {
    "layer_norm": (1e-3, _VAR, SOURCES + "layers/normalization/layer_normalization.py"),
    "layer_norm_no_bias": (1e-3, _VAR, SOURCES + "layers/normalization/layer_normalization.py"),
    "group_norm": (1e-3, _VAR, SOURCES + "layers/normalization/group_normalization.py"),
    "instance_norm": (1e-3, _VAR + " (GroupNormalization, groups=-1)",
                      SOURCES + "layers/normalization/group_normalization.py"),
    "batch_norm": (1e-3, "def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, ...)",
                   SOURCES + "layers/normalization/batch_normalization.py"),
    "rms_norm": (1e-6, "def __init__(self, axis=-1, epsilon=1e-6, **kwargs)",
                 SOURCES + "layers/normalization/rms_normalization.py"),
    "l2_normalize": (1e-12, "return ops.normalize(inputs, axis=self.axis, order=2, epsilon=1e-12)",
                     SOURCES + "layers/normalization/unit_normalization.py"),
}
#: UnitNormalization takes no epsilon argument: it always passes this one to keras.ops.normalize
UNIT_EPSILON = 1e-12


class KerasLayers(KerasBase):
    """keras.layers.{LayerNormalization, GroupNormalization, BatchNormalization, RMSNormalization}."""

    prefix = "keras"
    checks = frozenset({"forward", "backward", "running_stats", "inference"})
    takes_momentum = True
    missing_checks = {
        "cumulative": "Keras BatchNormalization has no cumulative average: its momentum is a number (moving_mean = "
                      "moving_mean * momentum + mean(batch) * (1 - momentum))",
        ("instance_norm", "running_stats"): "Keras GroupNormalization(groups=-1) keeps no running statistics: it "
                                            "normalizes with each instance's own statistics in inference too",
        ("instance_norm", "inference"): "Keras GroupNormalization(groups=-1) keeps no running statistics: it "
                                        "normalizes with each instance's own statistics in inference too",
        ("instance_norm", "momentum"): "Keras GroupNormalization(groups=-1) takes no momentum (it keeps no running "
                                       "statistics)",
    }
    ops = frozenset({"batch_norm", "layer_norm", "layer_norm_no_bias", "group_norm", "instance_norm", "rms_norm",
                     "l2_normalize"})
    default_epsilons = LAYER_EPSILONS
    masks = frozenset({"batch_norm"})  # only BatchNormalization.call takes a mask for its statistics
    mask_apis = {"layer_norm": "keras.layers.LayerNormalization.call",
                 "layer_norm_no_bias": "keras.layers.LayerNormalization.call",
                 "group_norm": "keras.layers.GroupNormalization.call",
                 "instance_norm": "keras.layers.GroupNormalization.call", "rms_norm": "keras.layers.RMSNormalization.call"}

    @property
    def missing_ops(self):
        return {"local_response_norm": NO_LRN.format(keras.__version__)}
    #: rms_norm as LayerNormalization(rms_scaling=...), what a user porting RMSNorm writes
    options = {"rms_norm": frozenset({"rms_scaling"})}

    def supports_case(self, case):
        if case.op == "rms_norm" and dict(case.options).get("rms_scaling") is False:
            return "rms_scaling: false is LayerNormalization's layer norm, not an RMS norm"
        if case.op == "rms_norm" and not hasattr(keras.layers, "RMSNormalization") \
                and not dict(case.options).get("rms_scaling"):
            return f"keras {keras.__version__} has no keras.layers.RMSNormalization; upgrade Keras"
        if case.mask and not Layout(case.layout).channels_last:
            return ("keras.layers.BatchNormalization adds its mask's missing axis last (the channels of a "
                    "channels-last input): a channels-first input cannot be masked by position")
        return None

    def code(self, case) -> str:
        if case.check == "running_stats":
            return self.running_code(case)
        if case.check == "inference":
            return self.inference_code(case)
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
        lines.append(f"m = keras.layers.BatchNormalization(axis={axis_arg(lay, lay.channel)}, "
                     f"momentum={1 - case.momentum!r}{eps}{aff}, dtype={case.dtype!r})  "
                     f"# momentum {case.momentum!r} weighting the new batch")
        lines.append("m.build(x.shape)")
        if case.sets_affine:
            lines += ["m.gamma.assign(gamma)", "m.beta.assign(beta)"]
        lines += ["for batch in batches:", "    m(batch, training=True)  # batch statistics, moving statistics updated",
                  "y = m(x, training=False)  # moving statistics",
                  "running_mean, running_var = m.moving_mean, m.moving_variance"]
        return "\n".join(lines)

    def inference_code(self, case) -> str:
        """BatchNormalization with its moving statistics set to the given ones, called with training=False."""
        lay = Layout(case.layout)
        eps = "".join(", " + k for k in eps_kw(case, "epsilon"))
        aff = ", center=False, scale=False" if case.affine == "none" else ""
        lines = self._prelude(case)
        lines.append(f"m = keras.layers.BatchNormalization(axis={axis_arg(lay, lay.channel)}{eps}{aff}, "
                     f"dtype={case.dtype!r})")
        lines.append("m.build(x.shape)")
        if case.sets_affine:
            lines += ["m.gamma.assign(gamma)", "m.beta.assign(beta)"]
        lines += ["m.moving_mean.assign(running_mean)", "m.moving_variance.assign(running_var)",
                  "y = m(x, training=False)  # moving statistics"]
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
        setp = case.sets_affine
        noaff = case.affine == "none"
        lines = self._prelude(case)
        weights = ("gamma", "beta")
        call = "m(x)"
        if case.op in ("layer_norm", "layer_norm_no_bias"):
            axes = case.axes or lay.axes[-1]
            aff = ", center=False, scale=False" if noaff else ("" if case.spec.bias else ", center=False")
            lines.append(f"m = keras.layers.LayerNormalization(axis={axes_arg(lay, axes)}{eps}{aff}, {dt})")
            weights = ("gamma", "beta") if case.spec.bias else ("gamma",)
        elif case.op == "l2_normalize":
            if case.epsilon is not None and case.epsilon != UNIT_EPSILON:
                lines.append(f"# UnitNormalization takes no epsilon: it always uses {UNIT_EPSILON!r} "
                             f"(the case asks for {fmt(case.epsilon)})")
            lines.append(f"m = keras.layers.UnitNormalization(axis={axes_arg(lay, case.semantics.axes)}, {dt})")
            weights = ()
        elif case.op == "rms_norm" and dict(case.options).get("rms_scaling"):
            axes = case.axes or lay.axes[-1]
            lines.append("# rms_scaling=True: a gamma and no beta (deprecated in Keras 3.15)")
            lines.append(f"m = keras.layers.LayerNormalization(axis={axes_arg(lay, axes)}{eps}, rms_scaling=True, "
                         f"{dt})")
            weights = ("gamma",)
        elif case.op == "rms_norm":
            axes = case.axes or lay.axes[-1]
            if noaff:
                lines.append("# RMSNormalization has no scale=False; its scale is initialised to ones")
            lines.append(f"m = keras.layers.RMSNormalization(axis={axes_arg(lay, axes)}{eps}, {dt})")
            weights = ("scale",)
        else:
            ax = axis_arg(lay, lay.channel)
            aff = ", center=False, scale=False" if noaff else ""
            if case.op == "batch_norm":
                mom = "" if case.momentum is None else \
                    f", momentum={1 - case.momentum!r}"  # the case's momentum weights the new batch
                lines.append(f"m = keras.layers.BatchNormalization(axis={ax}{mom}{eps}{aff}, {dt})")
                call = "m(x, training=True)  # batch statistics"
                if case.mask:
                    call = "m(x, training=True, mask=mask)  # batch statistics of the unmasked positions"
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
