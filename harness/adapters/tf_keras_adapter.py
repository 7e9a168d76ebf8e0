"""tf.keras 2: the Keras 2 layers that TensorFlow <= 2.15 ships as ``tf.keras``.

From TensorFlow 2.16 on, ``tf.keras`` is Keras 3 (covered by the ``keras-*``
adapters); there this adapter reports itself unavailable and its column is
hidden.

Each call is written out as source code and that very source is executed, so
the recorded snippet is exactly what ran. The snippet expects ``x`` (and
``gamma``/``beta`` when the case has an affine transform) as ``tf`` tensors in
the case's layout and dtype, and leaves the result in ``y`` in the same layout.
The Keras layers take an ``axis`` argument, so channels-first layouts need no
transpose: the snippet names the channel (or normalized) axes instead.
"""
from __future__ import annotations

import sys

import tensorflow as tf

from harness.ops.layouts import Layout

from ._tf import run_tf, tape_code, tf_repro
from .base import Adapter, Output, eps_kw, fmt

_VAR = "epsilon: Small float added to variance to avoid dividing by zero. Defaults to 1e-3."


def documented_epsilons(tk: str) -> dict:
    """The documented default epsilons of Keras 2's normalization layers (docstrings, or the signature where
    the docstring is silent), each linked to its source file under ``tk`` (tf.keras 2.15 and tf-keras 2.21
    document the same values in the same words)."""
    return {
        "layer_norm": (1e-3, _VAR, tk + "layer_normalization.py"),
        "layer_norm_no_bias": (1e-3, _VAR, tk + "layer_normalization.py"),
        "group_norm": (1e-3, _VAR, tk + "group_normalization.py"),
        "instance_norm": (1e-3, _VAR + " (GroupNormalization, groups=-1)", tk + "group_normalization.py"),
        "batch_norm": (1e-3, "def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, ...)",
                       tk + "batch_normalization.py"),
        # UnitNormalization takes no epsilon: it calls tf.linalg.l2_normalize with that function's default 1e-12
        "l2_normalize": (1e-12, "return tf.linalg.l2_normalize(inputs, axis=self.axis)",
                         tk + "unit_normalization.py"),
    }


#: documented defaults of tf.keras 2.15
DEFAULT_EPSILONS = documented_epsilons("https://github.com/keras-team/keras/blob/v2.15.0/keras/layers/normalization/")
#: the epsilon UnitNormalization always uses (tf.linalg.l2_normalize's default, on the squared norm)
UNIT_EPSILON = 1e-12


_HALF = ("float16", "bfloat16")


def _tf_keras_version() -> str:
    """Version of the package that ``tf.keras`` resolves to. Keras 2.15 has no
    ``tf.keras.__version__`` (and ``tf.keras.__name__`` may read
    ``tensorflow.keras``), so ask the package that defines its layers."""
    v = getattr(tf.keras, "__version__", None)
    if v is None:
        top = sys.modules.get(tf.keras.layers.Layer.__module__.split(".")[0])
        v = getattr(top, "__version__", None)
    return str(v) if v is not None else "unknown"


def _axis_code(lay: Layout, axes) -> str:
    """Keras ``axis`` argument for the given axis names: -1 for the last axis
    alone, a positive index for another single axis, a list for several."""
    idx = [lay.index(a) for a in lay.ordered(axes)]
    if len(idx) == 1:
        return "-1" if idx[0] == lay.rank - 1 else str(idx[0])
    return fmt(idx)


