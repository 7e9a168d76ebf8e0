"""The text of a standalone reproducer of a training-time cell: ``check: backward``
(dx, dgamma, dbeta through the framework's autodiff, with the seeded upstream
gradient) or ``check: running_stats`` (batch norm trained for ``steps`` steps on the
seeded batches, then run in inference mode).

Like the forward script (:mod:`harness.repro.script`), it needs only numpy and the
framework: it rebuilds x, gamma, beta and dy or the training batches exactly as
:mod:`harness.cases.inputs` draws them, makes the adapter's call (the source it generates
and executes, which reads ``dy`` or ``batches`` and leaves the named outputs),
computes the float64 reference inline (the analytic backward of
:mod:`harness.numerics.backward`; the running statistics of :mod:`harness.numerics.running`,
momentum the weight of the new batch, biased running variance) and each output's
achievable error (the stable emulations of :mod:`harness.numerics.achievable_backward` and
:mod:`harness.numerics.running`), judges every output by the verdict rule (or the case's
own tolerance), prints each output's worst element, and exits 1 when any output
diverges. The numeric helpers are the templates ``repro_outputs``,
``repro_backward`` and ``repro_running`` in ``harness/templates``.
"""
from __future__ import annotations

import ast
import textwrap

from harness.cases.model import Case
from harness.execution.explain import check_words
from harness.ops.layouts import Layout
from harness.results.parts import EpsilonDoc, Metrics
from harness.text.inert import comment, fmt, py

from .find import ReproError
from .script import (
    COMMON_MARK,
    case_lines,
    common,
    context,
    conversions,
    framework_names,
    guarded_call,
    guarded_imports,
    header,
    inputs_block,
    op_block,
)

#: the named outputs of each check, in the order the harness judges them
OUTPUTS = {"backward": ("dx", "dgamma", "dbeta"), "running_stats": ("y", "running_mean", "running_var")}
#: what the adapter's call must leave for each check
REQUIRED = {"backward": ("dx",), "running_stats": ("y", "running_mean", "running_var")}
_HELPERS = {"backward": "backward.py.tmpl", "running_stats": "running.py.tmpl"}


def check_call(case: Case, adapter: str, parts: dict) -> None:
    """Refuse an adapter call that cannot reproduce the cell: one that does not parse, or that
    leaves none of the outputs the check needs (an adapter whose reproducer writes forward calls only)."""
    try:
        tree = ast.parse(parts["call"])
    except SyntaxError:
        raise ReproError(f"{case.id} with {adapter}: the adapter's call does not parse") from None
    stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    missing = [k for k in REQUIRED[case.check] if k not in stored]
    if missing:
        raise ReproError(f"{case.id} with {adapter}: the adapter cannot express a check: {case.check} cell in a "
                         f"reproducer (its call leaves no {', '.join(missing)})")


def output_axes(case: Case, sem) -> dict:
    """The names of each output's dims."""
    lay = Layout(case.layout)
    if case.check == "backward":
        params = lay.ordered(sem.affine_axes)
        return {"dx": tuple(lay.axes), "dgamma": tuple(params), "dbeta": tuple(params)}
    kept = tuple(a for a in lay.axes if a not in sem.stat_axes)
    return {"y": tuple(lay.axes), "running_mean": kept, "running_var": kept}


def training_op_block(name: str, sem, sizes: dict) -> str:
    """The semantics as numbers (:func:`harness.repro.script.op_block`) and the dims gamma spans."""
    lay = Layout(sem.layout)
    dims = tuple(i for i, a in enumerate(lay.axes) if a in sem.affine_axes)
    return op_block(name, sem, sizes)[:-1] + f"    param_dims={py(dims)},  # dims of x that gamma and beta span\n)"


def call_function(check: str, parts: dict, doc: str) -> str:
    """``call(x, gamma, beta, dy | batches)``: the adapter's call, returning the named outputs it leaves."""
    extra = "dy" if check == "backward" else "batches"
    conv = ["    x, gamma, beta, dy = [None if a is None else to_framework(a) for a in (x, gamma, beta, dy)]"] \
        if check == "backward" else \
        ["    x, gamma, beta = [None if a is None else to_framework(a) for a in (x, gamma, beta)]",
         "    batches = [to_framework(b) for b in batches]"]
    return "\n".join([f"def call(x, gamma, beta, {extra}):", f"    {comment(doc, 200)!r}", *conv,
                      "    # --- the call, exactly as the adapter generated and ran it ---",
                      textwrap.indent(parts["call"].rstrip("\n"), "    "), "    # ---",
                      "    found = dict(locals())",
                      "    return {k: found[k] for k in OUTPUTS if found.get(k) is not None}", "", "",
                      conversions(parts)])


