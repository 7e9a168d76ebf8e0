"""LiteRT: Keras 3 layers (TensorFlow backend) converted with ``tf.lite.TFLiteConverter``
and run by the LiteRT interpreter (``ai_edge_litert.interpreter.Interpreter``).

The layer is the ``keras-tf`` column's (same construction, same parameters, same
``training=`` argument), wrapped in a functional model with a fixed input shape;
``TFLiteConverter.from_keras_model(model).convert()`` writes the flatbuffer and the
interpreter runs it on the CPU. A cell that differs from ``keras-tf`` shows what the
conversion changes. Two columns:

``litert``
    the converter's defaults; float32 cases run a float32 model, float16 cases a model
    of ``dtype="float16"`` layers (float16 inputs and outputs in the flatbuffer).
    float64 is n/a: TFLite's built-in operators have no float64 kernels and the
    converter refuses such a model ("'tf.Mean' op is neither a custom op nor a flex op").
``litert-fp16``
    float32 cases with the converter's float16 post-training quantization
    (``optimizations = [tf.lite.Optimize.DEFAULT]``,
    ``target_spec.supported_types = [tf.float16]``): the weights (gamma, beta, the
    moving statistics) are stored in float16 and dequantized to float32 when the
    model runs.

The converter exports the model's call with ``training=False`` (tensorflow/lite/python/
lite.py, ``_convert_keras_to_saved_model``): a flatbuffer is an inference graph. So
the checks are forward and inference (BatchNormalization with given moving statistics).

A worker keeps the interpreters it built (:mod:`harness.adapters._cache`) under the call,
the parameters and the input's shape and dtype: a cell that needs a flatbuffer converted
before runs the call's last lines (set the input, invoke, read the output) on it.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from ._cache import ArtefactCache, array_key, run_built
from ._keras import keras
from .base import Output, run_snippet
from .keras_layers_adapter import KerasLayers

#: interpreters of converted flatbuffers, by call, parameters and input shape and dtype
_INTERPRETERS = ArtefactCache("litert interpreters")
#: the last lines of the call: they run the interpreter on x
_RUN = ("interpreter.set_tensor(interpreter.get_input_details()[0]['index'], x)", "interpreter.invoke()",
        "y = interpreter.get_tensor(interpreter.get_output_details()[0]['index'])")
_LITE_FP16 = ("converter.optimizations = [tf.lite.Optimize.DEFAULT]\n"
              "converter.target_spec.supported_types = [tf.float16]  # float16 weights, float32 arithmetic")


class LiteRT(KerasLayers):
    """A Keras 3 layer in a functional model, converted to a TFLite flatbuffer, run by LiteRT."""

    prefix = "litert"
    quantize_fp16 = False
    dtypes = frozenset({"float16", "float32"})
    checks = frozenset({"forward", "inference"})
    masks = frozenset()
    missing_checks = {**KerasLayers.missing_checks,
                      "backward": "a LiteRT flatbuffer converted from a Keras model is an inference graph: no "
                                  "gradients (run the keras-tf column)",
                      "running_stats": "a LiteRT flatbuffer converted from a Keras model is an inference graph: no "
                                       "training step updates the moving statistics (run the keras-tf column)"}

    def __init__(self):
        super().__init__()
        self.name = "litert-fp16" if self.quantize_fp16 else "litert"

    def versions(self):
        import ai_edge_litert
        return {"ai-edge-litert": ai_edge_litert.__version__, "tensorflow": tf.__version__,
                "keras": keras.__version__, **({"quantization": "float16"} if self.quantize_fp16 else {})}

    def unavailable(self):
        if self.backend != "tensorflow":
            return f"the TFLite converter takes Keras models of the TensorFlow backend (KERAS_BACKEND={self.backend})"
        return super().unavailable()

    def supports_case(self, case):
        if case.dtype == "float64":
            return ("TFLite's built-in operators have no float64 kernels: the converter refuses a float64 model "
                    "(\"'tf.Mean' op is neither a custom op nor a flex op\")")
        return super().supports_case(case)

    def code(self, case) -> str:
        lines = super().code(case).split("\n")
        # the layer's last call, on x: y = m(x...) or y = m(x, training=...)
        last = lines[-1]
        if not last.startswith("y = m(x"):  # pragma: no cover - the keras column's code changed shape
            raise AssertionError(f"unexpected last line of the keras call: {last!r}")
        call = last[len("y = "):].split("  #")[0].replace("m(x", "m(inp", 1)
        lines[-1:] = [
            f"inp = keras.Input(batch_shape=x.shape, dtype={case.dtype!r})",
            f"model = keras.Model(inp, {call})",
            "converter = tf.lite.TFLiteConverter.from_keras_model(model)",
            *([_LITE_FP16] if self.quantize_fp16 else []),
            "interpreter = Interpreter(model_content=converter.convert())",
            "interpreter.allocate_tensors()",
            *_RUN,
        ]
        return "\n".join(lines)

    def repro(self, case) -> dict:
        parts = super().repro(case)
        parts["imports"] += "\nimport tensorflow as tf\nfrom ai_edge_litert.interpreter import Interpreter"
        parts["to_framework"] = f"np.asarray(a, np.{case.dtype})"
        parts["to_numpy"] = "np.asarray(y, dtype=np.float64)"
        parts["versions"] = "{'tensorflow': tf.__version__, 'keras': keras.__version__}"
        return parts

    def run(self, case, inputs) -> Output:
        src = self.code(case)
        call = "\n".join(_RUN)

        def tensor(a):
            return None if a is None else keras.ops.convert_to_tensor(np.asarray(a, np.float32), dtype=case.dtype)

        ns = {"keras": keras, "tf": tf, "np": np, "Interpreter": Interpreter,
              "x": np.ascontiguousarray(np.asarray(inputs.x, case.dtype)),
              "gamma": tensor(inputs.gamma), "beta": tensor(inputs.beta),
              "running_mean": tensor(inputs.running_mean), "running_var": tensor(inputs.running_var)}
        # the flatbuffer holds the layer's weights; the input values never change it
        key = (src, ns["x"].shape, str(ns["x"].dtype),
               array_key(inputs, "gamma", "beta", "running_mean", "running_var"))
        run_built(self.name, _INTERPRETERS, key, src, call, ("interpreter",), ns, run_snippet)
        y = np.asarray(ns["y"])
        if y.dtype != np.dtype(case.dtype):
            raise TypeError(f"the LiteRT model returned a {y.dtype} output for a {case.dtype} case")
        return Output(y, src)


class LiteRTFloat16(LiteRT):
    """The converter's float16 post-training quantization, on float32 cases."""

    quantize_fp16 = True
    dtypes = frozenset({"float32"})
