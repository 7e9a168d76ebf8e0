"""Issue bodies of ``normconf file``, one per root cause, in the form its classification calls for, written
for the maintainers who triage them.

* ``bug``: a bug report to the cause's repository;
* ``documented``: a documentation or default-change request that quotes the framework's own docs and shows
  the measured consequence;
* ``spec``: a specification discussion (what the specification says, what implementations do);
* a cause already reported upstream: a comment-sized addendum to that issue with the new evidence.

Every body names the repository at the top, takes its title from the public API (never an adapter name),
links and quotes the documentation the cause gives (never the case file's source), shows expected and
actual values at full precision with their dtype and the distance in units of the achievable error, the
same input on the framework's other APIs or backends, the workaround, the versions and platform, and the
standalone script with what it printed here. Free text from cause, case and results files goes through
:mod:`harness.text.inert`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from harness.cases.model import Case
from harness.ops.layouts import Layout
from harness.results.parts import EpsilonDoc
from harness.text.inert import fence, md, md_link

from . import literal
from .literal_script import Expected
from .public import words
from .script_training import output_axes
from .shrink import describe

#: what each classification is filed as
FORMS = {"bug": "bug report", "documented": "documentation or default-change request",
         "spec": "specification discussion"}


@dataclass
class Evidence:
    """Everything a body says: the cause, the cell that shows it (shrunk), and what was measured."""
    cause: object  # harness.expectations.causes.Cause
    api: str
    title: str
    adapter: str
    case: Case  # the input the script uses (shrunk)
    original: Case  # the recorded input
    result: object  # the Result of ``case`` (run here), or the record itself
    expected: Expected
    eps: float
    script: str
    what: str  # what the operator computes, in words
    epsilon_doc: EpsilonDoc | None = None
    ran: tuple[int, str] | None = None  # the script's exit status and output here
    siblings: list = field(default_factory=list)  # Results of the same case on the framework's other APIs
    record: object = None  # the recorded Result the cell was chosen from
    scope: list[str] = field(default_factory=list)
    n_cells: int = 0
    how: str = ""
    header: dict = field(default_factory=dict)


@dataclass
class ClaimEvidence:
    """What a body says when the cause shows in a documentation claim: the claim's measured verdict."""
    cause: object
    api: str
    title: str
    adapter: str
    result: object  # the ClaimResult
    claim: object  # harness.claims.load.Claim
    script: str
    ran: tuple[int, str] | None = None
    header: dict = field(default_factory=dict)
    n_cells: int = 0
    scope: list[str] = field(default_factory=list)
    how: str = ""
    siblings: list = field(default_factory=list)
    case: object = None
    original: object = None
    epsilon_doc: object = None


def claim_measured(ev: ClaimEvidence) -> list[str]:
    """The claim's measured verdict, per input, with the largest difference."""
    r, c = ev.result, ev.claim
    out = [(f"{md(c.api, 300)} with {md(words(ev.adapter))}: the statement "
           f"{md(r.verdict)}{(' ' + md(r.condition, 300)) if r.condition else ''}."), ""]
    out += [f"- {md(k, 60)}: {md(v, 300)}" for k, v in (r.per_input or {}).items()]
    if r.max_diff:
        out.append(f"- largest difference between the two sides: {_g(r.max_diff)}")
    return out


def _measured(ev) -> list[str]:
    return claim_measured(ev) if isinstance(ev, ClaimEvidence) else measured(ev)


def _repo(cause, kind: str) -> list[str]:
    repo = cause.repository
    link = md_link(repo, f"https://github.com/{repo}/issues/new") if repo else "(no repository)"
    return [f"**Repository:** {link} · **Kind:** {md(kind)}", ""]


def _diagnosis(text: str) -> str:
    """The fingerprint's words for a maintainer: the definition, not the harness's case."""
    return re.sub(r"\bthe case (expects|means)\b", "the definition uses", text or "")


def _where(names, index) -> str:
    return ", ".join(f"{a}={i}" for a, i in zip(names, index or []))


def _output_dtype(ev: Evidence) -> str:
    od = str(ev.result.metrics.output_dtype or "")
    return od if od in literal.HELD_IN else ev.case.dtype


