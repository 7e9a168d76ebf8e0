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


def tape_code(forward: str, watch, sources: dict) -> str:
    """``forward`` (leaves ``y``) under a tf.GradientTape, then the gradients of y (upstream
    gradient ``dy``) by x and ``sources`` (output name -> the variable or tensor it is taken by)."""
    outs = ["dx"] + list(sources)
    wrt = ["x"] + list(sources.values())
    lines = ["with tf.GradientTape() as tape:"] + [f"    tape.watch({w})" for w in watch]
    lines += ["    " + ln if ln else ln for ln in forward.splitlines()]
    lines.append(f"{', '.join(outs)}{',' if len(outs) == 1 else ''} = tape.gradient(y, [{', '.join(wrt)}], "
                 "output_gradients=dy)")
    return "\n".join(lines)


def run_tf(adapter_name: str, src: str, inputs, **extra) -> Output:
    """Run a TensorFlow snippet with x, gamma, beta (and dy, batches) as tensors; return y
    (dx for a backward snippet) and the named outputs it leaves as NumPy."""
    ns = {
        "tf": tf, "np": np, **extra,
        "x": tf.constant(inputs.x),
        "gamma": None if inputs.gamma is None else tf.constant(inputs.gamma),
        "beta": None if inputs.beta is None else tf.constant(inputs.beta),
        "dy": None if getattr(inputs, "dy", None) is None else tf.constant(inputs.dy),
        "batches": [tf.constant(b) for b in getattr(inputs, "batches", ())],
        "running_mean": None if getattr(inputs, "running_mean", None) is None else tf.constant(inputs.running_mean),
        "running_var": None if getattr(inputs, "running_var", None) is None else tf.constant(inputs.running_var),
    }
    if getattr(inputs, "mask", None) is not None:  # the positions, x's shape without the channel axis
        ns["mask"] = tf.constant(inputs.mask)
    run_snippet(adapter_name, src, ns)
    if "dx" in ns:
        return Output(np.asarray(ns["dx"].numpy()), src,
                      arrays={k: np.asarray(tf.convert_to_tensor(ns[k]).numpy()) for k in ("dgamma", "dbeta")
                              if ns.get(k) is not None})
    arrays = {k: np.asarray(tf.convert_to_tensor(ns[k]).numpy()) for k in ("running_mean", "running_var")
              if ns.get(k) is not None and getattr(inputs, "running_mean", None) is None}
    info = {"path": ns["path"]} if isinstance(ns.get("path"), str) else {}
    return Output(np.asarray(ns["y"].numpy()), src, info=info, arrays=arrays)
