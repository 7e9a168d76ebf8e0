"""The Group Normalization paper's Figure 3 code, in TensorFlow.

Wu & He, Group Normalization (arXiv:1803.08494), Figure 3 gives GN as a few
lines of TensorFlow on an ``[N, C, H, W]`` input. The snippet defines that
function the way the paper writes it (with TF 2's ``keepdims`` for TF 1's
``keep_dims``) and calls it. It is generalized only as a user would: another
layout is transposed to channels first (``NHWC -> NCHW``, ``BTF -> BFT``), and
the function is written for that layout's number of spatial axes (``[N, C, L]``,
``[N, C, D, H, W]``, ...). It uses only ``tf`` ops, so it runs on every
TensorFlow version. Only group norm is supported: instance and layer norm are
other ops here (the paper's LN, ``groups=1``, has a per-channel affine).

The snippet expects ``x`` (and ``gamma``/``beta``, shape ``[C]``) as ``tf``
tensors in the case's layout and dtype, and leaves the result in ``y`` in the
same layout.
"""
from __future__ import annotations

import tensorflow as tf

from harness.ops.layouts import Layout, channels_first, permutation

from ._tf import run_tf, tape_code, tf_repro
from .base import Adapter, Output, eps_kw, fmt

_NOT_GN = "the paper's code is group norm only"
_REASONS = {
    "instance_norm": f"{_NOT_GN}; instance norm is its groups=C case (write the case as group_norm with groups=C)",
    "layer_norm": (f"{_NOT_GN}; its groups=1 case is the paper's Layer Norm (statistics over C and every "
                   "spatial axis, per-channel affine), not this layer_norm: write the case as group_norm "
                   "with groups=1"),
    "batch_norm": f"{_NOT_GN}; use tf.keras.layers.BatchNormalization",
    "rms_norm": f"{_NOT_GN}; it has no RMS variant",
    "l2_normalize": f"{_NOT_GN}; tf.math.l2_normalize (the tensorflow column) is L2 normalization",
    "local_response_norm": f"{_NOT_GN}; tf.nn.local_response_normalization (the tensorflow column) is LRN",
}


def paper_function(spatial: tuple[str, ...]) -> str:
    """Figure 3's ``GroupNorm`` written for channels-first input with the given
    spatial axes (``("H", "W")`` gives the paper's text verbatim, bar keepdims)."""
    dims = ["N", "C", *spatial]
    grouped = ["N", "G", "C // G", *spatial]
    red = list(range(2, 3 + len(spatial)))
    one = ",".join(["1", "C"] + ["1"] * len(spatial))
    return "\n".join([
        "def GroupNorm(x, gamma, beta, G, eps=1e-5):",
        f"    # x: input features with shape [{','.join(dims)}]",
        f"    # gamma, beta: scale and offset, with shape [{one}]",
        "    # G: number of groups for GN",
        f"    {', '.join(dims)} = x.shape",
        f"    x = tf.reshape(x, [{', '.join(grouped)}])",
        f"    mean, var = tf.nn.moments(x, {red}, keepdims=True)",
        "    x = (x - mean) / tf.sqrt(var + eps)",
        f"    x = tf.reshape(x, [{', '.join(dims)}])",
        "    return x * gamma + beta",
    ])


class GNPaper(Adapter):
    name = "gn-paper"
    ops = frozenset({"group_norm"})
    missing_ops = _REASONS
    mask_apis = {"group_norm": "The GN paper's Figure 3 GroupNorm(x, gamma, beta, G, eps)"}
    dtypes = frozenset({"float16", "bfloat16", "float32", "float64"})
    checks = frozenset({"forward", "backward"})
    #: the paper's function signature: GroupNorm(x, gamma, beta, G, eps=1e-5)
    default_epsilons = {"group_norm": (1e-5, "def GroupNorm(x, gamma, beta, G, eps=1e-5):",
                                       "Wu & He, Group Normalization (arXiv:1803.08494), Figure 3")}

    def versions(self):
        return {"tensorflow": tf.__version__}

    # -- code generation ------------------------------------------------------
    def code(self, case) -> str:
        fwd = self.forward_code(case)
        if case.check != "backward":
            return fwd
        if case.affine == "none":
            return tape_code(fwd, ["x"], {})
        return tape_code(fwd, ["x", "gamma", "beta"], {"dgamma": "gamma", "dbeta": "beta"})

    def forward_code(self, case) -> str:
        lay = Layout(case.layout)
        target = channels_first(lay.name)
        spatial = tuple(target[2:])
        C = case.size[lay.channel]
        lines = [paper_function(spatial), ""]
        pshape = fmt([1, C] + [1] * len(spatial))
        eps = "".join(", " + k for k in eps_kw(case, "eps"))
        if case.affine == "none":
            lines.append("# no affine transform: the paper's code always applies one, so pass 1 and 0")
            g = f"tf.ones({pshape}, tf.{case.dtype})"
            b = f"tf.zeros({pshape}, tf.{case.dtype})"
        else:
            g = f"tf.reshape(gamma, {pshape})"
            b = f"tf.reshape(beta, {pshape})"
        if target != lay.name:
            fwd = list(permutation(lay.name, target))
            back = list(permutation(target, lay.name))
            names = f"{lay.batch} as N, {lay.channel} as C" if (lay.batch, lay.channel) != ("N", "C") else ""
            lines.append(f"# {lay.name} -> {target}: the paper's code takes channels first"
                         + (f" ({names})" if names else ""))
            lines.append(f"xt = tf.transpose(x, {fwd})")
            lines.append(f"y = tf.transpose(GroupNorm(xt, {g}, {b}, G={case.groups}{eps}), {back})")
        else:
            lines.append(f"y = GroupNorm(x, {g}, {b}, G={case.groups}{eps})")
        return "\n".join(lines)

    def repro(self, case) -> dict:
        return tf_repro(case, self.code(case))

    def run(self, case, inputs) -> Output:
        return run_tf(self.name, self.code(case), inputs)
