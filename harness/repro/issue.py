"""Markdown issue bodies for ``normconf repro``: a title, the framework and machine
versions, what the operator should compute (or what the docs claim), expected against
actual, the explanation, and the reproducer in a fenced block.

Every piece of free text goes through :func:`harness.text.inert.md` (HTML escaped,
Markdown characters escaped, one line); links only for http(s) URLs.
"""
from __future__ import annotations

import re

from harness.cases.model import Case
from harness.execution.explain import check_words
from harness.ops.layouts import Layout
from harness.text.inert import comment, fence, fmt, md, md_link

from .script_training import output_axes

_CHECK_WORDS = {"backward": "gradients", "running_stats": "running statistics",
                "inference": "inference-mode outputs with given running statistics"}
#: how a cell that returned no output ended, for a title
_ENDS = {"error": "raises", "crash": "crashes the process", "timeout": "does not finish"}


def _versions_table(versions: dict, header: dict) -> list[str]:
    rows = [(k, v) for k, v in (versions or {}).items()]
    for k in ("python", "numpy", "os", "cpu", "harness_version", "commit"):
        if header.get(k):
            rows.append((k, header[k]))
    out = ["| component | version |", "|---|---|"]
    out += [f"| {md(k, 80)} | {md(v, 200)} |" for k, v in rows]
    return out


def _name(name) -> str:
    """An output name from a record, for a code span: letters, digits and underscores only."""
    return re.sub(r"[^A-Za-z0-9_]", "", str(name or ""))[:40]


def _outputs_lines(case: Case, m, eps: float) -> list[str]:
    """Expected against actual for each named output of a training-time cell."""
    axes = output_axes(case, case.semantics_with(eps))
    out = []
    for name, o in m.outputs.items():
        line = f"- `{_name(name)}` {'agrees' if o.ok else '**diverges**'}: "
        if o.shape_mismatch:
            out.append(line + md(o.shape_mismatch))
            continue
        where = ", ".join(f"{a}={i}" for a, i in zip(axes.get(name, ()), o.worst_index or []))
        out.append(line + f"error (max abs) {fmt(o.max_abs)}; achievable by a careful {md(case.dtype)} "
                   f"implementation {fmt(o.achievable)}; allowed {fmt(o.allowed)}; ratio {fmt(o.ratio)}x; "
                   f"worst element `[{md(where)}]`: expected {fmt(o.worst_expected)}, got {fmt(o.worst_actual)}"
                   + (f"; {md(o.nonfinite)}" if o.nonfinite else ""))
    out += ["", (f"normconf calls an output divergent above {fmt(m.factor)}x its achievable error plus a floor of "
            f"{fmt(m.floor)}; the worst output is `{_name(m.output)}`.")]
    return out


