"""The search over ordered candidates, on verdict functions alone (no installs)."""
import math

import pytest

from harness.bisect.search import bisect


def counting(verdicts: dict):
    """A probe over ``verdicts`` (candidate -> verdict, None: cannot be tried) that records its calls."""
    calls = []

    def probe(c):
        calls.append(c)
        return verdicts[c]
    return probe, calls


@pytest.mark.parametrize("n", [2, 3, 5, 10, 37, 100])
@pytest.mark.parametrize("where", ["second", "middle", "last"])
def test_finds_the_first_change_in_log2_probes(n, where):
    first = {"second": 1, "middle": n // 2, "last": n - 1}[where]
    cands = list(range(n))
    probe, calls = counting({c: "agree" if c < first else "diverge" for c in cands})
    s = bisect(cands, probe)
    assert s.first is not None and (s.first.before, s.first.after) == (first - 1, first)
    assert (s.first.old, s.first.new) == ("agree", "diverge")
    assert len(calls) == len(set(calls)) <= math.ceil(math.log2(n)) + 2
    assert calls[:2] == [0, n - 1]  # the two ends first
    assert s.tried == [(c, "agree" if c < first else "diverge") for c in calls]


def test_equal_ends_are_no_change_even_with_a_change_inside():
    probe, calls = counting({0: "agree", 1: "diverge", 2: "agree"})
    s = bisect([0, 1, 2], probe)
    assert s.transitions == [] and s.first is None and calls == [0, 2]


def test_every_tries_each_candidate_and_reports_every_change():
    v = ["agree", "agree", "diverge", "diverge", "error", "agree"]
    probe, calls = counting(dict(enumerate(v)))
    s = bisect(list(range(6)), probe, every=True)
    assert calls == list(range(6))
    assert [(t.before, t.after, t.old, t.new) for t in s.transitions] == [
        (1, 2, "agree", "diverge"), (3, 4, "diverge", "error"), (4, 5, "error", "agree")]
    assert s.first.after == 2


def test_every_without_a_change():
    probe, _ = counting(dict.fromkeys(range(4), "agree"))
    s = bisect(list(range(4)), probe, every=True)
    assert s.transitions == [] and len(s.judged) == 4


def test_candidates_that_cannot_be_tried_are_skipped():
    # 4 is the middle and does not install: its neighbour is tried instead
    v = {i: "agree" if i < 6 else "diverge" for i in range(10)}
    v[4] = None
    probe, calls = counting(v)
    s = bisect(list(range(10)), probe)
    assert (s.first.before, s.first.after, s.first.untried) == (5, 6, ())
    assert 4 in calls and len(calls) <= math.ceil(math.log2(10)) + 2


def test_an_untried_candidate_between_the_neighbours_is_named():
    v = {0: "agree", 1: "agree", 2: None, 3: "diverge", 4: "diverge"}
    probe, _ = counting(v)
    s = bisect(list(range(5)), probe)
    assert (s.first.before, s.first.after, s.first.untried) == (1, 3, (2,))
    probe, _ = counting(v)
    s = bisect(list(range(5)), probe, every=True)
    assert [(t.before, t.after, t.untried) for t in s.transitions] == [(1, 3, (2,))]


def test_ends_that_cannot_be_tried_move_inwards():
    v = {0: None, 1: "agree", 2: "agree", 3: "diverge", 4: None}
    probe, calls = counting(v)
    s = bisect(list(range(5)), probe)
    assert calls[:4] == [0, 1, 4, 3]
    assert (s.first.before, s.first.after) == (2, 3)


def test_nothing_triable_or_one_triable_candidate_has_no_change():
    probe, calls = counting(dict.fromkeys(range(3)))
    s = bisect(list(range(3)), probe)
    assert s.transitions == [] and s.judged == [] and calls == [0, 1, 2]
    probe, _ = counting({0: None, 1: "agree", 2: None})
    s = bisect(list(range(3)), probe)
    assert s.transitions == [] and s.judged == [(1, "agree")]


def test_a_third_verdict_counts_as_changed_from_the_first():
    # agree ... error ... diverge: the first release that is no longer "agree" is found
    v = {i: "agree" if i < 3 else ("error" if i < 7 else "diverge") for i in range(10)}
    probe, _ = counting(v)
    s = bisect(list(range(10)), probe)
    assert (s.first.before, s.first.after, s.first.new) == (2, 3, "error")


def test_verdicts_are_compared_whole():
    # with explanations: same status, other explanation is a change
    v = {0: ("diverge", "a"), 1: ("diverge", "a"), 2: ("diverge", "b")}
    probe, _ = counting(v)
    s = bisect([0, 1, 2], probe)
    assert (s.first.before, s.first.after) == (1, 2)