def measured(ev: Evidence) -> list[str]:
    """Expected against actual at full precision, with the distance in units of the achievable error."""
    case, r, m = ev.case, ev.result, ev.result.metrics
    lay = Layout(case.layout)
    shape = ", ".join(f"{a}={case.size[a]}" for a in lay.axes)
    out = [f"{md(ev.what)}. Input: {md(case.dtype)}, shape ({md(shape)})"
           + (f"; epsilon left to its default, {literal.shown(ev.eps)}" if case.epsilon is None else "") + ".", ""]
    if case.expect:
        exp = case.expect_spec
        msgs = exp.get("message")
        msgs = [msgs] if isinstance(msgs, str) else list(msgs or ())
        out.append(f"- expected: the call raises `{md(exp.get('raises'))}`"
                   + (" with a message mentioning " + " or ".join(f"`{md(t)}`" for t in msgs) if msgs else ""))
        said = re.sub(r";\s*the case expects [A-Za-z_][A-Za-z0-9_.]*$", "",
                      m.expected_error or m.raised or r.message.split(chr(10))[0])
        out.append(f"- actual: {md(said, 600)}")
        return out
    if r.status == "error":
        out.append("- expected: an output (the definition computed in float64 on this input)")
        out.append(f"- actual: the call raises `{md(r.message.split(chr(10))[0], 600)}`")
        return out
    if r.status in ("crash", "timeout"):
        out.append(f"- actual: {'the process crashes' if r.status == 'crash' else 'the call does not finish'}: "
                   f"{md(r.message.split(chr(10))[0], 400)}")
        return out
    od = _output_dtype(ev)
    if case.check != "forward" and m.outputs:
        axes = output_axes(case, case.semantics_with(ev.eps))
        out += ["| output | element | expected (float64) | actual (" + md(od) + ") | difference | careful "
                f"{md(case.dtype)} implementation | difference in those units |", "|---|---|---|---|---|---|---|"]
        for name, o in m.outputs.items():
            if o.shape_mismatch:
                out.append(f"| `{md(name, 40)}` | | | {md(o.shape_mismatch)} | | | |")
                continue
            out.append(f"| `{md(name, 40)}` | `[{md(_where(axes.get(name, ()), o.worst_index))}]` | "
                       f"{literal.shown(o.worst_expected)} | {literal.shown(o.worst_actual, od)} | "
                       f"{_g(o.max_abs)} | {_g(o.achievable)} | {_ratio(o.ratio)}"
                       + ("" if o.ok else " (over the allowed error)") + " |")
        return out
    if m.shape_mismatch:
        return out + [f"- actual: {md(m.shape_mismatch)}"]
    out += ["| | value |", "|---|---|",
            f"| element | `y[{md(_where(lay.axes, m.worst_index))}]` |",
            f"| expected (the definition in float64 on the {md(case.dtype)} input) | {literal.shown(m.worst_expected)} |",
            f"| actual ({md(od)}) | {literal.shown(m.worst_actual, od)} |",
            f"| difference | {_g(m.max_abs)} |",
            f"| what a careful {md(case.dtype)} implementation reaches on this input | {_g(m.achievable)} |",
            f"| difference in those units | {_ratio(m.ratio)} |"]
    if m.nonfinite:
        out += ["", f"{md(m.nonfinite)}."]
    return out


def _g(v) -> str:
    return "n/a" if v is None else f"{float(v):.6g}"


def _ratio(v) -> str:
    return "n/a" if v is None else f"{float(v):.4g}x"


def _other(r) -> str:
    m = r.metrics
    if r.status == "agree":
        return f"agrees (largest difference {_g(m.max_abs)}, {_ratio(m.ratio)} the achievable error)"
    if r.status == "diverge":
        if m.expected_error:
            return md(m.expected_error, 300)
        return (f"differs (largest difference {_g(m.max_abs)}, {_ratio(m.ratio)} the achievable error)"
                + (f"; {md(m.nonfinite)}" if m.nonfinite else ""))
    if r.status == "error":
        return f"raises `{md(r.message.split(chr(10))[0].split(':', 1)[0], 80)}`"
    return {"crash": "crashes the process", "timeout": "does not finish"}.get(r.status, md(r.status))


def _versions_words(versions: dict) -> str:
    return ", ".join(f"{md(k, 40)} {md(v, 60)}" for k, v in (versions or {}).items() if k != "pid")


def elsewhere(ev: Evidence) -> list[str]:
    """The same recorded input on the framework's other APIs and backends (and the cause's comparisons)."""
    if not ev.siblings or ev.record is None:
        return []
    out = ["## The same input elsewhere", "",
           f"The recorded input (shape {md(describe(ev.original))}, before shrinking), as measured:", "",
           "| API | versions | result |", "|---|---|---|",
           f"| {md(words(ev.adapter))} (this report) | {_versions_words(ev.record.versions)} | {_other(ev.record)} |"]
    out += [f"| {md(words(r.adapter))} | {_versions_words(r.versions)} | {_other(r)} |" for r in ev.siblings]
    return out + [""]


def docs(cause, heading: str) -> list[str]:
    if not cause.docs:
        return []
    out = [f"## {heading}", ""]
    for d in cause.docs:
        if d.quote:
            out += [f"> {md(d.quote, 1500)}", ""]
        out += [f"— {md_link(d.url, d.url)}", ""]
    return out


def _epsilon_doc(ev: Evidence) -> list[str]:
    if ev.case is None or ev.case.epsilon is not None or ev.epsilon_doc is None or not ev.epsilon_doc.quote:
        return []
    d = ev.epsilon_doc
    return ["The call leaves epsilon out; its documented default:", "", f"> {md(d.quote, 600)}", "",
            f"— {md_link(d.source, d.source)}", ""]


