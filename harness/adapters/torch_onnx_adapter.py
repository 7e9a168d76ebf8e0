"""PyTorch modules exported to ONNX and run by onnxruntime.

The module is the ``torch`` column's (same construction, same parameters); the
call is replaced by ``torch.onnx.export`` (the default exporter of torch 2.x,
``dynamo=True``, which needs onnxscript, at its default opset) and an
onnxruntime CPU session on the exported graph. So a cell that differs from
the ``torch`` column shows what export changes: the operators the exporter
chooses (GroupNorm becomes InstanceNormalization with Mul/Add, RMSNorm becomes
Pow/ReduceMean/Sqrt), the mode it exports in, and onnxruntime's kernels.
"""
from __future__ import annotations

import re

import onnx
import onnxruntime as ort
import onnxscript
import torch

from .base import Output, run_snippet
from .torch_adapter import TorchModules, to_numpy, to_torch

ort.set_default_logger_severity(3)

_LAST = re.compile(r"^y = m\((?P<xin>.*?)\)(?P<back>(\.permute\([0-9, ]*\))?)$")


class TorchOnnx(TorchModules):
    name = "torch-onnx"
    dtypes = frozenset({"float16", "float32", "float64"})
    # an exported inference graph: no autodiff, no training step; eval() with given running statistics
    checks = frozenset({"forward", "inference"})
    missing_checks = {**TorchModules.missing_checks,
                      "backward": "an exported ONNX graph has no backward pass (run the torch column)",
                      "running_stats": "torch.onnx.export writes an inference graph: no training step updates "
                                       "the running statistics (run the torch column)"}

    def versions(self):
        from torch.onnx import _constants
        return {"torch": torch.__version__, "onnxscript": onnxscript.__version__,
                "onnxruntime": ort.__version__, "onnx": onnx.__version__,
                "opset": str(_constants.ONNX_DEFAULT_OPSET)}

    def code(self, case) -> str:
        lines = super().code(case).split("\n")
        m = _LAST.match(lines[-1])
        if m is None:  # pragma: no cover - the torch column's code changed shape
            raise AssertionError(f"unexpected last line of the torch call: {lines[-1]!r}")
        lines[-1:] = [
            f"xin = {m['xin']}",
            "# the default exporter (dynamo=True) at its default opset, then onnxruntime on the CPU",
            "onnx_program = torch.onnx.export(m, (xin,), dynamo=True, verbose=False)",
            "sess = ort.InferenceSession(onnx_program.model_proto.SerializeToString(), "
            "providers=['CPUExecutionProvider'])",
            f"y = torch.from_numpy(sess.run(None, {{sess.get_inputs()[0].name: xin.numpy()}})[0]){m['back']}",
        ]
        return "\n".join(lines)

    def repro(self, case) -> dict:
        parts = super().repro(case)
        parts["imports"] += "\nimport onnx\nimport onnxruntime as ort\nimport onnxscript"
        parts["versions"] = ("{'torch': torch.__version__, 'onnxscript': onnxscript.__version__, "
                             "'onnxruntime': ort.__version__, 'onnx': onnx.__version__}")
        return parts

    def run(self, case, inputs) -> Output:
        src = self.code(case)
        ns = {
            "torch": torch, "nn": torch.nn, "F": torch.nn.functional, "ort": ort,
            "x": to_torch(inputs.x, case.dtype), "gamma": to_torch(inputs.gamma, case.dtype),
            "beta": to_torch(inputs.beta, case.dtype),
            "running_mean": to_torch(inputs.running_mean, case.dtype),
            "running_var": to_torch(inputs.running_var, case.dtype),
        }
        with torch.no_grad():
            run_snippet(self.name, src, ns)
        return Output(to_numpy(ns["y"], case.dtype), src)