class TfKeras(Adapter):
    name = "tf-keras"
    #: the module path a user writes in the call
    keras = "tf.keras"
    ops = frozenset({"batch_norm", "layer_norm", "layer_norm_no_bias", "group_norm", "instance_norm", "l2_normalize"})
    dtypes = frozenset({"float16", "bfloat16", "float32", "float64"})
    default_epsilons = DEFAULT_EPSILONS
    missing_ops = {"local_response_norm": "tf.keras 2 has no local response normalization layer; "
                                          "tf.nn.local_response_normalization (the tensorflow column) is the API"}
    masks = frozenset({"batch_norm"})  # only BatchNormalization.call takes a mask for its statistics
    mask_apis = {"layer_norm": "tf.keras.layers.LayerNormalization.call",
                 "layer_norm_no_bias": "tf.keras.layers.LayerNormalization.call",
                 "group_norm": "tf.keras.layers.GroupNormalization.call",
                 "instance_norm": "tf.keras.layers.GroupNormalization.call"}
    checks = frozenset({"forward", "backward", "running_stats", "inference"})
    takes_momentum = True
    missing_checks = {
        "cumulative": "tf.keras BatchNormalization has no cumulative average: its momentum is a number "
                      "(moving_mean = moving_mean * momentum + mean(batch) * (1 - momentum))",
        ("instance_norm", "running_stats"): "tf.keras GroupNormalization(groups=-1) keeps no running statistics: "
                                            "it normalizes with each instance's own statistics in inference too",
        ("instance_norm", "inference"): "tf.keras GroupNormalization(groups=-1) keeps no running statistics: it "
                                        "normalizes with each instance's own statistics in inference too",
        ("instance_norm", "momentum"): "tf.keras GroupNormalization(groups=-1) takes no momentum (it keeps no "
                                       "running statistics)",
    }

    def versions(self):
        return {"tensorflow": tf.__version__, "keras": _tf_keras_version()}

    def layers(self):
        """The layers module the calls name."""
        return tf.keras.layers

    def namespace(self) -> dict:
        """What the snippet needs besides ``tf`` and the inputs."""
        return {}

    def unavailable(self):
        v = _tf_keras_version()
        try:
            major = int(v.split(".")[0])
        except ValueError:
            return f"cannot tell which Keras tf.keras is (version {v!r}) in TensorFlow {tf.__version__}"
        if major >= 3:
            return f"tf.keras is Keras 3 in TensorFlow {tf.__version__}; tf-keras needs TensorFlow <= 2.15"
        return None

    def supports(self, case):
        if case.op == "rms_norm":
            return ("tf.keras 2 has no RMS norm layer; use keras.layers.RMSNormalization "
                    "(Keras 3) or torch.nn.RMSNorm")
        if case.op == "instance_norm" and not hasattr(self.layers(), "GroupNormalization"):
            return f"{self.keras} {self.versions()['keras']} has no GroupNormalization (for groups=-1 instance norm)"
        if case.op == "group_norm" and not hasattr(self.layers(), "GroupNormalization"):
            return f"{self.keras} {self.versions()['keras']} has no GroupNormalization (added in 2.11)"
        if case.mask and case.op == "batch_norm" and not Layout(case.layout).channels_last:
            return ("tf.keras.layers.BatchNormalization adds its mask's missing axis last (the channels of a "
                    "channels-last input): a channels-first input cannot be masked by position")
        return super().supports(case)

    # -- code generation ------------------------------------------------------
    def code(self, case) -> str:
        if case.check == "running_stats":
            return self.running_code(case)
        if case.check == "inference":
            return self.inference_code(case)
        fwd = self.forward_code(case)
        if case.check != "backward":
            return fwd
        if case.affine == "none":
            sources = {}
        else:
            sources = {"dgamma": "m.gamma", "dbeta": "m.beta"} if case.spec.bias else {"dgamma": "m.gamma"}
        return tape_code(fwd, ["x"], sources)

    def running_code(self, case) -> str:
        """Train BatchNormalization on ``batches``, then normalize x in inference mode. tf.keras's
        momentum weights the old value: a case momentum m (the new batch's weight) is 1 - m here.
        ``fused`` is left to tf.keras (None: the fused kernel for 4-D input where it can)."""
        lay = Layout(case.layout)
        common = ", ".join([f"axis={_axis_code(lay, lay.channel)}", f"momentum={1 - case.momentum!r}"]
                           + eps_kw(case, "epsilon")
                           + (["center=False", "scale=False"] if case.affine == "none" else [])
                           + [f"dtype={case.dtype!r}"])
        lines = [f"m = {self.keras}.layers.BatchNormalization({common})  # momentum {case.momentum!r} weighting the "
                 "new batch", "m.build(x.shape)"]
        if case.sets_affine:
            lines += ["m.gamma.assign(tf.cast(gamma, m.gamma.dtype))", "m.beta.assign(tf.cast(beta, m.beta.dtype))"]
        lines += ["for batch in batches:", "    m(batch, training=True)  # batch statistics, moving statistics updated",
                  "y = m(x, training=False)  # moving statistics",
                  "running_mean, running_var = m.moving_mean, m.moving_variance",
                  "path = 'fused' if m.fused else 'non-fused'  # the kernel tf.keras chose"]
        return "\n".join(lines)

    def inference_code(self, case) -> str:
        """BatchNormalization with its moving statistics set to the given ones, called with training=False;
        ``fused`` is left to tf.keras (None: the fused kernel for 4-D input where it can)."""
        lay = Layout(case.layout)
        common = ", ".join([f"axis={_axis_code(lay, lay.channel)}"] + eps_kw(case, "epsilon")
                           + (["center=False", "scale=False"] if case.affine == "none" else [])
                           + [f"dtype={case.dtype!r}"])
        lines = [f"m = {self.keras}.layers.BatchNormalization({common})", "m.build(x.shape)"]
        if case.sets_affine:
            lines += ["m.gamma.assign(tf.cast(gamma, m.gamma.dtype))", "m.beta.assign(tf.cast(beta, m.beta.dtype))"]
        lines += ["m.moving_mean.assign(tf.cast(running_mean, m.moving_mean.dtype))",
                  "m.moving_variance.assign(tf.cast(running_var, m.moving_variance.dtype))",
                  "y = m(x, training=False)  # moving statistics",
                  "path = 'fused' if m.fused else 'non-fused'  # the kernel tf.keras chose"]
        return "\n".join(lines)

    def forward_code(self, case) -> str:
        lay = Layout(case.layout)
        common = ", ".join(eps_kw(case, "epsilon")
                           + (["center=False", "scale=False"] if case.affine == "none" else [])
                           + [f"dtype={case.dtype!r}"])
        call = "m(x)"
        lines = []
        if case.op == "l2_normalize":
            if case.epsilon is not None and case.epsilon != UNIT_EPSILON:
                lines.append(f"# UnitNormalization takes no epsilon: it always uses {UNIT_EPSILON!r} "
                             f"(the case asks for {fmt(case.epsilon)})")
            lines.append(f"m = {self.keras}.layers.UnitNormalization(axis={_axis_code(lay, case.semantics.axes)}, "
                         f"dtype={case.dtype!r})")
        elif case.op in ("layer_norm", "layer_norm_no_bias"):
            axes = case.axes or lay.axes[-1]
            nobias = "center=False, " if not case.spec.bias and case.affine != "none" else ""
            lines.append(f"m = {self.keras}.layers.LayerNormalization(axis={_axis_code(lay, axes)}, {nobias}{common})")
        else:
            axis = _axis_code(lay, lay.channel)
            if case.op == "batch_norm":
                mom = "" if case.momentum is None else f"momentum={1 - case.momentum!r}, "  # 1 - the new batch's weight
                lines.append(f"m = {self.keras}.layers.BatchNormalization(axis={axis}, {mom}{common})")
                call = "m(x, training=True)  # batch statistics"
                if case.mask:
                    call = "m(x, training=True, mask=mask)  # batch statistics of the unmasked positions"
            elif case.op == "group_norm":
                lines.append(f"m = {self.keras}.layers.GroupNormalization(groups={case.groups}, axis={axis}, {common})")
            elif case.op == "instance_norm":
                lines.append("# instance norm: GroupNormalization with one group per channel")
                lines.append(f"m = {self.keras}.layers.GroupNormalization(groups=-1, axis={axis}, {common})")
            else:  # pragma: no cover - supports() filters
                raise ValueError(case.op)
        if case.sets_affine:
            lines.append("m.build(x.shape)")
            if case.op == "batch_norm" and case.dtype in _HALF:
                lines.append(f"# BatchNormalization keeps {case.dtype} layers' gamma and beta in float32")
                lines.append("m.gamma.assign(tf.cast(gamma, m.gamma.dtype))")
                lines.append("m.beta.assign(tf.cast(beta, m.beta.dtype))")
            else:
                lines.append("m.gamma.assign(gamma)")
                if case.spec.bias:
                    lines.append("m.beta.assign(beta)")
        lines.append(f"y = {call}")
        return "\n".join(lines)

    def repro(self, case) -> dict:
        return tf_repro(case, self.code(case))

    def run(self, case, inputs) -> Output:
        out = run_tf(self.name, self.code(case), inputs, **self.namespace())
        if case.check == "running_stats":
            out.info["momentum_argument"] = "old_value"
        return out
