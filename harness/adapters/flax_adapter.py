"""Flax: ``flax.linen`` and ``flax.nnx`` normalization modules.

Both APIs share one set of semantics, so one code generator serves both:

* ``LayerNorm``/``RMSNorm`` take ``reduction_axes`` and ``feature_axes``; the
  case's axes are passed as both (statistics and affine over the same axes),
  so no transpose is needed for any layout.
* ``BatchNorm`` takes the feature ``axis`` and ``InstanceNorm`` takes
  ``feature_axes``: the channel axis is passed, whatever its position.
  BatchNorm runs in training mode (``use_running_average=False``; linen with
  ``mutable=['batch_stats']``), as a user would, so batch statistics are used.
* ``GroupNorm`` always treats the last axis as the channels: channels-first
  layouts are transposed to channels-last and back, as a user must write.

Every call passes ``epsilon`` (Flax defaults to 1e-6 for most modules) and
``dtype``/``param_dtype`` (the case dtype) explicitly. Everything else keeps
Flax's defaults as a user would, in particular ``use_fast_variance=True``
(``var = E[x**2] - E[x]**2``, clipped at 0) and, in linen,
``force_float32_reductions=True`` (statistics in at least float32).

A case with a framework option ``use_fast_variance`` passes it to the module.

An ``affine: random`` case (or one with given values) loads gamma/beta into the module's parameters:
linen through the ``params`` collection passed to ``apply``, nnx by assigning
``m.scale[...]``/``m.bias[...]``. nnx parameters are 1-d of length
``num_features`` (the product of the feature axes' sizes), so multi-axis
gamma/beta are flattened.

Each call is written out as source code and that very source is executed, so
the recorded snippet is exactly what ran. The snippet expects ``x`` (and
``gamma``/``beta`` when the case has an affine transform) as ``jax.Array`` in
the case's layout and dtype, and leaves the result in ``y`` in the same layout.
The modules run on the CPU (see :mod:`harness.adapters.jax_adapter`).
"""
from __future__ import annotations

import math

import flax
import flax.linen
import flax.nnx

from harness.ops.layouts import Layout, channels_last, permutation

from .base import eps_kw, fmt, option_kw

_SRC = "https://github.com/google/flax/blob/v0.12.8/flax/{}/normalization.py"


def _defaults(api: str) -> dict:
    """The documented defaults of Flax 0.12 (the signatures: the docstrings name no value)."""
    src = _SRC.format(api)
    sig = "epsilon: float = {:g}"
    return {op: (1e-5 if op == "batch_norm" else 1e-6, f"{cls}(..., {sig.format(1e-5 if op == 'batch_norm' else 1e-6)})",
                 src) for op, cls in _CLASSES.items()}

from .jax_adapter import JaxBase, axis_arg

_CLASSES = {"batch_norm": "BatchNorm", "layer_norm": "LayerNorm", "layer_norm_no_bias": "LayerNorm",
            "group_norm": "GroupNorm",
            "instance_norm": "InstanceNorm", "rms_norm": "RMSNorm"}


