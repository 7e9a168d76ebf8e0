"""Haiku: the ``hk.LayerNorm``, ``hk.RMSNorm``, ``hk.GroupNorm``, ``hk.InstanceNorm`` and
``hk.BatchNorm`` modules, inside ``hk.transform`` (``hk.transform_with_state`` for BatchNorm).

* ``LayerNorm``/``RMSNorm`` take ``axis`` (the normalized axes) and ``param_axis`` (the axes the
  scale and offset span; Haiku's default is the last axis alone), so the case's axes are passed as
  ``axis`` and its affine axes as ``param_axis`` in every layout: no transpose is needed.
* ``GroupNorm``, ``InstanceNorm`` and ``BatchNorm`` take ``data_format`` (``channels_first`` or
  ``channels_last``): the layout's channel position is named, no transpose.
* ``BatchNorm`` has no default ``decay_rate`` (a required argument): a forward cell passes 0.99 (the
  output of a training step does not depend on it), a running-statistics cell ``1 - momentum`` (Haiku's
  decay weights the old value). Its training step normalizes with the one-pass variance
  ``E[x**2] - E[x]**2`` (not clipped), and its moving averages are ``hk.ExponentialMovingAverage`` with
  their default ``zero_debias=True``.

Modules are created inside the transformed function with ``name="norm"``; the parameters come from
``init`` and, for ``affine: random`` (or given values), gamma/beta replace them (reshaped to the
parameter's shape: Haiku keeps ``(C,)`` for a last-axis parameter and a broadcastable shape with 1s
otherwise). Every call passes ``eps`` (all Haiku modules default to 1e-5). Parameters take the input's
dtype, and the statistics are computed in it (``jnp.mean``/``jnp.var`` accumulate half precision in
float32).

Each call is written out as source code and that very source is executed, so the recorded snippet is
exactly what ran. It expects ``x`` (and ``gamma``/``beta``) as ``jax.Array`` in the case's layout and
dtype, and leaves ``y`` in the same layout. The modules run on the CPU (see
:mod:`harness.adapters.jax_adapter`, which also turns on x64 for float64).
"""
from __future__ import annotations

import haiku

from harness.ops.layouts import Layout

from .base import eps_kw, option_kw
from .jax_adapter import JaxBase, axis_arg

_SRC = "https://github.com/google-deepmind/dm-haiku/blob/v0.0.17/haiku/_src/{}.py"
_CLASSES = {"batch_norm": "BatchNorm", "layer_norm": "LayerNorm", "layer_norm_no_bias": "LayerNorm",
            "group_norm": "GroupNorm", "instance_norm": "InstanceNorm", "rms_norm": "RMSNorm"}
#: the docstrings' own words for each module's eps (Haiku 0.0.17)
DEFAULT_EPSILONS = {
    "batch_norm": (1e-5, "eps: Small epsilon to avoid division by zero variance. Defaults 1e-5, as in the paper "
                         "and Sonnet.", _SRC.format("batch_norm")),
    "layer_norm": (1e-5, "eps: Small epsilon to avoid division by zero variance. Defaults 1e-5, as in the paper "
                         "and Sonnet.", _SRC.format("layer_norm")),
    "layer_norm_no_bias": (1e-5, "eps: Small epsilon to avoid division by zero variance. Defaults 1e-5, as in "
                                 "the paper and Sonnet.", _SRC.format("layer_norm")),
    "group_norm": (1e-5, "eps: Small epsilon to add to the variance to avoid division by zero. Defaults to 1e-5.",
                   _SRC.format("group_norm")),
    "instance_norm": (1e-5, "eps: Small epsilon to avoid division by zero variance. Defaults to 1e-5.",
                      _SRC.format("layer_norm")),
    "rms_norm": (1e-5, "eps: Small epsilon to avoid division by zero variance. Defaults to 1e-5.",
                 _SRC.format("rms_norm")),
}


