"""Equinox: ``eqx.nn.LayerNorm``, ``eqx.nn.RMSNorm``, ``eqx.nn.GroupNorm`` and ``eqx.nn.BatchNorm``.

Equinox layers act on one example: a user maps them over the batch with ``jax.vmap``.

* ``LayerNorm(shape)``/``RMSNorm(shape)`` normalize their whole input, whose shape must equal
  ``shape``: the snippet moves the normalized axes last (a transpose only where they are not
  trailing already) and wraps the layer in one ``jax.vmap`` per other axis. Their weight (and
  bias) has the normalized axes' shape, so the affine axes are always the normalized ones.
* ``GroupNorm(groups, channels)`` takes one example with the channels first, ``(C, ...)``:
  channels-last layouts are transposed (and back). Equinox has no InstanceNorm module;
  ``GroupNorm(groups=C)`` (one channel per group) is instance norm.
* ``BatchNorm(input_size, axis_name)`` keeps its running statistics outside the layer, in an
  ``eqx.nn.State`` (``eqx.nn.make_with_state``), and must run under ``jax.vmap`` with the
  matching ``axis_name``; it too takes the channels first. The ``equinox`` column passes
  ``mode="batch"`` (what the layer's warning asks new code to write); ``equinox-ema`` leaves
  ``mode`` out, i.e. the legacy default ``"ema"``. Its ``momentum`` weights the old value: a case
  momentum m (the new batch's weight) is ``1 - m`` there.

Every call passes ``eps`` (Equinox defaults to 1e-5) and ``dtype`` (the case's: with x64 on,
Equinox's own default would be float64). LayerNorm, RMSNorm and GroupNorm compute in at least
float32 and cast back; BatchNorm computes in the input's dtype. An ``affine: random`` case sets
the weight and bias with ``eqx.tree_at``; gradients are ``eqx.filter_vjp`` of the mapped call by
the input and the layer.

Each call is written out as source code and that very source is executed, so the recorded snippet is
exactly what ran. It expects ``x`` (and ``gamma``/``beta``) as ``jax.Array`` in the case's layout and
dtype, and leaves ``y`` in the same layout. The layers run on the CPU (see
:mod:`harness.adapters.jax_adapter`, which also turns on x64 for float64).
"""
from __future__ import annotations

import equinox

from harness.ops.layouts import Layout, channels_first, permutation

from .base import eps_kw, fmt
from .jax_adapter import JaxBase

_DOCS = "https://docs.kidger.site/equinox/api/nn/normalisation/"
#: Equinox's argument descriptions name no default ("eps: Value added to denominator for numerical
#: stability."): the rendered signatures of its API reference (Equinox 0.13.8) carry them
_SIG = {"layer_norm": "LayerNorm(shape, eps=1e-05, use_weight=True, use_bias=True, ...)",
        "rms_norm": "RMSNorm(shape, eps=1e-05, use_weight=True, use_bias=True, ...)",
        "group_norm": "GroupNorm(groups, channels=None, eps=1e-05, channelwise_affine=True, ...)",
        "batch_norm": "BatchNorm(input_size, axis_name, eps=1e-05, channelwise_affine=True, momentum=0.99, ...)"}
_SIG["layer_norm_no_bias"] = _SIG["layer_norm"]
_SIG["instance_norm"] = _SIG["group_norm"] + " (groups=C)"
DEFAULT_EPSILONS = {op: (1e-5, sig, _DOCS) for op, sig in _SIG.items()}
_CLASSES = {"batch_norm": "BatchNorm", "layer_norm": "LayerNorm", "layer_norm_no_bias": "LayerNorm",
            "group_norm": "GroupNorm", "instance_norm": "GroupNorm", "rms_norm": "RMSNorm"}


def _vmapped(call: str, depth: int) -> str:
    for _ in range(depth):
        call = f"jax.vmap({call})"
    return call


