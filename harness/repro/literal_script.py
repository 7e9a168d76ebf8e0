"""The script of an issue (``normconf file``): the shrunk input and the expected output as literals, the
call as the framework's user makes it, a comparison, and an exit status a maintainer can trust.

* **Data.** x, gamma and beta (``dy`` for gradients, the training batches for running statistics) are
  written as literal arrays at full precision (:mod:`harness.repro.literal`), and the expected outputs as
  literals computed by the harness's float64 reference (:mod:`harness.numerics.reference`,
  :mod:`harness.numerics.backward`, :mod:`harness.numerics.running`) on exactly those values. Above
  :data:`LIMIT` input values the inputs are drawn again from the case's seed and the reference is computed
  inline (the helpers of ``templates/``).
* **The allowed error** of each output is a literal too: the verdict rule on this input (8 times what a
  careful implementation in the input's dtype reaches, plus a floor of 4 units in the last place at 1.0),
  or the case's own tolerance.
* **Exit status**: 0 when the problem is fixed (every output within its allowed error, or the expected
  exception raised), 1 while it reproduces (an output off, or the recorded exception raised again), 2 when
  the script cannot check it here: the framework is not installed (``ImportError``), or the call failed
  before it returned for another reason (an ``AttributeError`` or ``TypeError`` from an API that changed,
  or any exception other than the one recorded).
"""
from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

import numpy as np

from harness.cases.inputs import Inputs
from harness.cases.model import Case
from harness.numerics import running
from harness.numerics.achievable import achievable_error
from harness.numerics.achievable_backward import achievable_grad_errors
from harness.numerics.backward import grads
from harness.numerics.reference import normalize
from harness.numerics.verdict import FACTOR, FLOOR
from harness.ops.layouts import Layout
from harness.text.inert import comment, comment_block, py

from . import literal
from .find import ReproError
from .script import (
    COMMON_MARK,
    common,
    framework_names,
    guarded_imports,
    inputs_block,
    op_block,
)
from .script_training import OUTPUTS, training_op_block

#: most input values (x, and dy or the training batches) written as literals; above it they are drawn again
LIMIT = 256


@dataclass
class Expected:
    """The float64 reference of each named output, what a careful implementation reaches, and the allowed
    error (a number, or (atol, rtol) under the case's own tolerance)."""
    refs: dict
    achievable: dict
    allowed: dict


def unwritten(case: Case) -> None:
    """Refuse, in one line, a cell whose check the literal scripts cannot express: inference with given
    statistics, and running statistics other than batch norm's with a numeric momentum."""
    if case.check == "inference":
        raise ReproError(f"{case.id}: normconf file writes no script of a check: inference cell yet; "
                         "normconf repro writes one")
    if case.check == "running_stats" and (case.cumulative or case.op != "batch_norm"):
        raise ReproError(f"{case.id}: the running-statistics scripts know batch norm with a numeric momentum only "
                         "(this cell: " + ("momentum: null" if case.cumulative else case.op) + ")")


def expected_for(case: Case, inputs: Inputs, eps: float) -> Expected:
    """The reference outputs of ``case`` on ``inputs`` and their allowed errors, as the harness judges them."""
    sem = case.semantics_with(eps)
    unwritten(case)
    if case.expect:  # the call should raise: there is no output to expect
        return Expected({}, {}, {})
    if case.check == "backward":
        refs = grads(inputs.x, sem, inputs.dy, inputs.gamma, inputs.beta)
        ach = achievable_grad_errors(inputs.x, refs, sem, case.dtype, inputs.dy, inputs.gamma, inputs.beta)
    elif case.check == "running_stats":
        upd = running.from_case(case)
        refs = running.reference(inputs.x, inputs.batches, sem, upd, inputs.gamma, inputs.beta)
        ach = running.achievable_errors(inputs.x, inputs.batches, refs, sem, case.dtype, upd, inputs.gamma,
                                        inputs.beta)
    else:
        ref = normalize(inputs.x, sem, inputs.gamma, inputs.beta)
        refs, ach = {"y": ref}, {"y": achievable_error(inputs.x, ref, sem, case.dtype, inputs.gamma, inputs.beta)}
    tol = case.tolerance_spec
    allowed = {}
    for k in refs:
        a = float(ach.get(k, 0.0)) if math.isfinite(ach.get(k, 0.0)) else 0.0
        ach[k] = a
        if tol is not None and tol.factor is None:
            allowed[k] = (float(tol.atol or 0.0), float(tol.rtol or 0.0))
        else:
            factor = float(tol.factor) if tol is not None and tol.factor is not None else FACTOR
            allowed[k] = factor * a + FLOOR[case.dtype]
    return Expected({k: np.asarray(v, np.float64) for k, v in refs.items()}, ach, allowed)


