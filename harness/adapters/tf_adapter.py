"""TensorFlow core functions: ``tf.math.l2_normalize`` and ``tf.nn.local_response_normalization``.

Runs wherever TensorFlow is installed (TensorFlow 2.21 in ``current``, 2.15 in ``legacy``). Each call
is written out as source code and that very source is executed, so the recorded snippet is what ran;
it expects ``x`` as a ``tf`` tensor in the case's layout and dtype and leaves ``y`` in that layout.

A local-response-normalization case states its window as PyTorch and ONNX do (``size`` channels,
``alpha`` divided by the size); the call is what a user porting such a model writes:
``depth_radius=(size - 1) // 2`` (TensorFlow's window is ``2 * depth_radius + 1`` channels, so an even
size has no equivalent and is ``n/a``) and ``alpha=alpha / size`` (TensorFlow does not divide), on
an NHWC tensor (the only layout the op takes; other layouts are transposed).
"""
from __future__ import annotations

import tensorflow as tf

from harness.ops.layouts import Layout, channels_last, permutation

from ._tf import run_tf, tf_repro
from .base import Adapter, eps_kw, fmt

_API = "https://www.tensorflow.org/versions/r2.15/api_docs/python/{}"
_L2_DOC = ("epsilon: A lower bound value for the norm. Will use `sqrt(epsilon)` as the divisor if "
           "`norm < sqrt(epsilon)`.")
#: documented defaults (the signature's epsilon=1e-12; the docstring says how it is used)
DEFAULT_EPSILONS = {"l2_normalize": (1e-12, _L2_DOC, _API.format("tf/math/l2_normalize"))}


def _perm(src: str, dst: str) -> tuple[str, str]:
    if src == dst:
        return "", ""
    return f"tf.transpose(x, {fmt(list(permutation(src, dst)))})", fmt(list(permutation(dst, src)))


class TFCore(Adapter):
    name = "tensorflow"
    ops = frozenset({"l2_normalize", "local_response_norm"})
    dtypes = frozenset({"float16", "bfloat16", "float32", "float64"})
    default_epsilons = DEFAULT_EPSILONS
    missing_ops = {op: f"TensorFlow's core functions have no {op}; use a Keras layer (the keras-* and tf-keras "
                       "columns)" for op in ("batch_norm", "layer_norm", "layer_norm_no_bias", "group_norm",
                                              "instance_norm", "rms_norm")}

    def versions(self):
        return {"tensorflow": tf.__version__}

    def supports_case(self, case):
        if case.op != "local_response_norm":
            return None
        if Layout(case.layout).rank != 4:
            return "tf.nn.local_response_normalization takes 4-D (NHWC) inputs only"
        if case.dtype == "float64":
            return "tf.nn.local_response_normalization takes half, bfloat16 and float32 inputs, not float64"
        if case.arg("size") % 2 == 0:
            return (f"TensorFlow's window is 2*depth_radius+1 channels, always odd: a window of {case.arg('size')} "
                    "channels (PyTorch/ONNX size) has no depth_radius")
        return None

    def code(self, case) -> str:
        lay = Layout(case.layout)
        if case.op == "l2_normalize":
            idx = list(lay.indices(case.semantics.axes))
            axis = idx[0] if len(idx) == 1 else idx
            eps = "".join(", " + k for k in eps_kw(case, "epsilon"))
            return f"y = tf.math.l2_normalize(x, axis={fmt(axis)}{eps})"
        target = channels_last(lay.name)
        fwd, back = _perm(lay.name, target)
        lines = [f"# {lay.name} -> {target}: the op takes NHWC", f"x = {fwd}"] if fwd else []
        n = case.arg("size")
        lines.append(f"# window of {n} channels (PyTorch/ONNX size={n}): depth_radius={(n - 1) // 2} on each side; "
                     "TensorFlow does not divide alpha by the window size")
        lines.append(f"y = tf.nn.local_response_normalization(x, depth_radius={(n - 1) // 2}, "
                     f"bias={fmt(float(case.arg('k')))}, alpha={fmt(float(case.arg('alpha')))} / {n}, "
                     f"beta={fmt(float(case.arg('beta')))})")
        if back:
            lines.append(f"y = tf.transpose(y, {back})")
        return "\n".join(lines)

    def repro(self, case) -> dict:
        return tf_repro(case, self.code(case))

    def run(self, case, inputs):
        return run_tf(self.name, self.code(case), inputs)
