"""``normconf file CAUSE``: one issue per root cause, in the form its classification calls for.

For a cause declared in the expectations files (``causes:``), the command gathers the results' cells and
claims that it explains (each record judged again with the expectations as they are now,
:mod:`harness.repro.gather`), picks the cell that shows it best and says how, shrinks it while the same
cause still explains it (:mod:`harness.repro.shrink`), asks the adapter for its call, writes a standalone
script with the inputs and expected outputs as literals (:mod:`harness.repro.literal_script`), runs it
here, and writes the body (:mod:`harness.repro.filing`) when the script exits 1 here (it shows the problem;
otherwise only the script and the provenance are kept, and the line says why):

* ``DIR/<cause>.md`` (the body, or for a cause already reported upstream a comment with the new
  evidence), ``DIR/<cause>.py`` (the script) and ``DIR/<cause>.json`` (where they came from: the cells,
  the chosen one, the shrinking, the script's exit status here);
* a harness limitation or a superseded API gets no issue: one line says why.

``--all`` does this for every declared cause and writes ``DIR/index.md``. Exit status: 0 when every cause
asked for was written or needs no issue; 1 when one could not be written here (its cells ran in another
environment, or its script exits 0 here: the problem does not reproduce with these versions); 2 for an
unknown cause (the line lists the known ones), a broken expectations file, no results, a cause asked for
by name that explains nothing in the results, or one that cannot be written at all (a script that exits 2
here among them). With ``--all``, the largest of these (a cause nothing shows is no failure there).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from harness import ops
from harness.cases.inputs import make_inputs
from harness.cases.model import affine_json
from harness.execution.runner import Runner
from harness.expectations import Expectations, discover
from harness.results.parts import EpsilonDoc
from harness.results.paths import collect
from harness.results.read import read_many
from harness.text.inert import comment, md, md_link, printable

from . import filing, gather, public
from .command import repro_claim
from .find import Found, ReproError, adapter_parts, load_claim_for, validated_case
from .literal_script import expected_for, script
from .script import error_type
from .shrink import describe, shrink

#: the status of a cause with nothing to file from (2 when it was asked for by name; no failure for --all)
NOTHING = 3


def _say(msg: str) -> None:
    print(f"normconf file: {msg}", file=sys.stderr)


class Skip(Exception):
    """A cause that cannot be written here; ``code`` is 1 for "in another environment", 2 otherwise."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def what_words(case, eps: float) -> str:
    """What the operator computes on ``case``, in a maintainer's words."""
    sem = case.semantics_with(eps)
    return f"{ops.get(case.op).title} by its definition ({sem.describe()})"


def _epsilon(case, metrics, recorded, parts):
    """The epsilon the call uses: the case's, else the documented default the cell recorded, else the one
    the adapter documents (a cell that raised recorded none)."""
    if case.epsilon is not None:
        return case.epsilon, None
    doc = metrics.epsilon_default or recorded.epsilon_default
    if doc is None and "epsilon_default" in parts:
        doc = EpsilonDoc(float(parts["epsilon_default"]), parts.get("epsilon_quote", ""),
                         parts.get("epsilon_source", ""))
    if doc is None:
        raise ReproError("an epsilon: default case without a documented default")
    return float(doc.value), doc


