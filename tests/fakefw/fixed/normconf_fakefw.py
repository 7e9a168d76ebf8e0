"""The test-only framework with both bugs fixed (a two-pass variance; rms_norm takes float64)."""
import numpy as np

__version__ = "1.1"


def layer_norm(x, weight=None, bias=None, eps=1e-5, axis=-1):
    x = np.asarray(x)
    m = x.mean(axis, keepdims=True, dtype=x.dtype)
    v = ((x - m) * (x - m)).mean(axis, keepdims=True, dtype=x.dtype)
    y = (x - m) / np.sqrt(v + x.dtype.type(eps))
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y.astype(x.dtype)


def stable_layer_norm(x, weight=None, bias=None, eps=1e-5, axis=-1):
    x = np.asarray(x)
    d = x - x.mean(axis, keepdims=True, dtype=x.dtype)
    y = d / np.sqrt((d * d).mean(axis, keepdims=True, dtype=x.dtype) + x.dtype.type(eps))
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y.astype(x.dtype)


def rms_norm(x, weight=None, eps=1e-5, axis=-1):
    x = np.asarray(x)
    y = x / np.sqrt((x * x).mean(axis, keepdims=True, dtype=x.dtype) + x.dtype.type(eps))
    return (y if weight is None else y * weight).astype(x.dtype)
