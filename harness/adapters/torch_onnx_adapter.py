"""PyTorch modules exported to ONNX and run by onnxruntime.

The module is the ``torch`` column's (same construction, same parameters); the
call is replaced by ``torch.onnx.export`` (the default exporter of torch 2.x,
``dynamo=True``, which needs onnxscript, at its default opset) and an
onnxruntime CPU session on the exported graph. So a cell that differs from
the ``torch`` column shows what export changes: the operators the exporter
chooses (GroupNorm becomes InstanceNormalization with Mul/Add, RMSNorm becomes
Pow/ReduceMean/Sqrt), the mode it exports in, and onnxruntime's kernels.

The worker reuses what export builds (:mod:`harness.adapters._cache`): the exported
program of a cell whose module, parameters, input shape and dtype were exported before
(the call's last lines, a session on it and its run, run as they are), and the table of
ATen-to-ONNX functions that ``torch.onnx.export`` otherwise builds from torchlib on every
call (it depends on the opset only). Both give the graph a fresh export gives, byte for
byte. Sessions are not kept: a live onnxruntime session keeps its thread pool, and a
few of them slow every later run more than creating one costs.
"""
from __future__ import annotations

import contextlib
import copy

import onnx
import onnxruntime as ort
import onnxscript
import torch

from ._cache import ArtefactCache, array_key, run_built
from .base import Output, run_snippet
from .torch_adapter import TorchModules, to_numpy, to_torch

ort.set_default_logger_severity(3)


#: exported programs, by call, parameters and input shape and dtype
_EXPORTED = ArtefactCache("torch-onnx exported programs")
#: torchlib's ATen-to-ONNX registry, by opset
_REGISTRIES = ArtefactCache("torch-onnx registry", size=4)


@contextlib.contextmanager
def _torchlib_registry_reused():
    """While exporting, ``ONNXRegistry.from_torchlib`` (called by every ``torch.onnx.export``, about half of a
    small module's export time) returns a copy of the registry built for the same arguments; a torch whose
    exporter has no such method exports as it is."""
    try:
        from torch.onnx._internal.exporter import _registration
    except ImportError:  # pragma: no cover - another torch
        yield
        return
    cls = _registration.ONNXRegistry
    orig = cls.__dict__.get("from_torchlib")
    if not isinstance(orig, classmethod) or not isinstance(getattr(cls(), "functions", None), dict):
        yield  # pragma: no cover - another torch
        return

    def from_torchlib(klass, *args, **kwargs):
        built = _REGISTRIES.get((klass, args, tuple(sorted(kwargs.items()))),
                                lambda: orig.__func__(klass, *args, **kwargs))
        reg = copy.copy(built)  # a custom translation table registers into the copy, never the kept one
        reg.functions = {k: list(v) for k, v in built.functions.items()}
        return reg

    cls.from_torchlib = classmethod(from_torchlib)
    try:
        yield
    finally:
        cls.from_torchlib = orig


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
        return self._parts(case)[0]

    def _parts(self, case) -> tuple[str, str]:
        """The call, and its lines that run the exported program on the input."""
        lines, xin, back = self.module_call(case)
        lines += [
            f"xin = {xin}",
            "# the default exporter (dynamo=True) at its default opset, then onnxruntime on the CPU",
            "onnx_program = torch.onnx.export(m, (xin,), dynamo=True, verbose=False)",
            "sess = ort.InferenceSession(onnx_program.model_proto.SerializeToString(), "
            "providers=['CPUExecutionProvider'])",
            f"y = torch.from_numpy(sess.run(None, {{sess.get_inputs()[0].name: xin.numpy()}})[0]){back}",
        ]
        return "\n".join(lines), "\n".join([lines[-5], *lines[-2:]])

    def repro(self, case) -> dict:
        parts = super().repro(case)
        parts["imports"] += "\nimport onnx\nimport onnxruntime as ort\nimport onnxscript"
        parts["versions"] = ("{'torch': torch.__version__, 'onnxscript': onnxscript.__version__, "
                             "'onnxruntime': ort.__version__, 'onnx': onnx.__version__}")
        return parts

    def run(self, case, inputs) -> Output:
        src, call = self._parts(case)
        ns = {
            "torch": torch, "nn": torch.nn, "F": torch.nn.functional, "ort": ort,
            "x": to_torch(inputs.x, case.dtype), "gamma": to_torch(inputs.gamma, case.dtype),
            "beta": to_torch(inputs.beta, case.dtype),
            "running_mean": to_torch(inputs.running_mean, case.dtype),
            "running_var": to_torch(inputs.running_var, case.dtype),
        }
        # the graph holds the module's parameters and buffers; the input values never change it
        key = (src, inputs.x.shape, str(inputs.x.dtype),
               array_key(inputs, "gamma", "beta", "running_mean", "running_var"))
        with torch.no_grad(), _torchlib_registry_reused():
            run_built(self.name, _EXPORTED, key, src, call, ("onnx_program",), ns, run_snippet)
        return Output(to_numpy(ns["y"], case.dtype), src)