class Haiku(JaxBase):
    name = "haiku"
    ops = frozenset(_CLASSES)
    checks = frozenset({"forward", "backward", "running_stats", "inference"})
    takes_momentum = True
    default_epsilons = DEFAULT_EPSILONS
    decoupled_affine = True  # LayerNorm/RMSNorm take param_axis apart from axis
    #: hk.LayerNorm(..., use_fast_variance=False); InstanceNorm does not pass it on
    options = {"layer_norm": frozenset({"use_fast_variance"}), "layer_norm_no_bias": frozenset({"use_fast_variance"})}
    nn_module = haiku
    nn_name = "hk"
    nn_import = "import haiku as hk"
    missing_ops = {
        "l2_normalize": ("Haiku has no L2-normalization module; a user writes "
                         "x / jnp.maximum(jnp.linalg.norm(x, axis=..., keepdims=True), eps)"),
        "local_response_norm": ("Haiku has no local response normalization; torch.nn.LocalResponseNorm, "
                                "tf.nn.local_response_normalization and ONNX LRN have it"),
    }
    _no_stats = "hk.InstanceNorm keeps no running statistics: it normalizes with each instance's own statistics"
    missing_checks = {
        "cumulative": "hk.BatchNorm has no cumulative average: decay_rate is a number (hk.ExponentialMovingAverage)",
        ("instance_norm", "running_stats"): _no_stats, ("instance_norm", "inference"): _no_stats,
        ("instance_norm", "momentum"): "hk.InstanceNorm takes no momentum (it keeps no running statistics)",
    }

    def versions(self):
        return {"dm-haiku": haiku.__version__, **super().versions()}

    def repro(self, case) -> dict:
        return {**super().repro(case), "versions": "{'dm-haiku': hk.__version__, 'jax': jax.__version__}"}

    def supports_case(self, case):
        lay = Layout(case.layout)
        if case.op in ("batch_norm", "group_norm", "instance_norm") and lay.index(lay.channel) not in (
                1, lay.rank - 1):
            return f"hk.{_CLASSES[case.op]} takes the channels second or last (data_format)"
        return None

    # -- code generation ------------------------------------------------------
    def module_code(self, case) -> str:
        lay = Layout(case.layout)
        cls = _CLASSES[case.op]
        affine = case.affine != "none"
        fmt_kw = f"data_format={'channels_last' if lay.channels_last else 'channels_first'!r}"
        kw = []
        if case.op in ("layer_norm", "layer_norm_no_bias", "rms_norm"):
            axes = lay.ordered(case.axes or lay.axes[-1:])
            feat = lay.ordered(case.affine_axes) if case.affine_axes else axes
            kw.append(f"axis={axis_arg(lay.indices(axes))}")
            if case.op == "rms_norm":
                kw.append(f"create_scale={affine}")
            else:
                kw += [f"create_scale={affine}", f"create_offset={affine and case.spec.bias}"]
            kw.append(f"param_axis={axis_arg(lay.indices(feat))}")
            kw += option_kw(case, "use_fast_variance")
        elif case.op == "batch_norm":
            decay = 0.99 if case.check not in ("running_stats",) and case.momentum is None else 1 - case.momentum
            kw += [f"create_scale={affine}", f"create_offset={affine}", f"decay_rate={decay!r}", fmt_kw]
        elif case.op == "group_norm":
            kw += [f"groups={case.groups}", f"create_scale={affine}", f"create_offset={affine}", fmt_kw]
        else:  # instance_norm
            kw += [f"create_scale={affine}", f"create_offset={affine}", fmt_kw]
        kw += eps_kw(case, "eps") + ["name='norm'"]
        return f"hk.{cls}({', '.join(kw)})"

    def code(self, case) -> str:
        mod = self.module_code(case)
        bn = case.op == "batch_norm"
        lines = []
        if bn:
            lines += ["def forward(x, is_training):", f"    return {mod}(x, is_training)",
                      "f = hk.without_apply_rng(hk.transform_with_state(forward))",
                      "params, state = f.init(jax.random.key(0), x, is_training=True)"]
            if case.check == "running_stats" or case.momentum is not None:
                lines[0] += f"  # decay_rate: 1 - momentum {case.momentum!r} (the weight of the new batch)"
            elif case.check != "inference":
                lines[0] += "  # decay_rate (required) does not change a training step's output"
        else:
            lines += ["def forward(x):", f"    return {mod}(x)", "f = hk.without_apply_rng(hk.transform(forward))",
                      "params = f.init(jax.random.key(0), x)"]
        if case.sets_affine:
            p = "{'scale': gamma.reshape(params['norm']['scale'].shape)"
            if case.spec.bias:
                p += ", 'offset': beta.reshape(params['norm']['offset'].shape)"
            lines.append(f"params = {{'norm': {p}}}}}")
        if case.check == "backward":
            if bn:
                lines += ["def g(x, params):", "    return f.apply(params, state, x, is_training=True)[0]"]
            else:
                lines += ["def g(x, params):", "    return f.apply(params, x)"]
            lines += ["y, vjp = jax.vjp(g, x, params)", "dx, dparams = vjp(dy)"]
            if case.affine != "none":
                lines.append("dgamma = dparams['norm']['scale'].reshape(gamma.shape)")
                if case.spec.bias:
                    lines.append("dbeta = dparams['norm']['offset'].reshape(beta.shape)")
            return "\n".join(lines)
        if not bn:
            lines.append("y = f.apply(params, x)")
            return "\n".join(lines)
        if case.check == "running_stats":
            lines += ["for batch in batches:", "    _, state = f.apply(params, state, batch, is_training=True)",
                      "y, _ = f.apply(params, state, x, is_training=False)  # the moving averages",
                      "running_mean = state['norm/~/mean_ema']['average'].reshape(-1)",
                      "running_var = state['norm/~/var_ema']['average'].reshape(-1)"]
        elif case.check == "inference":
            lines += ["# the given running statistics as the moving averages' values",
                      "shape = state['norm/~/mean_ema']['average'].shape",
                      ("state = {'norm/~/mean_ema': {**state['norm/~/mean_ema'], "
                       "'average': running_mean.reshape(shape)},"),
                      "         'norm/~/var_ema': {**state['norm/~/var_ema'], 'average': running_var.reshape(shape)}}",
                      "y, _ = f.apply(params, state, x, is_training=False)"]
        else:
            lines.append("y, state = f.apply(params, state, x, is_training=True)  # batch statistics")
        return "\n".join(lines)

