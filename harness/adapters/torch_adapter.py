"""PyTorch: torch.nn modules and torch.nn.functional.

Each call is written out as source code and that very source is executed, so
the recorded snippet is exactly what ran. The snippet expects ``x`` (and
``gamma``/``beta`` when the case has an affine transform) as torch tensors in
the case's layout and dtype, and leaves the result in ``y`` in the same layout.
"""
from __future__ import annotations

import re

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from harness.ops.layouts import Layout, channels_first, permutation

from .base import Adapter, Output, eps_kw, fmt, option_kw, run_snippet

_DOC = "eps: a value added to the denominator for numerical stability. Default: 1e-5"
_F32_EPS, _F64_EPS = 2.0 ** -23, 2.0 ** -52
_RMS_DOC = ("eps (float, optional): ... If not specified, uses the machine epsilon of the computation (opmath) "
            "type: fp16/bf16 and fp32 inputs use torch.finfo(torch.float32).eps, while fp64 inputs use "
            "torch.finfo(torch.float64).eps. Default: None")
_SRC = "https://docs.pytorch.org/docs/2.13/generated/torch.nn.{}.html"
_NORMALIZE_DOC = "eps (float): small value to avoid division by zero. Default: 1e-12"
#: the documented defaults of torch 2.13 (module docstrings; the functional forms share them)
DEFAULT_EPSILONS = {
    "batch_norm": (1e-5, _DOC, _SRC.format("BatchNorm2d")),
    "layer_norm": (1e-5, _DOC, _SRC.format("LayerNorm")),
    "layer_norm_no_bias": (1e-5, _DOC, _SRC.format("LayerNorm")),
    "group_norm": (1e-5, _DOC, _SRC.format("GroupNorm")),
    "instance_norm": (1e-5, _DOC, _SRC.format("InstanceNorm2d")),
    "rms_norm": ({"float16": _F32_EPS, "bfloat16": _F32_EPS, "float32": _F32_EPS, "float64": _F64_EPS},
                 _RMS_DOC, _SRC.format("RMSNorm")),
    "l2_normalize": (1e-12, _NORMALIZE_DOC, _SRC.format("functional.normalize")),
}

_TORCH_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16,
                 "float32": torch.float32, "float64": torch.float64}


def to_torch(a, dtype, device="cpu"):
    if a is None:
        return None
    if dtype == "bfloat16":
        return torch.from_numpy(np.asarray(a, np.float32)).to(torch.bfloat16).to(device)
    return torch.from_numpy(np.ascontiguousarray(a)).to(device)


def to_numpy(t, dtype):
    t = t.detach().cpu()
    if dtype == "bfloat16":
        import ml_dtypes
        return t.float().numpy().astype(ml_dtypes.bfloat16)
    return t.numpy()


def _perm_code(src: str, dst: str) -> tuple[str, str]:
    """Code suffixes that permute from layout src to dst and back ('' if same)."""
    if src == dst:
        return "", ""
    fwd = permutation(src, dst)
    back = permutation(dst, src)
    return f".permute{fmt(fwd)}", f".permute{fmt(back)}"


