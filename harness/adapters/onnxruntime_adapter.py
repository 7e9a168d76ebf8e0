"""ONNX Runtime: single-node ONNX models (built by ``_onnx``) run by an
``onnxruntime.InferenceSession`` on the CPU execution provider.

Where onnxruntime has no kernel for an operator version and dtype it either
expands the operator's function body from the specification or refuses the
model ("Could not find an implementation for ..."); a refusal is recorded as
the cell's error with that message.
"""
from __future__ import annotations

import onnx
import onnxruntime as ort
from onnx import helper

from ._onnx import OnnxBase

# kernel failures are recorded as the cell's error; onnxruntime need not also log them
ort.set_default_logger_severity(3)


class _OnnxRuntime(OnnxBase):
    runtime = "onnxruntime"

    def versions(self) -> dict[str, str]:
        return {"onnxruntime": ort.__version__, **super().versions()}

    def imports(self) -> str:
        return "import onnx\nimport onnxruntime as ort\nfrom onnx import helper"

    def namespace(self) -> dict:
        return {"onnx": onnx, "ort": ort, "helper": helper}

    def repro_versions(self) -> str:
        return (f"{{'onnxruntime': ort.__version__, 'onnx': onnx.__version__, "
                f"'opset': {str(self.opset)!r}}}")

    def run_model_code(self) -> list[str]:
        return ["sess = ort.InferenceSession(model.SerializeToString(), providers=['CPUExecutionProvider'])",
                "outs = sess.run(None, feeds)"]


class OnnxRuntime(_OnnxRuntime):
    name = "onnxruntime"


class OnnxRuntimeOpset18(_OnnxRuntime):
    name = "onnxruntime-opset18"
    opset = 18


class OnnxRuntimeMVN(_OnnxRuntime):
    name = "onnxruntime-mvn"
    mvn = True