def n_values(inputs: Inputs) -> int:
    """How many input values a script would write out."""
    return int(inputs.x.size + (inputs.dy.size if inputs.dy is not None else 0)
               + sum(b.size for b in inputs.batches))


def _shape_words(case: Case) -> str:
    lay = Layout(case.layout)
    return f"({', '.join(lay.axes)}) = ({', '.join(str(case.size[a]) for a in lay.axes)})"


def _allowed_comment(case: Case, exp: Expected, name: str) -> str:
    a = exp.allowed[name]
    if isinstance(a, tuple):
        return "the tolerance this comparison uses: atol + rtol * |expected|"
    tol = case.tolerance_spec
    factor = float(tol.factor) if tol is not None and tol.factor is not None else FACTOR
    return (f"{factor:g} x {exp.achievable[name]:.3g} (what a careful {case.dtype} implementation reaches on "
            f"this input) + {FLOOR[case.dtype]:.3g}")


_COMPARE = '''

def compare(name, y, expected, allowed):
    """Print the largest difference of one output; True when every value is within the allowed error."""
    if y is None:
        print(f"{name}: the call left no {name}")
        return False
    y = np.asarray(y, np.float64)
    if y.shape != expected.shape:
        print(f"{name}: shape {y.shape}, expected {expected.shape}")
        return False
    with np.errstate(invalid="ignore"):
        diff = np.abs(y - expected)
    same = (np.isnan(y) & np.isnan(expected)) | (y == expected)
    diff = np.where(same, 0.0, np.where(np.isnan(diff), np.inf, diff))
    bad = diff > allowed
    i = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
    if diff.size:
        print(f"{name}{[int(k) for k in i]}: expected {float(expected[i])!r}, got {str(OUT(y[i]))} ({OUT.__name__}); "
              f"difference {diff[i]:.6g}, allowed {np.max(np.broadcast_to(allowed, diff.shape)[i]):.6g}")
    if bad.any():
        print(f"{name}: {int(bad.sum())} of {bad.size} values are off by more than allowed")
    return not bad.any()
'''


def script(case: Case, parts: dict, inputs: Inputs, exp: Expected, *, eps: float, what: str, title: str,
           lines: list[str], raises: str = "") -> str:
    """The standalone script. ``what``: what the operator computes, in words; ``raises``: the exception type
    the recorded cell raised (an error cell: exit 1 while the call raises it again)."""
    literal_data = n_values(inputs) <= LIMIT
    head = ["#!/usr/bin/env python3", f"# {comment(title, 300)}", "#"]
    for ln in lines:
        head += comment_block(ln) if ln else ["#"]
    head += ["#", (f"# Needs only numpy and {comment(framework_names(parts))}. Exit status: 0 when fixed, 1 while "
             "the problem"), ("# reproduces, 2 when this script cannot check it here (the framework is not "
             "installed, or its API changed).")]
    out = head + ["", "import contextlib", "import sys", "", "import numpy as np", "",
                  guarded_imports(parts["imports"]), "",
                  f"OUT = np.{literal.HELD_IN[case.dtype]}  # the dtype outputs are shown in", ""]
    out += _literal_data(case, inputs, exp, what) if literal_data else _drawn_data(case, exp, eps, what)
    out += [_COMPARE, _call(case, parts), "", _main(case, parts, raises), "", "",
            'if __name__ == "__main__":', "    sys.exit(main())", ""]
    text = "\n".join(out)
    if not literal_data:
        helpers = common(case.dtype) if case.check == "forward" else common(
            case.dtype, "outputs.py.tmpl", "backward.py.tmpl" if case.check == "backward" else "running.py.tmpl")
        text = text.replace(COMMON_MARK, helpers)
    return text


