"""Shrinking a divergent cell to the smallest case that still shows the same problem.

Before ``normconf repro`` and ``normconf file`` write a reproducer they look for a
smaller case with the same divergence: random affine parameters first (so a
misplaced scale or offset stays visible), then smaller sizes axis by axis, then
fewer groups (and the channel axis again), by running the adapter on each
candidate in a worker (:class:`harness.execution.runner.Runner`). The rules that keep
the bug (:func:`refusal` before a candidate runs, :func:`accepted` after):

* the same cause must still explain it: the candidate ends the same way with the
  same explanation (:func:`signature`: the status, and for a divergence the
  fingerprint's explanation with its numbers masked; for a failed ``expect:
  raises`` the expectation message; for an error the exception type and its
  message, numbers masked), and that explanation names a cause (:func:`informative`:
  not empty, not "the cause is not identified", not a generic "no member of the
  family reproduces the output"); an original whose explanation names no cause
  is not shrunk at all, since no smaller case could be shown to be the same problem;
* a normalized (statistics) axis never shrinks to one element unless it had one
  already (nor a group to one channel): there every normalized value is 0 and the
  output is just the bias, whatever the bug was;
* affine parameters stay random (a candidate with ``affine: ones`` or none is refused
  when the original had random ones), and given values stay as given (a list of
  values also keeps the parameters' shape).

The search is bounded by a budget of adapter calls; when nothing smaller keeps
the explanation, the original case is kept.

``normconf fuzz`` asks for more (``simpler``, ``prepare``, ``accept``): first
each key one step simpler (the candidates ``simpler`` proposes, such as the
case file's default epsilon, dtype, affine or input distribution), then the
sizes and groups as above; each candidate is given its own id first
(``prepare``), and is kept only when it also passes ``accept`` (still not
covered by an expectation).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

from harness.cases.model import AffineValues
from harness.ops.layouts import Layout
from harness.ops.semantics import param_shape

DEFAULT_BUDGET = 40
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_HEX = re.compile(r"\b0x[0-9a-fA-F]+\b")
#: clauses of an explanation that name no cause (the fingerprint found nothing specific)
GENERIC = ("no member of the family reproduces", "no member of the family produces", "the cause is not identified",
           "fingerprinting failed")
#: a clause that is only the symptom ("3 of 60 outputs are NaN"), not a cause
_SYMPTOM = re.compile(r"^# of # outputs are (?:NaN|inf|finite where the reference is not)$")
_PAREN = re.compile(r"\([^()]*\)")


def masked(text: str) -> str:
    """``text`` with every number replaced by ``#`` and parenthesised remarks removed."""
    t = _NUMBER.sub("#", _HEX.sub("#", text or ""))
    prev = None
    while prev != t:  # nested parentheses, innermost first
        prev, t = t, _PAREN.sub("", t)
    return " ".join(t.split())


def explanation(result) -> str:
    """The words that say why a cell ended as it did."""
    if result.status == "diverge":
        if result.explanation:
            return result.explanation
        m = result.metrics
        return str(m.expected_error or m.shape_mismatch or m.nonfinite or "")
    if result.status == "error":
        return (result.message or "").split(":", 1)[0]
    return ""


def _clauses(text: str) -> list[str]:
    return [p for p in masked(text).split("; ") if p and not p.startswith("the finite outputs differ")]


def informative(result) -> bool:
    """Whether a result's explanation names a cause: an error (its exception type), or a divergence whose
    explanation has a clause beyond the symptom that is not generic ("no member of the family reproduces
    the output", "the cause is not identified")."""
    if result.status == "error":
        return bool(explanation(result).strip())
    if result.status != "diverge":
        return False
    causes = [c for c in _clauses(explanation(result)) if not _SYMPTOM.match(c)]
    return bool(causes) and not any(g in c for c in causes for g in GENERIC)


def signature(result) -> tuple:
    """What must stay the same while shrinking: the status and the explanation without its numbers
    (for NaN outputs, without the clause on how far the finite outputs are off; for an error, the
    exception type and the first line of its message, numbers masked)."""
    text = explanation(result)
    if result.status == "error":
        first = (result.message or "").split("\n", 1)[0][:300]
        return (result.status, text, masked(first))
    parts = _clauses(text)
    best = result.fingerprint.best if result.status == "diverge" and result.fingerprint else None
    best_key = None
    if best:
        best_key = tuple(sorted((k, v) for k, v in best.items() if k not in ("groups", "eps")))
    return (result.status, tuple(parts), best_key)


def accepted(result, target: tuple) -> bool:
    """Whether a candidate's result keeps the bug: the original's signature, with an explanation that
    names a cause."""
    return informative(result) and signature(result) == target


def _per_row(case, axis: str) -> int:
    """How many elements of ``axis`` one statistics row holds (a group's channels for the channel axis)."""
    n = case.size[axis]
    if case.groups and axis == Layout(case.layout).channel and not case.expect:
        n = n // max(1, case.groups)
    return n


