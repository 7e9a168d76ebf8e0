"""Test-only adapters with planted bugs, to measure what ``normconf fuzz`` finds.

Registered the way a third-party adapter is:
``NORMCONF_ADAPTERS=tests.planted_adapters:SPECS``. Every adapter computes
with numpy and runs every op, layout and dtype; ``numpy-stable`` is correct
(two-pass variance, statistics in float32 for half precision and float32
input, in float64 for float64 input); each ``planted-*`` adapter is the same
code with one bug:

=========================  ==========================================================
``planted-one-pass``       variance as E[x²]−E[x]² (clipped at 0)
``planted-eps-outside``    x̂ = (x−μ) / (σ + ε) instead of / sqrt(σ² + ε)
``planted-interleaved``    group g holds channels g, g+G, g+2G, ... (not contiguous)
``planted-unbiased``       variance divided by m−1
``planted-channels-first`` a channels-last input (NLC, NHWC, NDHWC) read as channels-first
``planted-half-accum``     float16/bfloat16 statistics accumulated in the input dtype
``planted-eps-ignored``    ε left out
``planted-affine-reversed`` gamma/beta spanning several axes read with the axes reversed
=========================  ==========================================================

The computation is one piece of source text (:data:`SOURCE`), executed by
the adapter and written into ``normconf repro``'s scripts, so a reproducer
makes exactly the call the adapter made.
"""
from __future__ import annotations

import numpy as np

from harness.adapters import AdapterSpec
from harness.adapters.base import Adapter, Output
from harness.ops.dtypes import DTYPES, np_dtype
from harness.ops.layouts import LAYOUTS, Layout, channels_first
from harness.ops.registry import NAMES as OP_NAMES
from harness.ops.registry import OPS
from harness.repro.script import op_spec

SOURCE = '''\
def planted(x, gamma, beta, stat, affine_shape, dtype, bug, rnd):
    """A normalization in numpy: two-pass variance, statistics in float32 (float64 for float64
    input), unless ``bug`` plants a mistake. ``stat``: how x splits into rows of statistics;
    ``rnd``: rounds values to ``dtype``."""
    acc = np.float64 if dtype == "float64" else np.float32
    low = rnd if bug == "half-accum" and dtype in ("float16", "bfloat16") else (lambda v: v)
    shape = np.shape(x)
    a = np.reshape(np.asarray(x).astype(acc), stat["grouped_shape"])
    k = len(stat["axes"])
    moved = np.moveaxis(a, stat["axes"], range(a.ndim - k, a.ndim))
    r = moved.reshape(moved.shape[:a.ndim - k] + (-1,))
    m = r.shape[-1]

    def total(v):
        if low is rnd:  # a running sum kept in the input dtype
            s = np.zeros(v.shape[:-1] + (1,), acc)
            for i in range(v.shape[-1]):
                s = rnd(s + v[..., i:i + 1])
            return s
        return np.sum(v, axis=-1, keepdims=True, dtype=acc)

    eps = acc(0.0 if bug == "eps-ignored" else stat["eps"])
    with np.errstate(all="ignore"):
        if not stat["center"]:
            d = r
            var = low(total(low(r * r)) / acc(m))
        elif bug == "one-pass":
            mean = total(r) / acc(m)
            var = np.maximum(total(r * r) / acc(m) - mean * mean, acc(0))
            d = r - mean
        else:
            mean = low(total(r) / acc(m))
            d = low(r - mean)
            var = low(total(low(d * d)) / acc(m - 1 if bug == "unbiased" else m))
        den = np.sqrt(var) + eps if bug == "eps-outside" else low(np.sqrt(var + eps))
        y = low(d / den)
        y = np.moveaxis(y.reshape(moved.shape), range(a.ndim - k, a.ndim), stat["axes"]).reshape(shape)
        for p, op in ((gamma, np.multiply), (beta, np.add)):
            if p is not None:
                p = np.asarray(p).astype(acc)
                if bug == "affine-reversed":
                    p = p.reshape(p.shape[::-1]).T
                y = low(op(y, p.reshape(affine_shape)))
    return rnd(y)
'''

_NS: dict = {"np": np}
exec(compile(SOURCE, "<planted adapters>", "exec"), _NS)  # noqa: S102 - our own source text