def _literal_data(case: Case, inputs: Inputs, exp: Expected, what: str) -> list[str]:
    d = case.dtype
    out = [f"# the input: {d} values" + (" (held in float32, which holds them exactly)" if d == "bfloat16" else "")
           + f", shape {_shape_words(case)}", literal.array(inputs.x, d, "x")]
    for name, a in (("gamma", inputs.gamma), ("beta", inputs.beta)):
        out.append(literal.array(a, d, name) if a is not None else f"{name} = None")
    if case.check == "backward":
        out += ["# the upstream gradient", literal.array(inputs.dy, d, "dy")]
    if case.check == "running_stats":
        out += [(f"# {len(inputs.batches)} training batches, one per step; momentum {case.momentum!r} is the weight "
                "of the new batch"), "batches = ["]
        out += ["    " + literal.array(b, d).replace("\n", "\n    ") + "," for b in inputs.batches]
        out.append("]")
    if case.expect:
        return out
    out += _what_lines(case, what)
    return out + _expected_lines(case, exp, literal_refs=True)


def _what_lines(case: Case, what: str) -> list[str]:
    return comment_block(f"the expected output{'' if case.check == 'forward' else 's'}: {what}, computed in "
                         "float64 on exactly these values")


def _expected_lines(case: Case, exp: Expected, literal_refs: bool) -> list[str]:
    out = []
    if case.check == "forward":
        if literal_refs:
            out.append(literal.expected_array(exp.refs["y"], "expected"))
        out.append(f"allowed = {literal.tolerance_text(exp.allowed['y'])}  # {_allowed_comment(case, exp, 'y')}")
        return out
    if literal_refs:
        out.append("expected = {")
        for k, v in exp.refs.items():
            out.append(f"    {k!r}: " + literal.expected_array(v).replace("\n", "\n    ") + ",")
        out.append("}")
    out.append("allowed = {")
    for k in exp.refs:
        out.append(f"    {k!r}: {literal.tolerance_text(exp.allowed[k]).replace('expected', f'expected[{k!r}]')},"
                   f"  # {_allowed_comment(case, exp, k)}")
    out.append("}")
    return out


def _drawn_data(case: Case, exp: Expected, eps: float, what: str) -> list[str]:
    sem = case.semantics_with(eps)
    block = op_block("OP", sem, case.size) if case.check == "forward" else training_op_block("OP", sem, case.size)
    out = [(f"# the input: {int(np.prod(case.shape))} values drawn as normconf draws them (numpy's PCG64, seed "
           f"{case.seed}), rounded to {case.dtype}, shape {_shape_words(case)}"), COMMON_MARK,
           inputs_block("INPUTS", case), "", block, "", "x, gamma, beta = [in_dtype(a) for a in make_inputs(INPUTS)]"]
    if case.check == "backward":
        out += ["dy = in_dtype(upstream_gradient(INPUTS))", "expected = reference_grads(x, dy, gamma, beta, OP)"]
    elif case.check == "running_stats":
        out += [f"batches = [in_dtype(b) for b in training_batches(INPUTS, {int(case.steps)})]",
                f"expected = reference_running(x, batches, gamma, beta, OP, {float(case.momentum)!r})"]
    elif not case.expect:
        out.append("expected = reference(x, gamma, beta, OP)")
    if case.expect:
        return out
    return out[:-1] + _what_lines(case, what) + out[-1:] + _expected_lines(case, exp, literal_refs=False)


