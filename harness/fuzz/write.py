"""Writing ``normconf fuzz`` findings: one case file per finding, reproducers, the summary.

Each finding becomes ``DIR/<adapter>/<n>.yaml`` (n counts from 1 in the
order the adapter's cells found them), a case file that ``normconf run``
accepts: its description says what the finding is, how it was found and what
it was shrunk from. The file is loaded back with :func:`harness.cases.load.load_file`
before it counts as written. ``DIR/summary.json`` holds the figures (budgets
spent, statuses, findings with their explanations) and ``DIR/summary.md`` the
same for people.
"""
from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

from harness.cases.load import load_file
from harness.cases.model import params_text
from harness.fuzz import strategies as fs
from harness.repro.command import repro_case
from harness.repro.find import Found, ReproError
from harness.repro.shrink import explanation
from harness.results.record import utc_now
from harness.results.write import provenance
from harness.text.inert import comment, file_name, md, printable

from .findings import kind

SUMMARY_VERSION = 1


def rerun_command(out: Path, rel: str, adapter: str) -> str:
    """The command that runs a finding's case file on its adapter (exit 1 while it is unexpected)."""
    return (f"normconf run --cases-root {shlex.quote(str(out))} --adapters {shlex.quote(adapter)} "
            f"--results none {shlex.quote(str(out / rel))}")


def params(case) -> str:
    """A case's parameters in one line, its input with only its distribution's own keys."""
    return params_text({**case.to_dict(), "input": fs.entry_of(case)["input"]})


def describe(fz, f) -> str:
    r, case = f.final_result, f.final_case
    what = f"{r.status}: {r.explanation or kind(r)}"
    text = (f"Found by normconf fuzz with adapter {f.adapter} (seed {fz.seed}, judged cell {f.cell} of a budget of "
            f"{fz.budget}; {f.occurrences} drawn case(s) ended this way). {what}.")
    if case is not f.case:
        text += (f" Shrunk in {f.shrunk.calls} adapter calls, keeping the explanation, from: "
                 f"{params(f.case)}.")
    elif f.shrunk is not None:
        text += f" {f.shrunk.note}."
    return " ".join(printable(text).split())


def write_case(fz, f, path: Path) -> str:
    """Write a finding's case file and load it back; returns its case id."""
    case = f.final_case
    doc = fs.case_file(fs.entry_of(case), description=describe(fz, f),
                       source="normconf fuzz: the operator's definition (README, How it works)")
    head = (f"# normconf fuzz finding: {printable(f.adapter)}, {case.op}, {f.final_result.status}\n"
            f"# rerun: normconf run --cases-root <this directory's parent> --adapters {printable(f.adapter)} "
            f"--results none <this file>\n")
    path.write_text(head + fs.dump(doc), encoding="utf-8")
    (loaded,) = load_file(path)
    if loaded.id != case.id:
        raise RuntimeError(f"{path}: the written case loads as {loaded.id}, not {case.id}")
    return loaded.id


def write_repro(fz, f, stem: Path, header: dict) -> dict:
    """A standalone reproducer and an issue body for a finding (its shrunk cell, as run)."""
    try:
        text, issue = repro_case(Found("case", f.final_result, header), f.adapter, shrink_it=False,
                                 timeout=fz.runner.cell_timeout)
    except ReproError as e:
        return {"repro_error": str(e)}
    stem.with_suffix(".py").write_text(text, encoding="utf-8")
    stem.with_suffix(".md").write_text(issue, encoding="utf-8")
    return {"repro": stem.with_suffix(".py").name, "issue": stem.with_suffix(".md").name}


