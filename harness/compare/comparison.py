"""Two columns compared case by case: the pairs, their relations, the separating conditions.

:func:`compare` pairs two columns' records by case id (optionally of one op), gives each pair its
relation (:mod:`.relation`) and finds the conditions on the case parameters that separate the
differing pairs (``differ``, ``raises on one side``, ``both diverge``) from the alike ones
(``same``, ``same deviation``) (:mod:`.conditions`). :func:`summary` is the same, as a small
JSON-able summary for the report.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from .columns import Column, ColumnIndex
from .conditions import Separation, separate_masks
from .relation import ALIKE, DIFFERING, RELATIONS, Pair, make_pair, side_of

#: what every comparison says of itself: records hold each cell against the reference, not the outputs
NOTE = ("each cell was judged against the float64 reference, not against the other column (records hold no "
        "outputs): 'same' means both agree with the reference, so the two agree with each other within both "
        "allowed errors; no difference between the two outputs is measured")


@dataclass
class Comparison:
    a: Column
    b: Column
    op: str | None
    pairs: list[Pair]
    separation: Separation
    D: int = 0  # the differing cases, as a mask of ColumnIndex.position bits
    S: int = 0  # the alike cases

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(p.relation for p in self.pairs)
        return {r: c.get(r, 0) for r in RELATIONS}

    @property
    def differing(self) -> list[Pair]:
        return [p for p in self.pairs if p.relation in DIFFERING]

    @property
    def ops(self) -> list[str]:
        """The ops of the cases both columns ran (or the one asked for)."""
        if self.op:
            return [self.op]
        seen: dict[str, None] = {}
        for p in self.pairs:
            if p.relation in ALIKE + DIFFERING + ("both raise",):
                seen.setdefault(str(p.case.get("op")))
        return list(seen)


def compare(index: ColumnIndex, a: Column, b: Column, op: str | None = None,
            cause_of: Callable | None = None, conditions: bool = True) -> Comparison:
    """Pair ``a``'s and ``b``'s records by case id (only cases of ``op`` when given); ``cause_of(record)``
    names the declared root cause of a record (an object with ``id`` and ``name``, or None). Without
    ``conditions`` the separation is left empty (:func:`separation_of` finds it later, for any subset)."""
    ids = set(a.records) | set(b.records)
    if op:
        ids = {cid for cid in ids if (index.cases.get(cid) or {}).get("op") == op}
    sides_a = index.sides.setdefault((a.key, cause_of), {})
    sides_b = index.sides.setdefault((b.key, cause_of), {})
    a_key, b_key = a.key, b.key
    pairs = []
    differ_bits, alike_bits = bytearray((len(index.position) + 7) // 8), bytearray((len(index.position) + 7) // 8)
    pos = index.position
    cases = index.cases
    for cid in sorted(ids, key=index.rank.__getitem__):
        sa = sides_a.get(cid)
        if sa is None:
            sa = sides_a[cid] = side_of(a_key, a.records.get(cid), cause_of)
        sb = sides_b.get(cid)
        if sb is None:
            sb = sides_b[cid] = side_of(b_key, b.records.get(cid), cause_of)
        p = make_pair(cid, cases.get(cid) or {}, sa, sb)
        pairs.append(p)
        if p.relation in DIFFERING:
            i = pos[cid]
            differ_bits[i >> 3] |= 1 << (i & 7)
        elif p.relation in ALIKE:
            i = pos[cid]
            alike_bits[i >> 3] |= 1 << (i & 7)
    D, S = int.from_bytes(differ_bits, "little"), int.from_bytes(alike_bits, "little")
    if not conditions:
        return Comparison(a, b, op, pairs, Separation(D.bit_count(), S.bit_count(), []), D, S)
    return Comparison(a, b, op, pairs, separate_masks(index.literals(), D, S), D, S)


def separation_of(index: ColumnIndex, c: Comparison, op: str | None = None) -> Separation:
    """The separating conditions of a comparison, over its cases of ``op`` when given."""
    D, S = c.D, c.S
    if op:
        m = index.op_mask(op)
        D, S = D & m, S & m
    return separate_masks(index.literals(), D, S)


def summary(index: ColumnIndex, a: Column, b: Column, op: str | None = None,
            cause_of: Callable | None = None) -> dict:
    """For one pair of columns, a JSON-able summary: the columns, the relation counts, the separating
    conditions as text, and the differing case ids with their relations."""
    c = compare(index, a, b, op, cause_of)
    return {"a": a.key, "b": b.key, "op": op, "counts": c.counts, "conditions": c.separation.texts(),
            "exact": bool(c.separation.conditions and c.separation.conditions[0].exact),
            "differing": [{"case_id": p.case_id, "relation": p.relation} for p in c.differing], "note": NOTE}


def recorded_epsilons(column: Column, op: str) -> list[dict]:
    """The documented default epsilons ``column``'s cells of ``op`` recorded (``metrics.epsilon_default``,
    on ``epsilon: default`` cases): one entry per value, with its quote, source, dtypes and cell count."""
    found: dict = {}
    for r in column.records.values():
        doc = r.metrics.epsilon_default
        if doc is None or r.case.get("op") != op:
            continue
        value, quote, source = doc.value, doc.quote, doc.source
        e = found.setdefault((value, quote, source), {"value": value, "quote": quote, "source": source,
                                                     "dtypes": [], "cells": 0})
        e["cells"] += 1
        if r.case.get("dtype") not in e["dtypes"]:
            e["dtypes"].append(r.case.get("dtype"))
    return sorted(found.values(), key=lambda e: (str(e["value"]), e["quote"]))
