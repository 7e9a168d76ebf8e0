"""TensorFlow pieces shared by the adapters that call TensorFlow APIs
(tf-keras, tfa, gn-paper); imported only by those adapter modules."""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from .base import Output, run_snippet


def tf_repro(case, code: str, imports: str = "import tensorflow as tf", versions: str = "") -> dict:
    """The reproducer pieces of a TensorFlow snippet run by :func:`run_tf`."""
    conv = "tf.cast(tf.constant(a), tf.bfloat16)" if case.dtype == "bfloat16" else "tf.constant(a)"
    half = case.dtype in ("float16", "bfloat16")
    return {"imports": imports, "to_framework": conv,
            "to_numpy": ("tf.cast(y, tf.float32)" if half else "y") + ".numpy().astype(np.float64)",
            "context": "", "versions": versions or "{'tensorflow': tf.__version__}", "call": code}


def run_tf(adapter_name: str, src: str, inputs, **extra) -> Output:
    """Run a TensorFlow snippet with x, gamma, beta as tensors; return y as NumPy."""
    ns = {
        "tf": tf, "np": np, **extra,
        "x": tf.constant(inputs.x),
        "gamma": None if inputs.gamma is None else tf.constant(inputs.gamma),
        "beta": None if inputs.beta is None else tf.constant(inputs.beta),
    }
    run_snippet(adapter_name, src, ns)
    return Output(np.asarray(ns["y"].numpy()), src)
