"""The documented defaults (cases/defaults/*.yaml) against the frameworks of the current environment.

Every file is read by the harness's loader (harness.compare.defaults: the schema, one (adapter, op) per
entry, known adapters), and each built-in adapter has entries. Then, for every one that runs here
(made as a worker makes it, ``load_adapter`` of its registry spec; Keras once, on the backend this
process has, since its tables do not depend on the backend):

* every op the adapter supports (``Adapter.supports`` on the smoke cases) has an entry, and the entry's
  epsilon is the adapter's documented default (``documented_epsilon``) for every dtype it runs;
* a default that is a constructor or function default is also the installed signature's, and an ONNX
  attribute default the installed schema's, so a release that changes a default fails here;
* every quote appears in the installed framework's own text: the docstrings (the docs pages render
  them), the rendered signatures, the source file, or the ONNX schema as Operators.md renders it.

tests/legacy/test_defaults_data_legacy.py does the same for tf.keras 2, TFA and the GN paper's code
with these helpers.
"""
from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import os
import re
import sys
from functools import cache
from pathlib import Path

import pytest

from harness.adapters import BUILTIN, load_adapter
from harness.compare import discover_defaults, load_defaults
from tests.support import smoke_cases

ROOT = Path(__file__).resolve().parents[2]
FILES = ("pytorch.yaml", "keras.yaml", "tf_keras.yaml", "tfa.yaml", "flax.yaml", "jax.yaml", "onnx.yaml",
         "gn_paper.yaml", "tensorflow.yaml", "paddle.yaml", "deploy.yaml", "mlx.yaml", "tinygrad.yaml",
         "equinox.yaml", "haiku.yaml", "tf_keras_2_21.yaml", "mindspore.yaml")
#: ops of the harness that use another op's API (LayerNorm with its bias off)
SAME_API = {"layer_norm_no_bias": "layer_norm"}
#: quotes are short: a sentence or two
MAX_QUOTE = 400

#: where each file's quotes may come from: the framework's own docs, or its source at a release tag
SOURCES = {
    "pytorch.yaml": ("https://docs.pytorch.org/docs/2.13/",),
    "keras.yaml": ("https://keras.io/api/", "https://github.com/keras-team/keras/blob/v3.15.1/"),
    "tf_keras.yaml": ("https://www.tensorflow.org/versions/r2.15/api_docs/python/tf/keras/",
                      "https://github.com/keras-team/keras/blob/v2.15.0/"),
    "tfa.yaml": ("https://www.tensorflow.org/addons/api_docs/python/tfa/",
                 "https://github.com/tensorflow/addons/blob/v0.23.0/"),
    "flax.yaml": ("https://flax.readthedocs.io/en/v0.12.8/", "https://github.com/google/flax/blob/v0.12.8/"),
    "jax.yaml": ("https://docs.jax.dev/en/latest/", "https://github.com/jax-ml/jax/blob/jax-v0.10.2/"),
    "onnx.yaml": ("https://github.com/onnx/onnx/blob/v1.23.2/", "https://docs.pytorch.org/docs/2.13/"),
    "gn_paper.yaml": ("https://arxiv.org/abs/1803.08494",),
    "tensorflow.yaml": ("https://www.tensorflow.org/versions/r2.15/api_docs/python/tf/",),
    "paddle.yaml": ("https://www.paddlepaddle.org.cn/documentation/docs/en/3.3/api/paddle/",),
    "deploy.yaml": ("https://github.com/onnx/onnx/blob/v1.23.2/", "https://docs.pytorch.org/docs/2.13/",
                    "https://keras.io/api/", "https://github.com/keras-team/keras/blob/v3.15.1/"),
    "mlx.yaml": ("https://ml-explore.github.io/mlx/build/html/python/", "https://github.com/ml-explore/mlx/blob/v0.32.4/"),
    "tinygrad.yaml": ("https://github.com/tinygrad/tinygrad/blob/v0.14.0/",),
    "equinox.yaml": ("https://docs.kidger.site/equinox/", "https://github.com/patrick-kidger/equinox/blob/v0.13.8/"),
    "haiku.yaml": ("https://github.com/google-deepmind/dm-haiku/blob/v0.0.17/",),
    "tf_keras_2_21.yaml": ("https://github.com/keras-team/tf-keras/blob/v2.21.0/",),
    "mindspore.yaml": ("https://www.mindspore.cn/docs/en/r2.10/api_python/",
                       "https://github.com/mindspore-ai/mindspore/blob/v2.10.0/"),
}
#: quotes no installed text holds (file, api, fact): the paper's prose
UNCHECKABLE_QUOTES = {("gn_paper.yaml", "GroupNorm(x, gamma, beta, G, eps=1e-5) (Figure 3)", "groups")}


