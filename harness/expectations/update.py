"""Writing expectation entries from a run: ``normconf expectations update``.

Every cell or claim of a merged run that does not agree (or hold) and that no
entry of any expectations file matches gets a new entry in the written file,
its first reason the fingerprint's explanation (to be edited); a new entry for
a moving environment's record (``latest``, ``nightly``) names no environment and
says ``since`` which version of the framework it holds when the same cell
agrees with an older version elsewhere. The written file's entries that still
match such a cell are kept with their reasons, their status refreshed.

An entry whose cells now agree is narrowed instead of deleted: when every cell it
covers that agrees runs a newer version of its framework than every cell it
covers that still diverges, it gains ``fixed: {package: first passing version}``
(in whichever file it lives; other files are edited line by line, comments kept).
An entry of the written file that covers nothing any more, and cannot be
narrowed, is dropped.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path

import yaml

from .entry import Entry, framework_package, parse_version
from .load import load_file
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


def _fields(rec) -> tuple[str, str, str, bool, bool]:
    """(item id, kind, status or verdict, fine without an entry, agrees or holds) of a record."""
    if hasattr(rec, "claim_id"):
        return rec.claim_id, "claim", rec.verdict, rec.verdict in ("holds", "unsupported"), rec.verdict == "holds"
    return rec.case_id, "result", rec.status, rec.status in FINE, rec.status == "agree"


def _narrowing(entry: Entry, passing: list, failing: list) -> dict | None:
    """``{package: version}`` to write as the entry's ``fixed``: the lowest version of its framework
    among the covered cells that agree, when it is above every version among those that still
    diverge; None when the versions do not separate them."""
    if not passing:
        return None
    pkg = entry.package_in(passing[0].versions)
    if not pkg:
        return None
    def vers(recs):
        out = []
        for r in recs:
            v = parse_version(str((r.versions or {}).get(pkg, "")))
            if v is None:
                return None
            out.append((v, str(r.versions[pkg]).split("+")[0]))
        return out
    good, bad = vers(passing), vers(failing)
    if good is None or bad is None:
        return None
    first = min(good)
    if bad and max(bad)[0] >= first[0]:
        return None
    return {pkg: first[1]}


def _since(rec, cells: dict) -> dict:
    """``{package: version}`` for a new entry of a moving environment's record, when the same cell
    agrees with an older version of the framework in another record; {} otherwise."""
    pkg = framework_package(rec.versions)
    mine = parse_version(str((rec.versions or {}).get(pkg, ""))) if pkg else None
    if mine is None:
        return {}
    item_id, *_ = _fields(rec)
    for other in cells.get((item_id, rec.adapter), ()):
        v = parse_version(str((other.versions or {}).get(pkg, "")))
        if other is not rec and _fields(other)[4] and v is not None and v < mine:
            return {pkg: str(rec.versions[pkg]).split("+")[0]}
    return {}


def _narrow_in_place(path: Path, narrowed: list[tuple[Entry, dict]], display: str) -> None:
    """Write ``fixed`` into entries of another expectations file, line by line, so its comments, quoting
    and layout stay as they are; the file is loaded again to be sure, and left untouched if that fails."""
    original = path.read_text(encoding="utf-8")
    lines = original.splitlines(keepends=True)
    for entry, fixed in sorted(narrowed, key=lambda t: -t[0].line):  # from the bottom: line numbers hold
        start = entry.line - 1
        m = re.match(r"( *)- ", lines[start]) if 0 <= start < len(lines) else None
        if m is None:
            continue
        indent = " " * (len(m.group(1)) + 2)
        end = start + 1  # the entry's block: lines indented deeper than its dash, blank lines and comments
        while end < len(lines) and (not lines[end].strip() or lines[end].startswith(indent)):
            end += 1
        while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
            end -= 1  # a comment or a blank line before the next entry belongs to it
        for k in range(start + 1, end):  # an earlier 'fixed' key (one line) is replaced
            if re.match(rf"{indent}fixed:", lines[k]):
                del lines[k]
                end -= 1
                break
        value = ", ".join(f"{name}: {json.dumps(version)}" for name, version in fixed.items())
        lines.insert(end, f"{indent}fixed: {{{value}}}\n")
    path.write_text("".join(lines), encoding="utf-8")
    try:
        load_file(path, display)
    except Exception:
        path.write_text(original, encoding="utf-8")
        raise


def update(results, out_path, paths=(), relative_to=None) -> dict:
    """Write ``out_path`` from a merged run (``results.Merged``) and narrow entries whose cells now agree
    (see the module's docstring). Entries in other files are left as they are, but for ``fixed``.
    Returns counts, the dropped entries and the narrowed ones (entry, fixed)."""
    out_path = Path(out_path)
    others = [p for p in paths if Path(p).resolve() != out_path.resolve()]
    other = Expectations.load(others, relative_to)
    mine = Expectations.load([out_path], relative_to) if out_path.is_file() else Expectations()
    if mine.errors or other.errors:
        raise (mine.errors or other.errors)[0]
    envs = {**other.environments, **mine.environments}
    mine.environments = other.environments = envs
    records = sorted([*results.results.values(), *results.claims.values()],
                     key=lambda r: (_fields(r)[0], r.adapter, r.env))
    cells: dict[tuple[str, str], list] = {}
    for rec in records:
        cells.setdefault((_fields(rec)[0], rec.adapter), []).append(rec)
    statuses: dict[int, set] = {}
    covered: dict[tuple[str, int], tuple[list, list]] = {}  # (which, index) -> (agreeing, diverging)
    added: list[Entry] = []
    for rec in records:
        item_id, kind, state, fine, good = _fields(rec)
        hit, which = mine.index_for(rec), "mine"
        if hit is None:
            hit, which = other.index_for(rec), "other"
        if hit is not None and (good or not fine):
            covered.setdefault((which, hit), ([], []))[0 if good else 1].append(rec)
        if fine:
            continue
        if which == "mine" and hit is not None:
            statuses.setdefault(hit, set()).add(state)
            continue
        if hit is not None:
            continue
        moving = rec.env in envs
        env = "" if moving else rec.env
        if any(e.id == item_id and e.adapter == rec.adapter and e.env == env for e in added):
            continue
        added.append(Entry(item_id, rec.adapter, _reason_for(rec), status=(state,) if kind == "result" else (),
                           verdict=state if kind == "claim" else "", env=env,
                           since=tuple(_since(rec, cells).items()) if moving else ()))
    narrowed: list[tuple[Entry, dict]] = []
    fixes: dict[tuple[str, int], dict] = {}
    for (which, i), (passing, failing) in covered.items():
        entries = (mine if which == "mine" else other).entries
        fixed = _narrowing(entries[i], passing, failing)
        if fixed:
            fixes[(which, i)] = fixed
            narrowed.append((entries[i], fixed))
    kept, dropped = [], []
    for i, e in enumerate(mine.entries):
        fixed = fixes.get(("mine", i))
        if fixed:
            e = replace(e, fixed=tuple({**dict(e.fixed), **fixed}.items()))
        if i in statuses:
            kept.append(e if e.verdict else replace(e, status=tuple(sorted(set(e.status) | statuses[i]))))
        elif fixed:
            kept.append(e)
        else:
            dropped.append(e)
    entries = [e.to_dict() for e in kept + added]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_text(_HEADER + yaml.safe_dump({"expectations": entries}, sort_keys=False, allow_unicode=True,
                                            width=110), encoding="utf-8")
    os.replace(tmp, out_path)
    by_file: dict[str, list] = {}
    for (which, i), fixed in fixes.items():
        if which == "other":
            by_file.setdefault(other.entries[i].file, []).append((other.entries[i], fixed))
    shown = {(os.path.relpath(p, relative_to) if relative_to else str(p)): Path(p) for p in others}
    for file, items in by_file.items():
        if file in shown:
            _narrow_in_place(shown[file], items, file)
    return {"kept": len(kept), "added": len(added), "dropped": dropped, "narrowed": narrowed}