def reproducer(ev: Evidence) -> list[str]:
    out = ["## To reproduce", "", ("Standalone: numpy and the framework only. It exits 1 while the problem is present, "
           "0 once it is fixed, and 2 when it cannot run here (the framework missing, or an API that changed)."), "",
           fence(ev.script), ""]
    if ev.ran is not None:
        code, text = ev.ran
        out += [f"What it prints here (exit status {code}):", "", fence(text.strip() or "(nothing)").replace(
            "python\n", "text\n", 1), ""]
    return out


def environment(ev: Evidence) -> list[str]:
    rows = [(k, v) for k, v in (ev.result.versions or {}).items() if k != "pid"]
    for k, label in (("python", "Python"), ("numpy", "numpy"), ("os", "OS"), ("cpu", "CPU")):
        if ev.header.get(k):
            rows.append((label, ev.header[k]))
    return ["## Environment", "", "| | version |", "|---|---|"] + [f"| {md(k, 60)} | {md(v, 200)} |" for k, v in rows] \
        + [""]


def found(ev: Evidence) -> list[str]:
    out = ["## How this was found", "",
           ("A conformance harness (normconf) runs the normalization APIs of several frameworks on seeded inputs and "
           "compares every output with the operator's definition computed in float64.")]
    cell = ev.case is not None
    if ev.n_cells:
        out[-1] += (f" This shows in {ev.n_cells} of its {'configurations' if cell else 'measured documentation claims'}"
                    + (": " + "; ".join(md(s, 200) for s in ev.scope) if ev.scope else "") + ".")
    if ev.how:
        out[-1] += f" The {'input' if cell else 'claim'} above was {md(ev.how, 600)}."
    if ev.case is not None and ev.case != ev.original:
        out[-1] += f" It was shrunk from {md(describe(ev.original))} to {md(describe(ev.case))} keeping the same " \
                   "diagnosis."
    return out + [""]


def _summary(ev: Evidence) -> list[str]:
    c = ev.cause
    out = [md(c.mechanism, 2000), ""]
    expl = getattr(ev.result, "explanation", "")
    if expl:
        where = "On the input below" if ev.case is not None else "Measured"
        out += [f"{where}: {md(_diagnosis(expl), 1200)}.", ""]
    return out


def _workaround(cause) -> list[str]:
    return ["## Workaround", "", md(cause.workaround, 2000), ""] if cause.workaround else []


def bug(ev: Evidence) -> str:
    out = _repo(ev.cause, FORMS["bug"]) + [f"# {md(ev.title, 300)}", "", "## Summary", ""] + _summary(ev)
    out += ["## Expected and actual", ""] + _measured(ev) + [""] + _epsilon_doc(ev)
    out += reproducer(ev) + elsewhere(ev) + docs(ev.cause, "Documentation") + _workaround(ev.cause)
    return "\n".join(out + environment(ev) + found(ev))


def documented(ev: Evidence) -> str:
    out = _repo(ev.cause, FORMS["documented"]) + [f"# {md(ev.title, 300)}", ""]
    out += docs(ev.cause, "What the documentation says")
    out += ["## What it means in practice", ""] + _summary(ev) + _measured(ev) + [""] + _epsilon_doc(ev)
    out += ["## Request", "", (f"Please make the documentation of {md(ev.api)} say what it does, with the size of the "
            "effect shown above, or change the default so that it does what the documentation says."), ""]
    out += _workaround(ev.cause) + reproducer(ev) + elsewhere(ev)
    return "\n".join(out + environment(ev) + found(ev))


def spec(ev: Evidence) -> str:
    out = _repo(ev.cause, FORMS["spec"]) + [f"# {md(ev.title, 300)}", ""]
    out += docs(ev.cause, "What the specification says")
    out += ["## What implementations do", ""] + _summary(ev) + _measured(ev) + [""] + elsewhere(ev)
    out += ["## Question", "", ("Is this what the specification intends? If it is, could the operator's "
            "documentation say so, with the consequence measured above; if it is not, which reading should "
            "implementations follow?"), ""]
    out += _workaround(ev.cause) + reproducer(ev)
    return "\n".join(out + environment(ev) + found(ev))


def addendum(ev: Evidence) -> str:
    up = ev.cause.upstream
    link = md_link(up.title or up.url, up.url)
    out = [f"Already reported: {link}" + (f" ({md(up.state, 40)})" if up.state else "") + ".", "",
           "## Comment with the new evidence", "",
           f"Still present with {_versions_words(ev.result.versions)}"
           + (f" (Python {md(ev.header.get('python'), 40)}, {md(ev.header.get('os'), 120)})" if ev.header else "")
           + (f". A smaller standalone reproducer ({md(describe(ev.case))}):" if ev.case is not None else
              ". A standalone reproducer:"), ""]
    out += _measured(ev) + [""] + reproducer(ev)
    return "\n".join(out)


WRITERS = {"bug": bug, "documented": documented, "spec": spec}