@dataclasses.dataclass(frozen=True)
class Entry:
    file: str  # the file's name in cases/defaults
    line: int
    api: str
    adapters: tuple
    op: str
    facts: dict  # fact -> its fields (value, quote, source, undocumented, note, convention)

    @property
    def where(self) -> str:
        return f"cases/defaults/{self.file}:{self.line} ({self.api}, {self.op})"


def read_entries(cases_root: Path = ROOT / "cases") -> list[Entry]:
    """Every entry of the shipped defaults files, read by the harness's loader (a refused file fails
    the test with the loader's one-line reason)."""
    paths = discover_defaults(cases_root)
    assert sorted(p.name for p in paths) == sorted(FILES), [p.name for p in paths]
    defaults, errors = load_defaults(paths, relative_to=ROOT)
    if errors:
        pytest.fail("\n".join(errors))
    return [Entry(Path(e.file).name, e.line, e.api, e.adapters, e.op, {k: f.to_json() for k, f in e.facts})
            for e in defaults.entries]


@cache
def entries() -> tuple[Entry, ...]:
    return tuple(read_entries())


def entry_for(adapter: str, op: str) -> Entry | None:
    found = [e for e in entries() if adapter in e.adapters and e.op == op]
    return found[0] if found else None


# --- the adapters, as the harness makes them ----------------------------------------------------

def make_adapter(name: str):
    """The adapter ``name`` made in this process from its registry spec (as a worker makes it)."""
    spec = next(s for s in BUILTIN if s.name == name)
    if spec.name.startswith("keras") and "keras" not in sys.modules:
        # Keras reads its backend once; the keras-tf spec's, unless this process already chose one
        os.environ.setdefault("KERAS_BACKEND", dict(spec.env)["KERAS_BACKEND"])
    return load_adapter(spec)


@cache
def _smoke_cases():
    return tuple(smoke_cases())


def _probes(op: str):
    """Smoke cases of ``op`` (the API's op for layer_norm_no_bias), with and without an explicit epsilon."""
    base = SAME_API.get(op, op)
    for c in _smoke_cases():
        if c.op == base and c.dtype == "float32":
            c = dataclasses.replace(c, op=op)
            yield c
            yield dataclasses.replace(c, epsilon=None)


def supported_ops(ad) -> set[str]:
    return {op for op in ad.ops if any(ad.supports(c) is None for c in _probes(op))}


def documented_epsilons(ad, op: str) -> dict[str, float]:
    """dtype -> the adapter's documented default epsilon for ``op`` (dtypes without one left out)."""
    probe = next(_probes(op))
    out = {}
    for dtype in sorted(ad.dtypes):
        doc = ad.documented_epsilon(dataclasses.replace(probe, epsilon=None, dtype=dtype))
        if doc is not None:
            out[dtype] = doc["value"]
    return out


def check_adapter(name: str, ad) -> list[str]:
    """Problems with the data for adapter ``name``: a supported op without an entry, an epsilon that is not
    the adapter's documented default."""
    problems = []
    for op in sorted(supported_ops(ad)):
        api_op = SAME_API.get(op, op)
        entry = entry_for(name, api_op)
        if entry is None:
            problems.append(f"{name} runs {op} but no entry of cases/defaults has adapter {name}, op {api_op}")
            continue
        eps = documented_epsilons(ad, op)
        if not eps:
            if op not in SAME_API:
                problems.append(f"{name} documents no default epsilon for {op}")
            continue
        fact = entry.facts.get("epsilon")
        if fact is None:
            problems.append(f"{entry.where}: no epsilon fact; {name} documents {eps}")
            continue
        values = set(eps.values())
        if len(values) == 1:
            (want,) = values
            if fact["value"] != want:
                problems.append(f"{entry.where}: epsilon {fact['value']!r}, but {name} documents {want!r} for {op}")
        elif not isinstance(fact["value"], str) or not all(repr(v) in fact["value"] for v in values):
            problems.append(f"{entry.where}: {name} documents a per-dtype epsilon {eps} for {op}; the value "
                            f"must be a text naming each of {sorted(values)}")
    return problems


# --- signatures and schemas ---------------------------------------------------------------------

_ALIASES = {"tf": "tensorflow", "tfa": "tensorflow_addons"}


def resolve(path: str):
    """The object at a dotted path (``tf.`` and ``tfa.`` as users write them)."""
    parts = path.split(".")
    parts[0] = _ALIASES.get(parts[0], parts[0])
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(f"cannot import {path}")


