"""The pytest items of a conformance run: one per (case, adapter) and per (claim, adapter).

An item runs its cell or claim through the session's Runner and reports it as
its outcome says: a pass (agrees, or the claim holds), an xfail carrying the
expectation entry's reason (an expected divergence, error or verdict), a skip
(unsupported, or skipped by its case file), or a failure whose text is the
whole explanation (:class:`CellFailure`: unexpected). Each item also carries
its status or verdict, outcome, expectation and metrics as user properties,
which the JUnit XML reports.
"""
from __future__ import annotations

import pytest

from harness.execution.explain import explain
from harness.execution.runner import Runner
from harness.expectations.outcomes import why_unexpected
from harness.results.record import verdict_text

from .session import runner

_DISPATCHED = pytest.StashKey[bool]()


class CellFailure(Exception):
    """An unexpected cell or claim: its text is the whole report, ``summary`` one line."""

    def __init__(self, text, summary=""):
        super().__init__(text)
        self.text = text
        self.summary = summary or text.splitlines()[0]


def _dispatching_runner(item) -> Runner:
    """The run's Runner; at the first cell or claim, the session's remaining cells go to the dispatcher
    (after collection, -k, --shard and other deselection, so exactly the cells that will run)."""
    config = item.config
    r = runner(config)
    if not config.stash.get(_DISPATCHED, False):
        config.stash[_DISPATCHED] = True
        r.dispatch([(i.case, i.adapter) for i in item.session.items
                    if isinstance(i, CaseItem) and not i.case.skip])
    return r


def _record_outcome(item, r):
    item.user_properties.append(("outcome", r.outcome))
    if r.expectation:
        item.user_properties.append(("expectation", r.expectation.get("reason", "")))
        if r.expectation.get("url"):
            item.user_properties.append(("expectation_url", r.expectation["url"]))


class AdapterItem(pytest.Item):
    """One measurement with one adapter; a disagreement is reported by its own text."""

    def __init__(self, *, adapter, **kw):
        super().__init__(**kw)
        self.adapter = adapter

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, CellFailure):
            return excinfo.value.text
        return super().repr_failure(excinfo)


class ClaimItem(AdapterItem):
    def __init__(self, *, claim, **kw):
        super().__init__(**kw)
        self.claim = claim

    def runtest(self):
        r = _dispatching_runner(self).run_claim(self.claim, self.adapter)
        self.user_properties.append(("verdict", r.verdict))
        _record_outcome(self, r)
        if r.verdict == "unsupported":
            pytest.skip(f"unsupported: {r.error}")
        if r.outcome == "expected":
            if r.verdict == "holds":
                return
            pytest.xfail(f"expected verdict {r.verdict}: {r.expectation['reason']}")
        lines = [f"claim {self.claim.id} [{self.adapter}]: {verdict_text(r)}",
                 f"  {self.claim.framework} {self.claim.api}: \"{self.claim.quote}\"",
                 f"  source: {self.claim.source}"]
        if r.per_input:
            lines.append("  per input: " + ", ".join(f"{k}: {v}" for k, v in r.per_input.items()))
        if r.explanation:
            lines.append(f"  explanation: {r.explanation}")
        lines.append(f"  claim: {self.claim.file}:{self.claim.line}")
        why = why_unexpected(r) if r.expectation else f"claim does not hold: {verdict_text(r)}"
        lines.insert(0, f"unexpected: {why}")
        raise CellFailure("\n".join(lines), why)

    def reportinfo(self):
        return self.path, max(self.claim.line - 1, 0), f"claim {self.claim.id} [{self.adapter}]"


class CaseItem(AdapterItem):
    def __init__(self, *, case, **kw):
        super().__init__(**kw)
        self.case = case

    def runtest(self):
        if self.case.skip:
            runner(self.config).record_skip(self.case, self.adapter, self.case.skip)
            pytest.skip(f"skipped by its case file: {self.case.skip}")
        result = _dispatching_runner(self).run_cell(self.case, self.adapter)
        self.user_properties.append(("status", result.status))
        for k in ("max_abs", "achievable", "ratio", "allowed", "max_rel", "max_ulp", "nonfinite"):
            if getattr(result.metrics, k) is not None:
                self.user_properties.append((k, getattr(result.metrics, k)))
        _record_outcome(self, result)
        if result.status == "unsupported":
            pytest.skip(f"unsupported: {result.message}")
        if result.outcome == "expected":
            if result.status == "agree":
                return
            pytest.xfail(f"expected {result.status}: {result.expectation['reason']}")
        why = why_unexpected(result)
        expl = result.explanation
        summary = why + (f": {expl[:160]}" if expl else (f": {result.message.splitlines()[0][:160]}"
                                                          if result.message else ""))
        raise CellFailure(f"unexpected: {why}\n" + explain(self.case, result), summary)

    def reportinfo(self):
        return self.path, max(self.case.line - 1, 0), f"{self.case.id} [{self.adapter}]"
