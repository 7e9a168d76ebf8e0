"""``normconf repro``: standalone reproducers and issue bodies for one cell or claim,
or for every unexpected cell and claim of a run (``--unexpected``).

The command finds the record (:mod:`harness.repro.find`), shrinks a cell to the
smallest case that ends the same way (:mod:`harness.repro.shrink`), asks the adapter for its
call in a worker, and writes the script (:mod:`harness.repro.script` for forward
cells and claims, :mod:`harness.repro.script_training` for backward and running-statistics
cells) and the issue body (:mod:`harness.repro.issue`). Anything it cannot write is
one line on stderr and exit status 2.
"""
from __future__ import annotations

import sys
from pathlib import Path

from harness import __version__, ops
from harness.cases.model import Case
from harness.claims.sides import side_case
from harness.execution.runner import Runner
from harness.results.parts import EpsilonDoc, Metrics
from harness.results.paths import ResultsNotFound, repro_name, result_paths
from harness.results.read import read_many
from harness.text.inert import comment, md

from .find import (
    Found,
    ReproError,
    adapter_parts,
    claim_trial,
    find,
    load_claim_for,
    validated_case,
)
from .gather import groups
from .issue import case_issue, claim_issue
from .script import case_script, claim_script
from .script_training import training_script
from .shrink import shrink


def _epsilon(case: Case, metrics: Metrics) -> tuple[float, EpsilonDoc | None]:
    if case.epsilon is not None:
        return case.epsilon, None
    doc = metrics.epsilon_default
    if doc is None:
        raise ReproError("an epsilon: default case without a recorded documented default (epsilon_default)")
    return float(doc.value), doc


def _say(msg):
    print(f"normconf repro: {msg}", file=sys.stderr)


def repro_case(found: Found, adapter: str, *, shrink_it=True, budget=40, timeout=120.0):
    """(script, issue body) of a cell."""
    rec = found.record
    case = validated_case(rec.case)
    if case.id != rec.case_id:
        raise ReproError("the record's case id differs from its case")
    if case.spec.definition is not None:
        raise ReproError(f"normconf repro writes the inline reference of normalizations over named axes; "
                         f"{case.op} has its own definition (harness/numerics/{case.spec.definition.module}.py), "
                         "which a standalone script does not compute")
    header_lines = [(f"Written by normconf {__version__} from a results record of environment "
                    f"{comment(rec.env, 60)} ({comment(rec.time, 40)}; recorded status {comment(rec.status, 20)}).")]
    result = rec
    note = ""
    if shrink_it and not case.skip:
        runner = Runner(rec.env, None, adapters=[adapter], cell_timeout=timeout)
        try:
            s = shrink(case, adapter, runner, budget=budget, log=lambda t: _say(f"tried {t}"))
        finally:
            runner.close()
        note = s.note
        if s.original_result.status != rec.status:
            header_lines.append(f"Rerun here, the cell is {s.original_result.status} (recorded: {rec.status}).")
        case, result = s.case, s.result
        header_lines.append(note)
    # the documented default the (shrunk) cell recorded, else the original record's
    eps, epsdoc = _epsilon(case, result.metrics if result.metrics.epsilon_default else rec.metrics)
    (parts,), versions = adapter_parts(adapter, [case])
    if rec.snippet and rec.snippet.strip() != parts["call"].strip() and result is rec:
        header_lines.append("The recorded call differs from what the installed adapter generates; this script "
                            "makes the installed adapter's call.")
    if case.check in ("forward", "inference"):
        text = case_script(case, adapter, parts, eps=eps, epsilon_doc=epsdoc, record=rec, header_lines=header_lines,
                           recorded_metrics=result.metrics)
    else:
        text = training_script(case, adapter, parts, eps=eps, epsilon_doc=epsdoc, header_lines=header_lines,
                               recorded_metrics=result.metrics)
    issue = case_issue(case, adapter, result, found.header, text, eps=eps, epsilon_doc=epsdoc, note=note,
                       versions=versions)
    return text, issue


