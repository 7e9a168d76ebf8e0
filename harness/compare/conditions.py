"""Separating conditions: the case parameters under which two columns differ.

Each compared case is a set of parameters derived from its fields generically (no list of keys
here): every field but the ones that identify or document a case (``id``, ``description``,
``source``, ``file``, ``line``) and free text longer than 60 characters; a nested mapping gives one
parameter per key (``input.mean``, ``shape.T``) and, when its values are all integers, one for the
whole (``shape=B2xT5xF6``, as ``params_text`` writes it); a list is one value (its items joined);
a field without a value is ``unset``, and an epsilon without one is ``default``.

Each case is labelled *differ* or *alike* (the comparison says which relations are which). The
search, deterministic and in this order:

1. **literals**: ``key=value`` for every value a key takes among the cases, and ``key≠value`` when
   the key takes 3 to 16 values (with two, ``key≠a`` is ``key=b``); a key that takes more than 16
   values and more than half the cases have (a seed per generated case) names cases rather than
   groups them and is left out; literals that hold for the same compared cases are one, the first kept (positive before
   negative, keys in the order the case fields come, values in order);
2. **conjunctions of two literals**: every pair of literals that each hold for every differing
   case and share no alike case (so an exact conjunction is always found when one exists), and
   every pair among the 32 literals that hold for the most differing cases (ties: the fewest alike
   cases);
3. **disjunctions** of those terms: when the terms that hold for no alike case together cover every
   differing case, a greedy cover (the term covering most uncovered differing cases first, the
   smaller term on a tie) of at most four terms; otherwise a greedy choice of at most three terms
   among those that hold for more differing than alike cases: each time the term that adds the
   most differing cases net of the alike ones it adds.

A condition's *errors* are the alike cases it holds for plus the differing cases it misses. The
conditions reported are the best three by (errors, size: the number of literals, negations,
order), only those with fewer errors than saying "always" or "never", each holding for other cases
than the ones before it; an exact one (no errors) is reported alone, and when a literal is exact
the search stops there. An exact one reads "differ exactly when dtype=float16"; another "differ in
12 of 14 cases with dtype=float16; same in 38 of 40 others". Grouping is explicit: "A, or (B and C)".
"""
from __future__ import annotations

from dataclasses import dataclass

from harness.cases.model import fmt_number

#: fields that identify or document a case rather than ask for something
IDENTITY = frozenset({"id", "description", "source", "file", "line"})
MAX_TEXT = 60
PAIRING_LITERALS = 32
MAX_NEGATED = 16
MAX_EXACT_TERMS = 4
MAX_GREEDY_TERMS = 3
BEST = 3