def parameter_default(path: str, param: str):
    """The default of ``param`` in the signature of ``path`` (a class's own, else its __init__'s);
    ``inspect.Parameter.empty`` when the parameter is required."""
    obj = resolve(path)
    for target in (obj, getattr(obj, "__init__", None)):
        try:
            params = inspect.signature(target).parameters
        except (TypeError, ValueError):
            continue
        if param in params:
            return params[param].default
    raise AssertionError(f"{path} has no parameter {param}")


def onnx_schema(ref: str):
    from onnx import defs
    _, name, version = ref.split(":")
    return defs.get_schema(name, int(version), "")


def attribute_default(ref: str, attr: str):
    """An ONNX attribute's default (``inspect.Parameter.empty`` when required)."""
    from onnx import helper
    a = onnx_schema(ref).attributes[attr]
    if a.required:
        return inspect.Parameter.empty
    value = helper.get_attribute_value(a.default_value)
    return [int(v) for v in value] if isinstance(value, list) else value


def keras_backend_epsilon(default):
    """keras.ops take epsilon=None as keras.config.epsilon()."""
    import keras
    assert default is None, default
    return keras.config.epsilon()


def check_default(entry: Entry, fact: str, where: str, param: str, convert=None) -> str | None:
    """The fact's value against a signature or schema default: a number is that default; a text names
    ``param=default``; a required parameter is null. None when it holds, else the problem."""
    default = attribute_default(where, param) if where.startswith("onnx:") else parameter_default(where, param)
    value = entry.facts[fact]["value"]
    if convert is not None:
        default = convert(default)
    if default is inspect.Parameter.empty:
        ok = value is None
    elif isinstance(value, str):
        ok = f"{param}={default!r}" in value
    elif where.startswith("onnx:") and isinstance(default, float):
        import numpy as np
        ok = isinstance(value, (int, float)) and np.float32(value) == np.float32(default)
    elif isinstance(value, bool) or isinstance(default, bool):
        ok = value is default
    else:
        ok = value == default
    return None if ok else (f"{entry.where}: {fact} is {value!r}, but the installed {where} says "
                            f"{param}={'(required)' if default is inspect.Parameter.empty else repr(default)}")


def check_signatures(signatures: dict, api_entries) -> list[str]:
    problems = []
    for entry in api_entries:
        for spec in signatures.get(entry.api, ()):
            where, fact, param, *convert = spec
            if fact not in entry.facts:
                problems.append(f"{entry.where}: no {fact} fact to check against {where}")
                continue
            problem = check_default(entry, fact, where, param, *convert)
            if problem:
                problems.append(problem)
    return problems


# --- quotes -------------------------------------------------------------------------------------

_ROLE = re.compile(r":(?:attr|class|func|meth|math|obj|mod|data):")


def normal(text: str) -> str:
    """Text without markup and layout, to find a quote in a docstring, signature or source: reST roles,
    backticks, emphasis and backslashes dropped, table and comment marks as spaces, whitespace collapsed,
    lower case."""
    text = _ROLE.sub("", text)
    text = re.sub(r"[`*\\]", "", text)
    text = re.sub(r"[>#|]", " ", text)
    text = " ".join(text.split()).lower()
    return re.sub(r"\s+\)", ")", re.sub(r"\(\s+", "(", text))


def rendered_signatures(label: str, obj) -> list[str]:
    """``label(params)`` without annotations, as API references render a signature."""
    out = []
    for target in (obj, getattr(obj, "__init__", None)):
        try:
            sig = inspect.signature(target)
        except (TypeError, ValueError):
            continue
        params = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
        out.append(label + str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty)))
    return out


def onnx_rendered(ref: str) -> str:
    """The operator version as Operators.md / Changelog.md render its schema: the description, then
    ``name : type (default is v) description`` per attribute and ``name : type description`` per input
    and output; a deprecated version shows its description only."""
    import numpy as np
    from onnx import helper
    schema = onnx_schema(ref)
    parts = [schema.doc or ""]
    if not schema.deprecated:
        for name, a in sorted(schema.attributes.items()):
            kind = str(a.type).rsplit(".", 1)[-1].lower()
            kind = "list of " + kind if kind.endswith("s") else kind
            if a.required:
                opt = "required"
            else:
                value = helper.get_attribute_value(a.default_value)
                if isinstance(value, float):
                    value = str(np.round(value, 5))
                elif isinstance(value, list):
                    value = [str(v) for v in value]
                opt = f"default is {value}"
            parts.append(f"{name} : {kind} ({opt}) {a.description}")
        parts += [f"{p.name} : {p.type_str} {p.description}" for p in (*schema.inputs, *schema.outputs)]
    return "\n".join(parts)


