"""The text of a standalone reproducer (``normconf repro``): a Python script that needs
only numpy and the framework.

The script rebuilds the cell's inputs (the seeded generation of :mod:`harness.cases.inputs`
written out with numpy's PCG64 and SeedSequence, rounded to the case dtype), converts
them the way the adapter does, makes the adapter's call (the source text the adapter
generates and executes, from :meth:`Adapter.repro`), computes the float64 reference and
the achievable error inline, prints both outputs' worst element, the error, the
achievable error and their ratio, and exits 1 when the cell diverges under the verdict
rule (8 x achievable + floor; NaN where the reference is finite), 0 otherwise. A claim's
script makes both sides' calls and compares them with each other (``equal``) or one
with the reference (``reference``).

The numeric helpers the scripts share are templates filled in with
:class:`string.Template`: input generation, bfloat16 rounding and rows
(``templates/inputs.py.tmpl``); the forward reference, the stable
implementations and the verdict (``templates/forward.py.tmpl``).
Free text reaches a script only through :mod:`harness.text.inert`.
"""
from __future__ import annotations

import re
import textwrap
from importlib import resources
from string import Template

import numpy as np

from harness.cases.inputs import make_inputs
from harness.cases.model import Case, affine_json
from harness.claims.sides import expected_semantics
from harness.numerics.achievable import UNIT_ROUNDOFF, accumulation_dtype
from harness.numerics.verdict import FACTOR, FLOOR
from harness.ops.layouts import Layout
from harness.ops.semantics import param_shape
from harness.results.parts import EpsilonDoc, Metrics
from harness.text.inert import comment, comment_block, fmt, py

#: where the shared helpers go in a script being assembled
COMMON_MARK = "#@@COMMON@@"


def template(name: str) -> Template:
    """A script template shipped in ``harness/repro/templates``."""
    return Template(resources.files("harness.repro").joinpath("templates", name).read_text(encoding="utf-8"))