class _Flax(JaxBase):
    ops = frozenset(_CLASSES)
    masks = frozenset(_CLASSES)  # every module's __call__ takes mask=
    #: every Flax normalization module takes use_fast_variance (RMSNorm too, where it changes nothing)
    options = {op: frozenset({"use_fast_variance"}) for op in _CLASSES}
    checks = frozenset({"forward", "backward", "running_stats", "inference"})
    takes_momentum = True
    api = ""  # "linen" or "nnx"

    @property
    def missing_checks(self):
        why = (f"flax.{self.api}.InstanceNorm keeps no running statistics: it normalizes with each instance's own "
               "statistics")
        return {"cumulative": f"flax.{self.api}.BatchNorm has no cumulative average: its momentum is a number "
                              "(ra = momentum * ra + (1 - momentum) * batch)",
                ("instance_norm", "running_stats"): why, ("instance_norm", "inference"): why,
                ("instance_norm", "momentum"): f"flax.{self.api}.InstanceNorm takes no momentum (it keeps no running "
                                               "statistics)"}
    decoupled_affine = True  # LayerNorm/RMSNorm take feature_axes apart from reduction_axes
    group_axes = True  # GroupNorm takes reduction_axes

    def versions(self):
        return {"flax": flax.__version__, **super().versions()}

    def repro(self, case) -> dict:
        return {**super().repro(case), "versions": "{'flax': flax.__version__, 'jax': jax.__version__}"}

    def supports_case(self, case):
        cls = _CLASSES[case.op]
        if not hasattr(self.nn_module, cls):
            return f"flax {flax.__version__} flax.{self.api} has no {cls}"
        return None

    # -- code generation ------------------------------------------------------
    def code(self, case) -> str:
        lay = Layout(case.layout)
        sizes = case.size
        dt = f"jnp.{case.dtype}"
        cls = _CLASSES[case.op]
        c = lay.index(lay.channel)
        C = sizes[lay.channel]
        lines = []
        xin, back = "x", ""
        if case.op in ("layer_norm", "layer_norm_no_bias", "rms_norm"):
            axes = lay.ordered(case.axes or lay.axes[-1:])
            feat = lay.ordered(case.affine_axes) if case.affine_axes else axes
            kw = [f"reduction_axes={axis_arg(lay.indices(axes))}", f"feature_axes={axis_arg(lay.indices(feat))}"]
            nfeat = math.prod(sizes[a] for a in feat)
            multi = len(feat) > 1
        else:
            nfeat, multi = C, False
            if case.op == "batch_norm":
                kw = [f"use_running_average={case.check == 'inference'}", f"axis={c}"]
                if case.momentum is not None and case.check != "running_stats":
                    kw.append(f"momentum={1 - case.momentum!r}")  # the case's momentum weights the new batch
            elif case.op == "instance_norm":
                kw = [f"feature_axes={c}"]
            else:  # group_norm: channels must be the last axis
                kw = [f"num_groups={case.groups}", "group_size=None"]
                target = lay.name
                if not lay.channels_last:
                    target = channels_last(lay.name)
                    lines.append(f"# {lay.name} -> {target}: Flax GroupNorm wants channels last")
                    lines.append(f"xt = x.transpose{fmt(permutation(lay.name, target))}")
                    xin, back = "xt", f".transpose{fmt(permutation(target, lay.name))}"
                if case.axes:  # statistics over these axes (the channels last among them)
                    red = [target.index(a) - len(target) for a in Layout(target).ordered(case.axes)]
                    kw.append(f"reduction_axes={red[0] if len(red) == 1 else fmt(tuple(red))}")
        kw += eps_kw(case, "epsilon") + option_kw(case, "use_fast_variance")
        kw += [f"dtype={dt}", f"param_dtype={dt}"]
        has_bias, api_bias = case.spec.bias, cls != "RMSNorm"  # RMSNorm takes no use_bias
        if case.affine == "none":
            kw += (["use_bias=False"] if api_bias else []) + ["use_scale=False"]
        elif api_bias and not has_bias:
            kw += ["use_bias=False"]
        setp = case.sets_affine

        if case.check == "running_stats":
            kw = [k for k in kw if not k.startswith("use_running_average")]
            kw.insert(1, f"momentum={1 - case.momentum!r}")
        if self.api == "linen":
            lines.append(f"m = nn.{cls}({', '.join(kw)})" + (f"  # momentum {case.momentum!r} weighting the new batch"
                                                            if case.check == "running_stats" else ""))
            init_kw = ", use_running_average=False" if case.check == "running_stats" else ""
            lines.append(f"variables = m.init(jax.random.key(0), {xin}{init_kw})")
            if setp:
                params = "{'scale': gamma, 'bias': beta}" if has_bias else "{'scale': gamma}"
                lines.append(f"variables = {{**variables, 'params': {params}}}")
        else:
            lines.append(f"m = nn.{cls}({nfeat}, {', '.join(kw)}, rngs=nn.Rngs(0))"
                         + (f"  # momentum {case.momentum!r} weighting the new batch"
                            if case.check == "running_stats" else ""))
            if setp:
                flat = ".reshape(-1)" if multi else ""
                if multi:
                    lines.append(f"# nnx keeps one 1-d parameter of num_features={nfeat} entries")
                lines.append(f"m.scale[...] = gamma{flat}")
                if has_bias:
                    lines.append(f"m.bias[...] = beta{flat}")
        if case.check == "backward":
            return "\n".join(lines + self._backward(case, xin, back, has_bias, multi,
                                                     [ln for ln in lines if ln.startswith("xt = ")]))
        if case.check == "running_stats":
            return "\n".join(lines + self._running(case, xin, back))
        mk = ""
        if case.mask:
            lines += self._mask_lines(case, xin)
            mk = ", mask=mask_x"
        if case.check == "inference":
            if self.api == "linen":
                lines += ["# the given running statistics",
                          "variables = {**variables, 'batch_stats': {'mean': running_mean, 'var': running_var}}",
                          f"y = m.apply(variables, {xin}){back}"]
            else:
                lines += ["m.mean[...] = running_mean  # the given running statistics", "m.var[...] = running_var",
                          f"y = m({xin}){back}"]
            return "\n".join(lines)
        if self.api == "linen":
            if case.op == "batch_norm":
                lines.append(f"y, updates = m.apply(variables, {xin}{mk}, mutable=['batch_stats'])")
                if back:
                    lines.append(f"y = y{back}")
            else:
                lines.append(f"y = m.apply(variables, {xin}{mk}){back}")
        else:
            lines.append(f"y = m({xin}{mk}){back}")
        return "\n".join(lines)

    @staticmethod
    def _mask_lines(case, xin) -> list[str]:
        """``mask`` (True at the positions whose statistics count: x's shape without the channel axis) as
        the module's ``mask`` argument: broadcastable to the input, the channel axis added; GroupNorm
        reshapes its mask into (..., groups, channels per group), so there it has the input's full shape."""
        lay = Layout(case.layout)
        if case.op == "group_norm":  # xin is channels-last here
            return ["# GroupNorm reshapes the mask to (..., groups, group_size): give it the input's full shape",
                    f"mask_x = jnp.broadcast_to(mask[..., None], {xin}.shape)"]
        c = lay.index(lay.channel)
        if lay.channels_last:
            return ["mask_x = mask[..., None]  # the channel axis: broadcast over the features"]
        return [f"mask_x = jnp.expand_dims(mask, {c})  # the channel axis: broadcast over the features"]

    def _backward(self, case, xin, back, has_bias, multi, prep) -> list[str]:
        """jax.vjp of the module's output by x and its parameters (dy: the upstream gradient)."""
        # inside f the input is transposed again, from f's own x
        pre = ["    " + ln for ln in prep]
        out = []
        if self.api == "linen":
            mut = ", mutable=['batch_stats'])[0]" if case.op == "batch_norm" else ")"
            out += ["def f(x, params):"] + pre + [f"    return m.apply({{**variables, 'params': params}}, {xin}{mut}{back}",
                    "y, vjp = jax.vjp(f, x, variables.get('params', {}))", "dx, dparams = vjp(dy)"]
            get = "dparams[{!r}]"
        else:
            out += ["graphdef, params, rest = nn.split(m, nn.Param, ...)",
                    "# copy=True: fresh variables inside the trace (BatchNorm writes its batch statistics)",
                    "def f(x, params):"] + pre + [
                    f"    return nn.merge(graphdef, params, rest, copy=True)({xin}){back}",
                    "y, vjp = jax.vjp(f, x, params)", "dx, dparams = vjp(dy)"]
            get = "dparams[{!r}][...]"
        shape = "" if not multi else ".reshape(gamma.shape)"
        if case.affine != "none":
            out.append(f"dgamma = {get.format('scale')}{shape}")
            if has_bias:
                out.append(f"dbeta = {get.format('bias')}{shape}")
        return out

    def _running(self, case, xin, back) -> list[str]:
        """Train BatchNorm on ``batches`` (batch statistics), then normalize x with the running averages."""
        if self.api == "linen":
            return ["for batch in batches:",
                    "    _, updates = m.apply(variables, batch, use_running_average=False, mutable=['batch_stats'])",
                    "    variables = {**variables, **updates}",
                    f"y = m.apply(variables, {xin}, use_running_average=True){back}",
                    "running_mean = variables['batch_stats']['mean']",
                    "running_var = variables['batch_stats']['var']"]
        return ["for batch in batches:", "    m(batch, use_running_average=False)",
                f"y = m({xin}, use_running_average=True){back}",
                "running_mean, running_var = m.mean[...], m.var[...]"]


class FlaxLinen(_Flax):
    name = "flax-linen"
    api = "linen"
    default_epsilons = _defaults("linen")
    nn_module = flax.linen
    nn_import = "import flax\nimport flax.linen as nn"


class FlaxNNX(_Flax):
    name = "flax-nnx"
    api = "nnx"
    default_epsilons = _defaults("nnx")
    nn_module = flax.nnx
    nn_import = "import flax\nfrom flax import nnx as nn"
