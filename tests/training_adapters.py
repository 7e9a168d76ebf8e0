"""Test-only numpy adapters for the training-time checks (backward, running_stats),
one correct and each other with one planted bug, to show that the verdicts catch
them and the fingerprints name them.

Registered the way a third-party adapter is:
``NORMCONF_ADAPTERS=tests.training_adapters:SPECS``.

===================================  =============================================================
``numpy-train``                      correct: autograd-free backward written out per row, running
                                     statistics with momentum weighting the new batch, biased
``planted-unbiased-running-var``     running variance updated with the unbiased batch variance
``planted-old-weight-momentum``      momentum weights the old value (new = m*old + (1-m)*batch)
``planted-constant-stats-grad``      backward treats mean and variance as constants (dx = g / s)
===================================  =============================================================

The computations are written here without the harness's reference code, in
float64 for float64 cases and float32 otherwise, output rounded to the case dtype.
"""
from __future__ import annotations

import inspect

import numpy as np

from harness.adapters import AdapterSpec
from harness.adapters.base import Adapter, Output
from harness.ops.dtypes import np_dtype
from harness.ops.registry import NAMES as OP_NAMES
from harness.repro.script import op_spec


def _rows(a, spec):
    """a as (rows, m) over the statistics dims, and a function putting rows back."""
    g = np.reshape(a, spec["grouped_shape"])
    k = len(spec["axes"])
    moved = np.moveaxis(g, spec["axes"], range(g.ndim - k, g.ndim))
    flat = moved.reshape(moved.shape[:g.ndim - k] + (-1,))

    def back(r):
        return np.moveaxis(r.reshape(moved.shape), range(g.ndim - k, g.ndim), spec["axes"]).reshape(np.shape(a))
    return flat, back


def backward(x, dy, gamma, beta, spec, acc, bug):
    """dx and {dgamma, dbeta} in ``acc``: the analytic backward written out per row."""
    x = np.asarray(x, acc)
    dy = np.asarray(dy, acc)
    g = dy * gamma if gamma is not None else dy
    xr, back = _rows(x, spec)
    gr, _ = _rows(g, spec)
    d = xr - xr.mean(axis=-1, keepdims=True) if spec["center"] else xr
    s = np.sqrt((d * d).mean(axis=-1, keepdims=True) + acc(spec["eps"]))
    xhat = d / s
    if bug == "constant-stats":
        dx = gr / s
    else:
        dx = (gr - xhat * (gr * xhat).mean(axis=-1, keepdims=True)) / s
        if spec["center"]:
            dx = dx - gr.mean(axis=-1, keepdims=True) / s
    red = tuple(i for i in range(x.ndim) if spec["affine_shape"][i] == 1)  # every axis but the affine ones
    arrays = {}
    if gamma is not None:
        arrays["dgamma"] = (dy * back(xhat)).sum(axis=red).reshape(spec["param_shape"])
    if beta is not None:
        arrays["dbeta"] = dy.sum(axis=red).reshape(spec["param_shape"])
    return back(dx), arrays


def running(x, batches, gamma, beta, spec, acc, bug, momentum):
    """y and {running_mean, running_var} in ``acc`` after training on ``batches``."""
    mom = acc(momentum)
    w = acc(1) - mom if bug == "old-weight" else mom
    ddof = 1 if bug == "unbiased-running-var" else 0
    rm = rv = None
    for b in batches:
        br, _ = _rows(np.asarray(b, acc), spec)  # batch norm: one row per channel, (C, n)
        mean = br.mean(axis=-1)
        var = ((br - mean[:, None]) ** 2).sum(axis=-1) / acc(br.shape[-1] - ddof)
        if rm is None:
            rm, rv = np.zeros_like(mean), np.ones_like(var)
        rm = (acc(1) - w) * rm + w * mean
        rv = (acc(1) - w) * rv + w * var
    bshape = spec["affine_shape"]
    y = (np.asarray(x, acc) - rm.reshape(bshape)) / np.sqrt(rv.reshape(bshape) + acc(spec["eps"]))
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return y, {"running_mean": rm, "running_var": rv}


