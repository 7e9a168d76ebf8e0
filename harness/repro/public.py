"""The words a framework's maintainers use: what an issue body calls an adapter, an API and a condition.

An issue names the public API (``torch.nn.BatchNorm1d``, ``flax.linen.LayerNorm``, ``onnxruntime
InferenceSession``) and the backend a user picked ("Keras 3 with the torch backend"), never the harness's
adapter names. :data:`WORDS` holds them for the built-in adapters; any other adapter is named by its
registry description (:class:`harness.adapters.AdapterSpec`).
"""
from __future__ import annotations

import re

from harness.adapters import registry

#: adapter -> (how a user names what it calls, the backend or device words for a title, or "")
WORDS: dict[str, tuple[str, str]] = {
    "torch": ("PyTorch (torch.nn modules)", ""),
    "torch-functional": ("PyTorch (torch.nn.functional)", ""),
    "torch-cuda": ("PyTorch (torch.nn modules) on CUDA", ""),
    "torch-functional-cuda": ("PyTorch (torch.nn.functional) on CUDA", ""),
    "keras-tf": ("Keras 3 layers with the TensorFlow backend", "TensorFlow backend"),
    "keras-jax": ("Keras 3 layers with the JAX backend", "JAX backend"),
    "keras-torch": ("Keras 3 layers with the torch backend", "torch backend"),
    "keras-ops-tf": ("keras.ops with the TensorFlow backend", "TensorFlow backend"),
    "keras-ops-jax": ("keras.ops with the JAX backend", "JAX backend"),
    "keras-ops-torch": ("keras.ops with the torch backend", "torch backend"),
    "tf-keras": ("tf.keras (Keras 2 in TensorFlow)", ""),
    "tfa": ("TensorFlow Addons", ""),
    "flax-linen": ("flax.linen", ""),
    "flax-nnx": ("flax.nnx", ""),
    "jax": ("jax.nn.standardize", ""),
    "equinox": ("Equinox (eqx.nn layers; BatchNorm with mode='batch')", ""),
    "equinox-ema": ("Equinox eqx.nn.BatchNorm in its default mode ('ema')", ""),
    "haiku": ("Haiku (hk modules)", ""),
    "tf-keras-2.21": ("tf-keras (Keras 2 on TensorFlow 2.21, import tf_keras)", ""),
    "jax-gpu": ("jax.nn.standardize on a GPU", ""),
    "gn-paper": ("the Group Normalization paper's TensorFlow code", ""),
    "onnx-ref": ("onnx.reference.ReferenceEvaluator (opset 23 operators)", ""),
    "onnx-ref-opset18": ("onnx.reference.ReferenceEvaluator (opset 18 operators)", ""),
    "onnx-ref-mvn": ("onnx.reference.ReferenceEvaluator (MeanVarianceNormalization, then Mul and Add)", ""),
    "onnxruntime": ("onnxruntime InferenceSession (CPU, opset 23 operators)", ""),
    "onnxruntime-opset18": ("onnxruntime InferenceSession (CPU, opset 18 operators)", ""),
    "onnxruntime-mvn": ("onnxruntime InferenceSession (CPU, MeanVarianceNormalization, then Mul and Add)", ""),
    "torch-onnx": ("torch.onnx.export, the exported model run by onnxruntime", ""),
}


def spec_of(adapter: str):
    """The adapter's registry entry, or None."""
    return registry().get(adapter)


def framework_of(adapter: str) -> str:
    """The framework an adapter calls, as the registry names it (the first word of its name otherwise)."""
    spec = spec_of(adapter)
    return (spec.framework if spec is not None and spec.framework else adapter.split("-")[0])


def words(adapter: str) -> str:
    """What a user calls what the adapter calls."""
    if adapter in WORDS:
        return WORDS[adapter][0]
    spec = spec_of(adapter)
    return (spec.description or spec.framework) if spec is not None and (spec.description or spec.framework) \
        else "the framework"


def backend(adapter: str) -> str:
    return WORDS.get(adapter, ("", ""))[1]


def _apis(cause) -> list[str]:
    return [api for a in cause.affects for api in a.apis]


def api_rank(cause, call: str) -> int:
    """The position among the cause's APIs of the first one the call uses (its last name as a word of the
    call); the number of APIs when it uses none."""
    apis = _apis(cause)
    for i, api in enumerate(apis):
        last = (api.replace("(", " ").split() or [""])[0].rsplit(".", 1)[-1]
        if last and re.search(rf"(?<![A-Za-z0-9_]){re.escape(last)}(?![A-Za-z0-9_])", call or ""):
            return i
    return len(apis)


def api_name(cause, call: str, adapter: str) -> str:
    """The public API of the call: the first of the cause's APIs that the adapter's call uses, else the
    cause's first API, else what the adapter calls."""
    apis = _apis(cause)
    i = api_rank(cause, call)
    return apis[i] if i < len(apis) else (apis[0] if apis else words(adapter))


def device(versions: dict) -> str:
    return "GPU" if versions and ("device" in versions or "cuda" in versions) else "CPU"


def title(cause, api: str, dtype: str, adapter: str, versions: dict) -> str:
    """``<API>: <the cause's name> (<dtype>, <backend>, <device>)``, the API and each condition left out
    when the name says it already."""
    name = cause.name.rstrip(".")
    cond = [w for w in (dtype, backend(adapter), f"on {device(versions)}") if w and w.lower() not in
            name.lower()]
    head = "" if api and api in name else f"{api}: "  # a name that starts from the API says it already
    return f"{head}{name}" + (f" ({', '.join(cond)})" if cond else "")
