"""Claims as the report and `normconf claims` show them."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from harness.results.read import Merged
from harness.results.record import ClaimResult
from harness.results.record import verdict_text as verdict_words

_SAFE_URL = re.compile(r"^https?://[^/\\]", re.I)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f\\]")


def safe_href(href: str) -> str:
    """``href`` when it may become a link: an http(s) address or a relative
    path; '' for anything else (javascript:, data:, vbscript:, a scheme hidden
    behind tabs or newlines, which browsers drop, or a protocol-relative //host)."""
    href = href or ""
    if not href or _UNSAFE_CHARS.search(href) or href.startswith("//"):
        return ""
    if _SCHEME.match(href):
        return href if _SAFE_URL.match(href) else ""
    return href


def safe_url(source: str) -> str:
    """The http(s) address a source starts with, or '' (only such addresses become links)."""
    first = (source or "").strip().split(maxsplit=1)
    return first[0] if first and _SAFE_URL.match(first[0]) and safe_href(first[0]) else ""


@dataclass
class ClaimView:
    claim: dict
    results: list[ClaimResult] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.claim.get("id", "?")


_VERDICT_RANK = {"fails": 0, "holds only when": 1, "error": 2, "holds": 3, "unsupported": 4}


def rank(v: ClaimView) -> int:
    return min((_VERDICT_RANK.get(r.verdict, 5) for r in v.results), default=5)


def report_order(views: list[ClaimView]) -> list[ClaimView]:
    """Failing and conditional verdicts first, then errors, then claims that hold."""
    return sorted(views, key=lambda v: (rank(v), _catalog_key(v.id, v.claim)))


def worst_verdict(v: ClaimView) -> str:
    r = min(v.results, key=lambda r: _VERDICT_RANK.get(r.verdict, 5), default=None)
    return r.verdict if r else "unsupported"


def max_diff(v: ClaimView) -> float | None:
    ds = [r.max_diff for r in v.results if r.verdict not in ("error", "unsupported")]
    try:
        return max(float(d) for d in ds) if ds else None
    except (TypeError, ValueError):
        return None


def verdict_groups(v: ClaimView) -> list[tuple[str, str, list[str]]]:
    """(verdict, words, [adapter@env, ...]) per distinct verdict text, worst first."""
    out: dict[str, tuple[str, str, list[str]]] = {}
    for r in sorted(v.results, key=lambda r: _VERDICT_RANK.get(r.verdict, 5)):
        words = verdict_words(r)
        out.setdefault(words, (r.verdict, words, []))[2].append(f"{r.adapter}@{r.env}")
    return list(out.values())


def headline(views: list[ClaimView]) -> list[ClaimView]:
    """The claims their file marks ``headline: true`` (the seed question: "GroupNorm with one group is
    LayerNorm" against each framework's default LayerNorm), one per framework call."""
    return [v for v in views if v.claim.get("headline") is True]


@dataclass
class HeadlineRow:
    """Headline claims whose verdicts read the same, shown as one line: the frameworks, the verdicts
    (with the columns of each) and the largest difference."""
    views: list[ClaimView]
    verdicts: list[tuple[str, str, list[str]]]  # (verdict, words, [adapter@env, ...])
    max_diff: float | None


def headline_rows(views: list[ClaimView]) -> list[HeadlineRow]:
    """The headline claims, those whose verdicts read the same (the same words, worst first) on one line,
    in the order of their first claim: five frameworks that hold only under the same conditions are
    one line, not five."""
    rows: dict[tuple, HeadlineRow] = {}
    for v in headline(views):
        groups = verdict_groups(v)
        key = tuple(words for _, words, _ in groups)
        row = rows.get(key)
        md = max_diff(v)
        if row is None:
            rows[key] = HeadlineRow([v], [(verdict, words, list(cols)) for verdict, words, cols in groups], md)
            continue
        row.views.append(v)
        for (_, _, cols), (_, _, more) in zip(row.verdicts, groups):
            cols.extend(more)
        if md is not None:
            row.max_diff = md if row.max_diff is None else max(row.max_diff, md)
    return list(rows.values())


def _catalog_key(cid: str, claim: dict):
    cat = claim.get("catalog") or ""
    m = re.match(r"([A-Z]+)(\d+)", cat)
    return (m.group(1), int(m.group(2)), cid) if m else ("~", 0, cid)


def _absent(r: ClaimResult) -> bool:
    """The adapter's framework is not in that environment at all."""
    return bool(r.absent)


def build(merged: Merged) -> list[ClaimView]:
    views: dict[str, ClaimView] = {}
    for (env, adapter, cid), r in sorted(merged.claims.items()):
        v = views.setdefault(cid, ClaimView(r.claim))
        v.results.append(r)
    for v in views.values():
        measured = [r for r in v.results if not _absent(r)]
        v.results = sorted(measured or v.results[:1], key=lambda r: (r.adapter, r.env))
    return sorted(views.values(), key=lambda v: _catalog_key(v.id, v.claim))


def format_text(views: list[ClaimView]) -> str:
    if not views:
        return "no claim results (run the conformance environments first)"
    lines = []
    for v in views:
        c = v.claim
        lines.append(f"{v.id} ({c.get('catalog') or 'no catalog id'}) {c.get('framework', '')}: {c.get('api', '')}")
        lines.append(f"  quote:  \"{c.get('quote', '')}\"")
        lines.append(f"  source: {c.get('source', '')}")
        for r in v.results:
            diff = f", max difference {r.max_diff:.3g}" if r.verdict not in ("error", "unsupported") else ""
            lines.append(f"  [{r.adapter}@{r.env}] {verdict_words(r)}{diff}")
            if r.per_input:
                lines.append("      per input: " + ", ".join(f"{k}: {val}" for k, val in r.per_input.items()))
            if r.explanation:
                lines.append(f"      explanation: {r.explanation}")
        lines.append("")
    counts: dict[str, int] = {}
    for v in views:
        for r in v.results:
            counts[r.verdict] = counts.get(r.verdict, 0) + 1
    lines.append(f"{len(views)} claims; verdicts: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    return "\n".join(lines)