def write_all(fz, findings, out: Path, *, repro=False, duration=0.0) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    header = provenance(fz.env)
    summary = {"kind": "normconf-fuzz", "version": SUMMARY_VERSION, "written": utc_now(), "env": fz.env,
               "seed": fz.seed, "budget": fz.budget, "max_draws": fz.max_draws, "draws": fz.draws,
               "refused_by_loader": fz.rejected, "shrink_budget": fz.shrink_budget,
               "max_elements": fz.max_elements, "duration_s": round(duration, 1),
               "machine": {k: header.get(k) for k in ("python", "numpy", "os", "cpu", "cpu_count")},
               "counting": "a cell counts against the budget when the adapter runs it (any status but "
                           "unsupported and skipped); shrinking calls do not count",
               "adapters": {}}
    for a in fz.adapters:
        t = fz.tally[a]
        mine = sorted((f for f in findings if f.adapter == a), key=lambda f: f.cell)
        d = out / file_name(a, 100)
        if mine:
            d.mkdir(exist_ok=True)
        rows = []
        for n, f in enumerate(mine, 1):
            rel = f"{file_name(a, 100)}/{n}.yaml"
            cid = write_case(fz, f, out / rel)
            r = f.final_result
            row = {"n": n, "file": rel, "case_id": cid, "op": f.final_case.op, "status": r.status,
                   "explanation": r.explanation or explanation_text(r),
                   "message": (r.message or "").split("\n")[0][:500], "metrics": _metrics(r.metrics),
                   "first_cell": f.cell, "occurrences": f.occurrences, "drawn_case": f.case.id,
                   "drawn": params(f.case), "shrunk_to": params(f.final_case),
                   "drawn_shape": dict(f.case.sizes), "shape": dict(f.final_case.sizes),
                   "shrunk": f.final_case is not f.case, "shrink_calls": f.shrunk.calls if f.shrunk else 0,
                   "shrink_note": f.shrunk.note if f.shrunk else "not shrunk (shrink budget 0)",
                   "rerun": rerun_command(out, rel, a)}
            if repro:
                row.update(write_repro(fz, f, out / file_name(a, 100) / str(n), header))
            rows.append(row)
        summary["adapters"][a] = {"cells": t.cells, "budget": fz.budget, "unsupported": t.unsupported,
                                  "statuses": dict(sorted(t.statuses.items())), "versions": t.versions,
                                  "shrink_calls": t.shrink_calls, "note": t.note, "findings": rows}
    tmp = out / "summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=1, sort_keys=False, default=str), encoding="utf-8")
    os.replace(tmp, out / "summary.json")
    (out / "summary.md").write_text(markdown(summary), encoding="utf-8")
    return summary


def explanation_text(r) -> str:
    return explanation(r) or (r.message or "").split("\n")[0][:300]


def _metrics(m) -> dict:
    keep = ("max_abs", "achievable", "ratio", "allowed", "nonfinite", "expected_error")
    return {k: getattr(m, k) for k in keep if isinstance(getattr(m, k), (int, float, str))}


def code(text, limit: int = 1000) -> str:
    """Text as a Markdown code span (one line, no backticks: its content is shown literally)."""
    return "`" + comment(text, limit).replace("`", "'") + "`"


def markdown(s: dict) -> str:
    n = sum(len(a["findings"]) for a in s["adapters"].values())
    out = [f"# normconf fuzz: {n} finding(s)", "",
           f"Seed {s['seed']}, budget {s['budget']} judged cells per adapter, environment {md(s['env'])}; "
           f"{s['draws']} cases drawn ({s['refused_by_loader']} refused by the loader), at most {s['max_draws']}; "
           f"inputs of at most {s['max_elements']} elements; shrinking at most {s['shrink_budget']} calls per "
           f"finding; {s['duration_s']} s on {md(s['machine'].get('cpu') or '?')} "
           f"({s['machine'].get('cpu_count')} CPUs).", "",
           "A finding is a cell that diverged, errored, crashed or timed out and that no entry of "
           "`cases/expectations/` covers. Unsupported cells do not count against the budget.", "",
           "| adapter | cells judged | unsupported | statuses | findings | shrink calls |", "|---|---|---|---|---|---|"]
    for name, a in s["adapters"].items():
        st = ", ".join(f"{k} {v}" for k, v in a["statuses"].items()) or "-"
        out.append(f"| {md(name)} | {a['cells']} of {a['budget']} | {a['unsupported']} | {md(st)} | "
                   f"{len(a['findings'])} | {a['shrink_calls']} |")
    for name, a in s["adapters"].items():
        out += ["", f"## {md(name)}", ""]
        if a.get("note"):
            out += [md(a["note"]), ""]
        if not a["findings"]:
            out.append("No findings.")
            continue
        for f in a["findings"]:
            out += [f"### {md(f['file'])}: {md(f['status'])} ({md(f['op'])})", "",
                    f"- explanation: {md(f['explanation'], 1500)}",
                    f"- found at judged cell {f['first_cell']}; {f['occurrences']} drawn case(s) ended this way",
                    f"- case: {code(f['case_id'], 300)}",
                    f"- drawn: {md(f['drawn'], 1000)}",
                    f"- shrunk to: {md(f['shrunk_to'], 1000)}" if f["shrunk"] else f"- {md(f['shrink_note'], 600)}",
                    f"- rerun: {code(f['rerun'])}"]
            if f.get("repro"):
                out.append(f"- reproducer: {md(f['repro'])}, issue body: {md(f['issue'])}")
            if f.get("repro_error"):
                out.append(f"- no reproducer: {md(f['repro_error'])}")
    return "\n".join(out) + "\n"