def case_issue(case: Case, adapter: str, result, header: dict, script: str, *, eps: float, epsilon_doc, note: str,
               versions: dict) -> str:
    m = result.metrics
    expl = result.explanation or m.expected_error or result.message.split("\n", 1)[0]
    op, agree = case.op.replace('_', ' '), result.status == "agree"
    on = f"on {case.dtype} {case.layout} input"
    if result.status in _ENDS:  # an error, crash or timeout is no divergence
        title = f"{adapter}: {op} {'' if case.check == 'forward' else _CHECK_WORDS[case.check] + ' '}{_ENDS[result.status]} {on}"
    elif case.check == "forward":
        title = f"{adapter}: {op} {'agrees with' if agree else 'diverges from'} its definition {on}"
    else:
        title = f"{adapter}: {op} {_CHECK_WORDS[case.check]} {'agree with' if agree else 'diverge from'} their " \
                f"definition {on}"
    if result.explanation:
        title += f": {comment(re.split(r'[:;(]', result.explanation)[0], 90).strip()}"
    lay = Layout(case.layout)
    out = [f"# {md(title, 300)}", "", f"Found by normconf (case `{case.id}`, environment {md(result.env, 80)}).", "",
           "## Versions", ""] + _versions_table(versions or result.versions, header) + ["", "## What the operator should compute", ""]
    out.append(f"{md(case.semantics_with(eps).describe())}, on a {md(case.dtype)} input of shape "
               f"{md('x'.join(f'{a}{n}' for a, n in case.sizes))} ({md(case.description)}). Source: "
               + md_link(case.source, case.source) + ".")
    if case.check != "forward":
        out += ["", md(check_words(case)[0].strip().replace("check: ", "Checked: ", 1), 1000) + "."]
    if case.epsilon is None and epsilon_doc:
        out += ["", "The call leaves epsilon out; the documented default is:", "",
                f"> {md(epsilon_doc.quote)}", "", md_link(epsilon_doc.source, epsilon_doc.source)]
    out += ["", "## Expected vs actual", ""]
    if case.check != "forward" and m.outputs and not case.expect:
        out += _outputs_lines(case, m, eps)
    elif case.expect:
        exp = case.expect_spec
        out.append(f"Expected `{md(exp.get('raises'))}` with a message containing one of: "
                   + ", ".join(f"`{md(t)}`" for t in ([exp["message"]] if isinstance(exp.get("message"), str)
                                                     else exp.get("message") or [])) + ".")
        out.append(f"Actual: {md(m.expected_error or m.raised or result.message.split(chr(10))[0])}")
    elif m.max_abs is not None:
        where = ", ".join(f"{a}={i}" for a, i in zip(lay.axes, m.worst_index or []))
        out += [f"- worst element `[{md(where)}]`: expected {fmt(m.worst_expected)}, got {fmt(m.worst_actual)}",
                (f"- error (max abs) {fmt(m.max_abs)}; achievable by a careful {md(case.dtype)} "
                f"implementation {fmt(m.achievable)}; ratio {fmt(m.ratio)}x "
                f"(normconf calls a cell divergent above {fmt(m.factor)}x plus a floor of {fmt(m.floor)})")]
        if m.nonfinite:
            out.append(f"- {md(m.nonfinite)}")
    else:
        out.append(md(result.message.split("\n", 1)[0]))
    out += ["", "## Explanation", "", md(expl, 1500) or "(none)"]
    if note:
        out += ["", md(note, 1500)]
    out += ["", "## Reproducer", "", ("Standalone (numpy and the framework only); exits 1 while the problem is "
            "present:"), "", fence(script), ""]
    return "\n".join(out)


def claim_issue(claim, adapter: str, record, header: dict, script: str, input_name: str) -> str:
    title = f"{claim.framework} docs: \"{comment(claim.quote, 80)}\" {record.verdict}" + (
        f" {comment(record.condition, 80)}" if record.condition else "")
    out = [f"# {md(title, 300)}", "", f"Found by normconf (claim `{claim.id}`, environment {md(record.env, 80)}).", "",
           "## Versions", ""] + _versions_table(record.versions, header)
    out += ["", "## What the docs claim", "", f"> {md(claim.quote, 1500)}", "",
            "Source: " + md_link(claim.source, claim.source), "", f"API: {md(claim.api)}", "",
            "## Expected vs actual", "", f"Measured verdict: **{md(record.verdict)}**"
            + (f" {md(record.condition)}" if record.condition else "") + "."]
    for inp, text in (record.per_input or {}).items():
        out.append(f"- {md(inp, 40)}: {md(text, 200)}")
    if record.max_diff:
        out.append(f"- largest difference: {fmt(record.max_diff)}")
    out += ["", "## Explanation", "", md(record.explanation or record.error or "(none)", 1500), "",
            "## Reproducer", "", (f"Standalone (numpy and the framework only), on input {md(input_name, 40)}; exits 1 "
            "while the claim does not hold:"), "", fence(script), ""]
    return "\n".join(out)