class Equinox(JaxBase):
    name = "equinox"
    ops = frozenset(_CLASSES)
    checks = frozenset({"forward", "backward", "running_stats", "inference"})
    takes_momentum = True
    default_epsilons = DEFAULT_EPSILONS
    nn_module = equinox
    nn_name = "eqx"
    nn_import = "import equinox as eqx"
    #: BatchNorm's mode argument; None leaves it out (the legacy default, "ema")
    bn_mode: str | None = "batch"
    missing_ops = {
        "l2_normalize": ("Equinox has no L2-normalization layer; a user writes "
                         "x / jnp.maximum(jnp.linalg.norm(x, axis=..., keepdims=True), eps)"),
        "local_response_norm": ("Equinox has no local response normalization; torch.nn.LocalResponseNorm, "
                                "tf.nn.local_response_normalization and ONNX LRN have it"),
    }
    _no_stats = ("eqx.nn.GroupNorm(groups=C) (Equinox's instance norm) keeps no running statistics: it normalizes "
                 "with each instance's own statistics")
    missing_checks = {
        "cumulative": "eqx.nn.BatchNorm has no cumulative average: its momentum is a number",
        ("instance_norm", "running_stats"): _no_stats, ("instance_norm", "inference"): _no_stats,
        ("instance_norm", "momentum"): "eqx.nn.GroupNorm takes no momentum (it keeps no running statistics)",
    }

    def versions(self):
        return {"equinox": equinox.__version__, **super().versions()}

    def repro(self, case) -> dict:
        return {**super().repro(case), "versions": "{'equinox': eqx.__version__, 'jax': jax.__version__}"}

    def supports_case(self, case):
        if case.op in ("layer_norm", "layer_norm_no_bias", "rms_norm") and case.affine_axes \
                and set(case.affine_axes) != set(case.axes or Layout(case.layout).axes[-1:]):
            return (f"eqx.nn.{_CLASSES[case.op]}'s weight has the shape of its input (the normalized axes); "
                    f"it cannot span {case.affine_axes} alone")
        return None

    # -- code generation ------------------------------------------------------
    def code(self, case) -> str:
        lay = Layout(case.layout)
        dt = f"jnp.{case.dtype}"
        affine = case.affine != "none"
        lines = []
        xin, back = "x", ""
        if case.op in ("layer_norm", "layer_norm_no_bias", "rms_norm"):
            axes = lay.ordered(case.axes or lay.axes[-1:])
            others = tuple(a for a in lay.axes if a not in axes)
            order = "".join(others + axes)
            if order != lay.name:
                perm = tuple(lay.index(a) for a in order)
                inv = tuple(order.index(a) for a in lay.axes)
                lines.append(f"# the normalized axes {''.join(axes)} last: the layer takes them as its whole input")
                lines.append(f"xt = x.transpose{fmt(perm)}")
                xin, back = "xt", f".transpose{fmt(inv)}"
            shape = tuple(case.size[a] for a in axes)
            kw = [fmt(shape)] + eps_kw(case, "eps") + [f"use_weight={affine}",
                                                        f"use_bias={affine and case.spec.bias}", f"dtype={dt}"]
            lines.append(f"m = eqx.nn.{_CLASSES[case.op]}({', '.join(kw)})")
            depth = len(others)
        else:
            C = case.size[lay.channel]
            if lay.channels_last and lay.rank > 2:
                target = channels_first(lay.name)
                lines.append(f"# {lay.name} -> {target}: Equinox takes one example with the channels first")
                lines.append(f"xt = x.transpose{fmt(permutation(lay.name, target))}")
                xin, back = "xt", f".transpose{fmt(permutation(target, lay.name))}"
            depth = 1
            if case.op == "batch_norm":
                kw = [f"input_size={C}", "axis_name='batch'"] + eps_kw(case, "eps") + [f"channelwise_affine={affine}"]
                if case.momentum is not None:
                    kw.append(f"momentum={1 - case.momentum!r}")
                kw.append(f"dtype={dt}")
                if self.bn_mode:
                    kw.append(f"mode={self.bn_mode!r}")
                mom = f"  # momentum {case.momentum!r} weighting the new batch" if case.momentum is not None else ""
                lines.append(f"m, state = eqx.nn.make_with_state(eqx.nn.BatchNorm)({', '.join(kw)}){mom}")
            else:
                groups = C if case.op == "instance_norm" else case.groups
                if case.op == "instance_norm":
                    lines.append("# instance norm: GroupNorm with one channel per group")
                kw = [f"groups={groups}", f"channels={C}"] + eps_kw(case, "eps") + [f"channelwise_affine={affine}",
                                                                                   f"dtype={dt}"]
                lines.append(f"m = eqx.nn.GroupNorm({', '.join(kw)})")
        if case.sets_affine:
            if case.spec.bias:
                lines.append("m = eqx.tree_at(lambda m: (m.weight, m.bias), m, (gamma, beta))")
            else:
                lines.append("m = eqx.tree_at(lambda m: m.weight, m, gamma)")
        if case.op == "batch_norm":
            return "\n".join(lines + self._batch_norm(case, xin, back))
        call = _vmapped("m", depth)
        if case.check == "backward":
            lines += ["def f(x, m):"] + ([f"    {ln}" for ln in lines if ln.startswith("xt = ")]) + [
                f"    return {_vmapped('m', depth)}({xin}){back}",
                "y, vjp = eqx.filter_vjp(f, x, m)", "dx, dm = vjp(dy)"]
            if affine:
                lines.append("dgamma = dm.weight")
                if case.spec.bias:
                    lines.append("dbeta = dm.bias")
            return "\n".join(lines)
        lines.append(f"y = {call}({xin}){back}")
        return "\n".join(lines)

    def _batch_norm(self, case, xin, back) -> list[str]:
        bn = "jax.vmap(m, axis_name='batch', in_axes=(0, None), out_axes=(0, None))"
        if case.check == "backward":
            prep = []
            if xin == "xt":
                lay = Layout(case.layout)
                prep = [f"    xt = x.transpose{fmt(permutation(lay.name, channels_first(lay.name)))}"]
            out = ["def f(x, m):"] + prep + [f"    return {bn}({xin}, state)[0]{back}",
                                                   "y, vjp = eqx.filter_vjp(f, x, m)", "dx, dm = vjp(dy)"]
            if case.affine != "none":
                out += ["dgamma = dm.weight", "dbeta = dm.bias"]
            return out
        if case.check == "running_stats":
            lay = Layout(case.layout)
            bt = ""
            if xin == "xt":
                bt = f".transpose{fmt(permutation(lay.name, channels_first(lay.name)))}"
            step = f"    _, state = {bn}(batch{bt}, state)  # batch statistics, running ones updated"
            out = ["for batch in batches:", step,
                   f"y, _ = {bn.replace('(m,', '(eqx.nn.inference_mode(m),')}({xin}, state)"] \
                + ([f"y = y{back}"] if back else [])
            if self.bn_mode == "batch":
                out += ["# mode='batch' keeps zero-debiased averages: what inference normalizes with",
                        "counter = state.get(m.batch_counter)",
                        "hidden_mean, hidden_var = state.get(m.batch_state_index)",
                        "scale = jnp.where(counter == 0, 1, 1 - m.momentum ** counter)",
                        "running_mean, running_var = hidden_mean / scale, hidden_var / scale"]
            else:
                out.append("running_mean, running_var = state.get(m.ema_state_index)")
            return out
        if case.check == "inference":
            if self.bn_mode == "batch":
                out = ["# the given running statistics (no training step yet: inference divides them by 1)",
                       "state = state.set(m.batch_state_index, (running_mean, running_var))"]
            else:
                out = ["state = state.set(m.ema_state_index, (running_mean, running_var))  # the given statistics"]
            out.append(f"y, _ = {bn.replace('(m,', '(eqx.nn.inference_mode(m),')}({xin}, state)")
            return out + ([f"y = y{back}"] if back else [])
        return [f"y, state = {bn}({xin}, state)  # batch statistics"] + ([f"y = y{back}"] if back else [])


class EquinoxEMA(Equinox):
    name = "equinox-ema"
    ops = frozenset({"batch_norm"})
    bn_mode = None
    missing_ops = {op: "equinox-ema is eqx.nn.BatchNorm's default mode alone; the equinox column runs every layer"
                   for op in ("layer_norm", "layer_norm_no_bias", "rms_norm", "group_norm", "instance_norm",
                              "l2_normalize", "local_response_norm")}
