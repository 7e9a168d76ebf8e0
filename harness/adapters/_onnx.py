"""ONNX: single-node models built with ``onnx.helper``, shared by the ONNX
runtime adapters (``onnx_ref_adapter``: onnx.reference.ReferenceEvaluator;
``onnxruntime_adapter``: onnxruntime's CPU InferenceSession).

Each case becomes one ONNX node, written out as source code that builds the
model and runs it; that very source is executed, so the recorded snippet is
what ran. The snippet expects ``x`` (and ``gamma``/``beta``) as numpy arrays
in the case's layout and dtype and leaves ``y`` in the same layout.

Which operator version runs is decided by the model's opset import:

* opset 23 (the default columns): LayerNormalization-17, GroupNormalization-21
  (per-channel scale and bias, statistics in ``stash_type``), InstanceNormalization-22,
  BatchNormalization-15, RMSNormalization-23, MeanVarianceNormalization-13;
* opset 18 (the ``-opset18`` columns): GroupNormalization-18 (one scale and
  bias per group), InstanceNormalization-6, no RMSNormalization.

Every attribute but the ones a case sets is left at its default, as a user
writing the node would: ``stash_type`` stays 1 (statistics in float32, also for
float64 inputs) unless the case passes it as a framework option and ``epsilon`` is an ONNX FLOAT attribute, so it is stored in
float32 whatever the input's dtype.
"""
from __future__ import annotations

import numpy as np

from harness.ops.layouts import Layout, channels_first, permutation

from .base import Adapter, Output, fmt, option_kw, run_snippet

_SPEC = "https://github.com/onnx/onnx/blob/v1.23.2/docs/Operators.md#{}"
#: the documented attribute defaults of the ONNX operators (onnx/docs/Operators.md)
DEFAULT_EPSILONS = {
    "batch_norm": (1e-5, "epsilon : float (default is 1e-05) The epsilon value to use to avoid division by zero.",
                   _SPEC.format("BatchNormalization")),
    "layer_norm": (1e-5, "epsilon : float (default is 1e-05) The epsilon value to use to avoid division by zero.",
                   _SPEC.format("LayerNormalization")),
    "group_norm": (1e-5, "epsilon : float (default is 1e-05) The epsilon value to use to avoid division by zero.",
                   _SPEC.format("GroupNormalization")),
    "instance_norm": (1e-5, "epsilon : float (default is 1e-05) The epsilon value to use to avoid division by "
                            "zero.", _SPEC.format("InstanceNormalization")),
    "rms_norm": (1e-5, "epsilon : float (default is 1e-05) The epsilon value to use to avoid division by zero.",
                 _SPEC.format("RMSNormalization")),
}
#: LpNormalization has no epsilon attribute: a zero row is defined as 0, any other row divided by its norm
DEFAULT_EPSILONS["l2_normalize"] = (
    0.0, "When the Lp norm is zero (i.e., all elements along the axis are zero), the output is defined to be "
         "zero to avoid division by zero.", _SPEC.format("LpNormalization"))
#: MeanVarianceNormalization has no epsilon attribute: its function body adds this
#: constant to the standard deviation (outside the square root)
MVN_EPSILON = (1e-9, "Epsilon = Constant <value = float {1e-9}>() ... Processed_STD = Add (STD, Epsilon) "
               "Y = Div (X_variance, Processed_STD)", _SPEC.format("MeanVarianceNormalization"))

_OP = {"layer_norm": "LayerNormalization", "layer_norm_no_bias": "LayerNormalization", "group_norm": "GroupNormalization",
       "instance_norm": "InstanceNormalization", "batch_norm": "BatchNormalization",
       "rms_norm": "RMSNormalization", "l2_normalize": "LpNormalization", "local_response_norm": "LRN"}
#: operator -> {model opset: the operator version it resolves to}
_VERSIONS = {
    "LayerNormalization": {18: 17, 23: 17}, "GroupNormalization": {18: 18, 23: 21},
    "InstanceNormalization": {18: 6, 23: 22}, "BatchNormalization": {18: 15, 23: 15},
    "RMSNormalization": {23: 23}, "MeanVarianceNormalization": {18: 13, 23: 13},
    "LpNormalization": {18: 1, 23: 22}, "LRN": {18: 13, 23: 13},
}
#: the IR version each model opset needs (onnx.helper.VERSION_TABLE), pinned so that
#: runtimes that read older IR versions load the model
_IR = {18: 8, 23: 11}