def docs_text(ref: str) -> str:
    """What the documentation pages of ``ref`` show: its docstring and rendered signatures, an ONNX
    operator version's rendered schema, or the harness's transcription of the GN paper's Figure 3."""
    if ref.startswith("onnx:"):
        return onnx_rendered(ref)
    if ref == "gn-paper":
        from harness.adapters.gn_paper_adapter import paper_function
        return paper_function(("H", "W"))
    obj = resolve(ref)
    return "\n".join([inspect.getdoc(obj) or "", *rendered_signatures(ref, obj)])


def source_files(ref: str) -> dict[str, str]:
    """The installed source files of ``ref``: path -> text (the operator schema sources for ONNX)."""
    if ref.startswith("onnx:"):
        import onnx
        files = [Path(onnx.__file__).parent / "defs" / "nn" / f for f in ("defs.cc", "old.cc")]
    elif ref == "gn-paper":
        files = []
    else:
        try:
            files = [Path(inspect.getsourcefile(resolve(ref)))]
        except TypeError:
            files = []
    return {f.as_posix(): f.read_text(encoding="utf-8") for f in files}


@cache
def normal_docs(ref: str) -> str:
    return normal(docs_text(ref))


@cache
def normal_sources(ref: str) -> dict[str, str]:
    return {path: normal(text) for path, text in source_files(ref).items()}


def quote_found(quote: str, source: str, refs) -> bool:
    """Whether the quote (its pieces around "..." elisions) is where ``source`` says: a source file at a
    release tag (github.com/.../blob/<tag>/..., not a .md page) in the installed file with the same name
    and directory, documentation in the docstrings, signatures or schemas of ``refs``."""
    pieces = [p for p in (normal(q) for q in quote.replace("…", "...").split("...")) if p]
    if "github.com/" in source and "/blob/" in source and not source.split("#")[0].endswith(".md"):
        tail = "/" + "/".join(source.split("#")[0].rstrip("/").split("/")[-2:])
        texts = [t for r in refs for path, t in normal_sources(r).items() if path.endswith(tail)]
    else:
        texts = [normal_docs(r) for r in refs]
    return bool(pieces) and any(all(p in t for p in pieces) for t in texts)


def check_quotes(apis: dict, api_entries) -> list[str]:
    problems = []
    for entry in api_entries:
        refs = apis.get(entry.api)
        if refs is None:
            problems.append(f"{entry.where}: the test does not know where {entry.api!r} is installed")
            continue
        for name, fact in entry.facts.items():
            if "quote" not in fact or (entry.file, entry.api, name) in UNCHECKABLE_QUOTES:
                continue
            if not quote_found(fact["quote"], fact["source"], refs):
                problems.append(f"{entry.where}: {name} quote not found where {fact['source']} says, in the "
                                f"installed {', '.join(refs)}: {fact['quote']!r}")
    return problems


# --- what this environment runs ------------------------------------------------------------------

