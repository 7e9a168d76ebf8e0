"""Keras 3 pieces shared by the keras.layers adapter (``keras_layers_adapter``)
and the keras.ops adapter (``keras_ops_adapter``); imported only by those two.

One worker serves both adapters of a backend: the worker sets
``KERAS_BACKEND`` (tensorflow, jax or torch) before this module is imported,
and each adapter takes its name from it (``keras-tf``, ``keras-ops-jax``, ...).

Each call is written out as source code and that very source is executed, so
the recorded snippet is exactly what ran. The snippet expects ``x`` (and
``gamma``/``beta`` when the case has an affine transform) as backend tensors
in the case's layout and dtype, ``keras`` and ``np``, and leaves the result in
``y`` in the same layout. Every call passes ``epsilon`` explicitly (Keras
defaults to 1e-3, torch to 1e-5) unless the case is ``epsilon: default``.

JAX runs float64 as float32 unless x64 is enabled, so with the JAX backend
this module enables ``jax_enable_x64`` once, before any tensor is created (what
a user who wants float64 must do); ``versions()`` records it. Every run checks
that the output really has the case dtype. Even so, on the JAX and torch
backends Keras computes float64 in float32 (``keras.backend.result_type`` maps
float64 to float32 there); the matrix shows it (tests/current/test_keras.py
pins it).
"""
from __future__ import annotations

import importlib
import os

import numpy as np

BACKEND_TAGS = {"tensorflow": "tf", "jax": "jax", "torch": "torch"}
_REQUESTED = os.environ.get("KERAS_BACKEND", "")

if _REQUESTED == "jax":  # before keras creates any array
    import jax

    jax.config.update("jax_enable_x64", True)

import keras  # noqa: E402

from harness.ops.layouts import Layout  # noqa: E402

from .base import Adapter, Output, run_snippet  # noqa: E402

_HALF = ("float16", "bfloat16")

#: the Keras 3.15 sources the documented default epsilons are quoted from
SOURCES = "https://github.com/keras-team/keras/blob/v3.15.1/keras/src/"
#: where a Keras user finds local response normalization: nowhere in Keras 3
NO_LRN = ("Keras 3 has no local response normalization (neither keras.ops nor keras.layers, keras {}); "
          "torch.nn.LocalResponseNorm, tf.nn.local_response_normalization and ONNX LRN have it")


def axis_arg(lay: Layout, a: str) -> int:
    """Keras axis index for axis name ``a``: -1 for the last axis (Keras's
    default and what users write), the positive index otherwise."""
    i = lay.index(a)
    return -1 if i == lay.rank - 1 else i


def axes_arg(lay: Layout, axes: str) -> str:
    """The ``axis=`` argument for a set of reduced axes (layout order)."""
    if len(axes) == 1:
        return str(axis_arg(lay, axes))
    return "[" + ", ".join(str(lay.index(a)) for a in axes) + "]"


def _to_tensor(a, dtype):
    if a is None:
        return None
    if dtype in _HALF:  # ml_dtypes/float16 arrays: go through float32 (exact)
        a = np.asarray(a, np.float32)
    return keras.ops.convert_to_tensor(np.ascontiguousarray(a), dtype=dtype)


def _to_numpy(y, dtype):
    got = keras.backend.standardize_dtype(y.dtype)
    if got != dtype:
        raise TypeError(f"Keras returned a {got} output for a {dtype} case "
                        f"(backend {keras.backend.backend()})")
    if dtype == "bfloat16":
        import ml_dtypes
        return keras.ops.convert_to_numpy(keras.ops.cast(y, "float32")).astype(ml_dtypes.bfloat16)
    return np.asarray(keras.ops.convert_to_numpy(y))