def _call(case: Case, parts: dict) -> str:
    body = textwrap.indent(parts["call"].rstrip("\n"), "    ")
    if case.check == "forward":
        args, conv, ret = "x, gamma, beta", ("    x, gamma, beta = [None if a is None else to_framework(a) for a in " \
                                            "(x, gamma, beta)]"), "    return to_numpy(y)"
    elif case.check == "backward":
        args = "x, gamma, beta, dy"
        conv = "    x, gamma, beta, dy = [None if a is None else to_framework(a) for a in (x, gamma, beta, dy)]"
        ret = ("    found = dict(locals())\n"
               f"    return {{k: to_numpy(found[k]) for k in {py(OUTPUTS['backward'])} if found.get(k) is not None}}")
    else:
        args = "x, gamma, beta, batches"
        conv = ("    x, gamma, beta = [None if a is None else to_framework(a) for a in (x, gamma, beta)]\n"
                "    batches = [to_framework(b) for b in batches]")
        ret = ("    found = dict(locals())\n"
               f"    return {{k: to_numpy(found[k]) for k in {py(OUTPUTS['running_stats'])} "
               "if found.get(k) is not None}")
    conv_fns = ["def to_framework(a):", f"    return {parts['to_framework']}", "", "",
                "def to_numpy(y):", f"    return {parts['to_numpy']}"]
    return "\n".join(["", *conv_fns, "", "", f"def call({args}):",
                      "    \"\"\"The call as the framework's user writes it.\"\"\"", conv, body, ret])


def _main(case: Case, parts: dict, raises: str) -> str:
    ctx = parts["context"].strip() or "contextlib.nullcontext()"
    args = {"forward": "x, gamma, beta", "backward": "x, gamma, beta, dy",
            "running_stats": "x, gamma, beta, batches"}[case.check]
    lines = ["", "def main():", f"    print('versions:', {parts['versions']})"]
    expect = case.expect_spec
    if expect:
        msgs = expect.get("message")
        msgs = [msgs] if isinstance(msgs, str) else list(msgs or ())
        lines += [f"    expected_type = {expect['raises']!r}",
                  f"    expected_texts = {py([str(m) for m in msgs])}  # one of them must appear (any case)",
                  "    try:", f"        with {ctx}:", f"            call({args})",
                  "    except Exception as e:  # noqa: BLE001 - the point of this script",
                  "        said = f'{type(e).__name__}: {e}'.split(chr(10))[0]",
                  "        print(f'raised {said}')",
                  "        if expected_type not in [c.__name__ for c in type(e).__mro__]:",
                  "            print(f'REPRODUCES: expected {expected_type}')", "            return 1",
                  "        if expected_texts and not any(t.lower() in said.lower() for t in expected_texts):",
                  "            print('REPRODUCES: the message lacks ' + ' or '.join(repr(t) for t in expected_texts))",
                  "            return 1",
                  "        print('fixed: raised as expected')", "        return 0",
                  "    print(f'REPRODUCES: expected {expected_type}, but the call returned an output')",
                  "    return 1"]
        return "\n".join(lines)
    lines += ["    try:", f"        with {ctx}:", f"            got = call({args})",
              "    except Exception as e:  # noqa: BLE001 - the exit status says which kind of failure it was",
              "        said = f'{type(e).__name__}: {e}'.split(chr(10))[0]"]
    if raises:
        lines += [f"        if {raises!r} in [c.__name__ for c in type(e).__mro__]:",
                  "            print(f'REPRODUCES: the call raises {said}')", "            return 1"]
    lines += ["        print(f'cannot check: the call raised {said}')", "        return 2"]
    if raises:
        lines.append(f"    print('the call no longer raises {raises}; its output:')")
    if case.check == "forward":
        lines += ["    ok = compare('y', got, expected, allowed)"]
    else:
        lines += ["    ok = all([compare(k, got.get(k), expected[k], allowed[k]) for k in allowed])"]
    lines += ["    print('fixed: every value is within the allowed error' if ok else 'REPRODUCES')",
              "    return 0 if ok else 1"]
    return "\n".join(lines)