_T_BN = ["torch.nn.BatchNorm1d", "torch.nn.BatchNorm2d", "torch.nn.BatchNorm3d"]
_T_IN = ["torch.nn.InstanceNorm1d", "torch.nn.InstanceNorm2d", "torch.nn.InstanceNorm3d"]
_GN_PAPER = "GroupNorm(x, gamma, beta, G, eps=1e-5) (Figure 3)"
#: api -> where its documentation is installed (dotted paths, ``onnx:Operator:opset``, ``gn-paper``)
APIS = {
    "torch.nn.BatchNorm1d / torch.nn.BatchNorm2d / torch.nn.BatchNorm3d": _T_BN,
    "torch.nn.LayerNorm": ["torch.nn.LayerNorm"],
    "torch.nn.GroupNorm": ["torch.nn.GroupNorm"],
    "torch.nn.InstanceNorm1d / torch.nn.InstanceNorm2d / torch.nn.InstanceNorm3d": _T_IN,
    "torch.nn.RMSNorm": ["torch.nn.RMSNorm"],
    "torch.nn.functional.batch_norm": ["torch.nn.functional.batch_norm", *_T_BN],
    "torch.nn.functional.layer_norm": ["torch.nn.functional.layer_norm", "torch.nn.LayerNorm"],
    "torch.nn.functional.group_norm": ["torch.nn.functional.group_norm", "torch.nn.GroupNorm"],
    "torch.nn.functional.instance_norm": ["torch.nn.functional.instance_norm", *_T_IN],
    "torch.nn.functional.rms_norm": ["torch.nn.functional.rms_norm", "torch.nn.RMSNorm"],
    "keras.layers.BatchNormalization": ["keras.layers.BatchNormalization"],
    "keras.layers.LayerNormalization": ["keras.layers.LayerNormalization", "keras.ops.layer_normalization"],
    "keras.layers.GroupNormalization": ["keras.layers.GroupNormalization"],
    "keras.layers.GroupNormalization(groups=-1)": ["keras.layers.GroupNormalization"],
    "keras.layers.RMSNormalization": ["keras.layers.RMSNormalization", "keras.ops.rms_normalization"],
    "keras.ops.moments + keras.ops.batch_normalization": ["keras.ops.batch_normalization", "keras.ops.moments"],
    "keras.ops.layer_normalization": ["keras.ops.layer_normalization"],
    "keras.ops.rms_normalization": ["keras.ops.rms_normalization"],
    "keras.ops.normalize": ["keras.ops.normalize"],
    "keras.layers.UnitNormalization": ["keras.layers.UnitNormalization"],
    "torch.nn.functional.normalize": ["torch.nn.functional.normalize"],
    "tf.math.l2_normalize": ["tensorflow.math.l2_normalize"],
    "LpNormalization-22": ["onnx:LpNormalization:22"],
    **{f"flax.{api}.{cls}": [f"flax.{api}.{cls}"] for api in ("linen", "nnx")
       for cls in ("BatchNorm", "LayerNorm", "GroupNorm", "InstanceNorm", "RMSNorm")},
    "jax.nn.standardize": ["jax.nn.standardize"],
    "LayerNormalization-17": ["onnx:LayerNormalization:17"],
    "GroupNormalization-21": ["onnx:GroupNormalization:21"],
    "GroupNormalization-18": ["onnx:GroupNormalization:18"],
    "InstanceNormalization-22": ["onnx:InstanceNormalization:22"],
    "InstanceNormalization-6": ["onnx:InstanceNormalization:6"],
    "BatchNormalization-15": ["onnx:BatchNormalization:15"],
    "RMSNormalization-23": ["onnx:RMSNormalization:23"],
    "MeanVarianceNormalization-13": ["onnx:MeanVarianceNormalization:13"],
    "torch.onnx.export(torch.nn.BatchNorm1d / BatchNorm2d / BatchNorm3d)": [*_T_BN, "onnx:BatchNormalization:20"],
    "torch.onnx.export(torch.nn.LayerNorm)": ["torch.nn.LayerNorm", "onnx:LayerNormalization:20"],
    "torch.onnx.export(torch.nn.GroupNorm)": ["torch.nn.GroupNorm", "onnx:InstanceNormalization:20"],
    "torch.onnx.export(torch.nn.InstanceNorm1d / InstanceNorm2d / InstanceNorm3d)": [
        *_T_IN, "onnx:InstanceNormalization:20"],
    "torch.onnx.export(torch.nn.RMSNorm)": ["torch.nn.RMSNorm"],
    _GN_PAPER: ["gn-paper"],
    **{f"eqx.nn.{cls}": [f"equinox.nn.{cls}"] for cls in ("BatchNorm", "LayerNorm", "GroupNorm", "RMSNorm")},
    "eqx.nn.GroupNorm(groups=C)": ["equinox.nn.GroupNorm"],
    **{f"hk.{cls}": [f"haiku.{cls}"] for cls in ("BatchNorm", "LayerNorm", "GroupNorm", "InstanceNorm", "RMSNorm")},
}


def _module_defaults(paths, *facts):
    """(path, fact, param) for every path: the torch modules' shared parameters."""
    names = {"epsilon": "eps", "momentum": "momentum"}
    return [(p, f, names.get(f, f)) for p in paths for f in facts]


