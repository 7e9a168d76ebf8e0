"""JAX core: ``jax.nn.standardize`` and plain ``jax.numpy``.

Core JAX has one normalization function, ``jax.nn.standardize(x, axis,
epsilon)`` (zero mean, unit biased variance over ``axis``). Batch, layer and
instance norm are that function with the right ``axis``; group norm is that
function on the input reshaped so that the channel axis is split into
(groups, channels per group), which is how a user writes it. The affine
transform is written out by the user: ``y * gamma + beta``. Core JAX has no
RMS norm (``standardize`` always centres), so ``rms_norm`` is unsupported.

``standardize`` is called with its defaults (``algorithm="fast"``, i.e.
``var = mean(x**2) - mean(x)**2`` clipped at 0), as a user would, unless the
case passes the framework option ``algorithm`` (``"stable"``: the two-pass
``mean((x - mean(x))**2)``).

Each call is written out as source code and that very source is executed, so
the recorded snippet is exactly what ran. The snippet expects ``x`` (and
``gamma``/``beta`` when the case has an affine transform) as ``jax.Array`` in
the case's layout and dtype, already on the adapter's device, and leaves the
result in ``y`` in the same layout. The adapter places the inputs on its
device (the CPU for ``jax``, the first GPU for ``jax-gpu``) and runs the
snippet under ``jax.default_device`` of that device.

float64 needs x64 mode, which is switched on when this module is imported
(the adapter runs in its own worker process, so nothing else sees it).
"""
from __future__ import annotations

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import jaxlib  # noqa: E402
import numpy as np  # noqa: E402

from harness.ops.layouts import Layout  # noqa: E402

from .base import Adapter, Output, eps_kw, fmt, option_kw, run_snippet  # noqa: E402


def axis_arg(idx) -> str:
    """An axis argument for a snippet: an int for one axis, else a tuple."""
    idx = tuple(int(i) for i in idx)
    return str(idx[0]) if len(idx) == 1 else fmt(idx)


def affine_operand(name: str, lay: Layout, affine_axes, sizes) -> str:
    """``gamma`` (or ``beta``) as it must be written to broadcast against x.

    gamma/beta have the sizes of the affine axes in layout order; when those
    axes are the trailing axes of the layout they broadcast as they are,
    otherwise the user reshapes them with 1s for the other axes."""
    ordered = lay.ordered(affine_axes)
    if lay.axes[len(lay.axes) - len(ordered):] == ordered:
        return name
    bshape = tuple(sizes[a] if a in ordered else 1 for a in lay.axes)
    return f"{name}.reshape{fmt(bshape)}"


class JaxBase(Adapter):
    """Device placement, versions and the exec of a generated snippet."""

    dtypes = frozenset({"float16", "bfloat16", "float32", "float64"})
    platform = "cpu"
    nn_module = None  # what the snippet sees as ``nn`` (as ``nn_name``)
    nn_name = "nn"
    #: JAX and Flax have neither L2 nor local response normalization (flax.linen.normalize is an old name of
    #: jax.nn.standardize, which centres and scales by the standard deviation)
    missing_ops = {
        "l2_normalize": ("JAX and Flax have no L2-normalization function or module (jax.nn, flax.linen, flax.nnx; "
                         "flax.linen.normalize is jax.nn.standardize); a user writes "
                         "x / jnp.maximum(jnp.linalg.norm(x, axis=..., keepdims=True), eps)"),
        "local_response_norm": ("JAX and Flax have no local response normalization (jax.nn, flax.linen, flax.nnx); "
                                "torch.nn.LocalResponseNorm, tf.nn.local_response_normalization and ONNX LRN have it"),
    }

    def _devices(self):
        try:
            return jax.devices(self.platform)
        except RuntimeError:
            return []

    def unavailable(self):
        if not self._devices():
            return f"no {self.platform.upper()} device visible to JAX"
        return None

    def versions(self):
        v = {"jax": jax.__version__, "jaxlib": jaxlib.__version__}
        if self.platform != "cpu":
            devs = self._devices()
            if devs:
                v["device"] = str(getattr(devs[0], "device_kind", devs[0]))
        return v

    def code(self, case) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    #: how the snippet's ``nn`` is imported in a reproducer
    nn_import = ""

    def repro(self, case) -> dict:
        conv = "jnp.asarray(a, dtype=jnp.bfloat16)" if case.dtype == "bfloat16" else "jnp.asarray(a)"
        imports = ["import jax", "jax.config.update('jax_enable_x64', True)  # as the adapter does",
                   "import jax.numpy as jnp"] + ([self.nn_import] if self.nn_import else [])
        imports.append(f"DEVICE = jax.devices({self.platform!r})[0]")
        return {"imports": "\n".join(imports), "to_framework": f"jax.device_put({conv}, DEVICE)",
                "to_numpy": "np.asarray(jax.block_until_ready(y)).astype(np.float64)",
                "context": "jax.default_device(DEVICE)", "versions": "{'jax': jax.__version__}",
                "call": self.code(case)}

    def run(self, case, inputs) -> Output:
        src = self.code(case)
        dev = self._devices()[0]

        def put(a):
            return None if a is None else jax.device_put(jnp.asarray(a), dev)

        ns = {"jax": jax, "jnp": jnp, "np": np, self.nn_name: self.nn_module,
              "x": put(inputs.x), "gamma": put(inputs.gamma), "beta": put(inputs.beta),
              "mask": put(getattr(inputs, "mask", None)),
              "dy": put(getattr(inputs, "dy", None)), "batches": [put(b) for b in getattr(inputs, "batches", ())],
              "running_mean": put(getattr(inputs, "running_mean", None)),
              "running_var": put(getattr(inputs, "running_var", None))}
        with jax.default_device(dev):
            run_snippet(self.name, src, ns)
        main = "dx" if case.check == "backward" else "y"
        names = ("dgamma", "dbeta") if case.check == "backward" else \
            ("running_mean", "running_var") if case.check == "running_stats" else ()
        arrays = {k: np.asarray(jax.block_until_ready(ns[k])) for k in names if ns.get(k) is not None}
        info = {"momentum_argument": "old_value"} if case.check == "running_stats" else {}  # Flax's decay rate
        return Output(np.asarray(jax.block_until_ready(ns[main])), src, arrays=arrays, info=info)