def _perm(src: str, dst: str) -> tuple[str, str]:
    """numpy transposes from layout src to dst and back ('' if the same)."""
    if src == dst:
        return "", ""
    return f".transpose{fmt(permutation(src, dst))}", f".transpose{fmt(permutation(dst, src))}"


class OnnxBase(Adapter):
    """One ONNX node per case; subclasses say how the model is run (``runner``)."""

    ops = frozenset(_OP)
    dtypes = frozenset({"float16", "float32", "float64"})
    default_epsilons = DEFAULT_EPSILONS
    opset = 23
    #: MeanVarianceNormalization (+ Mul/Add for the affine transform) instead of the op's own node
    mvn = False
    runtime = ""  # shown in messages

    @property
    def mask_apis(self):
        node = "MeanVarianceNormalization" if self.mvn else None
        return {op: f"the ONNX operator {node or name}" for op, name in _OP.items()}

    # -- what the runtime is ------------------------------------------------------------
    def versions(self) -> dict[str, str]:
        import onnx
        return {"onnx": onnx.__version__, "opset": str(self.opset)}

    def run_model_code(self) -> list[str]:
        """Source lines that run ``model`` on ``feeds`` and leave its outputs, in order, in ``outs``."""
        raise NotImplementedError

    def imports(self) -> str:
        raise NotImplementedError

    def namespace(self) -> dict:
        raise NotImplementedError

    # -- what a case can be --------------------------------------------------------------
    @property
    def options(self):
        """stash_type on the operators that have it (GroupNormalization from version 21 on)."""
        if self.mvn:
            return {}
        ops = ["layer_norm", "layer_norm_no_bias", "rms_norm"]
        if self.op_version("GroupNormalization") >= 21:
            ops.append("group_norm")
        return {op: frozenset({"stash_type"}) for op in ops}

    @property
    def checks(self):
        # training mode of BatchNormalization outputs the running statistics; no node has a backward;
        # inference mode (training_mode=0) normalizes with given input_mean and input_var
        return frozenset({"forward"} if self.mvn else {"forward", "running_stats", "inference"})

    @property
    def takes_momentum(self):
        return not self.mvn

    _NO_STATS = ("ONNX InstanceNormalization has no running statistics (no mean or variance inputs); a model "
                 "with tracked statistics normalizes them with BatchNormalization")
    missing_checks = {
        "cumulative": "ONNX BatchNormalization has no cumulative average: its momentum is a FLOAT attribute "
                      "(running_mean = input_mean * momentum + current_mean * (1 - momentum))",
        "momentum": "MeanVarianceNormalization takes no momentum (it keeps no running statistics)",
        "running_stats": "MeanVarianceNormalization keeps no running statistics (use BatchNormalization)",
        "inference": "MeanVarianceNormalization takes no given statistics (use BatchNormalization, training_mode=0)",
        ("instance_norm", "running_stats"): _NO_STATS, ("instance_norm", "inference"): _NO_STATS,
        ("instance_norm", "momentum"): "ONNX InstanceNormalization takes no momentum (it has no running statistics)",
    }

    def missing_check(self, case, key):
        if self.mvn:  # MeanVarianceNormalization's own reasons, whatever the op
            return self.missing_checks.get(key)
        return super().missing_check(case, key)

    def supports_case(self, case):
        if self.mvn:
            if case.op not in ("layer_norm", "instance_norm", "batch_norm"):
                return (f"MeanVarianceNormalization centres and scales by the standard deviation over fixed axes; "
                        f"{case.op} is not such a normalization (use {_OP.get(case.op, case.op)})")
            if case.epsilon is not None:
                return ("MeanVarianceNormalization has no epsilon attribute (its function body adds a fixed 1e-9 "
                        "to the standard deviation); only epsilon: default cases run")
            return None
        op = _OP[case.op]
        if op == "LRN" and Layout(case.layout).rank < 3:
            return "LRN takes (N, C, D1, ..., Dk) inputs of rank 3 or more"
        if self.opset not in _VERSIONS[op]:
            first = min(_VERSIONS[op])
            return f"{op} was added in ONNX opset {first}; this column builds opset {self.opset} models"
        return None

    def documented_epsilon(self, case):
        if self.mvn:
            value, quote, source = MVN_EPSILON
            return {"value": value, "quote": quote, "source": source}
        return super().documented_epsilon(case)

    # -- code generation ------------------------------------------------------------------
    def op_version(self, op: str) -> int:
        return _VERSIONS[op][self.opset]

    def code(self, case) -> str:
        if case.check == "running_stats":
            return self.running_code(case)
        if case.check == "inference":
            return self.inference_code(case)
        return self.forward_code(case)

    def inference_code(self, case) -> str:
        """A BatchNormalization node in inference mode (training_mode=0, the default) normalizing x with the
        given running statistics as input_mean and input_var."""
        lay = Layout(case.layout)
        target = channels_first(lay.name)
        fwd, back = _perm(lay.name, target)
        C = case.size[lay.channel]
        affine = case.affine != "none"
        eps = [] if case.epsilon is None else [f"epsilon={fmt(case.epsilon)}"]
        names = ["X", "scale", "bias", "input_mean", "input_var"]
        lines = [f"# {lay.name} -> {target}: ONNX wants channels at dim 1"] if fwd else []
        lines += [
            f"X = np.ascontiguousarray(x{fwd})",
            f"scale, bias = {'gamma, beta' if affine else f'np.ones({C}, X.dtype), np.zeros({C}, X.dtype)'}",
            "# training_mode=0 (the default): normalize with input_mean and input_var, the running statistics",
            f"nodes = [helper.make_node('BatchNormalization', {names!r}, ['Y']{''.join(', ' + e for e in eps)})]",
            "feeds = {'X': X, 'scale': scale, 'bias': bias, 'input_mean': running_mean, 'input_var': running_var}",
            "T = helper.np_dtype_to_tensor_dtype(X.dtype)",
            "graph = helper.make_graph(nodes, 'normconf', [helper.make_tensor_value_info(k, T, v.shape) "
            "for k, v in feeds.items()], [helper.make_tensor_value_info('Y', T, None)])",
            f"# opset {self.opset}: BatchNormalization-{self.op_version('BatchNormalization')}",
            f"model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', {self.opset})], "
            f"ir_version={_IR[self.opset]})",
            *self.run_model_code(),
            f"y = outs[0]{back}",
        ]
        return "\n".join(lines)

    def running_code(self, case) -> str:
        """Train a BatchNormalization node (training_mode=1) on ``batches``, feeding each step's
        running statistics to the next, then normalize x with them (training_mode=0). ONNX's momentum
        weights the old value, so the case's momentum (the weight of the new batch) becomes 1 - m;
        like every float attribute it is stored in float32."""
        lay = Layout(case.layout)
        target = channels_first(lay.name)
        fwd, back = _perm(lay.name, target)
        C = case.size[lay.channel]
        affine = case.affine != "none"
        eps = "" if case.epsilon is None else f", epsilon={fmt(case.epsilon)}"
        names = ["X", "scale", "bias", "input_mean", "input_var"]
        lines = [f"# {lay.name} -> {target}: ONNX wants channels at dim 1"] if fwd else []
        lines += [
            f"scale, bias = {'gamma, beta' if affine else f'np.ones({C}, x.dtype), np.zeros({C}, x.dtype)'}",
            "T = helper.np_dtype_to_tensor_dtype(x.dtype)",
            "models = {}",
            "for training in (1, 0):  # outputs: Y, running_mean, running_var in training mode; Y otherwise",
            "    outputs = ['Y', 'running_mean', 'running_var'][:1 + 2 * training]",
            f"    node = helper.make_node('BatchNormalization', {names!r}, outputs, training_mode=training, "
            f"momentum={1 - case.momentum!r}{eps})  # momentum {case.momentum!r} weighting the new batch",
            f"    shapes = [x{fwd}.shape] + [({C},)] * 4",
            f"    graph = helper.make_graph([node], 'normconf', [helper.make_tensor_value_info(k, T, s) "
            f"for k, s in zip({names!r}, shapes)], [helper.make_tensor_value_info(k, T, None) for k in outputs])",
            f"    models[training] = helper.make_model(graph, opset_imports=[helper.make_opsetid('', {self.opset})], "
            f"ir_version={_IR[self.opset]})",
            f"running_mean, running_var = np.zeros({C}, x.dtype), np.ones({C}, x.dtype)",
            "for batch in batches:",
            "    model = models[1]",
            f"    feeds = {{'X': np.ascontiguousarray(batch{fwd}), 'scale': scale, 'bias': bias, "
            "'input_mean': running_mean, 'input_var': running_var}",
            *("    " + line for line in self.run_model_code()),
            "    running_mean, running_var = outs[1], outs[2]",
            "model = models[0]",
            f"feeds = {{'X': np.ascontiguousarray(x{fwd}), 'scale': scale, 'bias': bias, "
            "'input_mean': running_mean, 'input_var': running_var}",
            *self.run_model_code(),
            f"y = outs[0]{back}",
        ]
        return "\n".join(lines)

    def forward_code(self, case) -> str:
        lay = Layout(case.layout)
        sizes = case.size
        affine = case.affine != "none"
        eps = [] if case.epsilon is None else [f"epsilon={fmt(case.epsilon)}"]
        lines: list[str] = []
        if self.mvn:
            op = "MeanVarianceNormalization"
            stat = case.semantics.stat_axes
            shape = tuple(sizes[a] if a in case.semantics.affine_axes else 1 for a in lay.axes)
            lines.append("X = np.ascontiguousarray(x)")
            lines.append(f"# statistics over {{{','.join(stat)}}} of {lay.name}: axes={list(lay.indices(stat))}; "
                         "the node has no epsilon and no scale or bias")
            lines.append(f"nodes = [helper.make_node({op!r}, ['X'], ['N'], axes={list(lay.indices(stat))})]")
            feeds = ["'X': X"]
            last = "N"
            if affine:
                lines.append("nodes.append(helper.make_node('Mul', ['N', 'scale'], ['S']))")
                lines.append("nodes.append(helper.make_node('Add', ['S', 'bias'], ['Y']))")
                feeds += [f"'scale': gamma.reshape({fmt(shape)})", f"'bias': beta.reshape({fmt(shape)})"]
                last = "Y"
            back = ""
        elif case.op == "l2_normalize":
            op = "LpNormalization"
            axes = case.semantics.axes
            if len(axes) > 1:
                # one axis only: the normalized axes go last, flattened into one
                kept = "".join(a for a in lay.name if a not in axes)
                fwd, _ = _perm(lay.name, kept + axes)
                shape = tuple(sizes[a] for a in kept) + (-1,)
                lines.append(f"# LpNormalization normalizes along one axis: {lay.name} -> {kept + axes}, "
                             f"{''.join(axes)} flattened into the last axis")
                lines.append(f"X = np.ascontiguousarray(x{fwd}).reshape({fmt(shape)})")
                inv = permutation(kept + axes, lay.name)
                back = (f".reshape({fmt(tuple(sizes[a] for a in kept + axes))})"
                        f".transpose{fmt(inv)}" if inv != tuple(range(lay.rank)) else
                        f".reshape({fmt(tuple(sizes[a] for a in kept + axes))})")
                axis = -1
            else:
                lines.append("X = np.ascontiguousarray(x)")
                back, axis = "", lay.index(axes)
            if case.epsilon is not None:
                lines.append(f"# LpNormalization has no epsilon attribute: the case's epsilon={fmt(case.epsilon)} "
                             "cannot be passed")
            feeds = ["'X': X"]
            lines.append(f"nodes = [helper.make_node({op!r}, ['X'], ['Y'], axis={axis}, p=2)]")
            last = "Y"
        elif case.op == "local_response_norm":
            op = "LRN"
            target = channels_first(lay.name)
            fwd, back = _perm(lay.name, target)
            if fwd:
                lines.append(f"# {lay.name} -> {target}: ONNX wants channels at dim 1")
            lines.append(f"X = np.ascontiguousarray(x{fwd})")
            feeds = ["'X': X"]
            attrs = (f"size={case.arg('size')}, alpha={fmt(float(case.arg('alpha')))}, "
                     f"beta={fmt(float(case.arg('beta')))}, bias={fmt(float(case.arg('k')))}")
            lines.append(f"nodes = [helper.make_node('LRN', ['X'], ['Y'], {attrs})]")
            last = "Y"
        elif _OP[case.op] in ("LayerNormalization", "RMSNormalization"):
            op = _OP[case.op]
            axes = case.axes or lay.axes[-1]
            kept = "".join(a for a in lay.name if a not in axes)
            target = kept + axes
            fwd, back = _perm(lay.name, target)
            if fwd:
                lines.append(f"# {lay.name} -> {target}: {op} normalizes from `axis` to the last dimension")
            lines.append(f"X = np.ascontiguousarray(x{fwd})")
            nshape = tuple(sizes[a] for a in axes)
            feeds = ["'X': X", f"'scale': {'gamma' if affine else f'np.ones({fmt(nshape)}, X.dtype)'}"]
            names = ["X", "scale"]
            if case.op == "layer_norm" and affine:
                feeds.append("'bias': beta")
                names.append("bias")
            attrs = [f"axis={-len(axes)}"] + eps + option_kw(case, "stash_type")
            lines.append(f"nodes = [helper.make_node({op!r}, {names!r}, ['Y'], {', '.join(attrs)})]")
            last = "Y"
        else:
            op = _OP[case.op]
            target = channels_first(lay.name)
            fwd, back = _perm(lay.name, target)
            if fwd:
                lines.append(f"# {lay.name} -> {target}: ONNX wants channels at dim 1")
            lines.append(f"X = np.ascontiguousarray(x{fwd})")
            C = sizes[lay.channel]
            scale, bias = ("gamma", "beta") if affine else (f"np.ones({C}, X.dtype)", f"np.zeros({C}, X.dtype)")
            attrs = list(eps) + option_kw(case, "stash_type")
            if op == "GroupNormalization":
                attrs.insert(0, f"num_groups={case.groups}")
                if self.op_version(op) == 18 and case.groups != C:
                    if case.sets_affine:
                        lines.append(f"# GroupNormalization-18 takes one scale and bias per group (shape "
                                     f"[{case.groups}]); these are the model's {C} per-channel ones")
                    else:
                        scale, bias = (f"np.ones({case.groups}, X.dtype)", f"np.zeros({case.groups}, X.dtype)")
                        lines.append(f"# GroupNormalization-18: one scale and bias per group (shape [{case.groups}])")
            names = ["X", "scale", "bias"]
            feeds = ["'X': X", f"'scale': {scale}", f"'bias': {bias}"]
            if op == "BatchNormalization":
                names += ["input_mean", "input_var"]
                feeds += [f"'input_mean': np.zeros({C}, X.dtype)", f"'input_var': np.ones({C}, X.dtype)"]
                attrs.append("training_mode=1")
                if case.momentum is not None:  # the case's momentum weights the new batch; ONNX's the old value
                    attrs.append(f"momentum={1 - case.momentum!r}")
                lines.append("# training_mode=1: normalize with the batch's statistics (input_mean/input_var only "
                             "feed the running averages, which training mode must output)")
            outs = ["Y", "running_mean", "running_var"] if op == "BatchNormalization" else ["Y"]
            lines.append(f"nodes = [helper.make_node({op!r}, {names!r}, {outs!r}, {', '.join(attrs)})]")
            last = "Y"
        ver = self.op_version(op)
        lines += [
            f"feeds = {{{', '.join(feeds)}}}",
            "T = helper.np_dtype_to_tensor_dtype(X.dtype)",
            f"graph = helper.make_graph(nodes, 'normconf', [helper.make_tensor_value_info(k, T, v.shape) "
            f"for k, v in feeds.items()], [helper.make_tensor_value_info({last!r}, T, None)])",
            f"# opset {self.opset}: {op}-{ver}",
            f"model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', {self.opset})], "
            f"ir_version={_IR[self.opset]})",
            *self.run_model_code(),
            f"y = outs[0]{back}",
        ]
        return "\n".join(lines)

    def repro(self, case) -> dict:
        return {"imports": self.imports(), "to_framework": "np.ascontiguousarray(a)",
                "to_numpy": "np.asarray(y, dtype=np.float64)", "context": "",
                "versions": self.repro_versions(), "call": self.code(case)}

    def repro_versions(self) -> str:
        return f"{{'onnx': onnx.__version__, 'opset': {str(self.opset)!r}}}"

    def run(self, case, inputs):
        src = self.code(case)
        ns = self.namespace()
        ns.update(np=np, x=inputs.x, gamma=inputs.gamma, beta=inputs.beta, batches=inputs.batches,
                  running_mean=inputs.running_mean, running_var=inputs.running_var)
        run_snippet(self.name, src, ns)
        if case.check == "running_stats":
            return Output(np.asarray(ns["y"]), src, info={"momentum_argument": "old_value"},
                          arrays={k: np.asarray(ns[k]) for k in ("running_mean", "running_var")})
        return Output(np.asarray(ns["y"]), src)