def _text(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return fmt_number(v)
    if isinstance(v, (list, tuple)):
        return ",".join(str(_text(x)) for x in v) if v else None
    return str(v)


def features(case: dict) -> dict[str, tuple]:
    """A case's parameters: key -> (sort key, text). See the module docstring."""
    out: dict[str, tuple] = {}

    def put(key, v):
        if isinstance(v, dict):
            if v and all(isinstance(x, int) and not isinstance(x, bool) for x in v.values()):
                put(key, "x".join(f"{k}{x}" for k, x in v.items()))
            for k, x in v.items():
                if not isinstance(x, dict):
                    put(f"{key}.{k}", x)
            return
        t = _text(v)
        if t is None:
            t = "default" if key == "epsilon" else "unset"
        if len(t) > MAX_TEXT:
            return
        num = v if isinstance(v, (int, float)) and not isinstance(v, bool) else None
        out[key] = ((0, float(num), t) if num is not None else (1, 0.0, t), t)

    for k, v in case.items():
        if k not in IDENTITY:
            put(k, v)
    return out


@dataclass(frozen=True)
class Literal:
    key: str
    value: str
    positive: bool = True

    @property
    def text(self) -> str:
        return f"{self.key}{'=' if self.positive else '≠'}{self.value}"


@dataclass
class Condition:
    """A disjunction of conjunctions of literals, and how it splits the compared cases."""

    terms: tuple[tuple[Literal, ...], ...]
    differ_in: int  # differing cases it holds for
    holds: int  # compared cases it holds for
    alike_out: int  # alike cases it does not hold for
    others: int  # compared cases it does not hold for
    errors: int

    @property
    def exact(self) -> bool:
        return self.errors == 0

    @property
    def size(self) -> int:
        return sum(len(t) for t in self.terms)

    @property
    def formula(self) -> str:
        if len(self.terms) == 1:
            return " and ".join(lit.text for lit in self.terms[0])
        return ", or ".join(lit_group(t) for t in self.terms)

    @property
    def text(self) -> str:
        if self.exact:
            return f"differ exactly when {self.formula}"
        return (f"differ in {self.differ_in} of {self.holds} cases with {self.formula}; "
                f"same in {self.alike_out} of {self.others} others")

    def to_json(self) -> dict:
        return {"text": self.text, "formula": self.formula, "exact": self.exact, "errors": self.errors,
                "differ_in": self.differ_in, "holds": self.holds, "alike_out": self.alike_out, "others": self.others,
                "terms": [[lit.text for lit in t] for t in self.terms]}


def lit_group(term) -> str:
    return term[0].text if len(term) == 1 else "(" + " and ".join(lit.text for lit in term) + ")"


@dataclass
class Separation:
    differing: int
    alike: int
    conditions: list[Condition]

    @property
    def text(self) -> str:
        """One line: the best condition, or what there is to say without one."""
        if not self.differing and not self.alike:
            return "no case was compared on both columns"
        if not self.differing:
            return "never differ"
        if not self.alike:
            return "differ in every compared case"
        if not self.conditions:
            return "no condition on the case parameters separates the differing cases from the others"
        return self.conditions[0].text

    def texts(self) -> list[str]:
        return [c.text for c in self.conditions] or [self.text]

    def to_json(self) -> dict:
        return {"text": self.text, "differing": self.differing, "alike": self.alike,
                "conditions": [c.to_json() for c in self.conditions]}


class LiteralTable:
    """Every literal over a list of cases (each a :func:`features` dict), as (mask, literal) with bit i
    for case i, best first (see the module docstring). Built once for many comparisons of the same
    cases: each takes the literals' masks on its own cases."""

    def __init__(self, items: list[dict]):
        self.n = len(items)
        everyone = (1 << self.n) - 1
        keys: dict[str, int] = {}
        for f in items:
            for k in f:
                keys.setdefault(k, len(keys))
        found = []
        for k, order in keys.items():
            masks: dict[str, int] = {}
            sort_of: dict[str, tuple] = {}
            for i, f in enumerate(items):
                sk, t = f.get(k) or ((1, 0.0, "unset"), "unset")
                masks[t] = masks.get(t, 0) | (1 << i)
                sort_of[t] = sk
            if len(masks) < 2 or (len(masks) > MAX_NEGATED and 2 * len(masks) > self.n):
                continue  # one value for all, or a value for (nearly) each case: it names cases, not groups
            values = sorted(masks, key=lambda t: sort_of[t])
            for j, t in enumerate(values):
                found.append(((0, order, j), masks[t], Literal(k, t, True)))
                if 2 < len(masks) <= MAX_NEGATED:
                    found.append(((1, order, j), everyone & ~masks[t], Literal(k, t, False)))
        found.sort(key=lambda x: x[0])
        self.literals = [(m, lit) for _, m, lit in found]

    def on(self, everyone: int) -> list[tuple[int, Literal]]:
        """The distinct literals that hold for some but not all of the cases in ``everyone``."""
        seen: set[int] = set()
        out = []
        for g, lit in self.literals:
            m = g & everyone
            if m and m != everyone and m not in seen:
                seen.add(m)
                out.append((m, lit))
        return out


def separate(items: list[dict], differ: list[bool], best: int = BEST) -> Separation:
    """The conditions on ``items`` (each a case's :func:`features`) that separate the differing ones
    (``differ[i]``) from the others; see the module docstring."""
    D = sum(1 << i for i, d in enumerate(differ) if d)
    return separate_masks(LiteralTable(items), D, ((1 << len(items)) - 1) & ~D, best)


def separate_masks(table: LiteralTable, D: int, S: int, best: int = BEST) -> Separation:
    """:func:`separate` on the cases of ``table`` in ``D`` (differing) and ``S`` (alike), as bit masks."""
    everyone = D | S
    nd, ns = D.bit_count(), S.bit_count()
    if not nd or not ns:
        return Separation(nd, ns, [])
    lits = table.on(everyone)

    def condition(m, ts, errors):
        return Condition(tuple(tuple(lits[i][1] for i in t) for t in ts), (m & D).bit_count(), m.bit_count(),
                         (S & ~m).bit_count(), (everyone & ~m).bit_count(), errors)
    exact = [(m, i) for i, (m, _) in enumerate(lits) if m == D]
    if exact:  # literals come best first: the first exact ones are the answer
        return Separation(nd, ns, [condition(m, ((i,),), 0) for m, i in exact[:best]])
    # a term is (mask, indexes of its literals in ``lits``): a conjunction of one or two literals
    terms = [(m, (i,)) for i, (m, _) in enumerate(lits)]
    masks = {m for m, _ in terms}
    useful = [(m, t, (m & D).bit_count(), (m & S).bit_count()) for m, t in terms if m & D]
    # a candidate is (mask, its terms)
    candidates = []
    # an exact conjunction: two literals that each hold for every differing case, with no alike case in
    # common; a pair whose alike cases together outnumber the alike cases cannot be one
    cover = sorted(((m, t, m & S, k) for m, t, d, k in useful if d == nd), key=lambda x: (x[3], x[1]))
    for i, (ma, ia, sa, ka) in enumerate(cover):
        for mb, ib, sb, kb in cover[i + 1:]:
            if ka + kb > ns:
                break
            if not sa & sb:
                candidates.append((D, (tuple(sorted(ia + ib)),)))
    top = [(m, t) for m, t, _, _ in sorted(useful, key=lambda x: (-x[2], x[3], x[1]))[:PAIRING_LITERALS]]
    top.sort(key=lambda x: x[1])
    for i, (ma, ia) in enumerate(top):
        for mb, ib in top[i + 1:]:
            m = ma & mb
            if m & D and m != ma and m != mb and m not in masks:
                masks.add(m)
                terms.append((m, ia + ib))
    candidates += [(m, (t,)) for m, t in terms]
    pure = [(m, t) for m, t in terms if m & D and not m & S]
    union = 0
    for m, _ in pure:
        union |= m
    if union == D:
        chosen, covered = [], 0
        while covered != D and len(chosen) < MAX_EXACT_TERMS:
            m, t = min(pure, key=lambda x: (-(x[0] & ~covered).bit_count(), len(x[1]), x[1]))
            chosen.append(t)
            covered |= m
        if covered == D and len(chosen) > 1:
            candidates.append((covered, tuple(chosen)))
    chosen, covered = [], 0
    scored_terms = [(md, ms, m, t) for m, t in terms
                    for md, ms in ((m & D, m & S),) if md.bit_count() > ms.bit_count()]
    while len(chosen) < MAX_GREEDY_TERMS:
        best_t, best_gain = None, 0
        for md, ms, m, t in scored_terms:
            g = (md & ~covered).bit_count() - (ms & ~covered).bit_count()
            if g > best_gain or (g == best_gain and best_t is not None and (len(t), t) < (len(best_t[1]), best_t[1])):
                best_t, best_gain = (m, t), g
        if best_t is None:
            break
        chosen.append(best_t[1])
        covered |= best_t[0]
        if len(chosen) > 1:
            candidates.append((covered, tuple(chosen)))
    limit = min(nd, ns)
    scored = []
    for m, ts in candidates:
        errors = (m & S).bit_count() + nd - (m & D).bit_count()
        if errors < limit:
            flat = tuple(i for t in ts for i in t)
            negs = sum(not lits[i][1].positive for i in flat)
            scored.append((errors, len(flat), negs, flat, m, ts))
    scored.sort(key=lambda x: x[:4])
    out, seen = [], set()
    for errors, _, _, _, m, ts in scored:
        if m in seen or (out and out[0].exact and errors):
            continue
        seen.add(m)
        out.append(condition(m, ts, errors))
        if len(out) >= best:
            break
    return Separation(nd, ns, out)
