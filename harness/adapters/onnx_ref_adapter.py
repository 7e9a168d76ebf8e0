"""ONNX's reference implementation: ``onnx.reference.ReferenceEvaluator``.

The evaluator runs an operator with its Python implementation where onnx ships
one (LayerNormalization, InstanceNormalization, BatchNormalization,
RMSNormalization) and otherwise expands the operator's function body from the
specification (GroupNormalization, MeanVarianceNormalization), so its cells
show what the specification's own definitions compute. The models are built
by ``_onnx`` (one node per case).
"""
from __future__ import annotations

import onnx
from onnx import helper
from onnx.reference import ReferenceEvaluator

from ._onnx import OnnxBase


class _OnnxRef(OnnxBase):
    runtime = "onnx.reference"

    def imports(self) -> str:
        return "import onnx\nfrom onnx import helper\nfrom onnx.reference import ReferenceEvaluator"

    def namespace(self) -> dict:
        return {"onnx": onnx, "helper": helper, "ReferenceEvaluator": ReferenceEvaluator}

    def run_model_code(self) -> list[str]:
        return ["outs = ReferenceEvaluator(model).run(None, feeds)"]


class OnnxRef(_OnnxRef):
    name = "onnx-ref"


class OnnxRefOpset18(_OnnxRef):
    name = "onnx-ref-opset18"
    opset = 18


class OnnxRefMVN(_OnnxRef):
    name = "onnx-ref-mvn"
    mvn = True