def refusal(candidate, original) -> str:
    """Why ``candidate`` may not stand for ``original`` before it is run ('' when it may): a statistics
    axis (or a group) down to one element where the original had more, or affine parameters that are no
    longer random."""
    try:
        sem = candidate.semantics
        stats = sem.stat_axes if hasattr(sem, "stat_axes") else tuple(sem.axes)  # an op's own Formula: its axes
    except (KeyError, ValueError):
        return "not a valid case"
    for a in stats:
        if _per_row(candidate, a) < 2 <= _per_row(original, a):
            what = "a group of one channel" if a == Layout(candidate.layout).channel and candidate.groups else \
                f"one element on the normalized axis {a}"
            return f"{what}: every normalized value would be 0 and the output just the bias"
    if original.sets_affine and candidate.affine != original.affine:
        return (f"affine parameters must stay {original.affine} (a misplaced scale or offset stays visible)")
    if isinstance(candidate.affine, AffineValues) and any(
            v.kind == "list" and len(v.args) != math.prod(param_shape(candidate.semantics, candidate.size))
            for _, v in candidate.affine.items()):
        return "a list of affine values fixes the parameters' shape"
    return ""


def shape_text(case) -> str:
    return "x".join(f"{a}{n}" for a, n in case.sizes)


def describe(case) -> str:
    """Shape (and groups) of a case in one token: B2xT5xF64, B2xT5xF6 g2."""
    return shape_text(case) + (f" g{case.groups}" if case.groups is not None else "")


@dataclass
class Shrunk:
    original: object  # Case
    case: object  # the smallest case found (the original when nothing smaller keeps the explanation)
    result: object  # the Result of running ``case`` now
    original_result: object  # the Result of running the original case now
    calls: int = 0
    tried: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def changed(self) -> bool:
        return self.case != self.original


def _valid(case) -> bool:
    lay = Layout(case.layout)
    mask = dict(getattr(case, "mask", ()) or ())
    if "lengths" in mask and (len(mask["lengths"]) != case.size[lay.batch]
                              or max(mask["lengths"]) > case.size[mask["axis"]]):
        return False  # one length per batch row, none beyond its axis
    if case.groups is None or case.expect:
        return True
    C = case.size[lay.channel]
    return case.groups <= C and C % case.groups == 0


def _smaller(n: int) -> list[int]:
    """Candidate sizes below ``n``, smallest first."""
    return sorted({v for v in (1, 2, 3, 4, n // 4, n // 2, n - 1) if 1 <= v < n})


def _with_size(case, axis: str, n: int):
    sizes = tuple((a, n if a == axis else v) for a, v in case.sizes)
    return replace(case, sizes=sizes)


def shrink(case, adapter: str, runner, budget: int = DEFAULT_BUDGET, log=None, *, simpler=None, prepare=None,
           accept=None) -> Shrunk:
    """Search for the smallest case that ``adapter`` still gets wrong the same way (at most ``budget`` calls).

    ``simpler(case)``: (what changed, candidate) pairs one key simpler than ``case``, tried before the
    sizes; ``prepare(candidate)``: the case to run for a candidate (or None to skip it);
    ``accept(result)``: a further condition for keeping a candidate."""
    first = runner.run_cell(case, adapter)
    out = Shrunk(case, case, first, first, calls=1)
    if first.status not in ("diverge", "error"):
        out.note = f"not shrunk: the cell is {first.status} here"
        return out
    if not informative(first):
        out.note = ("not shrunk: the explanation does not name a cause, so no smaller case could be shown to be "
                    "the same problem")
        return out
    target = signature(first)
    best, best_result = case, first
    seen = {case}

    def attempt(cand, what="") -> bool:
        nonlocal best, best_result
        if cand in seen or out.calls >= budget or not _valid(cand):
            return False
        seen.add(cand)
        why = refusal(cand, replace(case, affine=best.affine))
        if why:
            out.tried.append(f"{what + ': ' if what else ''}{describe(cand)}: refused ({why})")
            return False
        if prepare is not None:
            cand = prepare(cand)
            if cand is None:
                return False
        r = runner.run_cell(cand, adapter)
        out.calls += 1
        ok = accepted(r, target) and (accept is None or accept(r))
        out.tried.append(f"{what + ': ' if what else ''}{describe(cand)}: {r.status}"
                         f"{' (same explanation)' if ok else ''}")
        if log:
            log(out.tried[-1])
        if ok:
            best, best_result = cand, r
        return ok

    def shrink_axis(axis):
        for n in _smaller(best.size[axis]):
            if out.calls >= budget:
                return
            cand = _with_size(best, axis, n)
            if refusal(cand, case):
                continue  # too small to keep the statistics meaningful: not worth a call
            if attempt(cand):
                return

    if not case.sets_affine:
        attempt(replace(case, affine="random"), "affine random")
    if simpler is not None:
        progress = True
        while progress and out.calls < budget:
            progress = any(attempt(cand, what) for what, cand in simpler(best))
    lay = Layout(case.layout)
    # sizes per axis: the batch axis last (the other axes decide what the statistics span)
    order = [a for a in lay.axes if a != lay.batch] + [lay.batch]
    for axis in order:
        shrink_axis(axis)
    if best.groups is not None:
        C = best.size[lay.channel]
        for g in sorted({1, 2, best.groups // 2} - {best.groups}):
            if g >= 1 and g < best.groups and (best.expect or C % g == 0) and attempt(replace(best, groups=g)):
                break
        shrink_axis(lay.channel)
    out.case, out.result = best, best_result
    if best != case:
        aff = f" (affine {case.affine} -> {best.affine})" if best.affine != case.affine else ""
        out.note = (f"shrunk from {describe(case)} to {describe(best)}{aff} in {out.calls} adapter calls; "
                    f"same explanation: {explanation(best_result)}")
    else:
        out.note = f"not shrunk: no smaller case kept the explanation ({out.calls} adapter calls)"
    return out
