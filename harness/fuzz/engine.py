"""The engine of ``normconf fuzz`` (:class:`Fuzzer`): differential fuzzing over the case schema.

Cases are drawn from the case schema and the operator registry
(:mod:`harness.fuzz.strategies`) by hypothesis, seeded and without a
database, so a seed draws the same cases on every machine. Each case runs on
every adapter whose budget is not spent, through the same workers, verdict
rule and expectations as ``normconf run`` (:class:`harness.execution.runner.Runner`).

* **Budget.** At most ``budget`` judged cells per adapter. A cell the adapter
  does not support (``unsupported``: an op, layout, dtype or key its API lacks,
  or a framework that is not installed) is not judged and does not count; the
  number of draws is bounded by ``max_draws`` (20 x the budget by default), so
  an adapter that supports little ends with fewer cells. Shrinking spends up to
  ``shrink_budget`` further calls per finding.
* **Findings.** A cell that diverges, errors, crashes or times out and that no
  expectation covers (the run's outcome is ``unexpected``) is a finding.
  Findings are deduplicated by adapter and explanation (:func:`harness.fuzz.findings.kind`: the
  fingerprint's words with numbers and axis sets masked, keeping what differs
  besides the axes); the first
  of each is shrunk (:func:`harness.repro.shrink.shrink`: each key one step toward the
  case file's defaults, then the sizes, then the groups) while it keeps the
  same explanation and stays a finding, and findings that shrink to the same
  explanation are merged.
* **Output.** ``DIR/<adapter>/<n>.yaml`` per finding, a case file ``normconf
  run`` accepts; ``DIR/summary.json`` and ``DIR/summary.md``; with ``repro``
  a standalone reproducer and an issue body per finding (:mod:`harness.repro`).
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hseed
from hypothesis import strategies as st

from harness.cases.yamlsource import CaseError
from harness.execution.runner import Runner
from harness.expectations.load import discover as discover_expectations
from harness.expectations.outcomes import Expectations
from harness.fuzz import strategies as fs
from harness.repro.shrink import DEFAULT_BUDGET, shrink

from .findings import NOT_JUDGED, Finding, is_finding, kind
from .write import write_all

DRAWS_PER_CELL = 20



@dataclass
class Tally:
    cells: int = 0
    unsupported: int = 0
    statuses: Counter = field(default_factory=Counter)
    versions: dict = field(default_factory=dict)
    note: str = ""
    shrink_calls: int = 0


class _Spent(Exception):
    """Every adapter's budget is spent: ends the hypothesis run."""


