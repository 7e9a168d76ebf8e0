"""Claims as the report and `normconf claims` show them."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..claims import verdict_text as verdict_words
from ..results import ClaimResult, Merged, framework_absent

_SAFE_URL = re.compile(r"^https?://", re.I)


def safe_url(source: str) -> str:
    """The http(s) address a source starts with, or '' (only such addresses become links)."""
    first = (source or "").strip().split(maxsplit=1)
    return first[0] if first and _SAFE_URL.match(first[0]) else ""


@dataclass
class ClaimView:
    claim: dict
    results: list[ClaimResult] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.claim.get("id", "?")


def _catalog_key(cid: str, claim: dict):
    cat = claim.get("catalog") or ""
    m = re.match(r"([A-Z]+)(\d+)", cat)
    return (m.group(1), int(m.group(2)), cid) if m else ("~", 0, cid)


def _absent(r: ClaimResult) -> bool:
    """The adapter's framework is not in that environment at all."""
    return framework_absent(r.verdict, r.error)


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