def run_script(path: Path, timeout: float) -> tuple[int, str]:
    """Run a written script with this interpreter (which has the framework): (exit status, output)."""
    env = {k: v for k, v in os.environ.items() if k != "NORMCONF_ADAPTERS"}
    try:
        p = subprocess.run([sys.executable, str(path.resolve())], cwd=path.parent, env=env, capture_output=True,
                           text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return -1, f"(did not finish within {timeout:g} s)"
    text = (p.stdout + (("\n" + p.stderr) if p.stderr.strip() else "")).strip()
    # what the framework printed goes into a Markdown body: no control characters but line breaks
    return p.returncode, "\n".join(printable(ln) for ln in text[-3000:].splitlines())


def _cell_evidence(ex, merged, headers, args, log) -> tuple[filing.Evidence, dict]:
    """The evidence of a cause shown by a cell, and the provenance of the files written."""
    cause = ex.cause
    choice = gather.choose(ex.cells, cause=cause)
    if choice.record is None:
        showable = any(r.status in gather.SHOWABLE for r in ex.cells)
        raise Skip(choice.how, 1 if showable else NOTHING)
    rec = choice.record
    adapter = rec.adapter
    original = validated_case(rec.case)
    case, result, note = original, rec, "not shrunk (--no-shrink)"
    if not args.no_shrink:
        runner = Runner(rec.env, None, adapters=[adapter], cell_timeout=args.cell_timeout)
        try:
            s = shrink(original, adapter, runner, budget=args.budget, log=lambda t: log(f"tried {t}"))
        finally:
            runner.close()
        if s.original_result.status != rec.status:
            raise Skip(f"{rec.case_id} on {adapter} ends {s.original_result.status} here, not {rec.status} as "
                       f"recorded in {rec.env} (other versions?); run normconf file where it was recorded", 1)
        case, result, note = s.case, s.result, s.note
    (parts,), _ = adapter_parts(adapter, [case])
    eps, epsdoc = _epsilon(case, result.metrics, rec.metrics, parts)
    inputs = make_inputs(case)
    exp = expected_for(case, inputs, eps)
    api = public.api_name(cause, parts["call"], adapter)
    title = public.title(cause, api, case.dtype, adapter, result.versions)
    what = what_words(case, eps)
    lines = [cause.mechanism, "",
             f"{public.words(adapter)}: {what}, on the {case.dtype} input below"
             + (f" (epsilon left to its default, {eps!r})" if case.epsilon is None else "") + "."]
    if case.expect:
        lines.append(f"The call should raise {case.expect_spec['raises']}.")
    elif case.tolerance_spec is not None:
        lines.append("The expected values are that definition computed in float64 on exactly these inputs; the "
                     f"allowed error: {case.tolerance_spec.describe()}.")
    else:
        lines.append("The expected values are that definition computed in float64 on exactly these inputs; the "
                     "allowed error is 8 times what a careful implementation in the input's dtype reaches on them, "
                     "plus 4 units in the last place at 1.0.")
    text = script(case, parts, inputs, exp, eps=eps, what=what, title=title, lines=lines,
                  raises=error_type(result))
    ev = filing.Evidence(cause=cause, api=api, title=title, adapter=adapter, case=case, original=original,
                         result=result, expected=exp, eps=eps, script=text, what=what, epsilon_doc=epsdoc,
                         siblings=gather.siblings(merged, rec, cause.compare), record=rec,
                         scope=gather.scope(ex.cells), n_cells=len(ex.cells), how=choice.how,
                         header=headers.get(rec.env, {}))
    prov = {"cell": {"env": rec.env, "adapter": adapter, "case_id": rec.case_id, "status": rec.status},
            "chosen": choice.how, "shrink": note, "shrunk_to": describe(case), "affine": affine_json(case.affine),
            "case": case.to_dict(),
            "siblings": [{"env": r.env, "adapter": r.adapter, "status": r.status} for r in ev.siblings]}
    return ev, prov


def _claim_evidence(ex, merged, headers, args) -> tuple[filing.ClaimEvidence, dict]:
    """The evidence of a cause shown by documentation claims only: the claim that shows it best, its
    reproducer (both sides' calls on the first input where it fails) and its measured verdict."""
    cause = ex.cause
    choice = gather.choose_claim(ex.claims, cause=cause)
    if choice.record is None:
        raise Skip(choice.how, 1 if "cannot run" in choice.how else NOTHING)
    rec = choice.record
    found = Found("claim", rec, headers.get(rec.env, {}))
    text, _ = repro_claim(found, rec.adapter, label=public.words(rec.adapter))
    claim = load_claim_for(rec)
    api = public.api_name(cause, claim.api, rec.adapter)
    title = public.title(cause, api, claim.dtype, rec.adapter, rec.versions)
    ev = filing.ClaimEvidence(cause=cause, api=api, title=title, adapter=rec.adapter, result=rec, claim=claim,
                              script=text, header=headers.get(rec.env, {}), n_cells=len(ex.claims),
                              how=choice.how)
    prov = {"claim": {"env": rec.env, "adapter": rec.adapter, "claim_id": rec.claim_id, "verdict": rec.verdict},
            "chosen": choice.how}
    return ev, prov


def file_cause(ex, merged, args, out: Path, log) -> tuple[int, str]:
    """Write what one cause needs; (exit status, one line saying what was done)."""
    cause = ex.cause
    cid = cause.id
    if cause.classification in ("harness", "superseded"):
        why = cause.mechanism if cause.classification == "harness" else (
            "the migration is the fix" + (f" ({cause.docs[0].url})" if cause.docs else ""))
        return 0, f"{cid}: no new issue: {cause.classification_text}: {why}"
    if not ex:
        return NOTHING, f"{cid}: nothing to file: no record of the results is explained by it"
    try:
        if ex.cells:
            ev, prov = _cell_evidence(ex, merged, merged.headers, args, log)
        else:
            ev, prov = _claim_evidence(ex, merged, merged.headers, args)
    except Skip as e:
        return e.code, f"{cid}: not written here: {e}"
    except ReproError as e:
        return 2, f"{cid}: not written: {e}"
    except (ValueError, KeyError, TypeError, OSError) as e:  # one line, never a traceback
        return 2, f"{cid}: not written: {type(e).__name__}: {comment(e, 300)}"
    out.mkdir(parents=True, exist_ok=True)
    py_path, md_path = out / f"{cid}.py", out / f"{cid}.md"
    py_path.write_text(ev.script, encoding="utf-8")
    ev.ran = run_script(py_path, max(60.0, args.cell_timeout * 2))
    if ev.ran[0] != 1:  # no body whose script does not show the problem
        if md_path.exists():
            md_path.unlink()
        (out / f"{cid}.json").write_text(json.dumps({**prov, "cause": cid, "script_exit_here": ev.ran[0],
                                                     "script_output": ev.ran[1]}, indent=1), encoding="utf-8")
        last = ev.ran[1].splitlines()[-1] if ev.ran[1].strip() else ""
        why = "the problem does not reproduce with the versions installed here" if ev.ran[0] == 0 else \
            "the script cannot check it here"
        return (1 if ev.ran[0] == 0 else 2), (f"{cid}: not written: its script {py_path} exits {ev.ran[0]} here, "
                                               f"not 1: {why} ({comment(last, 200)})")
    reported = cause.reported
    body = filing.addendum(ev) if reported else filing.WRITERS[cause.classification](ev)
    md_path.write_text(body, encoding="utf-8")
    prov.update({"cause": cid, "classification": cause.classification, "repository": cause.repository,
                 "form": "addendum" if reported else filing.FORMS[cause.classification],
                 "cells": [{"env": r.env, "adapter": r.adapter, "case_id": r.case_id, "status": r.status}
                           for r in ex.cells],
                 "claims": [{"env": r.env, "adapter": r.adapter, "claim_id": r.claim_id, "verdict": r.verdict}
                            for r in ex.claims],
                 "script_exit_here": ev.ran[0], "title": ev.title})
    (out / f"{cid}.json").write_text(json.dumps(prov, indent=1), encoding="utf-8")
    if reported:
        return 0, (f"{cid}: already reported upstream: {cause.upstream.url}; wrote a comment with the new evidence "
                   f"to {md_path} (script {py_path}, exit {ev.ran[0]} here)")
    return 0, (f"{cid}: wrote a {filing.FORMS[cause.classification]} for {cause.repository} to {md_path} "
               f"(script {py_path}, exit {ev.ran[0]} here)")


def _index(lines: list[tuple[str, int, str]], exp, out: Path) -> None:
    rows = ["# Root causes", "", "| cause | classification | upstream | what was written |", "|---|---|---|---|"]
    for cid, code, line in lines:
        c = exp.causes[cid]
        up = md_link(c.upstream.url, c.upstream.url) if c.upstream.url else md(c.upstream.text())
        what = line.split(": ", 1)[1] if ": " in line else line
        link = f"[{md(cid)}]({cid}.md)" if (out / f"{cid}.md").is_file() else md(cid)
        rows.append(f"| {link} | {md(c.classification_text)} | {up} | {md(what, 400)} |")
    out.mkdir(parents=True, exist_ok=True)
    (out / "index.md").write_text("\n".join(rows) + "\n", encoding="utf-8")


def main(args) -> int:
    root = Path(args.cases)
    exp = Expectations.load(discover(root))
    if exp.errors:
        for e in exp.errors:
            _say(printable(e))
        return 2
    if not args.all and not args.cause:
        _say("give a root cause id, or --all")
        return 2
    results = list(args.results or [])
    if args.all and args.cause:  # with --all every positional argument is a results path
        results.insert(0, args.cause)
    if not args.all and args.cause not in exp.causes:
        known = ", ".join(sorted(exp.causes)) or f"none (no causes: in {root / 'expectations'})"
        _say(f"unknown cause {comment(args.cause, 80)!r}; known: {known}")
        return 2
    paths = collect(results or ["reports/results"])
    if not paths:
        _say("no results files")
        return 2
    merged = read_many(paths)
    explained = gather.explained_by(merged, exp)
    out = Path(args.out_dir)
    ids = sorted(exp.causes) if args.all else [args.cause]
    done = []
    for cid in ids:
        code, line = file_cause(explained[cid], merged, args, out, log=lambda t: _say(t) if not args.quiet else None)
        print(f"normconf file: {printable(line)}")
        done.append((cid, code, line))
        if not args.all and code == 0 and exp.causes[cid].reported and (out / f"{cid}.md").is_file():
            text = (out / f"{cid}.md").read_text(encoding="utf-8")  # the comment to add, to copy
            print("\n".join(printable(ln) for ln in text.splitlines()))
    if args.all:
        _index(done, exp, out)
        print(f"normconf file: wrote {out / 'index.md'}")
        codes = {c for _, c, _ in done} - {0, NOTHING}
        return max(codes) if codes else 0
    return 2 if done[0][1] == NOTHING else done[0][1]
