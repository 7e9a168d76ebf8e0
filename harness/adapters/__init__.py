"""The adapter registry: the only place that knows which adapters exist.

An adapter is described to the harness by an :class:`AdapterSpec`: a name, the
``module:attribute`` of its implementation, and the environment its worker
process needs. The harness process never imports an adapter module; only the
worker process does, so a framework is never imported into the harness.

Adapters come from three places, later ones overriding earlier ones:

1. the built-in table below;
2. the ``normconf.adapters`` entry-point group: each entry point names an
   ``AdapterSpec`` or a list of them (import only ``harness.adapters`` there,
   never the framework);
3. the ``NORMCONF_ADAPTERS`` environment variable: a comma-separated list of
   ``module:attribute`` naming an ``AdapterSpec`` or a list of them.
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from importlib.metadata import entry_points

#: set to 1 (``normconf run --no-cache``) and the worker processes, which inherit it, build every exported,
#: converted or compiled model afresh for each cell (:mod:`harness.adapters._cache`)
NO_CACHE_ENV = "NORMCONF_NO_CACHE"
#: a directory the worker processes of one run share (made and removed by the pool): frameworks with an
#: on-disk compilation cache keep it there, so a computation one column compiled is not compiled again
#: by the next column's worker
RUN_DIR_ENV = "NORMCONF_RUN_DIR"


def shared_compilation_env(run_dir: str) -> dict[str, str]:
    """The environment that points the frameworks' on-disk compilation caches at ``run_dir`` (JAX's
    persistent cache, every compilation kept: the run's cells are small and compile in milliseconds);
    empty with the caches off. A user's own setting is left alone."""
    if not run_dir or os.environ.get(NO_CACHE_ENV, "").strip().lower() not in ("", "0", "false", "no"):
        return {}
    want = {"JAX_COMPILATION_CACHE_DIR": os.path.join(run_dir, "jax"),
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
            "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}
    if "JAX_COMPILATION_CACHE_DIR" in os.environ:
        return {}
    return want


@dataclass(frozen=True)
class AdapterSpec:
    name: str
    target: str  # "package.module:ClassName", imported in the worker only
    env: tuple[tuple[str, str], ...] = ()
    description: str = ""
    # adapters with the same worker key share one worker process
    worker: str = field(default="")
    #: the framework modules the adapter needs (top-level import names): only their absence
    #: makes the column "not installed"; any other failure to load the adapter is an error
    requires: tuple[str, ...] = ()
    #: the framework the adapter calls, as the report counts frameworks (the odd-one-out view, the
    #: root-cause groups); "" for the first word of the name
    framework: str = ""

    @property
    def worker_key(self) -> str:
        return self.worker or f"{self.target.split(':')[0]}|{sorted(self.env)}"


def _spec(name, target, description, env=(), worker="", requires=(), framework=""):
    return AdapterSpec(name, f"harness.adapters.{target}", tuple(env), description, worker, tuple(requires),
                       framework)


#: Keras 3's layers and keras.ops adapters of one backend share a worker (KERAS_BACKEND is read at import)
_KERAS_LAYERS, _KERAS_OPS = "keras_layers_adapter:KerasLayers", "keras_ops_adapter:KerasOps"
BUILTIN: tuple[AdapterSpec, ...] = (
    _spec("torch", "torch_adapter:TorchModules", "PyTorch torch.nn modules", requires=("torch",),
          framework="PyTorch"),
    _spec("torch-functional", "torch_adapter:TorchFunctional", "PyTorch torch.nn.functional", requires=("torch",),
          framework="PyTorch"),
    _spec("torch-cuda", "torch_adapter:TorchModulesCUDA", "PyTorch torch.nn modules on a CUDA device",
          requires=("torch",), framework="PyTorch"),
    _spec("torch-functional-cuda", "torch_adapter:TorchFunctionalCUDA",
          "PyTorch torch.nn.functional on a CUDA device", requires=("torch",), framework="PyTorch"),
    _spec("keras-tf", _KERAS_LAYERS, "Keras 3 layers, TensorFlow backend", [("KERAS_BACKEND", "tensorflow")],
          worker="keras|tensorflow", requires=("keras", "tensorflow"), framework="Keras 3"),
    _spec("keras-jax", _KERAS_LAYERS, "Keras 3 layers, JAX backend", [("KERAS_BACKEND", "jax")],
          worker="keras|jax", requires=("keras", "jax"), framework="Keras 3"),
    _spec("keras-torch", _KERAS_LAYERS, "Keras 3 layers, PyTorch backend", [("KERAS_BACKEND", "torch")],
          worker="keras|torch", requires=("keras", "torch"), framework="Keras 3"),
    _spec("keras-ops-tf", _KERAS_OPS, "keras.ops functions, TensorFlow backend", [("KERAS_BACKEND", "tensorflow")],
          worker="keras|tensorflow", requires=("keras", "tensorflow"), framework="Keras 3"),
    _spec("keras-ops-jax", _KERAS_OPS, "keras.ops functions, JAX backend", [("KERAS_BACKEND", "jax")],
          worker="keras|jax", requires=("keras", "jax"), framework="Keras 3"),
    _spec("keras-ops-torch", _KERAS_OPS, "keras.ops functions, PyTorch backend", [("KERAS_BACKEND", "torch")],
          worker="keras|torch", requires=("keras", "torch"), framework="Keras 3"),
    _spec("tf-keras", "tf_keras_adapter:TfKeras", "tf.keras 2 (Keras 2 of TensorFlow <= 2.15) layers",
          requires=("tensorflow",), framework="tf.keras"),
    _spec("tf-keras-2.21", "tf_keras2_adapter:TfKeras2", "tf-keras (Keras 2 on TensorFlow >= 2.16, import tf_keras) layers",
          requires=("tensorflow", "tf_keras"), framework="tf-keras"),
    _spec("tensorflow", "tf_adapter:TFCore", "TensorFlow core functions (tf.math.l2_normalize, tf.nn.lrn)",
          requires=("tensorflow",), framework="TensorFlow"),
    _spec("tfa", "tfa_adapter:TFAddons", "TensorFlow Addons layers", requires=("tensorflow", "tensorflow_addons"),
          framework="TensorFlow Addons"),
    _spec("flax-linen", "flax_adapter:FlaxLinen", "Flax linen modules", requires=("flax", "jax"), framework="Flax"),
    _spec("flax-nnx", "flax_adapter:FlaxNNX", "Flax nnx modules", requires=("flax", "jax"), framework="Flax"),
    _spec("equinox", "equinox_adapter:Equinox", "Equinox eqx.nn layers (BatchNorm mode='batch')",
          requires=("equinox", "jax"), framework="Equinox"),
    _spec("equinox-ema", "equinox_adapter:EquinoxEMA", "Equinox eqx.nn.BatchNorm in its default mode ('ema')",
          requires=("equinox", "jax"), framework="Equinox"),
    _spec("haiku", "haiku_adapter:Haiku", "Haiku hk modules", requires=("haiku", "jax"), framework="Haiku"),
    _spec("jax", "jax_adapter:JaxNN", "JAX core functions (jax.nn.standardize)", requires=("jax",), framework="JAX"),
    _spec("jax-gpu", "jax_adapter:JaxNNGPU", "JAX core functions (jax.nn.standardize) on a GPU device",
          requires=("jax",), framework="JAX"),
    _spec("gn-paper", "gn_paper_adapter:GNPaper", "the Group Normalization paper's Figure 3 code, in TensorFlow",
          requires=("tensorflow",), framework="GN paper"),
    _spec("onnx-ref", "onnx_ref_adapter:OnnxRef", "ONNX reference evaluator (onnx.reference), opset 23 nodes",
          requires=("onnx",), framework="ONNX reference"),
    _spec("onnx-ref-opset18", "onnx_ref_adapter:OnnxRefOpset18",
          "ONNX reference evaluator, opset 18 nodes (GroupNormalization-18)", requires=("onnx",),
          framework="ONNX reference"),
    _spec("onnx-ref-mvn", "onnx_ref_adapter:OnnxRefMVN",
          "ONNX reference evaluator, MeanVarianceNormalization (+ Mul/Add)", requires=("onnx",),
          framework="ONNX reference"),
    _spec("onnxruntime", "onnxruntime_adapter:OnnxRuntime", "onnxruntime CPU, opset 23 nodes",
          requires=("onnx", "onnxruntime"), framework="ONNX Runtime"),
    _spec("onnxruntime-opset18", "onnxruntime_adapter:OnnxRuntimeOpset18",
          "onnxruntime CPU, opset 18 nodes (GroupNormalization-18)", requires=("onnx", "onnxruntime"),
          framework="ONNX Runtime"),
    _spec("onnxruntime-mvn", "onnxruntime_adapter:OnnxRuntimeMVN",
          "onnxruntime CPU, MeanVarianceNormalization (+ Mul/Add)", requires=("onnx", "onnxruntime"),
          framework="ONNX Runtime"),
    _spec("torch-onnx", "torch_onnx_adapter:TorchOnnx",
          "PyTorch torch.nn modules exported with torch.onnx.export, run by onnxruntime",
          requires=("torch", "onnx", "onnxruntime"), framework="torch.onnx"),
    _spec("paddle", "paddle_adapter:PaddleLayers", "PaddlePaddle paddle.nn layers (CPU)", requires=("paddle",),
          framework="PaddlePaddle"),
    _spec("paddle-functional", "paddle_adapter:PaddleFunctional", "PaddlePaddle paddle.nn.functional (CPU)",
          requires=("paddle",), framework="PaddlePaddle"),
    _spec("openvino-onnx", "openvino_adapter:OpenVinoOnnx",
          "ONNX models (opset 23 nodes, as the onnxruntime column builds them) on OpenVINO's CPU plugin",
          requires=("onnx", "openvino", "torch"), framework="OpenVINO"),
    _spec("openvino-torch", "openvino_adapter:OpenVinoTorch",
          "PyTorch torch.nn modules converted with openvino.convert_model, on OpenVINO's CPU plugin",
          requires=("onnx", "openvino", "torch"), framework="OpenVINO"),
    _spec("litert", "litert_adapter:LiteRT",
          "Keras 3 layers converted with tf.lite.TFLiteConverter, run by the LiteRT interpreter (ai-edge-litert)",
          [("KERAS_BACKEND", "tensorflow")], worker="litert", requires=("keras", "tensorflow", "ai_edge_litert"),
          framework="LiteRT"),
    _spec("litert-fp16", "litert_adapter:LiteRTFloat16",
          "Keras 3 layers converted with the TFLite converter's float16 quantization, run by the LiteRT interpreter",
          [("KERAS_BACKEND", "tensorflow")], worker="litert", requires=("keras", "tensorflow", "ai_edge_litert"),
          framework="LiteRT"),
    _spec("mlx", "mlx_adapter:MLXModules", "MLX mlx.nn modules on the CPU", requires=("mlx",), framework="MLX"),
    _spec("mlx-fast", "mlx_adapter:MLXFast", "MLX mlx.core.fast functions on the CPU", requires=("mlx",),
          framework="MLX"),
    _spec("tinygrad", "tinygrad_adapter:TinygradModules", "tinygrad tinygrad.nn modules on the CPU device",
          [("DEV", "CPU")], requires=("tinygrad",), framework="tinygrad"),
    _spec("tinygrad-tensor", "tinygrad_adapter:TinygradTensor",
          "tinygrad Tensor methods (layernorm, batchnorm, normalize) on the CPU device", [("DEV", "CPU")],
          requires=("tinygrad",), framework="tinygrad"),
    _spec("mindspore", "mindspore_adapter:MindSporeLayers", "MindSpore mindspore.nn layers (CPU, PyNative mode)",
          requires=("mindspore",), framework="MindSpore"),
    _spec("mindspore-ops", "mindspore_adapter:MindSporeOps", "MindSpore mindspore.ops functions (CPU, PyNative mode)",
          requires=("mindspore",), framework="MindSpore"),
)


def _load_target(target: str):
    mod, _, attr = target.partition(":")
    obj = importlib.import_module(mod)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _as_specs(obj, origin):
    items = obj if isinstance(obj, (list, tuple)) else [obj]
    for s in items:
        if not isinstance(s, AdapterSpec):
            raise TypeError(f"{origin} must name an AdapterSpec or a list of them, got {type(s).__name__}")
    return list(items)


def registry() -> dict[str, AdapterSpec]:
    specs: dict[str, AdapterSpec] = {s.name: s for s in BUILTIN}
    for ep in entry_points(group="normconf.adapters"):
        for s in _as_specs(ep.load(), f"entry point {ep.name}"):
            specs[s.name] = s
    for target in filter(None, (t.strip() for t in os.environ.get("NORMCONF_ADAPTERS", "").split(","))):
        for s in _as_specs(_load_target(target), f"NORMCONF_ADAPTERS entry {target}"):
            specs[s.name] = s
    return specs


def load_adapter(spec: AdapterSpec):
    """Import and instantiate an adapter (called in a worker process only)."""
    return _load_target(spec.target)()