def repro_claim(found: Found, adapter: str, label: str = ""):
    """(script, issue body) of a claim; ``label`` names the adapter in the script instead of its name (and
    leaves out where the record came from), for a script that goes upstream."""
    rec = found.record
    claim = load_claim_for(rec)
    if dict(claim.left).get("check", "forward") != "forward":
        raise ReproError(f"normconf repro writes forward claims only; {claim.id} is a check: "
                         f"{dict(claim.left)['check']} claim (rerun it with normconf run)")
    own = next((ops.get(dict(s)["op"]) for s in (claim.left, claim.right) if s and ops.get(dict(s)["op"]).definition),
               None)
    if own is not None:
        raise ReproError(f"normconf repro writes the inline reference of normalizations over named axes; "
                         f"{own.name} has its own definition (harness/numerics/{own.definition.module}.py), "
                         "which a standalone script does not compute")
    inp, variants = claim_trial(claim, rec)
    vs = frozenset(variants)
    left = side_case(claim, dict(claim.left), inp, vs, "L")
    right = side_case(claim, dict(claim.right), inp, vs, "R") if claim.relation == "equal" else None
    if claim.relation == "raises":
        left = side_case(claim, dict(claim.left), inp, frozenset({"initial-params"}), "L")
    cases = [left] + ([right] if right is not None else [])
    parts, _ = adapter_parts(adapter, cases)
    header_lines = [] if label else [(f"Written by normconf {__version__} from a claim record of environment "
                                      f"{comment(rec.env, 60)} ({comment(rec.time, 40)}).")]
    text = claim_script(claim, label or adapter, left, right, parts[0], parts[1] if right is not None else None, inp,
                        header_lines, rec)
    return text, claim_issue(claim, adapter, rec, found.header, text, inp)



def batch(args) -> int:
    """Reproducers and issue bodies for the unexpected cells and claims of a run, one per group of records
    with one cause in common (:func:`harness.repro.gather.group_key`: the framework, and the explanation or
    the exception with numbers masked): the group's smallest cell is reproduced, and its body lists the
    others. ``groups.md`` lists every group."""
    try:
        paths = result_paths(args.results)
    except (ReproError, ResultsNotFound) as e:
        _say(str(e))
        return 2
    merged = read_many(paths)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    todo = [r for r in merged.results.values() if r.outcome == "unexpected" and r.status in ("diverge", "error")]
    todo += [c for c in merged.claims.values() if c.outcome == "unexpected" and c.verdict in ("fails", "holds only when")]
    if args.env:
        todo = [t for t in todo if t.env == args.env]
    todo.sort(key=lambda r: (getattr(r, "case_id", getattr(r, "claim_id", "")), r.adapter, r.env))
    grouped = groups(todo)
    written, failed, index = 0, 0, ["# Unexpected cells and claims, one reproducer per group", ""]
    for members in grouped[: args.limit]:
        rep = _ident(members[0])
        try:
            found = find(paths, rep[0], rep[1], rep[2])
            if found.kind == "claim":
                text, issue = repro_claim(found, rep[1])
            else:
                text, issue = repro_case(found, rep[1], shrink_it=not args.no_shrink, budget=args.budget,
                                         timeout=args.cell_timeout)
        except ReproError as e:
            _say(f"{comment(rep[0], 200)} [{comment(rep[1], 80)}]: {e}")
            failed += 1
            continue
        name = repro_name(rep[0], rep[1])
        others = [_ident(r) for r in members[1:]]
        if others:
            issue = issue.rstrip("\n") + "\n\n" + "\n".join(
                [f"## The same in {len(others)} other cell(s)", ""]
                + [f"- `{md(i, 200)}` with {md(a, 80)} ({md(e, 60)})" for i, a, e in others]) + "\n"
        (out / f"{name}.py").write_text(text, encoding="utf-8")
        (out / f"{name}.md").write_text(issue, encoding="utf-8")
        index += [f"- [{md(rep[0], 200)} with {md(rep[1], 80)}]({name}.md)"
                  + (f", and {len(others)} more: " + ", ".join(f"{md(i, 120)} ({md(a, 60)})" for i, a, _ in others)
                     if others else "")]
        written += 1
    (out / "groups.md").write_text("\n".join(index) + "\n", encoding="utf-8")
    left = len(grouped) - args.limit
    _say(f"wrote {written} reproducer(s) and issue bodies for {len(todo)} unexpected cell(s) and claim(s) in "
         f"{len(grouped)} group(s) to {comment(out, 200)}"
         + (f"; {failed} could not be written" if failed else "")
         + (f"; {left} more group(s) left out (--limit)" if left > 0 else ""))
    return 0 if not failed else 2


def _ident(r) -> tuple[str, str, str]:
    return (getattr(r, "case_id", None) or r.claim_id, r.adapter, r.env)


def main(args) -> int:
    if getattr(args, "unexpected", False):
        return batch(args)
    if not args.id or not args.adapter:
        _say("give a case or claim id and an adapter, or --unexpected --out-dir DIR")
        return 2
    try:
        paths = result_paths(args.results)
        found = find(paths, args.id, args.adapter, getattr(args, "env", None))
        if found.kind == "claim":
            text, issue = repro_claim(found, args.adapter)
        else:
            text, issue = repro_case(found, args.adapter, shrink_it=not args.no_shrink, budget=args.budget,
                                     timeout=args.cell_timeout)
    except (ReproError, ResultsNotFound) as e:
        _say(str(e))
        return 2
    if args.output and args.output != "-":
        Path(args.output).write_text(text, encoding="utf-8")
        _say(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    if args.issue:
        Path(args.issue).write_text(issue, encoding="utf-8")
        _say(f"wrote {args.issue}")
    return 0