#: api -> (where, fact, parameter[, conversion]): facts that are a signature or schema default
SIGNATURES = {
    "torch.nn.BatchNorm1d / torch.nn.BatchNorm2d / torch.nn.BatchNorm3d":
        _module_defaults(_T_BN, "epsilon", "momentum") + [(p, "affine", q) for p in _T_BN for q in ("affine", "bias")],
    "torch.nn.LayerNorm": [("torch.nn.LayerNorm", "epsilon", "eps"), ("torch.nn.LayerNorm", "affine",
                                                                         "elementwise_affine"),
                           ("torch.nn.LayerNorm", "affine", "bias")],
    "torch.nn.GroupNorm": [("torch.nn.GroupNorm", "epsilon", "eps"), ("torch.nn.GroupNorm", "groups", "num_groups"),
                           ("torch.nn.GroupNorm", "affine", "affine"), ("torch.nn.GroupNorm", "affine", "bias")],
    "torch.nn.InstanceNorm1d / torch.nn.InstanceNorm2d / torch.nn.InstanceNorm3d":
        _module_defaults(_T_IN, "epsilon", "momentum") + [(p, "affine", "affine") for p in _T_IN],
    "torch.nn.RMSNorm": [("torch.nn.RMSNorm", "epsilon", "eps"), ("torch.nn.RMSNorm", "affine", "elementwise_affine")],
    "torch.nn.functional.batch_norm": [("torch.nn.functional.batch_norm", f, p) for f, p in (
        ("epsilon", "eps"), ("momentum", "momentum"), ("affine", "weight"), ("affine", "bias"))],
    "torch.nn.functional.layer_norm": [("torch.nn.functional.layer_norm", f, p) for f, p in (
        ("epsilon", "eps"), ("affine", "weight"), ("affine", "bias"))],
    "torch.nn.functional.group_norm": [("torch.nn.functional.group_norm", f, p) for f, p in (
        ("epsilon", "eps"), ("groups", "num_groups"), ("affine", "weight"), ("affine", "bias"))],
    "torch.nn.functional.instance_norm": [("torch.nn.functional.instance_norm", f, p) for f, p in (
        ("epsilon", "eps"), ("momentum", "momentum"), ("affine", "weight"), ("affine", "bias"))],
    "torch.nn.functional.rms_norm": [("torch.nn.functional.rms_norm", f, p) for f, p in (
        ("epsilon", "eps"), ("affine", "weight"))],
    "keras.layers.BatchNormalization": [("keras.layers.BatchNormalization", f, p) for f, p in (
        ("epsilon", "epsilon"), ("momentum", "momentum"), ("axes", "axis"), ("affine", "center"),
        ("affine", "scale"))],
    "keras.layers.LayerNormalization": [("keras.layers.LayerNormalization", f, p) for f, p in (
        ("epsilon", "epsilon"), ("axes", "axis"), ("affine", "center"), ("affine", "scale"))],
    "keras.layers.GroupNormalization": [("keras.layers.GroupNormalization", f, p) for f, p in (
        ("epsilon", "epsilon"), ("groups", "groups"), ("axes", "axis"), ("affine", "center"), ("affine", "scale"))],
    "keras.layers.GroupNormalization(groups=-1)": [("keras.layers.GroupNormalization", f, p) for f, p in (
        ("epsilon", "epsilon"), ("axes", "axis"), ("affine", "center"), ("affine", "scale"))],
    "keras.layers.RMSNormalization": [("keras.layers.RMSNormalization", f, p) for f, p in (
        ("epsilon", "epsilon"), ("axes", "axis"))],
    "keras.ops.moments + keras.ops.batch_normalization": [("keras.ops.batch_normalization", f, p) for f, p in (
        ("epsilon", "epsilon"), ("affine", "offset"), ("affine", "scale"))],
    "keras.ops.layer_normalization": [
        ("keras.ops.layer_normalization", "epsilon", "epsilon", keras_backend_epsilon),
        ("keras.ops.layer_normalization", "axes", "axis"), ("keras.ops.layer_normalization", "affine", "gamma"),
        ("keras.ops.layer_normalization", "affine", "beta")],
    "keras.ops.rms_normalization": [
        ("keras.ops.rms_normalization", "epsilon", "epsilon", keras_backend_epsilon),
        ("keras.ops.rms_normalization", "axes", "axis"), ("keras.ops.rms_normalization", "affine", "scale")],
    "keras.ops.normalize": [("keras.ops.normalize", "epsilon", "epsilon", keras_backend_epsilon),
                            ("keras.ops.normalize", "axes", "axis")],
    "keras.layers.UnitNormalization": [("keras.layers.UnitNormalization", "axes", "axis")],
    "torch.nn.functional.normalize": [("torch.nn.functional.normalize", "epsilon", "eps"),
                                      ("torch.nn.functional.normalize", "axes", "dim")],
    "LpNormalization-22": [("onnx:LpNormalization:22", "axes", "axis")],
    "tf.math.l2_normalize": [("tensorflow.math.l2_normalize", "epsilon", "epsilon"),
                             ("tensorflow.math.l2_normalize", "axes", "axis")],
    "jax.nn.standardize": [("jax.nn.standardize", f, p) for f, p in (
        ("epsilon", "epsilon"), ("variance", "algorithm"))],
    "LayerNormalization-17": [("onnx:LayerNormalization:17", f, p) for f, p in (
        ("epsilon", "epsilon"), ("axes", "axis"), ("dtype", "stash_type"))],
    "GroupNormalization-21": [("onnx:GroupNormalization:21", f, p) for f, p in (
        ("epsilon", "epsilon"), ("groups", "num_groups"), ("dtype", "stash_type"))],
    "GroupNormalization-18": [("onnx:GroupNormalization:18", f, p) for f, p in (
        ("epsilon", "epsilon"), ("groups", "num_groups"))],
    "InstanceNormalization-22": [("onnx:InstanceNormalization:22", "epsilon", "epsilon")],
    "InstanceNormalization-6": [("onnx:InstanceNormalization:6", "epsilon", "epsilon")],
    "MeanVarianceNormalization-13": [("onnx:MeanVarianceNormalization:13", "axes", "axes")],
    "BatchNormalization-15": [("onnx:BatchNormalization:15", f, p) for f, p in (
        ("epsilon", "epsilon"), ("momentum", "momentum"))],
    "RMSNormalization-23": [("onnx:RMSNormalization:23", f, p) for f, p in (
        ("epsilon", "epsilon"), ("axes", "axis"), ("dtype", "stash_type"))],
    "torch.onnx.export(torch.nn.BatchNorm1d / BatchNorm2d / BatchNorm3d)": _module_defaults(
        _T_BN, "epsilon", "momentum"),
    "torch.onnx.export(torch.nn.LayerNorm)": [("torch.nn.LayerNorm", "epsilon", "eps")],
    "torch.onnx.export(torch.nn.GroupNorm)": [("torch.nn.GroupNorm", "epsilon", "eps"),
                                              ("torch.nn.GroupNorm", "groups", "num_groups")],
    "torch.onnx.export(torch.nn.InstanceNorm1d / InstanceNorm2d / InstanceNorm3d)": _module_defaults(
        _T_IN, "epsilon") + [(p, "affine", "affine") for p in _T_IN],
    "torch.onnx.export(torch.nn.RMSNorm)": [("torch.nn.RMSNorm", "epsilon", "eps")],
}
for _api in ("linen", "nnx"):
    _p = f"flax.{_api}."
    _common = [("epsilon", "epsilon"), ("variance", "use_fast_variance"), ("affine", "use_scale")]
    SIGNATURES[_p + "BatchNorm"] = [(_p + "BatchNorm", f, q) for f, q in (
        *_common, ("momentum", "momentum"), ("axes", "axis"), ("affine", "use_bias"))]
    SIGNATURES[_p + "LayerNorm"] = [(_p + "LayerNorm", f, q) for f, q in (
        *_common, ("axes", "reduction_axes"), ("axes", "feature_axes"), ("affine", "use_bias"))]
    SIGNATURES[_p + "GroupNorm"] = [(_p + "GroupNorm", f, q) for f, q in (
        *_common, ("groups", "num_groups"), ("affine", "use_bias"))]
    SIGNATURES[_p + "InstanceNorm"] = [(_p + "InstanceNorm", f, q) for f, q in (
        *_common, ("affine", "use_bias"))]
    SIGNATURES[_p + "RMSNorm"] = [(_p + "RMSNorm", f, q) for f, q in (
        ("epsilon", "epsilon"), ("axes", "reduction_axes"), ("axes", "feature_axes"), ("affine", "use_scale"))]
    if _api == "linen":
        for _cls in ("BatchNorm", "LayerNorm", "GroupNorm", "InstanceNorm", "RMSNorm"):
            SIGNATURES[_p + _cls].append((_p + _cls, "dtype", "force_float32_reductions"))

