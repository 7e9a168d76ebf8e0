"""A tiny test-only "framework" with two planted bugs, for the tests of normconf file: layer_norm's
variance is the one-pass E[x²]−E[x]² in the input's dtype, and rms_norm refuses float64 input."""
import numpy as np

__version__ = "1.0"


def layer_norm(x, weight=None, bias=None, eps=1e-5, axis=-1):
    x = np.asarray(x)
    m = x.mean(axis, keepdims=True, dtype=x.dtype)
    v = np.maximum((x * x).mean(axis, keepdims=True, dtype=x.dtype) - m * m, 0)
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
    if x.dtype == np.float64:
        raise TypeError("rms_norm() supports float32 input only")
    y = x / np.sqrt((x * x).mean(axis, keepdims=True, dtype=x.dtype) + x.dtype.type(eps))
    return (y if weight is None else y * weight).astype(x.dtype)