class NumpyTrain(Adapter):
    name = "numpy-train"
    bug = "none"
    ops = frozenset(OP_NAMES)
    checks = frozenset({"forward", "backward", "running_stats"})
    decoupled_affine = True
    group_axes = True

    def versions(self):
        return {"numpy": np.__version__, "planted": self.bug}

    @staticmethod
    def _spec(case):
        return dict(op_spec(case.semantics, case.size), param_shape=_param_shape(case))

    def run(self, case, inputs):
        acc = np.float64 if case.dtype == "float64" else np.float32
        out_dt = np_dtype(case.dtype)
        spec = self._spec(case)
        gamma = None if inputs.gamma is None else np.asarray(inputs.gamma, acc).reshape(spec["affine_shape"])
        beta = None if inputs.beta is None else np.asarray(inputs.beta, acc).reshape(spec["affine_shape"])
        if case.check == "running_stats":
            y, arrays = running(inputs.x, inputs.batches, gamma, beta, spec, acc, self.bug, case.momentum)
        else:
            y, arrays = backward(inputs.x, inputs.dy, gamma, beta, spec, acc, self.bug)
        return Output(np.asarray(y).astype(out_dt), f"# numpy {case.check} ({self.bug})",
                      arrays={k: np.asarray(v).astype(out_dt) for k, v in arrays.items()})

    def repro(self, case):
        """The computation of run() as source text for a standalone script: these functions, then the call."""
        if case.check not in ("backward", "running_stats"):
            return None
        spec = self._spec(case)
        lines = [f"# the {self.name} test adapter computes {case.check} with numpy (tests/training_adapters.py)",
                 inspect.getsource(_rows), inspect.getsource(backward if case.check == "backward" else running),
                 f"spec = {spec!r}", "acc = np.float64 if DTYPE == 'float64' else np.float32",
                 "gamma, beta = [None if a is None else np.asarray(a, acc).reshape(spec['affine_shape'])"
                 " for a in (gamma, beta)]"]
        if case.check == "backward":
            lines += [f"dx, arrays = backward(x, dy, gamma, beta, spec, acc, {self.bug!r})",
                      "dx = dx.astype(DTYPE)", "dgamma, dbeta = arrays.get('dgamma'), arrays.get('dbeta')"]
        else:
            lines += [f"y, arrays = running(x, batches, gamma, beta, spec, acc, {self.bug!r}, {case.momentum!r})",
                      "y = y.astype(DTYPE)",
                      "running_mean, running_var = arrays['running_mean'], arrays['running_var']"]
        return {"imports": "", "to_framework": "a", "to_numpy": "np.asarray(y, np.float64)", "context": "",
                "versions": f"{{'numpy': np.__version__, 'planted': {self.bug!r}}}", "call": "\n".join(lines)}


def _param_shape(case):
    from harness.ops.semantics import param_shape
    return param_shape(case.semantics, case.size)


def _planted(bug, doc):
    return type(f"Planted_{bug.replace('-', '_')}", (NumpyTrain,),
                {"name": f"planted-{bug}" if bug != "constant-stats" else "planted-constant-stats-grad",
                 "bug": bug, "__doc__": doc, "__module__": __name__})


BUGS = {"unbiased-running-var": "running variance updated with the unbiased batch variance",
        "old-weight": "momentum weights the old value",
        "constant-stats": "backward with mean and variance treated as constants"}
PlantedUnbiased = _planted("unbiased-running-var", BUGS["unbiased-running-var"])
PlantedOldWeight = _planted("old-weight", BUGS["old-weight"])
PlantedConstantStats = _planted("constant-stats", BUGS["constant-stats"])
PlantedOldWeight.name = "planted-old-weight-momentum"

SPECS = [
    AdapterSpec("numpy-train", "tests.training_adapters:NumpyTrain", description="correct numpy training checks"),
    AdapterSpec("planted-unbiased-running-var", "tests.training_adapters:PlantedUnbiased",
                description="planted: " + BUGS["unbiased-running-var"]),
    AdapterSpec("planted-old-weight-momentum", "tests.training_adapters:PlantedOldWeight",
                description="planted: " + BUGS["old-weight"]),
    AdapterSpec("planted-constant-stats-grad", "tests.training_adapters:PlantedConstantStats",
                description="planted: " + BUGS["constant-stats"]),
]
