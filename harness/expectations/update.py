"""Writing expectation entries from a run: ``normconf expectations update``.

Every cell or claim of a merged run that does not agree (or hold) and that no
entry of any expectations file matches gets a new entry in the written file,
its first reason the fingerprint's explanation (to be edited); the written
file's entries that still match such a cell are kept with their reasons, their
status refreshed, and those whose cells now agree are dropped.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import yaml

from .entry import Entry
from .outcomes import FINE, Expectations

_HEADER = """\
# Known divergences: each entry names the cells (case or claim id and adapter,
# globs allowed) that are expected to end with the given status or verdict, why,
# and where it is reported upstream. `normconf expectations update` refreshes
# this file from a run and keeps every reason.
"""


def _reason_for(rec) -> str:
    said = getattr(rec, "message", "") or getattr(rec, "error", "")  # a cell's message, a claim's error
    text = rec.explanation or (said or "").splitlines()[0:1]  # a fingerprint's or a claim's explanation
    if isinstance(text, list):
        text = text[0] if text else ""
    return "observed: " + (" ".join(str(text).split())[:300] or getattr(rec, "status", getattr(rec, "verdict", "")))


def update(results, out_path, paths=(), relative_to=None) -> dict:
    """Write ``out_path`` from a merged run (``results.Merged``): entries of that file
    that still match a cell that does not agree are kept with their reasons (their
    status refreshed); every such cell matched by no entry of any file gets a new
    entry; entries of that file whose cells now agree are dropped. Entries in other
    files are left as they are. Returns counts and the dropped entries."""
    out_path = Path(out_path)
    others = [p for p in paths if Path(p).resolve() != out_path.resolve()]
    other = Expectations.load(others, relative_to)
    mine = Expectations.load([out_path], relative_to) if out_path.is_file() else Expectations()
    if mine.errors or other.errors:
        raise (mine.errors or other.errors)[0]
    statuses: dict[int, set] = {}
    added: list[Entry] = []
    cells = [(r.case_id, r.adapter, r.env, "result", r.status, r) for r in results.results.values()]
    cells += [(c.claim_id, c.adapter, c.env, "claim", c.verdict, c) for c in results.claims.values()]
    for item_id, adapter, env, kind, status, rec in sorted(cells, key=lambda t: t[:3]):
        fine = status in FINE if kind == "result" else status in ("holds", "unsupported")
        if fine:
            continue
        hit = mine.index_for(rec)
        if hit is not None:
            statuses.setdefault(hit, set()).add(status)
            continue
        if other.entry_for(rec):
            continue
        if any(e.id == item_id and e.adapter == adapter and e.env == env for e in added):
            continue
        added.append(Entry(item_id, adapter, _reason_for(rec), status=(status,) if kind == "result" else (),
                           verdict=status if kind == "claim" else "", env=env))
    kept, dropped = [], []
    for i, e in enumerate(mine.entries):
        if i in statuses:
            if e.verdict:
                kept.append(e)
            else:
                kept.append(replace(e, status=tuple(sorted(set(e.status) | statuses[i]))))
        else:
            dropped.append(e)
    entries = [e.to_dict() for e in kept + added]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_text(_HEADER + yaml.safe_dump({"expectations": entries}, sort_keys=False, allow_unicode=True,
                                            width=110), encoding="utf-8")
    os.replace(tmp, out_path)
    return {"kept": len(kept), "added": len(added), "dropped": dropped}