SIGNATURES.update({
    "eqx.nn.BatchNorm": [("equinox.nn.BatchNorm", f, p) for f, p in (
        ("epsilon", "eps"), ("momentum", "momentum"), ("affine", "channelwise_affine"))],
    "eqx.nn.LayerNorm": [("equinox.nn.LayerNorm", f, p) for f, p in (
        ("epsilon", "eps"), ("affine", "use_weight"), ("affine", "use_bias"))],
    "eqx.nn.RMSNorm": [("equinox.nn.RMSNorm", f, p) for f, p in (
        ("epsilon", "eps"), ("affine", "use_weight"), ("affine", "use_bias"))],
    "eqx.nn.GroupNorm": [("equinox.nn.GroupNorm", f, p) for f, p in (
        ("epsilon", "eps"), ("affine", "channelwise_affine"))],
    "eqx.nn.GroupNorm(groups=C)": [("equinox.nn.GroupNorm", f, p) for f, p in (
        ("epsilon", "eps"), ("affine", "channelwise_affine"))],
    "hk.BatchNorm": [("haiku.BatchNorm", "epsilon", "eps"), ("haiku.BatchNorm", "axes", "data_format")],
    "hk.LayerNorm": [("haiku.LayerNorm", f, p) for f, p in (
        ("epsilon", "eps"), ("axes", "param_axis"), ("variance", "use_fast_variance"))],
    "hk.GroupNorm": [("haiku.GroupNorm", f, p) for f, p in (
        ("epsilon", "eps"), ("axes", "data_format"), ("affine", "create_scale"), ("affine", "create_offset"))],
    "hk.InstanceNorm": [("haiku.InstanceNorm", "epsilon", "eps"), ("haiku.InstanceNorm", "axes", "data_format")],
    "hk.RMSNorm": [("haiku.RMSNorm", "epsilon", "eps"), ("haiku.RMSNorm", "affine", "create_scale")],
})