class _Torch(Adapter):
    ops = frozenset({"batch_norm", "layer_norm", "layer_norm_no_bias", "group_norm", "instance_norm", "rms_norm",
                     "l2_normalize", "local_response_norm"})
    dtypes = frozenset({"float16", "bfloat16", "float32", "float64"})
    default_epsilons = DEFAULT_EPSILONS
    checks = frozenset({"forward", "backward", "running_stats", "inference"})
    stats_ops = frozenset({"batch_norm", "instance_norm"})  # InstanceNorm*d(track_running_stats=True)
    takes_momentum = True
    functional = False
    device = "cpu"

    @property
    def mask_apis(self):
        if self.functional:
            return {"batch_norm": "torch.nn.functional.batch_norm", "layer_norm": "torch.nn.functional.layer_norm",
                    "layer_norm_no_bias": "torch.nn.functional.layer_norm",
                    "group_norm": "torch.nn.functional.group_norm",
                    "instance_norm": "torch.nn.functional.instance_norm", "rms_norm": "torch.nn.functional.rms_norm"}
        return {"batch_norm": "torch.nn.BatchNorm1d/2d/3d", "layer_norm": "torch.nn.LayerNorm",
                "layer_norm_no_bias": "torch.nn.LayerNorm", "group_norm": "torch.nn.GroupNorm",
                "instance_norm": "torch.nn.InstanceNorm1d/2d/3d", "rms_norm": "torch.nn.RMSNorm"}

    @property
    def cumulative_momentum(self):
        return not self.functional  # the modules count batches in num_batches_tracked

    missing_checks = {
        "cumulative": "torch.nn.functional.batch_norm and instance_norm take momentum as a float; the cumulative "
                      "average (momentum=None) is the modules' (they count batches in num_batches_tracked)",
    }

    def versions(self):
        v = {"torch": torch.__version__}
        if self.device == "cuda" and torch.cuda.is_available():
            v["cuda"] = str(torch.version.cuda)
            v["device"] = torch.cuda.get_device_name(0)
        return v

    def unavailable(self):
        if self.device == "cuda" and not torch.cuda.is_available():
            return "no CUDA device visible to torch"
        return None

    def supports_case(self, case):
        if case.op == "local_response_norm" and Layout(case.layout).rank < 3:
            return ("torch LocalResponseNorm takes (N, C, *) inputs of rank 3 or more; a rank-2 input needs a "
                    "spatial axis of size 1 added")
        if dict(case.options).get("elementwise_affine") is False and case.affine != "none":
            return (f"torch.nn.{'RMSNorm' if case.op == 'rms_norm' else 'LayerNorm'}(elementwise_affine=False) "
                    f"has no weight or bias to hold the case's affine {case.affine}; give affine: none")
        if case.op in ("batch_norm", "instance_norm") and Layout(case.layout).rank > 5:
            return "torch has no BatchNorm/InstanceNorm above 3 spatial dims"
        if case.op == "rms_norm" and not hasattr(nn, "RMSNorm"):
            return f"torch {torch.__version__} has no RMSNorm (added in 2.4)"
        return None

    # -- code generation ------------------------------------------------------
    def code(self, case) -> str:
        if case.check == "backward":
            return self.backward_code(case)
        if case.check == "running_stats":
            return self.running_code(case)
        if case.check == "inference":
            return self.inference_code(case)
        return self.forward_code(case)

    @staticmethod
    def momentum_kw(case) -> str:
        """``, momentum=m`` (None for the cumulative average), or nothing when the case gives none."""
        if case.momentum is None:
            return ""
        return ", momentum=None" if case.cumulative else f", momentum={case.momentum!r}"

    def inference_code(self, case) -> str:
        """Inference mode with the given running statistics: the module in eval() with its buffers set,
        or the functional form with training=False (use_input_stats=False)."""
        lay = Layout(case.layout)
        target = channels_first(lay.name)
        fwd, back = _perm_code(lay.name, target)
        C = case.size[lay.channel]
        tdt = f"torch.{case.dtype}" + (f", device={self.device!r}" if self.device != "cpu" else "")
        affine = case.affine != "none"
        eps = "".join(", " + k for k in eps_kw(case, "eps"))
        lines = [f"# {lay.name} -> {target}: torch wants channels at dim 1"] if fwd else []
        bn = case.op == "batch_norm"
        if self.functional:
            wb = "weight=gamma, bias=beta" if affine else "weight=None, bias=None"
            call = (f"F.batch_norm(x{fwd}, running_mean, running_var, {wb}, training=False{eps})" if bn else
                    f"F.instance_norm(x{fwd}, running_mean, running_var, {wb}, use_input_stats=False{eps})")
            lines.append(f"y = {call}{back}")
            return "\n".join(lines)
        nd = max(len(lay.spatial), 1)
        if bn:
            lines.append(f"m = nn.BatchNorm{nd}d({C}{eps}, affine={affine}, dtype={tdt})")
        else:
            lines.append(f"m = nn.InstanceNorm{nd}d({C}{eps}, affine={affine}, track_running_stats=True, dtype={tdt})")
        lines.append("with torch.no_grad():")
        if case.sets_affine:
            lines += ["    m.weight.copy_(gamma)", "    m.bias.copy_(beta)"]
        lines += ["    m.running_mean.copy_(running_mean)", "    m.running_var.copy_(running_var)",
                  "m.eval()  # normalize with the running statistics", f"y = m(x{fwd}){back}"]
        return "\n".join(lines)

    def backward_code(self, case) -> str:
        """The forward call under torch.autograd: ``dy`` is the upstream gradient."""
        affine = case.affine != "none"
        bias = affine and case.spec.bias
        leaves = ["x"] + (["gamma"] + (["beta"] if bias else []) if self.functional and affine else [])
        lines = [f"{v}.requires_grad_(True)" for v in leaves]
        lines += [self.forward_code(case), "y.backward(dy)", "dx = x.grad"]
        if affine:
            lines.append("dgamma = gamma.grad" if self.functional else "dgamma = m.weight.grad")
        if bias:
            lines.append("dbeta = beta.grad" if self.functional else "dbeta = m.bias.grad")
        return "\n".join(lines)

    def running_code(self, case) -> str:
        """Train batch norm (instance norm with track_running_stats=True) on ``batches`` (momentum
        weights the new batch in torch too; None: the modules' cumulative average), then normalize x in
        inference mode with the running statistics."""
        lay = Layout(case.layout)
        target = channels_first(lay.name)
        fwd, back = _perm_code(lay.name, target)
        C = case.size[lay.channel]
        tdt = f"torch.{case.dtype}" + (f", device={self.device!r}" if self.device != "cpu" else "")
        affine = case.affine != "none"
        eps = "".join(", " + k for k in eps_kw(case, "eps"))
        mom = self.momentum_kw(case)[2:]
        bn = case.op == "batch_norm"
        lines = [f"# {lay.name} -> {target}: torch wants channels at dim 1"] if fwd else []
        if self.functional:
            wb = "weight=gamma, bias=beta" if affine else "weight=None, bias=None"
            lines += [f"running_mean = torch.zeros({C}, dtype={tdt})",
                      f"running_var = torch.ones({C}, dtype={tdt})",
                      "for batch in batches:"]
            if bn:
                lines += [f"    F.batch_norm(batch{fwd}, running_mean, running_var, {wb}, training=True, {mom}{eps})",
                          f"y = F.batch_norm(x{fwd}, running_mean, running_var, {wb}, training=False{eps}){back}"]
            else:
                lines += [f"    F.instance_norm(batch{fwd}, running_mean, running_var, {wb}, use_input_stats=True, "
                          f"{mom}{eps})",
                          f"y = F.instance_norm(x{fwd}, running_mean, running_var, {wb}, use_input_stats=False{eps})"
                          f"{back}"]
            return "\n".join(lines)
        nd = max(len(lay.spatial), 1)
        if bn:
            lines.append(f"m = nn.BatchNorm{nd}d({C}{eps}, {mom}, affine={affine}, dtype={tdt})")
        else:
            lines.append(f"m = nn.InstanceNorm{nd}d({C}{eps}, {mom}, affine={affine}, track_running_stats=True, "
                         f"dtype={tdt})")
        if case.sets_affine:
            lines.append("with torch.no_grad():\n    m.weight.copy_(gamma)\n    m.bias.copy_(beta)")
        lines += ["m.train()  # batch statistics, running statistics updated",
                  "for batch in batches:",
                  f"    m(batch{fwd})",
                  "m.eval()  # running statistics",
                  f"y = m(x{fwd}){back}",
                  "running_mean, running_var = m.running_mean, m.running_var"]
        return "\n".join(lines)

    def family_code(self, case) -> str:
        """L2 normalization (``F.normalize``; torch.nn has no module) and local response normalization
        (``nn.LocalResponseNorm`` / ``F.local_response_norm``, channels at dim 1)."""
        lay = Layout(case.layout)
        if case.op == "l2_normalize":
            dims = lay.indices(case.semantics.axes)
            dim = dims[0] if len(dims) == 1 else dims
            eps = "".join(", " + k for k in eps_kw(case, "eps"))
            return f"y = F.normalize(x, p=2.0, dim={fmt(dim)}{eps})"
        target = channels_first(lay.name)
        fwd, back = _perm_code(lay.name, target)
        lines = [f"# {lay.name} -> {target}: torch wants channels at dim 1"] if fwd else []
        args = f"{case.arg('size')}, alpha={fmt(float(case.arg('alpha')))}, beta={fmt(float(case.arg('beta')))}, " \
               f"k={fmt(float(case.arg('k')))}"
        if self.functional:
            lines.append(f"y = F.local_response_norm(x{fwd}, {args}){back}")
        else:
            lines += [f"m = nn.LocalResponseNorm({args})", f"y = m(x{fwd}){back}"]
        return "\n".join(lines)

    def forward_code(self, case) -> str:
        if case.spec.definition is not None:
            return self.family_code(case)
        lay = Layout(case.layout)
        sizes = case.size
        tdt = f"torch.{case.dtype}"
        if self.device != "cpu":
            tdt += f", device={self.device!r}"
        affine = case.affine != "none"
        setp = case.sets_affine
        lines = []
        if case.op in ("layer_norm", "layer_norm_no_bias", "rms_norm"):
            axes = case.axes or lay.axes[-1]
            kept = "".join(a for a in lay.name if a not in axes)
            target = kept + axes  # normalized axes last, in layout order
            fwd, back = _perm_code(lay.name, target)
            nshape = tuple(sizes[a] for a in axes)
            if fwd:
                lines.append(f"# {lay.name} -> {target}: torch normalizes the trailing dims")
            xin = f"x{fwd}"
            w = "gamma" if affine else "None"
            eps = eps_kw(case, "eps")
            ln, has_bias = case.op != "rms_norm", case.spec.bias
            if self.functional:
                fn = "F.layer_norm" if ln else "F.rms_norm"
                kw = [f"weight={w}"] + ([f"bias={'beta' if affine and has_bias else 'None'}"] if ln else []) + eps
                lines.append(f"y = {fn}({xin}, {fmt(nshape)}, {', '.join(kw)}){back}")
            else:
                cls = "LayerNorm" if ln else "RMSNorm"
                kw = [fmt(nshape)] + eps + (option_kw(case, "elementwise_affine") or [f"elementwise_affine={affine}"]) + \
                    (["bias=False"] if ln and not has_bias else []) + [f"dtype={tdt}"]
                lines.append(f"m = nn.{cls}({', '.join(kw)})")
                if setp:
                    lines.append("with torch.no_grad():\n    m.weight.copy_(gamma)"
                                 + ("\n    m.bias.copy_(beta)" if has_bias else ""))
                lines.append(f"y = m({xin}){back}")
            return "\n".join(lines)

        # channel-axis ops: torch wants (N, C, *spatial)
        target = channels_first(lay.name)
        fwd, back = _perm_code(lay.name, target)
        if fwd:
            lines.append(f"# {lay.name} -> {target}: torch wants channels at dim 1")
        xin = f"x{fwd}"
        C = sizes[lay.channel]
        nd = len(lay.spatial)
        w = "gamma" if affine else "None"
        b = "beta" if affine else "None"
        eps = "".join(", " + k for k in eps_kw(case, "eps"))
        mom = self.momentum_kw(case)
        functional = {
            "batch_norm": f"F.batch_norm({xin}, None, None, weight={w}, bias={b}, training=True{mom}{eps})",
            "group_norm": f"F.group_norm({xin}, {case.groups}, weight={w}, bias={b}{eps})",
            "instance_norm": f"F.instance_norm({xin}, weight={w}, bias={b}{mom}{eps})",
        }[case.op]
        module = {
            "batch_norm": f"nn.BatchNorm{max(nd, 1)}d({C}{eps}{mom}, affine={affine}, dtype={tdt})",
            "group_norm": f"nn.GroupNorm({case.groups}, {C}{eps}, affine={affine}, dtype={tdt})",
            "instance_norm": f"nn.InstanceNorm{nd}d({C}{eps}{mom}, affine={affine}, dtype={tdt})",
        }[case.op]
        if self.functional:
            lines.append(f"y = {functional}{back}")
        else:
            lines.append(f"m = {module}")
            if case.op == "batch_norm":
                lines.append("m.train()  # batch statistics")
            if setp:
                lines.append("with torch.no_grad():\n    m.weight.copy_(gamma)\n    m.bias.copy_(beta)")
            lines.append(f"y = m({xin}){back}")
        return "\n".join(lines)

    def repro(self, case) -> dict:
        to = f".to({self.device!r})" if self.device != "cpu" else ""
        conv = "torch.from_numpy(np.ascontiguousarray(a))"
        if case.dtype == "bfloat16":
            conv += ".to(torch.bfloat16)"
        return {"imports": "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F",
                "to_framework": conv + to, "to_numpy": "y.detach().cpu().to(torch.float64).numpy()",
                # run() makes a backward call with autograd on, every other call under no_grad
                "context": "" if case.check == "backward" else "torch.no_grad()",
                "versions": "{'torch': torch.__version__}", "call": self.code(case)}

    def run(self, case, inputs) -> Output:
        src = self.code(case)
        ns = {
            "torch": torch, "nn": nn, "F": F,
            "x": to_torch(inputs.x, case.dtype, self.device),
            "gamma": to_torch(inputs.gamma, case.dtype, self.device),
            "beta": to_torch(inputs.beta, case.dtype, self.device),
        }
        if case.check == "backward":
            ns["dy"] = to_torch(inputs.dy, case.dtype, self.device)
            run_snippet(self.name, src, ns)
            return Output(to_numpy(ns["dx"], case.dtype), src, arrays={
                k: to_numpy(ns[k], case.dtype) for k in ("dgamma", "dbeta") if k in ns})
        ns["batches"] = [to_torch(b, case.dtype, self.device) for b in inputs.batches]
        if case.check == "inference":  # the given running statistics
            ns["running_mean"] = to_torch(inputs.running_mean, case.dtype, self.device)
            ns["running_var"] = to_torch(inputs.running_var, case.dtype, self.device)
        with torch.no_grad():
            run_snippet(self.name, src, ns)
        arrays = {k: to_numpy(ns[k], case.dtype) for k in ("running_mean", "running_var")
                  if k in ns and case.check == "running_stats"}
        return Output(to_numpy(ns["y"], case.dtype), src, arrays=arrays,
                      info={"momentum_argument": "new_batch"} if case.check == "running_stats" else {})