class KerasBase(Adapter):
    """What the layers and ops adapters share: the backend, versions, conversions, running a snippet."""

    prefix = "keras"
    dtypes = frozenset({"float16", "bfloat16", "float32", "float64"})

    def __init__(self):
        self.backend = _REQUESTED or keras.backend.backend()
        self.name = f"{self.prefix}-{BACKEND_TAGS.get(self.backend, self.backend)}"

    def versions(self):
        backend = keras.backend.backend()
        v = {"keras": keras.__version__, "backend": backend}
        mod = importlib.import_module(backend)
        v[backend] = str(getattr(mod, "__version__", "?"))
        if backend == "jax":
            import jax
            import jaxlib
            v["jaxlib"] = jaxlib.__version__
            v["jax_enable_x64"] = str(bool(jax.config.jax_enable_x64))
        return v

    def unavailable(self):
        version = getattr(keras, "__version__", "")
        if not version.startswith("3."):
            return f"keras {version or '(unknown version)'} is not Keras 3; this adapter needs keras>=3"
        actual = keras.backend.backend()
        if self.backend not in BACKEND_TAGS:
            return f"unknown KERAS_BACKEND {self.backend!r} (expected one of {', '.join(BACKEND_TAGS)})"
        if actual != self.backend:
            return (f"keras was already imported with backend {actual!r}; KERAS_BACKEND={self.backend!r} "
                    "must be set before the first import of keras")
        return None

    def _prelude(self, case) -> list[str]:
        if self.backend == "jax" and case.dtype == "float64":
            return ['# jax.config.update("jax_enable_x64", True) ran before x was created']
        return []

    def code(self, case) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def repro(self, case) -> dict:
        imports = ["import os", f"os.environ['KERAS_BACKEND'] = {self.backend!r}  # before keras is imported"]
        if self.backend == "jax":
            imports += ["import jax", "jax.config.update('jax_enable_x64', True)  # as the adapter does"]
        imports.append("import keras")
        half = case.dtype in _HALF
        a = "np.asarray(a, np.float32)" if half else "np.ascontiguousarray(a)"
        y = "keras.ops.cast(y, 'float32')" if half else "y"
        return {"imports": "\n".join(imports),
                "to_framework": f"keras.ops.convert_to_tensor({a}, dtype={case.dtype!r})",
                "to_numpy": f"np.asarray(keras.ops.convert_to_numpy({y})).astype(np.float64)",
                "context": "", "versions": "{'keras': keras.__version__, 'backend': keras.backend.backend()}",
                "call": self.code(case)}

    def run(self, case, inputs) -> Output:
        src = self.code(case)
        ns = {
            "keras": keras, "np": np,
            "x": _to_tensor(inputs.x, case.dtype),
            "gamma": _to_tensor(inputs.gamma, case.dtype),
            "beta": _to_tensor(inputs.beta, case.dtype),
        }
        if getattr(inputs, "mask", None) is not None:  # the positions, x's shape without the channel axis
            ns["mask"] = keras.ops.convert_to_tensor(np.ascontiguousarray(inputs.mask), dtype="bool")
        if case.check == "backward":
            ns["dy"] = _to_tensor(inputs.dy, case.dtype)
        if case.check == "running_stats":
            ns["batches"] = [_to_tensor(b, case.dtype) for b in inputs.batches]
        if case.check == "inference":  # the given running statistics
            ns["running_mean"] = _to_tensor(inputs.running_mean, case.dtype)
            ns["running_var"] = _to_tensor(inputs.running_var, case.dtype)
        run_snippet(self.name, src, ns)
        if case.check == "backward":
            return Output(_to_numpy(ns["dx"], case.dtype), src,
                          arrays={k: _to_numpy(ns[k], case.dtype) for k in ("dgamma", "dbeta") if k in ns})
        arrays = {k: _to_numpy(keras.ops.convert_to_tensor(ns[k]), case.dtype)
                  for k in ("running_mean", "running_var") if k in ns and case.check == "running_stats"}
        return Output(_to_numpy(ns["y"], case.dtype), src, arrays=arrays,
                      info={"momentum_argument": "old_value"} if case.check == "running_stats" else {})