def _tolerance(case: Case):
    tol = case.tolerance_spec
    if tol is None:
        return None
    return {k: float(v) for k, v in (("factor", tol.factor), ("atol", tol.atol), ("rtol", tol.rtol)) if v is not None}


def recorded_words(m: Metrics | None) -> str:
    """What normconf recorded for each output, in one line."""
    if m is None or not m.outputs:
        return ""
    return (f"worst output {m.output}; " + ", ".join(
        f"{k} error {fmt(v.max_abs)} (achievable {fmt(v.achievable)}, allowed {fmt(v.allowed)}; "
        f"{'agrees' if v.ok else 'DIVERGES'})" for k, v in m.outputs.items()))


def training_script(case: Case, adapter: str, parts: dict, *, eps: float, epsilon_doc: EpsilonDoc | None,
                    header_lines: list[str], recorded_metrics: Metrics | None) -> str:
    """A standalone reproducer of one backward or running-statistics cell."""
    if case.expect:
        raise ReproError(f"{case.id} with {adapter}: normconf repro writes no reproducer of a check: {case.check} "
                         "cell that expects an error")
    check_call(case, adapter, parts)
    if case.check == "running_stats" and (case.cumulative or case.op != "batch_norm"):
        raise ReproError(f"{case.id} with {adapter}: the running-statistics reproducer knows batch norm with a "
                         "numeric momentum only (this cell: "
                         + ("momentum: null" if case.cumulative else case.op) + "); rerun it with normconf run")
    sem = case.semantics_with(eps)
    names = [k for k in OUTPUTS[case.check]]
    lines = [(f"Needs only numpy and {framework_names(parts)}; exits 1 when any of {', '.join(names)} diverges "
             "from the float64 reference under normconf's rule, 0 otherwise."),
             check_words(case)[0].strip(),
             *case_lines(case, eps, epsilon_doc, header_lines,
                         f", momentum {case.momentum!r}, steps {case.steps}" if case.check == "running_stats" else "")]
    out = [header(f"Reproducer: {case.id} with {adapter} (normconf repro)", lines), "", "import contextlib",
           "import sys", "", "import numpy as np", guarded_imports(parts["imports"]), "", f"CASE_ID = {case.id!r}",
           f"ADAPTER = {adapter!r}", f"AXES = {py(tuple(Layout(case.layout).axes))}  # names of x's dims",
           f"OUTPUTS = {py(tuple(names))}  # judged in this order",
           f"OUTPUT_AXES = {py(output_axes(case, sem))}  # names of each output's dims",
           f"TOLERANCE = {py(_tolerance(case))}  # the case's own tolerance (None: the verdict rule)"]
    if case.check == "running_stats":
        out += [f"MOMENTUM = {float(case.momentum)!r}  # the weight of the new batch",
                f"STEPS = {int(case.steps)!r}  # training steps, one batch each"]
    out += [COMMON_MARK, inputs_block("INPUTS", case), "", training_op_block("OP", sem, case.size), "",
            call_function(case.check, parts, f"{adapter}: numpy arrays in DTYPE in, the named outputs out."), ""]
    main = ["", "def main():", "    print(f'{CASE_ID} with {ADAPTER}; versions: {VERSIONS()}')",
            "    x, gamma, beta = [in_dtype(a) for a in make_inputs(INPUTS)]"]
    if case.check == "backward":
        main += ["    dy = in_dtype(upstream_gradient(INPUTS))"]
        main += guarded_call([f"    with {context(parts)}:",
                              "        got = {k: to_numpy(v) for k, v in call(x, gamma, beta, dy).items()}"], "")
        main += ["    refs = reference_grads(x, dy, gamma, beta, OP)",
                 "    ach = achievable_grads(x, dy, gamma, beta, OP, refs)"]
    else:
        main += ["    batches = [in_dtype(b) for b in training_batches(INPUTS, STEPS)]"]
        main += guarded_call([f"    with {context(parts)}:",
                              "        got = {k: to_numpy(v) for k, v in call(x, gamma, beta, batches).items()}"], "")
        main += ["    refs = reference_running(x, batches, gamma, beta, OP, MOMENTUM)",
                 "    ach = achievable_running(x, batches, gamma, beta, OP, MOMENTUM, refs)"]
    main.append("    ok, worst = judge_all(got, refs, ach, TOLERANCE, OUTPUT_AXES)")
    rec = recorded_words(recorded_metrics)
    if rec:
        main.append(f"    print({'normconf recorded: ' + rec!r})")
    main += ["    print('DIVERGES' if not ok else 'agrees')", "    return 0 if ok else 1", "", "",
             "def VERSIONS():", f"    return {parts['versions']}", "", "", 'if __name__ == "__main__":',
             "    sys.exit(main())", ""]
    helpers = common(case.dtype, "outputs.py.tmpl", _HELPERS[case.check])
    return "\n".join(out).replace(COMMON_MARK, helpers) + "\n".join(main)