#: the last line of a module call: the module on its input, then maybe a permute back to the case's layout
_MODULE_CALL = re.compile(r"^y = m\((?P<xin>.*?)\)(?P<back>(\.permute\([0-9, ]*\))?)$")


class TorchModules(_Torch):
    name = "torch"
    ops = _Torch.ops - {"l2_normalize"}
    missing_ops = {"l2_normalize": "torch.nn has no L2-normalization module; torch.nn.functional.normalize "
                                   "(the torch-functional column) is the API"}
    #: the modules' constructor argument (the functional forms take weight=None instead)
    options = {op: frozenset({"elementwise_affine"}) for op in ("layer_norm", "layer_norm_no_bias", "rms_norm")}

    def module_call(self, case) -> tuple[list[str], str, str]:
        """This column's call split for a column that runs the same module elsewhere (exported, converted):
        the lines before the module's call, the module's input expression, and what follows the call on
        its line (a permute back to the case's layout, or nothing)."""
        lines = TorchModules.code(self, case).split("\n")
        m = _MODULE_CALL.match(lines[-1])
        if m is None:  # pragma: no cover - the call's last line changed shape
            raise AssertionError(f"unexpected last line of the torch call: {lines[-1]!r}")
        return lines[:-1], m["xin"], m["back"]


class TorchFunctional(_Torch):
    name = "torch-functional"
    functional = True


class TorchModulesCUDA(TorchModules):
    name = "torch-cuda"
    device = "cuda"


class TorchFunctionalCUDA(TorchFunctional):
    name = "torch-functional-cuda"
    device = "cuda"