class JaxNN(JaxBase):
    name = "jax"
    ops = frozenset({"batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm"})
    decoupled_affine = True  # the user writes the affine transform
    group_axes = True  # the user picks the reduced axes of the grouped array
    nn_module = jax.nn
    nn_import = "from jax import nn"
    masks = frozenset({"batch_norm", "layer_norm", "group_norm", "instance_norm"})  # standardize(where=)
    #: jax.nn.standardize(..., *, algorithm="fast" | "stable")
    options = {op: frozenset({"algorithm"}) for op in ("batch_norm", "layer_norm", "group_norm", "instance_norm")}
    default_epsilons = {op: (1e-5, "def standardize(x, axis=-1, mean=None, variance=None, epsilon=1e-5, ...)",
                             "https://github.com/jax-ml/jax/blob/jax-v0.10.2/jax/_src/nn/functions.py")
                        for op in ("batch_norm", "layer_norm", "group_norm", "instance_norm")}

    def supports_case(self, case):
        if case.op == "rms_norm" and not hasattr(jax.nn, "rms_norm"):
            return (f"JAX {jax.__version__} core has no RMS norm (jax.nn.standardize always centres); "
                    "use flax.linen.RMSNorm or flax.nnx.RMSNorm")
        return None

    # jax.nn keeps no running statistics; standardize takes given ones (inference)
    checks = frozenset({"forward", "backward", "inference"})
    stats_ops = frozenset({"batch_norm", "instance_norm"})
    takes_momentum = False
    missing_checks = {"running_stats": "jax.nn.standardize keeps no state, so there are no running statistics to "
                                       "check; use flax.linen.BatchNorm or flax.nnx.BatchNorm",
                      "momentum": "jax.nn.standardize takes no momentum (it keeps no running statistics)"}

    def code(self, case) -> str:
        fwd = self.forward_code(case)
        if case.check != "backward":
            return fwd
        params = [] if case.affine == "none" else ["gamma", "beta"]
        leaves = ["x"] + params
        return "\n".join([f"def f({', '.join(leaves)}):"] + ["    " + ln for ln in fwd.splitlines()]
                          + ["    return y", f"y, vjp = jax.vjp(f, {', '.join(leaves)})",
                             f"{', '.join(['dx'] + ['d' + p for p in params])}{',' if not params else ''} = vjp(dy)"])

    def forward_code(self, case) -> str:
        lay = Layout(case.layout)
        sizes = case.size
        sem = case.semantics
        eps = "".join(", " + k for k in eps_kw(case, "epsilon") + option_kw(case, "algorithm"))
        lines = []
        if case.mask:
            c = lay.index(lay.channel)
            grouped = (c, c + 1) if case.op == "group_norm" else c
            lines.append(f"where = jnp.expand_dims(mask, {grouped!r})  # the positions whose statistics count, "
                         "broadcast over the " + ("groups and their channels" if case.op == "group_norm"
                                                  else "channels"))
            eps += ", where=where"
        if case.op == "group_norm":
            c = lay.index(lay.channel)
            G = case.groups
            C = sizes[lay.channel]
            gshape = case.shape[:c] + (G, C // G) + case.shape[c + 1:]
            # dims of the grouped array: axes after the channel move up by one;
            # the channels of one group sit at c + 1
            red = sorted(lay.index(a) + (1 if lay.index(a) > c else 0) for a in sem.stat_axes if a != lay.channel)
            red = sorted(red + [c + 1])
            lines.append(f"# split {lay.channel}={C} into ({G} groups, {C // G} channels per group)")
            lines.append(f"xg = x.reshape{fmt(gshape)}")
            lines.append(f"y = jax.nn.standardize(xg, axis={axis_arg(red)}{eps}).reshape(x.shape)")
        elif case.check == "inference":  # the given running statistics, shaped to broadcast against x
            red = lay.indices(lay.ordered(sem.stat_axes))
            m = affine_operand("running_mean", lay, sem.affine_axes, sizes)
            v = affine_operand("running_var", lay, sem.affine_axes, sizes)
            lines.append(f"y = jax.nn.standardize(x, axis={axis_arg(red)}, mean={m}, variance={v}{eps})")
        else:
            red = lay.indices(lay.ordered(sem.stat_axes))
            lines.append(f"y = jax.nn.standardize(x, axis={axis_arg(red)}{eps})")
        if case.affine != "none":
            g = affine_operand("gamma", lay, sem.affine_axes, sizes)
            b = affine_operand("beta", lay, sem.affine_axes, sizes)
            lines.append(f"y = y * {g} + {b}")
        return "\n".join(lines)


class JaxNNGPU(JaxNN):
    name = "jax-gpu"
    platform = "gpu"