def op_spec(sem, sizes: dict) -> dict:
    """The semantics as plain numbers for the script: grouped shape, statistics dims, broadcast shapes."""
    lay = Layout(sem.layout)
    shape = lay.shape(sizes)
    dims = {a: i for i, a in enumerate(lay.axes)}
    grouped = shape
    if sem.groups:
        c = lay.index(lay.channel)
        C = shape[c]
        grouped = shape[:c] + (sem.groups, C // sem.groups) + shape[c + 1:]
        dims = {a: (i if i < c else i + 1) for i, a in enumerate(lay.axes)}
    axes = tuple(sorted(dims[a] for a in sem.stat_axes))
    aff = tuple(sizes[a] if a in sem.affine_axes else 1 for a in lay.axes)
    return {"grouped_shape": tuple(int(v) for v in grouped), "axes": axes, "center": bool(sem.center),
            "eps": float(sem.eps), "affine_shape": tuple(int(v) for v in aff)}


def op_block(name: str, sem, sizes: dict) -> str:
    spec = op_spec(sem, sizes)
    lines = [f"# {comment(sem.describe())}",
             f"{name} = dict(",
             f"    grouped_shape={py(spec['grouped_shape'])},  # x's shape"
             + (f", channel axis split into ({sem.groups} groups, channels per group)" if sem.groups else ""),
             f"    axes={py(spec['axes'])},  # dims of that array the statistics span",
             f"    center={spec['center']},  # False: RMS norm (no mean subtracted)",
             f"    eps={spec['eps']!r},  # inside the square root",
             f"    affine_shape={py(spec['affine_shape'])},  # how gamma and beta broadcast against x",
             ")"]
    return "\n".join(lines)


def inputs_block(name: str, case: Case) -> str:
    """The input spec of one call, as a dict literal of validated numbers."""
    inp = {"distribution": case.input_spec.get("distribution", "normal")}
    for k in ("mean", "std", "low", "high", "value"):
        if k in case.input_spec:
            inp[k] = float(case.input_spec[k])
    pshape = param_shape(case.semantics, case.size) if case.affine != "none" else ()
    d = {"shape": tuple(case.shape), "seed": int(case.seed), "input": inp, "affine": affine_json(case.affine),
         "param_shape": tuple(int(v) for v in pshape), "bias": case.spec.bias}
    return f"{name} = {py(d)}"


def common(dtype: str, *helpers: str) -> str:
    """The helpers every script shares for a case of ``dtype`` (inputs, rows), followed by the
    templates ``helpers`` (default: the forward reference, achievable error and verdict)."""
    acc = accumulation_dtype(dtype)
    text = template("inputs.py.tmpl").substitute(
        dtype=repr(dtype), acc=repr(acc), factor=repr(float(FACTOR)), floor=repr(float(FLOOR[dtype])),
        u=repr(float(UNIT_ROUNDOFF[acc])))
    return "\n" + text + "".join(template(h).substitute() for h in helpers or ("forward.py.tmpl",))


def call_function(name: str, parts: dict, doc: str, extra: tuple = ()) -> str:
    body = textwrap.indent(parts["call"].rstrip("\n"), "    ")
    names = ", ".join(("x", "gamma", "beta") + tuple(extra))
    return "\n".join([
        f"def {name}({names}):",
        f"    {comment(doc, 200)!r}",
        f"    {names} = [None if a is None else to_framework(a) for a in ({names})]",
        "    # --- the call, exactly as the adapter generated and ran it ---",
        body,
        "    # ---",
        "    return y",
        "",
        "",
        conversions(parts),
    ])


def conversions(parts: dict) -> str:
    """``to_framework`` and ``to_numpy``: the adapter's conversions of inputs and results."""
    return "\n".join([
        "def to_framework(a):",
        '    """A numpy array in DTYPE to what the call takes, as the adapter converts it."""',
        f"    return {parts['to_framework']}",
        "",
        "",
        "def to_numpy(y):",
        '    """The call\'s result as a float64 numpy array."""',
        f"    return {parts['to_numpy']}",
    ])


def context(parts) -> str:
    return parts["context"].strip() or "contextlib.nullcontext()"


def header(title: str, lines: list[str]) -> str:
    out = ["#!/usr/bin/env python3", f"# {comment(title)}", "#"]
    for ln in lines:
        out += comment_block(ln) if ln else ["#"]
    return "\n".join(out)


def guarded_imports(imports: str) -> str:
    """The framework imports, exiting 2 when they fail: a missing framework (or one without the names the
    script uses) is no evidence either way."""
    body = textwrap.indent(imports.strip() or "pass", "    ")
    lines = ["try:", body, "except (ImportError, AttributeError) as e:  # the framework is missing or not the one expected",
             "    print(f'cannot run: {type(e).__name__}: {e}')", "    sys.exit(2)"]
    return "\n".join(lines)


def error_type(result) -> str:
    """The exception type an error cell's record raised ('' for any other record)."""
    if result is None or getattr(result, "status", "") != "error":
        return ""
    t = (result.message or "").split(":", 1)[0].strip()
    return t if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", t) else ""


def guarded_call(lines: list[str], raised: str, indent: str = "    ") -> list[str]:
    """``lines`` (the call, inside main) in a try block: the recorded exception type ``raised`` exits 1
    (it reproduces), any other exception 2 (the script could not check: an API that changed, a wrong
    argument)."""
    out = [indent + "try:"] + [indent + "    " + ln[len(indent):] if ln.startswith(indent) else ln for ln in lines]
    out += [indent + "except Exception as e:  # noqa: BLE001 - the exit status says which failure it was",
            indent + "    said = f'{type(e).__name__}: {e}'.split(chr(10))[0]"]
    if raised:
        out += [indent + f"    if {raised!r} in [c.__name__ for c in type(e).__mro__]:",
                indent + "        print(f'DIVERGES: the call raises {said}')", indent + "        return 1"]
    return out + [indent + "    print(f'cannot check: the call raised {said}')", indent + "    return 2"]


def framework_names(parts) -> str:
    mods = []
    for ln in parts["imports"].splitlines():
        m = re.match(r"\s*(?:import|from)\s+([A-Za-z_][A-Za-z0-9_]*)", ln)
        if m and m.group(1) not in ("os", "numpy") and m.group(1) not in mods:
            mods.append(m.group(1))
    return ", ".join(mods) or "nothing else"


def case_lines(case: Case, eps: float, epsilon_doc: EpsilonDoc | None, header_lines: list[str],
               more: str = "") -> list[str]:
    """The header's lines about the case: what it is, its parameters (``more`` appended), the
    documented epsilon it relies on, the recorded facts, and how bfloat16 inputs are made."""
    lines = [f"case {case.id}: {case.description}", f"source: {case.source}",
             f"op {case.op}, layout {case.layout}, shape {'x'.join(f'{a}{n}' for a, n in case.sizes)}, "
             f"dtype {case.dtype}, affine {case.affine}, seed {case.seed}"
             + (f", groups {case.groups}" if case.groups is not None else "")
             + (", options " + ", ".join(f"{k}={v!r}" for k, v in case.options) if case.options else "") + more]
    if case.epsilon is None and epsilon_doc:
        lines.append(f"epsilon: omitted in the call; the reference uses the documented default "
                     f"{eps!r}: \"{epsilon_doc.quote}\" ({epsilon_doc.source})")
    lines += header_lines
    if case.dtype == "bfloat16":
        lines.append("bfloat16: inputs are rounded in numpy (float64 bits to nearest, ties to even, as ml_dtypes "
                     "does), held in float32 and cast to bfloat16 by the framework (exact).")
    return lines


def case_script(case: Case, adapter: str, parts: dict, *, eps: float, epsilon_doc: EpsilonDoc | None, record,
                header_lines: list[str], recorded_metrics: Metrics | None) -> str:
    """A standalone reproducer of one cell."""
    lay = Layout(case.layout)
    sem = case.semantics_with(eps)
    title = f"Reproducer: {case.id} with {adapter} (normconf repro)"
    lines = [(f"Needs only numpy and {framework_names(parts)}; exits 1 when the output diverges from the "
             "float64 reference under normconf's rule, 0 otherwise."),
             *case_lines(case, eps, epsilon_doc, header_lines)]
    expect = case.expect_spec
    out = [header(title, lines), "", "import contextlib", "import sys", "", "import numpy as np",
           guarded_imports(parts["imports"]), "", f"CASE_ID = {case.id!r}", f"ADAPTER = {adapter!r}",
           f"AXES = {py(tuple(lay.axes))}  # names of x's dims",
           COMMON_MARK, inputs_block("INPUTS", case), "", op_block("OP", sem, case.size), ""]
    infer = case.check == "inference"
    if infer:  # the given running statistics, as the case drew them and rounded them to its dtype
        given = make_inputs(case)
        out += [f"# the given running statistics (statistics: {comment(repr(case.statistics_spec), 160)}), "
                "rounded to DTYPE",
                f"RUNNING_MEAN = np.array({py([float(v) for v in np.asarray(given.running_mean, np.float64)])})",
                f"RUNNING_VAR = np.array({py([float(v) for v in np.asarray(given.running_var, np.float64)])})", ""]
        out += [call_function("call", parts, f"{adapter}: x, gamma, beta and the running statistics are numpy "
                                             "arrays in DTYPE.", extra=("running_mean", "running_var")), ""]
    else:
        out += [call_function("call", parts, f"{adapter}: x, gamma, beta are numpy arrays in DTYPE."), ""]
    rec = ""
    if recorded_metrics and recorded_metrics.max_abs is not None:
        m = recorded_metrics
        rec = f"error {fmt(m.max_abs)}, achievable {fmt(m.achievable)}, ratio {fmt(m.ratio)}"
    main = ["", "def main():",
            "    print(f'{CASE_ID} with {ADAPTER}; versions: {VERSIONS()}')",
            "    x, gamma, beta = make_inputs(INPUTS)",
            "    x, gamma, beta = in_dtype(x), in_dtype(gamma), in_dtype(beta)"]
    if expect:
        msgs = expect.get("message")
        msgs = [msgs] if isinstance(msgs, str) else list(msgs or ())
        main += [f"    expected_type = {expect['raises']!r}",
                 f"    expected_texts = {py([str(m) for m in msgs])}  # one must appear (any case)",
                 "    try:",
                 f"        with {context(parts)}:",
                 "            call(x, gamma, beta)",
                 "    except Exception as e:  # noqa: BLE001 - the point of this script",
                 "        said = f'{type(e).__name__}: {e}'",
                 "        print(f'raised {said}')",
                 "        names = [c.__name__ for c in type(e).__mro__]",
                 "        if expected_type not in names:",
                 "            print(f'DIVERGES: expected {expected_type}')",
                 "            return 1",
                 "        if expected_texts and not any(t.lower() in said.lower() for t in expected_texts):",
                 "            print(f'DIVERGES: the message lacks ' + ' or '.join(repr(t) for t in expected_texts))",
                 "            return 1",
                 "        print('agrees: raised as expected')",
                 "        return 0",
                 "    print(f'DIVERGES: expected {expected_type}, but the call returned an output')",
                 "    return 1"]
    else:
        if infer:
            main += guarded_call([f"    with {context(parts)}:",
                                  "        y = to_numpy(call(x, gamma, beta, in_dtype(RUNNING_MEAN), "
                                  "in_dtype(RUNNING_VAR)))"], error_type(record))
            main += ["    ref = inference_reference(x, gamma, beta, RUNNING_MEAN, RUNNING_VAR, OP)",
                     "    v = judge(y, ref, inference_achievable(x, gamma, beta, RUNNING_MEAN, RUNNING_VAR, OP, ref))",
                     "    report(v, AXES)"]
        else:
            main += guarded_call([f"    with {context(parts)}:", "        y = to_numpy(call(x, gamma, beta))"],
                                 error_type(record))
            main += ["    ref = reference(x, gamma, beta, OP)",
                     "    v = judge(y, ref, achievable(x, gamma, beta, OP, ref))",
                     "    report(v, AXES)"]
        if rec:
            main.append(f"    print({'normconf recorded: ' + rec!r})")
        main += ["    print('DIVERGES' if not v['ok'] else 'agrees')",
                 "    return 0 if v['ok'] else 1"]
    main += ["", "", "def VERSIONS():", f"    return {parts['versions']}", "", "",
             'if __name__ == "__main__":', "    sys.exit(main())", ""]
    helpers = ("forward.py.tmpl", "inference.py.tmpl") if infer else ()
    return "\n".join(out).replace(COMMON_MARK, common(case.dtype, *helpers)) + "\n".join(main)


def claim_script(claim, adapter: str, left, right, parts_l: dict, parts_r: dict | None, input_name: str,
                 header_lines: list[str], record) -> str:
    """A standalone reproducer of one claim on one input: both calls, compared with each other or the reference."""

    lay = Layout(left.layout)
    rel = claim.relation
    lines = [(f"Needs only numpy and {framework_names(parts_l)}; exits 1 when the claim does not hold on this "
             "input (beyond the rounding error careful implementations of both sides reach), 0 when it holds, 2 "
             "when it cannot check (the framework missing, or a call that raised)."),
             f"claim {claim.id} ({claim.framework}): {claim.api}", f"quote: \"{claim.quote}\"",
             f"source: {claim.source}", (f"relation: {rel}; input {input_name}: layout {left.layout}, shape "
             f"{'x'.join(f'{a}{n}' for a, n in left.sizes)}, dtype {left.dtype}, random gamma/beta, seed {left.seed}"),
             f"recorded verdict with {adapter}: {record.verdict}"
             + (f" {record.condition}" if record.condition else "")] + header_lines
    out = [header(f"Reproducer: claim {claim.id} with {adapter} (normconf repro)", lines), "",
           "import contextlib", "import sys", "", "import numpy as np", guarded_imports(parts_l["imports"]), "",
           f"CLAIM_ID = {claim.id!r}", f"ADAPTER = {adapter!r}", f"AXES = {py(tuple(lay.axes))}  # names of x's dims",
           COMMON_MARK]
    main = ["", "def main():", "    print(f'claim {CLAIM_ID} with {ADAPTER}; versions: {VERSIONS()}')",
            "    x, gamma, beta = [in_dtype(a) for a in make_inputs(LEFT_INPUTS)]"]
    if rel == "raises":
        err = dict(claim.error)
        out += [inputs_block("LEFT_INPUTS", left), "",
                call_function("call_left", parts_l, f"left: {comment(claim.api, 150)}"), ""]
        main += [f"    expected_type = {err['type']!r}", f"    expected_text = {err.get('contains', '')!r}",
                 "    try:", f"        with {context(parts_l)}:", "            call_left(x, gamma, beta)",
                 "    except Exception as e:  # noqa: BLE001 - the point of this script",
                 "        said = f'{type(e).__name__}: {e}'", "        print(f'raised {said}')",
                 "        ok = type(e).__name__ == expected_type and expected_text in said",
                 ("        print('the claim holds' if ok else 'the claim FAILS: expected ' + expected_type"
                 " + ' containing ' + repr(expected_text))"),
                 "        return 0 if ok else 1",
                 "    print('the claim FAILS: no error, the call returned an output')", "    return 1"]
    elif rel == "reference":
        sem = expected_semantics(claim, left).with_(affine_axes=left.semantics.affine_axes)
        out += [inputs_block("LEFT_INPUTS", left), "", "# the semantics the claim says the call has", 
                op_block("EXPECTED", sem, left.size), "",
                call_function("call_left", parts_l, f"left: {comment(claim.api, 150)}"), ""]
        main += guarded_call([f"    with {context(parts_l)}:", "        y = to_numpy(call_left(x, gamma, beta))"], "")
        main += ["    ref = reference(x, gamma, beta, EXPECTED)",
                 "    v = judge(y, ref, achievable(x, gamma, beta, EXPECTED, ref))",
                 "    report(v, AXES, 'call', 'claimed semantics')",
                 "    print('the claim holds on this input' if v['ok'] else 'the claim FAILS on this input')",
                 "    return 0 if v['ok'] else 1"]
    else:  # equal
        rparts = dict(parts_r)
        out += [inputs_block("LEFT_INPUTS", left), inputs_block("RIGHT_INPUTS", right), "",
                "# left side", op_block("LEFT", left.semantics, left.size), "",
                "# right side", op_block("RIGHT", right.semantics, right.size), "",
                call_function("call_left", parts_l, "left side of the claim"), "",
                call_function("call_right", rparts, "right side of the claim").split("\n\ndef to_framework")[0],
                ""]
        main += ["    xr, gamma_r, beta_r = [in_dtype(a) for a in make_inputs(RIGHT_INPUTS)]"]
        main += guarded_call([f"    with {context(parts_l)}:",
                              "        y_left = to_numpy(call_left(x, gamma, beta))",
                              "        y_right = to_numpy(call_right(xr, gamma_r, beta_r))"], "")
        main += ["    # equal within what careful implementations of both sides reach on these inputs",
                 "    ref_l, ref_r = reference(x, gamma, beta, LEFT), reference(xr, gamma_r, beta_r, RIGHT)",
                 "    ach = achievable(x, gamma, beta, LEFT, ref_l) + achievable(xr, gamma_r, beta_r, RIGHT, ref_r)",
                 "    v = judge(y_left, y_right, ach)",
                 "    report(v, AXES, 'left', 'right')",
                 "    print('the claim holds on this input' if v['ok'] else 'the claim FAILS on this input')",
                 "    return 0 if v['ok'] else 1"]
    main += ["", "", "def VERSIONS():", f"    return {parts_l['versions']}", "", "",
             'if __name__ == "__main__":', "    sys.exit(main())", ""]
    return "\n".join(out).replace(COMMON_MARK, common(left.dtype)) + "\n".join(main)