#: the adapters whose frameworks this environment has (tf-keras and tfa: the legacy environment)
ADAPTERS = tuple(s.name for s in BUILTIN if s.name not in ("tf-keras", "tfa")
                 and all(importlib.util.find_spec(m) for m in s.requires))
FILES_HERE = ("pytorch.yaml", "keras.yaml", "flax.yaml", "jax.yaml", "onnx.yaml", "gn_paper.yaml", "tensorflow.yaml",
              "equinox.yaml", "haiku.yaml")


@pytest.fixture(scope="module")
def adapters():
    return {name: make_adapter(name) for name in ADAPTERS}


# --- the tests ------------------------------------------------------------------------------------

def test_files_are_valid_and_name_each_adapter_op_once():
    seen, problems = {}, []
    known = {s.name for s in BUILTIN}
    for e in entries():
        for a in e.adapters:
            if a not in known:
                problems.append(f"{e.where}: unknown adapter {a}")
            if (a, e.op) in seen:
                problems.append(f"{e.where}: ({a}, {e.op}) is also at {seen[a, e.op]}")
            seen.setdefault((a, e.op), e.where)
        for name, fact in e.facts.items():
            src = fact.get("source")
            if src is not None and not src.startswith(SOURCES[e.file]):
                problems.append(f"{e.where}: {name} source {src} is not {e.file}'s documentation or tagged source")
            if len(fact.get("quote", "")) > MAX_QUOTE:
                problems.append(f"{e.where}: {name} quote is longer than {MAX_QUOTE} characters")
    missing = known - {a for a, _ in seen}
    assert not missing, f"built-in adapters with no entry in cases/defaults: {sorted(missing)}"
    assert not problems, "\n".join(problems)


def test_every_supported_op_has_an_entry_with_the_adapters_documented_epsilon(adapters):
    problems = [p for name, ad in adapters.items() for p in check_adapter(name, ad)]
    assert not problems, "\n".join(problems)


def test_the_check_catches_a_wrong_or_missing_entry(adapters):
    ad = adapters["torch"]

    wrong = type(ad)()
    wrong.default_epsilons = {**type(ad).default_epsilons, "group_norm": (1e-6, "q", "s")}
    assert check_adapter("torch", wrong) == [
        f"{entry_for('torch', 'group_norm').where}: epsilon 1e-05, but torch documents 1e-06 for group_norm"]
    missing = check_adapter("torch-renamed", ad)
    assert len(missing) == len(supported_ops(ad)) and all("no entry of cases/defaults" in p for p in missing), missing


def test_defaults_are_the_installed_signatures_and_schemas(adapters):
    here = [e for e in entries() if e.file in FILES_HERE]
    assert not check_signatures(SIGNATURES, here), "\n".join(check_signatures(SIGNATURES, here))
    checked = {e.api for e in here if SIGNATURES.get(e.api)}
    assert checked == {e.api for e in here if e.file != "gn_paper.yaml"}, "an API without a signature check"
    # a changed default is caught
    ln = next(e for e in here if e.api == "torch.nn.LayerNorm")
    wrong = dataclasses.replace(ln, facts={**ln.facts, "epsilon": {**ln.facts["epsilon"], "value": 1e-6}})
    assert check_signatures(SIGNATURES, [wrong])
    gn = next(e for e in here if e.api == "GroupNormalization-21")
    wrong = dataclasses.replace(gn, facts={**gn.facts, "groups": {**gn.facts["groups"], "value": 32}})
    assert any("required" in p for p in check_signatures(SIGNATURES, [wrong]))


def test_every_quote_is_in_the_installed_documentation(adapters):
    here = [e for e in entries() if e.file in FILES_HERE]
    problems = check_quotes(APIS, here)
    assert not problems, "\n".join(problems)
    ln = next(e for e in here if e.api == "torch.nn.LayerNorm")
    invented = dataclasses.replace(ln, facts={"epsilon": {**ln.facts["epsilon"],
                                                          "quote": "a value added to the numerator. Default: 1e-5"}})
    assert check_quotes(APIS, [invented])