class NumpyStable(Adapter):
    """A correct numpy implementation; subclasses plant one bug each."""

    name = "numpy-stable"
    bug = "none"
    ops = frozenset(n for n in OP_NAMES if OPS[n].definition is None)  # the normalizations over named axes
    dtypes = frozenset(DTYPES)
    decoupled_affine = True
    group_axes = True
    default_epsilons = {op: (1e-5, "the planted adapters use 1e-5", "tests/planted_adapters.py") for op in OP_NAMES}

    def versions(self):
        return {"numpy": np.__version__, "planted": self.bug}

    def _spec(self, case):
        """(statistics layout of x, affine shape): the op's semantics as plain numbers."""
        eps = case.epsilon if case.epsilon is not None else 1e-5
        sem = case.semantics_with(eps)
        stat = op_spec(sem, case.size)
        lay = Layout(case.layout)
        if self.bug == "channels-first" and lay.channels_last and lay.spatial \
                and channels_first(case.layout) in LAYOUTS:
            cf = channels_first(case.layout)  # the axes read by position, as if the channel came second
            read = case.spec.semantics(cf, axes=case.axes, groups=case.groups, eps=eps, affine_axes=case.affine_axes)
            stat = op_spec(read, dict(zip(cf, case.shape)))
        if self.bug == "interleaved" and sem.groups:
            c = lay.index(lay.channel)
            g = list(stat["grouped_shape"])
            g[c], g[c + 1] = g[c + 1], g[c]  # (channels per group, groups): group g strides through C
            stat = dict(stat, grouped_shape=tuple(g),
                        axes=tuple(sorted(c if d == c + 1 else d for d in stat["axes"])))
        return stat, op_spec(sem, case.size)["affine_shape"]

    def run(self, case, inputs):
        stat, aff = self._spec(case)
        dt = np_dtype(case.dtype)
        acc = np.float64 if case.dtype == "float64" else np.float32

        def rnd(v):
            return np.asarray(v).astype(dt).astype(acc)

        y = _NS["planted"](inputs.x, inputs.gamma, inputs.beta, stat, aff, case.dtype, self.bug, rnd)
        return Output(np.asarray(y).astype(dt), self._call(stat, aff))

    def _call(self, stat, aff) -> str:
        return (f"y = planted(x, gamma, beta, {stat!r}, {aff!r}, DTYPE, {self.bug!r},\n"
                "            lambda v: round_to_dtype(v).astype(np.float64 if DTYPE == 'float64' else np.float32))")

    def repro(self, case):
        stat, aff = self._spec(case)
        return {"imports": "", "to_framework": "a", "to_numpy": "np.asarray(y, np.float64)", "context": "",
                "versions": f"{{'numpy': np.__version__, 'planted': {self.bug!r}}}",
                "call": SOURCE + "\n\n" + self._call(stat, aff)}


def _planted(bug: str, doc: str):
    return type(f"Planted_{bug.replace('-', '_')}", (NumpyStable,),
                {"name": f"planted-{bug}", "bug": bug, "__doc__": doc, "__module__": __name__})


#: bug -> what it is, in words
BUGS = {
    "one-pass": "one-pass variance E[x²]−E[x]²",
    "eps-outside": "epsilon added outside the square root",
    "interleaved": "interleaved channel groups",
    "unbiased": "unbiased (m−1) variance",
    "channels-first": "channels-last input treated as channels-first",
    "half-accum": "half-precision statistics accumulated in half precision",
    "eps-ignored": "epsilon ignored",
    "affine-reversed": "multi-axis gamma/beta with the axes reversed",
}
for _bug, _doc in BUGS.items():
    globals()[f"Planted_{_bug.replace('-', '_')}"] = _planted(_bug, _doc)

#: the planted adapters' names
PLANTED = tuple(f"planted-{b}" for b in BUGS)
SPECS = [AdapterSpec("numpy-stable", "tests.planted_adapters:NumpyStable", description="correct numpy, two-pass")] + [
    AdapterSpec(f"planted-{b}", f"tests.planted_adapters:Planted_{b.replace('-', '_')}", description=f"planted: {d}")
    for b, d in BUGS.items()]


# --- operators with their own definition ---------------------------------------------------------------

class NumpyFamily(Adapter):
    """The ops with their own definition (L2, local response normalization) computed in float64 by the
    harness's reference, under the definition's conventions (``numpy-family``) or with one convention
    replaced (``planted-family-<param>-<value>``, e.g. eps clamping the squared norm), the output rounded to
    the case dtype. Registered as ``NORMCONF_ADAPTERS=tests.planted_adapters:FAMILY_SPECS``."""

    name = "numpy-family"
    convention: tuple = ()  # (param, value) the adapter computes with instead of the definition's
    ops = frozenset(n for n in OP_NAMES if OPS[n].definition is not None)
    dtypes = frozenset(DTYPES)
    default_epsilons = {op: (1e-12, "the family test adapters use 1e-12", "tests/planted_adapters.py")
                        for op in OP_NAMES if OPS[op].definition is not None}

    def versions(self):
        return {"numpy": np.__version__, "planted": "=".join(map(str, self.convention)) or "none"}

    def supports_case(self, case):
        if self.convention and self.convention[0] not in case.spec.definition.params:
            return f"{self.name} plants a {self.convention[0]} convention, which {case.op} does not have"
        return None

    def run(self, case, inputs):
        from harness.numerics import families

        f = case.semantics_with(case.epsilon if case.epsilon is not None else 1e-12)
        if self.convention:
            f = f.with_(**dict([self.convention]))
        y = families.reference(np.asarray(inputs.x, np.float64), f)
        return Output(y.astype(np_dtype(case.dtype)), f"y = reference(x, {f!r})")


#: the family adapters: the definition, and each convention that is not the definition's
FAMILY_CONVENTIONS = tuple(dict.fromkeys(
    (c.param, c.value) for n in OP_NAMES if OPS[n].definition is not None for c in OPS[n].definition.conventions
    if OPS[n].definition.reference_conventions()[c.param] != c.value))
FAMILY_SPECS = [AdapterSpec("numpy-family", "tests.planted_adapters:NumpyFamily", description="the definitions")]
for _param, _value in FAMILY_CONVENTIONS:
    _name = f"planted-family-{_param}-{_value}".replace("_", "-")
    globals()[f"Family_{_param}_{_value}"] = type(f"Family_{_param}_{_value}", (NumpyFamily,), {
        "name": _name, "convention": (_param, _value), "__module__": __name__})
    FAMILY_SPECS.append(AdapterSpec(_name, f"tests.planted_adapters:Family_{_param}_{_value}",
                                    description=f"planted: {_param}={_value}"))
