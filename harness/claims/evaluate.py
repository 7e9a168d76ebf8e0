"""Measuring documentation claims: build each side as a case (:mod:`harness.claims.sides`), run it
through a worker, and reach a verdict (``holds``, ``fails``, ``holds only when`` the
smallest set of conditions, ``stale``). Loading and the claim model live in
:mod:`harness.claims`; the report reads results and never imports this module.
"""
from __future__ import annotations

import itertools

from harness.claims import running
from harness.results.record import ClaimResult

from .load import VARIANTS, Claim
from .sides import NotApplicable, side_case
from .trial import Trial, Verdict, call, forward_trial


def evaluate(claim: Claim, pool, adapter: str, timeout=120.0) -> tuple[Verdict, dict]:
    """Measure a claim with one adapter; with ``quote_in``, first check that the
    quote still appears in the installed framework (else the verdict is ``stale``).
    Returns (verdict, framework versions)."""
    verdict, versions = _measure(claim, pool, adapter, timeout)
    if not claim.quote_in or verdict.verdict in ("unsupported", "error"):
        return verdict, versions
    reply = pool.worker_for(adapter).quote(adapter, claim.quote_in, claim.quote, timeout)
    if reply.status == "ok" and reply.y:
        return verdict, versions
    where = ", ".join(f"{k} {v}" for k, v in sorted(versions.items()) if k not in ("pid", "backend"))
    why = (f"the quote no longer appears in {claim.quote_in} ({where})" if reply.status == "ok"
           else f"{reply.message} ({where})")
    measured = verdict.verdict + (f" {verdict.condition}" if verdict.condition else "")
    return Verdict("stale", condition="", max_diff=verdict.max_diff,
                   explanation=f"{why}; measured against the quoted behaviour: {measured}"
                               + (f"; {verdict.explanation}" if verdict.explanation else ""),
                   trials=verdict.trials, per_input=verdict.per_input), versions


def _trial(claim: Claim, pool, adapter: str, input_name: str, variants, timeout: float):
    """(Trial or None, reply) of one input: a running-statistics claim trains its left side, any other claim
    calls its sides with the variants applied."""
    if dict(claim.left).get("check") == "running_stats":
        return running.trial(claim, pool, adapter, input_name, timeout)
    return forward_trial(claim, pool, adapter, input_name, variants, timeout)


def condition_text(found) -> str:
    """The conditions a claim holds under, in words: the alternatives (sets of variants) joined by "or",
    and, when there are several, an alternative of several variants in parentheses, so the grouping is
    explicit: "A or (B and C)", never "A or B and C"."""
    alts = [" and ".join(VARIANTS[v] for v in combo) for combo in found]
    if len(alts) > 1:
        alts = [f"({a})" if len(combo) > 1 else a for a, combo in zip(alts, found)]
    return " or ".join(alts)


def _measure(claim: Claim, pool, adapter: str, timeout=120.0) -> tuple[Verdict, dict]:
    versions: dict = {}
    if claim.relation == "raises":
        return _evaluate_raises(claim, pool, adapter, timeout)
    trials: list[Trial] = []
    base: dict[str, Trial] = {}
    unsupported, absent = None, ""
    for inp in claim.inputs:
        try:
            t, reply = _trial(claim, pool, adapter, inp, (), timeout)
        except NotApplicable:
            continue
        versions = versions or reply.versions
        if t is None:
            if reply.status == "unsupported":
                unsupported, absent = reply.message, reply.absent
                continue
            return Verdict("error", error=f"{reply.status}: {reply.message}"), versions
        trials.append(t)
        base[inp] = t
    if not base:
        return Verdict("unsupported", error=unsupported or "no applicable input", absent=absent), versions
    per_input = {inp: ("holds" if t.holds else f"fails ({t.max_diff:.3g})") for inp, t in base.items()}
    max_diff = max(t.max_diff for t in base.values())
    if all(t.holds for t in base.values()):
        return Verdict("holds", max_diff=max_diff, trials=trials, per_input=per_input,
                       explanation=f"equal on every input within what stable {claim.dtype} implementations "
                                   "reach"), versions
    words = {name: w for name, (_, _, w) in claim.input_table.items()}
    explanation = "; ".join(f"on {words[i]}: {t.note}" for i, t in base.items() if not t.holds and t.note)
    # smallest variant sets that make the claim hold on every input where they apply
    found: list[tuple[str, ...]] = []
    for k in range(1, len(claim.variants) + 1):
        for combo in itertools.combinations(claim.variants, k):
            if any(set(f) <= set(combo) for f in found):
                continue
            ok, any_run = True, False
            for inp in base:
                try:
                    t, reply = _trial(claim, pool, adapter, inp, combo, timeout)
                except NotApplicable:
                    t = base[inp] if "fold-spatial" in combo and base[inp].holds else None
                    if t is None:
                        ok = False
                        break
                    continue
                if t is None:
                    ok = False
                    break
                trials.append(t)
                any_run = True
                if not t.holds:
                    ok = False
                    break
            if ok and any_run:
                found.append(combo)
    if found:
        return Verdict("holds only when", condition_text(found), max_diff, explanation, trials, per_input), versions
    holding = [words[i] for i, t in base.items() if t.holds]
    if holding:
        return Verdict("holds only when", f"the input is {' or '.join(holding)}", max_diff, explanation, trials,
                       per_input), versions
    return Verdict("fails", "", max_diff, explanation, trials, per_input), versions


def _evaluate_raises(claim, pool, adapter, timeout):
    err = dict(claim.error)
    inp = claim.inputs[0]
    case = side_case(claim, dict(claim.left), inp, frozenset({"initial-params"}), "L")
    _, reply = call(pool, adapter, case, timeout)
    if reply.status == "unsupported":
        return Verdict("unsupported", error=reply.message, absent=reply.absent), reply.versions
    said = reply.message or ""
    if reply.status == "error":
        etype = said.split(":", 1)[0]
        ok = etype == err["type"] and err.get("contains", "") in said
        expl = f"raises {said}"
        if etype != err["type"]:
            expl += f"; the claim expects {err['type']}"
        elif not ok:
            expl += f"; the message lacks {err.get('contains')!r}"
        return Verdict("holds" if ok else "fails", explanation=expl, per_input={inp: said}), reply.versions
    if reply.status == "ok":
        return Verdict("fails", explanation="no error: the call returned an output",
                       per_input={inp: "returned an output"}), reply.versions
    return Verdict("error", error=f"{reply.status}: {said}"), reply.versions


def to_result(claim: Claim, adapter: str, env: str, verdict: Verdict, versions: dict, duration: float) -> ClaimResult:
    return ClaimResult(
        claim_id=claim.id, adapter=adapter, env=env, verdict=verdict.verdict, condition=verdict.condition,
        max_diff=verdict.max_diff, explanation=verdict.explanation, per_input=verdict.per_input,
        trials=[{"input": t.input, "variants": list(t.variants), "holds": t.holds, "max_diff": t.max_diff,
                 "note": t.note} for t in verdict.trials],
        error=verdict.error, versions=versions, claim=claim.to_dict(), duration=duration, absent=verdict.absent)
