"""OpenVINO: two deployment paths onto OpenVINO's CPU plugin.

``openvino-onnx``
    the single-node ONNX models of the ONNX columns (``_onnx``, opset 23), read by
    OpenVINO's ONNX frontend (``core.read_model``) and compiled for the CPU plugin.
``openvino-torch``
    the ``torch`` column's modules (same construction, same parameters) converted with
    ``openvino.convert_model(m, example_input=...)`` (the PyTorch frontend) and compiled
    for the CPU plugin.

Both compile with the plugin's defaults, as a user does: ``core.compile_model(model,
"CPU")`` with no configuration. The CPU plugin's ``INFERENCE_PRECISION_HINT`` then
decides the precision of the arithmetic; on a CPU with native bfloat16 (AVX512_BF16 or
AMX) its default is bf16, so float32 models run their floating-point operations in
bfloat16 there. ``versions()`` records the hint the plugin reports on this machine, so
results of machines with other defaults are told apart.

An OpenVINO model is an inference graph: no backward pass, no training step. So the
checks are forward (BatchNormalization with batch statistics, where the frontends
convert it) and inference (given running statistics).

A worker keeps the compiled models it built (:mod:`harness.adapters._cache`):
``openvino-onnx`` under the ONNX model's bytes (the parameters and inputs are fed, not
stored), ``openvino-torch`` under the call, the parameters and the input's shape and
dtype; a cell that needs one built before runs on it (the call's last lines).
"""
from __future__ import annotations

import numpy as np
import onnx
import openvino as ov
import torch
from onnx import helper

from ._cache import ArtefactCache, StandIn, array_key, digest, run_built
from ._onnx import OnnxBase
from .base import Output, run_snippet
from .torch_adapter import TorchModules, to_numpy, to_torch

_CORE = ov.Core()
#: compiled models: the ONNX column's by model bytes, the torch column's by call, parameters and input
_COMPILED = ArtefactCache("openvino compiled models")


class _ReadModel:
    """``core.read_model`` of model bytes, left for ``compile_model`` to read (or find compiled)."""

    def __init__(self, core, args, kwargs):
        self.core, self.args, self.kwargs = core, args, kwargs

    def read(self):
        return self.core.read_model(*self.args, **self.kwargs)


def _cached_core():
    """What the call's ``ov.Core()`` gives: a Core whose ``compile_model(core.read_model(bytes, ...), ...)``
    is kept per model bytes and arguments."""
    core = ov.Core()

    def read_model(model, *args, **kwargs):
        if isinstance(model, (bytes, bytearray)):
            return _ReadModel(core, (model, *args), kwargs)
        return core.read_model(model, *args, **kwargs)

    def compile_model(model, *args, **kwargs):
        if not isinstance(model, _ReadModel):
            return core.compile_model(model, *args, **kwargs)
        key = digest(model.args, sorted(model.kwargs.items()), args, sorted(kwargs.items()))
        return _COMPILED.get(("onnx", key), lambda: core.compile_model(model.read(), *args, **kwargs))

    return StandIn(core, read_model=read_model, compile_model=compile_model)


_OV = StandIn(ov, Core=_cached_core)


def _plugin_versions() -> dict[str, str]:
    return {"openvino": ov.__version__.split("-")[0],
            "inference_precision_hint": _CORE.get_property("CPU", "INFERENCE_PRECISION_HINT").get_type_name()}


class OpenVinoOnnx(OnnxBase):
    """The ONNX columns' models (opset 23 nodes) on OpenVINO's ONNX frontend and CPU plugin."""

    name = "openvino-onnx"
    runtime = "openvino"

    def versions(self) -> dict[str, str]:
        return {**_plugin_versions(), **super().versions()}

    def imports(self) -> str:
        return "import onnx\nimport openvino as ov\nfrom onnx import helper"

    def namespace(self) -> dict:
        return {"onnx": onnx, "ov": _OV, "helper": helper}

    def repro_versions(self) -> str:
        return (f"{{'openvino': ov.__version__, 'onnx': onnx.__version__, 'opset': {str(self.opset)!r}, "
                "'inference_precision_hint': ov.Core().get_property('CPU', 'INFERENCE_PRECISION_HINT').get_type_name()}")

    def run_model_code(self) -> list[str]:
        return ["core = ov.Core()",
                "compiled = core.compile_model(core.read_model(model.SerializeToString(), b''), 'CPU')"
                "  # the plugin's defaults",
                "result = compiled(feeds)",
                "outs = [result[o] for o in compiled.outputs]"]




class OpenVinoTorch(TorchModules):
    """torch.nn modules converted with openvino.convert_model and run on the CPU plugin."""

    name = "openvino-torch"
    dtypes = frozenset({"float16", "float32", "float64"})
    checks = frozenset({"forward", "inference"})
    missing_checks = {**TorchModules.missing_checks,
                      "backward": "an OpenVINO model is an inference graph: no backward pass (run the torch column)",
                      "running_stats": "an OpenVINO model is an inference graph: no training step updates the "
                                       "running statistics (run the torch column)"}

    def versions(self):
        return {**_plugin_versions(), "torch": torch.__version__}

    def code(self, case) -> str:
        return self._parts(case)[0]

    def _parts(self, case) -> tuple[str, str]:
        """The call, and its lines that run the compiled model on the input."""
        lines, xin, back = self.module_call(case)
        lines += [
            f"xin = {xin}",
            "# the PyTorch frontend traces the module as it is (train() or eval()), then the CPU plugin's defaults",
            "ov_model = ov.convert_model(m, example_input=xin)",
            "compiled = ov.compile_model(ov_model, 'CPU')",
            f"y = torch.from_numpy(np.asarray(compiled(xin.numpy())[0])){back}",
        ]
        return "\n".join(lines), "\n".join([lines[-5], lines[-1]])

    def repro(self, case) -> dict:
        parts = super().repro(case)
        parts["imports"] += "\nimport openvino as ov"
        parts["versions"] = ("{'torch': torch.__version__, 'openvino': ov.__version__, 'inference_precision_hint': "
                             "ov.Core().get_property('CPU', 'INFERENCE_PRECISION_HINT').get_type_name()}")
        return parts

    def run(self, case, inputs) -> Output:
        src, call = self._parts(case)
        ns = {
            "torch": torch, "nn": torch.nn, "F": torch.nn.functional, "ov": ov, "np": np,
            "x": to_torch(inputs.x, case.dtype), "gamma": to_torch(inputs.gamma, case.dtype),
            "beta": to_torch(inputs.beta, case.dtype),
            "running_mean": to_torch(inputs.running_mean, case.dtype),
            "running_var": to_torch(inputs.running_var, case.dtype),
        }
        # the converted model holds the module's parameters and buffers; the input values never change it
        key = ("torch", src, inputs.x.shape, str(inputs.x.dtype),
               array_key(inputs, "gamma", "beta", "running_mean", "running_var"))
        with torch.no_grad():
            run_built(self.name, _COMPILED, key, src, call, ("compiled",), ns, run_snippet)
        return Output(to_numpy(ns["y"], case.dtype), src)