class Fuzzer:
    def __init__(self, adapters, *, budget: int, seed: int, env: str, cases_root="cases", op_names=None,
                 max_elements=fs.DEFAULT_MAX_ELEMENTS, max_draws=None, shrink_budget=DEFAULT_BUDGET,
                 cell_timeout=120.0, log=None):

        self.adapters, self.budget, self.seed, self.env = list(adapters), int(budget), int(seed), env
        self.op_names, self.max_elements, self.shrink_budget = op_names, max_elements, shrink_budget
        self.max_draws = int(max_draws or DRAWS_PER_CELL * max(1, self.budget))
        self.expectations = Expectations.load(discover_expectations(cases_root))
        self.runner = Runner(env, None, self.adapters, cell_timeout=cell_timeout, expectations=self.expectations)
        self.builder = fs.Builder()
        self.tally = {a: Tally() for a in self.adapters}
        self.findings: dict[tuple, Finding] = {}
        self.draws = self.rejected = 0
        self.drawn: list[str] = []  # case ids in the order they were drawn
        self.log = log or (lambda msg: None)
        self._defaults: dict = {}

    # -- search ----------------------------------------------------------------------------------
    def _open(self) -> list[str]:
        return [a for a in self.adapters if self.tally[a].cells < self.budget]

    def _one(self, entry: dict) -> None:
        if not self._open():
            raise _Spent
        try:
            case = self.builder.build(entry)
        except CaseError:
            self.rejected += 1
            return
        self.draws += 1
        self.drawn.append(case.id)
        for a in self._open():
            r = self.runner.run_cell(case, a)
            t = self.tally[a]
            t.versions = t.versions or dict(r.versions or {})
            if r.status in NOT_JUDGED:
                t.unsupported += 1
                if r.message.startswith(("not installed", "not available")):
                    t.note = r.message.split("\n")[0]
                continue
            t.cells += 1
            t.statuses[r.status] += 1
            if is_finding(r):
                f = Finding(a, case, r, t.cells)
                if f.key() in self.findings:
                    self.findings[f.key()].occurrences += 1
                else:
                    self.findings[f.key()] = f
                    self.log(f"{a}: cell {t.cells}: {r.status}: {kind(r)} ({case.id})")
        if not self._open():
            raise _Spent

    def search(self) -> None:
        strategy = fs.case_entries(self.op_names, self.max_elements)

        @hseed(self.seed)
        @settings(database=None, max_examples=self.max_draws, deadline=None, phases=(Phase.generate,),
                  suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet, print_blob=False,
                  report_multiple_bugs=False)
        @given(st.data())
        def draw_and_run(data):
            self._one(data.draw(strategy))

        try:
            draw_and_run()
        except _Spent:
            pass

    # -- shrinking -------------------------------------------------------------------------------
    def _loader_defaults(self, case):
        """The case a file gets for this op and layout when it leaves every optional key out."""
        key = (case.op, case.layout, case.groups)
        if key not in self._defaults:
            entry = {"op": case.op, "layout": case.layout, "shape": dict(case.sizes)}
            entry.update({k: case.arg(k) if k in case.spec.own_keys else getattr(case, k) for k in case.spec.required})
            self._defaults[key] = self.builder.build(entry)
        return self._defaults[key]

    def simpler(self, case):
        """(what changed, candidate) for each key one step toward what a case file gets by default."""
        d = self._loader_defaults(case)
        out = []
        if case.check != d.check:
            out.append((f"check {d.check}", replace(case, check=d.check, momentum=None, steps=None, statistics=None)))
        for k in ("axes", "affine_axes"):
            if getattr(case, k) is not None and k not in case.spec.required:
                out.append((f"no {k}", replace(case, **{k: None})))
        for k in ("epsilon", "dtype", "affine", "seed"):
            if getattr(case, k) != getattr(d, k):
                out.append((f"{k} {getattr(d, k)}", replace(case, **{k: getattr(d, k)})))
        if case.options:
            out.append(("no options", replace(case, options=())))
        inp, base = case.input_spec, d.input_spec
        if inp != base:
            out.append(("input " + ",".join(f"{k}:{v}" for k, v in sorted(base.items())), replace(case, input=d.input)))
            if inp.get("distribution") == base.get("distribution"):
                for k in sorted(base):
                    if k in inp and inp[k] != base[k]:
                        out.append((f"input {k} {base[k]}", replace(case, input=tuple(sorted({**inp, k: base[k]}.items())))))
        return out

    def _prepare(self, case):
        try:
            return self.builder.rebuild(case)
        except CaseError:
            return None

    def shrink_all(self) -> list[Finding]:
        merged: dict[tuple, Finding] = {}
        for f in sorted(self.findings.values(), key=lambda f: (self.adapters.index(f.adapter), f.cell)):
            if self.shrink_budget > 0:
                f.shrunk = shrink(f.case, f.adapter, self.runner, budget=self.shrink_budget, simpler=self.simpler,
                                  prepare=self._prepare, accept=is_finding)
                self.tally[f.adapter].shrink_calls += f.shrunk.calls
                self.log(f"{f.adapter}: {f.shrunk.note}")
            k = f.key(final=True)
            if k in merged:
                merged[k].occurrences += f.occurrences
            else:
                merged[k] = f
        return list(merged.values())

    def close(self):
        self.runner.close()
        self.builder.close()


def run(adapters, *, budget, seed, env, out, cases_root="cases", repro=False, log=None, **kw) -> dict:
    """Search, shrink, write the findings and the summary; returns the summary."""
    t0 = time.perf_counter()
    fz = Fuzzer(adapters, budget=budget, seed=seed, env=env, cases_root=cases_root, log=log, **kw)
    try:
        if fz.expectations.errors:
            raise fz.expectations.errors[0]
        fz.search()
        fz.log(f"search: {fz.draws} cases drawn, {len(fz.findings)} distinct finding(s), "
               f"{time.perf_counter() - t0:.1f} s")
        findings = fz.shrink_all()
        fz.log(f"shrunk: {len(findings)} finding(s) after merging, {time.perf_counter() - t0:.1f} s")
        return write_all(fz, findings, Path(out), repro=repro, duration=time.perf_counter() - t0)
    finally:
        fz.close()



