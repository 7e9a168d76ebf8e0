"""TensorFlow Addons: ``tfa.layers.GroupNormalization`` and ``InstanceNormalization``.

TFA (end of life, last release 0.23 for TensorFlow 2.15) adds only group and
instance normalization; the other ops are ``unsupported`` with a pointer to
where a user finds them.

Each call is written out as source code and that very source is executed, so
the recorded snippet is exactly what ran. The snippet expects ``x`` (and
``gamma``/``beta`` when the case has an affine transform) as ``tf`` tensors in
the case's layout and dtype, and leaves the result in ``y`` in the same layout.
The TFA layers take an ``axis`` argument (the channel axis), so channels-first
layouts need no transpose.
"""
from __future__ import annotations

import sys

import tensorflow as tf
import tensorflow_addons as tfa

from harness.ops.layouts import Layout

from ._tf import run_tf, tape_code, tf_repro
from .base import Adapter, Output, eps_kw

_TFA = "https://github.com/tensorflow/addons/blob/v0.23.0/tensorflow_addons/layers/normalizations.py"
#: documented defaults of TensorFlow Addons 0.23 (InstanceNormalization is GroupNormalization(groups=-1))
DEFAULT_EPSILONS = {
    "group_norm": (1e-3, "epsilon: Small float added to variance to avoid dividing by zero.  (signature: "
                         "epsilon: float = 1e-3)", _TFA),
    "instance_norm": (1e-3, "InstanceNormalization(GroupNormalization) with groups=-1; epsilon: float = 1e-3",
                      _TFA),
}

_ELSEWHERE = {
    "batch_norm": "TFA has no batch norm; use tf.keras.layers.BatchNormalization",
    "layer_norm": "TFA has no layer norm; use tf.keras.layers.LayerNormalization",
    "rms_norm": ("TFA has no RMS norm (FilterResponseNormalization reduces over the spatial axes and adds "
                 "a learned threshold); use keras.layers.RMSNormalization (Keras 3) or torch.nn.RMSNorm"),
    "l2_normalize": "TFA has no L2 normalization; use tf.math.l2_normalize or tf.keras.layers.UnitNormalization",
    "local_response_norm": "TFA has no local response normalization; use tf.nn.local_response_normalization",
}


class TFAddons(Adapter):
    name = "tfa"
    ops = frozenset({"group_norm", "instance_norm"})
    missing_ops = _ELSEWHERE
    mask_apis = {"group_norm": "tfa.layers.GroupNormalization.call", "instance_norm": "tfa.layers.InstanceNormalization.call"}
    default_epsilons = DEFAULT_EPSILONS
    dtypes = frozenset({"float16", "bfloat16", "float32", "float64"})
    checks = frozenset({"forward", "backward"})  # no batch norm, so no running statistics
    missing_checks = {
        k: "tfa.layers.InstanceNormalization keeps no running statistics (it normalizes with each instance's own "
           "statistics in inference too), and TFA has no batch norm; use tf.keras.layers.BatchNormalization"
        for k in ("running_stats", "inference", "momentum")}

    def versions(self):
        # tf.keras 2.15 has no __version__: ask the package that defines its layers
        keras = getattr(tf.keras, "__version__", None) or getattr(
            sys.modules.get(tf.keras.layers.Layer.__module__.split(".")[0]), "__version__", "unknown")
        return {"tensorflow": tf.__version__, "tensorflow_addons": tfa.__version__, "keras": str(keras)}

    # -- code generation ------------------------------------------------------
    def code(self, case) -> str:
        fwd = self.forward_code(case)
        if case.check != "backward":
            return fwd
        sources = {} if case.affine == "none" else {"dgamma": "m.gamma", "dbeta": "m.beta"}
        return tape_code(fwd, ["x"], sources)

    def forward_code(self, case) -> str:
        lay = Layout(case.layout)
        c = lay.index(lay.channel)
        axis = "-1" if c == lay.rank - 1 else str(c)
        common = ", ".join([f"axis={axis}"] + eps_kw(case, "epsilon")
                           + (["center=False", "scale=False"] if case.affine == "none" else [])
                           + [f"dtype={case.dtype!r}"])
        lines = []
        if case.op == "group_norm":
            lines.append(f"m = tfa.layers.GroupNormalization(groups={case.groups}, {common})")
        elif case.op == "instance_norm":
            lines.append(f"m = tfa.layers.InstanceNormalization({common})")
        else:  # pragma: no cover - supports() filters
            raise ValueError(case.op)
        if case.sets_affine:
            lines.append("m.build(x.shape)")
            lines.append("m.gamma.assign(gamma)")
            lines.append("m.beta.assign(beta)")
        lines.append("y = m(x)")
        return "\n".join(lines)

    def repro(self, case) -> dict:
        return tf_repro(case, self.code(case), "import tensorflow as tf\nimport tensorflow_addons as tfa",
                        "{'tensorflow': tf.__version__, 'tensorflow_addons': tfa.__version__}")

    def run(self, case, inputs) -> Output:
        return run_tf(self.name, self.code(case), inputs, tfa=tfa)
