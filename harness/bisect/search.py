"""The search over ordered candidates, as ``git bisect run`` does it: pure logic, no installs.

``probe(candidate)`` returns the candidate's verdict (any value compared with ``==``), or None when it
could not be tried (it did not install, or its run wrote no record); it is called at most once per
candidate. :func:`bisect` tries the two ends first (moving inwards past candidates that cannot be tried);
when their verdicts are equal it stops (no change in the range: none is invented), else it halves the
range between the last candidate with the first verdict and the first with another one until they are
neighbours, skipping candidates that cannot be tried as ``git bisect skip`` does. With ``every`` it tries
every candidate in order and reports every change.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

#: what a probe returns for a candidate it could not try
UNTRIED = None


@dataclass(frozen=True)
class Transition:
    """A change of verdict: ``before`` is the last candidate with the old verdict, ``after`` the first
    with the new one; ``untried`` the candidates between them that could not be tried (the change may
    lie in any of them)."""

    before: Any
    after: Any
    old: Any
    new: Any
    untried: tuple = ()


@dataclass
class Search:
    #: (candidate, verdict or None) in the order tried
    tried: list[tuple[Any, Any]] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    #: whether every candidate was tried (``every``)
    every: bool = False

    @property
    def first(self) -> Transition | None:
        return self.transitions[0] if self.transitions else None

    @property
    def judged(self) -> list[tuple[Any, Any]]:
        """The candidates that could be tried, with their verdicts, in the order tried."""
        return [(c, v) for c, v in self.tried if v is not UNTRIED]


def bisect(candidates: Sequence, probe: Callable[[Any], Any], *, every: bool = False) -> Search:
    """Find the first candidate whose verdict differs from the first candidate's (``every``: every
    change). ``candidates`` are in order, oldest first."""
    out = Search(every=every)
    verdicts: dict[int, Any] = {}

    def test(i: int):
        if i not in verdicts:
            verdicts[i] = probe(candidates[i])
            out.tried.append((candidates[i], verdicts[i]))
        return verdicts[i]

    def untried_between(a: int, b: int) -> tuple:
        return tuple(candidates[j] for j in range(a + 1, b) if j in verdicts and verdicts[j] is UNTRIED)

    n = len(candidates)
    if every:
        last = None
        for i in range(n):
            v = test(i)
            if v is UNTRIED:
                continue
            if last is not None and verdicts[last] != v:
                out.transitions.append(Transition(candidates[last], candidates[i], verdicts[last], v,
                                                  untried_between(last, i)))
            last = i
        return out
    lo = next((i for i in range(n) if test(i) is not UNTRIED), None)
    if lo is None:
        return out
    hi = next((i for i in range(n - 1, lo, -1) if test(i) is not UNTRIED), None)
    if hi is None or verdicts[lo] == verdicts[hi]:
        return out
    old = verdicts[lo]
    while True:
        open_ = [j for j in range(lo + 1, hi) if j not in verdicts]
        if not open_:
            break
        mid = (lo + hi) // 2
        i = min(open_, key=lambda j: (abs(j - mid), j))  # the middle, or the nearest one not yet tried
        v = test(i)
        if v is UNTRIED:
            continue
        if v == old:
            lo = i
        else:
            hi = i
    out.transitions.append(Transition(candidates[lo], candidates[hi], old, verdicts[hi], untried_between(lo, hi)))
    return out
