"""Documentation claims as the report and `normconf claims` show them: one :class:`ClaimView` per claim with
its measured results, their order (failing first, then stale quotes, then conditional verdicts), the
frameworks the claims filter offers (named by a claim or measured with it), the conditions' words with
their grouping explicit, the difference under the conditions that make a claim hold, the result rows of
a claim grouped by what they show, and the first screen's headline rows."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from harness.results.read import Merged
from harness.results.record import ClaimResult, verdict_text

from .model import FRAMEWORKS, env_rank, framework_of

_SAFE_URL = re.compile(r"^https?://[^/\\]", re.IGNORECASE)
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
        return str(self.claim.get("id", "?"))

    @property
    def label(self) -> str:
        """The framework as the claims file names it ("Keras 3, tf.keras 2")."""
        return str(self.claim.get("framework") or "")


#: the verdicts in the report's order: a claim that fails, then one whose quote is gone from the installed
#: framework (the claims file needs attention), then conditional verdicts, errors, and claims that hold
VERDICT_ORDER = ("fails", "stale", "holds only when", "error", "holds", "unsupported")
_VERDICT_RANK = {v: i for i, v in enumerate(VERDICT_ORDER)}


def rank(v: ClaimView) -> int:
    return min((_VERDICT_RANK.get(r.verdict, len(VERDICT_ORDER)) for r in v.results), default=len(VERDICT_ORDER))


def report_order(views: list[ClaimView]) -> list[ClaimView]:
    """Failing claims first, then stale quotes, conditional verdicts, errors, and claims that hold."""
    return sorted(views, key=lambda v: (rank(v), _catalog_key(v.id, v.claim)))


def worst_verdict(v: ClaimView) -> str:
    r = min(v.results, key=lambda r: _VERDICT_RANK.get(r.verdict, len(VERDICT_ORDER)), default=None)
    return r.verdict if r else "unsupported"


# ---- conditions: the grouping explicit ------------------------------------------------------------------

def _wrapped(text: str) -> bool:
    """Whether the whole text is one parenthesised group ("(A and B (x))", not "(x) and (y)")."""
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i < len(text) - 1:
            return False
    return depth == 0


def condition_words(condition: str) -> str:
    """A condition with its grouping explicit: "A or (B and C)". Results written before the claims
    measurement grouped its alternatives read "A or B and C" while they mean A or (B and C) (the
    alternatives are joined by "or", the variants of one alternative by "and"); such text is grouped
    here, and grouped text is left as it is."""
    condition = str(condition or "")
    if condition.startswith("the input is "):
        return condition
    parts = condition.split(" or ")
    if len(parts) < 2:
        return condition
    return " or ".join(f"({p})" if " and " in p and not _wrapped(p) else p for p in parts)


def verdict_words(r: ClaimResult) -> str:
    """The verdict in words ("holds only when A or (B and C)", "stale: the quote no longer appears in ...")."""
    if r.verdict == "holds only when":
        return f"holds only when {condition_words(r.condition)}"
    return verdict_text(r)


# ---- the difference under the conditions ----------------------------------------------------------------

def _num(x) -> float | None:
    try:
        return float(x)
    except (TypeError, ValueError, OverflowError):
        return None


def _largest(values) -> float | None:
    vals = [x for x in values if x is not None]
    if not vals:
        return None
    return math.nan if any(math.isnan(x) for x in vals) else max(vals)


def _trials(r: ClaimResult) -> list[tuple[str, frozenset, bool, float]]:
    """(input, variants, holds, max difference) of each well-formed trial."""
    out = []
    for t in r.trials or ():
        if not isinstance(t, dict):
            continue
        d, vs = _num(t.get("max_diff")), t.get("variants")
        if d is None or not isinstance(vs, (list, tuple)) or not all(isinstance(x, str) for x in vs):
            continue
        out.append((str(t.get("input", "")), frozenset(vs), t.get("holds") is True, d))
    return out


def condition_diffs(r: ClaimResult) -> list[tuple[str, float]]:
    """For a claim that holds only under conditions (or a stale one measured so): each alternative that makes
    it hold, as its variants ("with aligned-axes + initial-params") or the inputs where it holds as stated
    ("on bf, btf as stated"), with the largest difference measured under it. Read from the trials: an alternative
    is a smallest set of variants whose trials all hold and cover every input where the claim fails as
    stated (an input that a variant does not apply to counts as stated). Empty when the claim holds, fails
    or raises everywhere as stated."""
    if r.verdict not in ("holds only when", "stale"):
        return []
    trials = _trials(r)
    base = {i: (holds, d) for i, vs, holds, d in trials if not vs}
    failing = {i for i, (holds, _) in base.items() if not holds}
    if not failing:
        return []
    combos: dict[frozenset, list[tuple[str, bool, float]]] = {}
    for i, vs, holds, d in trials:
        if vs:
            combos.setdefault(vs, []).append((i, holds, d))
    holding = [vs for vs, ts in combos.items()
               if all(h for _, h, _ in ts) and failing <= {i for i, _, _ in ts}]
    alternatives = sorted((vs for vs in holding if not any(o < vs for o in holding)),
                          key=lambda vs: (len(vs), sorted(vs)))
    out = []
    for vs in alternatives:
        seen = {i for i, _, _ in combos[vs]}
        diffs = [d for _, _, d in combos[vs]] + [d for i, (h, d) in base.items() if h and i not in seen]
        out.append(("with " + " + ".join(sorted(vs)), _largest(diffs)))
    if not out:
        held = [i for i, (h, _) in base.items() if h]
        if held:
            out.append(("on " + ", ".join(held) + " as stated", _largest(base[i][1] for i in held)))
    return out


def under_conditions(r: ClaimResult) -> float | None:
    """The largest difference measured under the conditions that make a conditional claim hold (None when
    the verdict has no conditions): what "holds only when" is worth next to the difference as stated."""
    return _largest(d for _, d in condition_diffs(r))


def max_diff(v: ClaimView) -> float | None:
    """The largest difference of a claim's measured results, as stated (without conditions)."""
    return _largest(_num(r.max_diff) for r in v.results if r.verdict not in ("error", "unsupported"))


def max_under(v: ClaimView) -> float | None:
    """The largest difference under the conditions over a claim's results (None when none is conditional)."""
    return _largest(under_conditions(r) for r in v.results)


# ---- frameworks: what the filter offers ------------------------------------------------------------------

_KNOWN = sorted(set(FRAMEWORKS.values()), key=len, reverse=True)
_VERSION = re.compile(r"\s+v?\d+(\.\d+)*$")


def _strip_parentheses(text: str) -> str:
    while True:
        stripped = re.sub(r"\([^()]*\)", " ", text)
        if stripped == text:
            return text
        text = stripped


def _framework_name(part: str) -> str:
    """A framework as a claims file writes it, named as the report's columns name it: "Keras 3 ops" is
    Keras 3, "tf.keras 2.15" tf.keras, "Flax linen" Flax; a name no adapter calls stays as written."""
    low = part.lower()
    for name in _KNOWN:
        if low == name.lower() or low.startswith(name.lower() + " "):
            return name
    return _VERSION.sub("", part) or part


def label_frameworks(label: str) -> list[str]:
    """The frameworks a claims file's ``framework`` label names ("Keras 3, tf.keras 2" -> Keras 3, tf.keras),
    parenthesised remarks left out."""
    out: list[str] = []
    for part in re.split(r"\s*(?:,|;|&|\band\b)\s*", _strip_parentheses(str(label or ""))):
        part = " ".join(part.split())
        if part and _framework_name(part) not in out:
            out.append(_framework_name(part))
    return out


def frameworks(v: ClaimView) -> list[str]:
    """The frameworks a claim names and those of the adapters that measured it."""
    out = label_frameworks(v.label)
    for r in v.results:
        if not r.absent and framework_of(r.adapter) not in out:
            out.append(framework_of(r.adapter))
    return out


def filter_frameworks(views: list[ClaimView]) -> list[tuple[str, int]]:
    """The claims filter's frameworks with the number of claims each lists, by name."""
    counts: dict[str, int] = {}
    for v in views:
        for f in frameworks(v):
            counts[f] = counts.get(f, 0) + 1
    return sorted(counts.items(), key=lambda kv: (kv[0].lower(), kv[0]))


def verdict_counts(views: list[ClaimView]) -> list[tuple[str, int]]:
    """Every verdict in the report's order with the number of claims that have it in some column."""
    return [(verdict, sum(1 for v in views if any(r.verdict == verdict for r in v.results)))
            for verdict in VERDICT_ORDER]


# ---- columns and result rows -----------------------------------------------------------------------------

def columns_text(cols: list[str]) -> str:
    """Columns (adapter@env) in few words: the adapters that ran in the same environments together,
    "torch, torch-functional in current, latest, nightly; tf-keras in latest, legacy, nightly"."""
    envs: dict[str, list[str]] = {}
    for col in cols:
        adapter, _, env = str(col).rpartition("@")
        if not adapter:
            adapter, env = env, ""
        if env not in envs.setdefault(adapter, []):
            envs[adapter].append(env)
    if len(envs) == 1 and sum(map(len, envs.values())) == 1:
        return str(cols[0])
    groups: dict[tuple, list[str]] = {}
    for adapter, es in envs.items():
        groups.setdefault(tuple(sorted(es, key=lambda e: (env_rank(e), e))), []).append(adapter)
    return "; ".join(", ".join(adapters) + (f" in {', '.join(es)}" if any(es) else "")
                     for es, adapters in groups.items())


def _groups(results: list[ClaimResult]) -> list[tuple[str, str, list[ClaimResult]]]:
    out: dict[str, tuple[str, str, list[ClaimResult]]] = {}
    for r in sorted(results, key=lambda r: _VERDICT_RANK.get(r.verdict, len(VERDICT_ORDER))):
        words = verdict_words(r)
        out.setdefault(words, (r.verdict, words, []))[2].append(r)
    return list(out.values())


def verdict_groups(v: ClaimView) -> list[tuple[str, str, list[str]]]:
    """(verdict, words, [adapter@env, ...]) per distinct verdict text, worst first."""
    return [(verdict, words, [f"{r.adapter}@{r.env}" for r in rs]) for verdict, words, rs in _groups(v.results)]


@dataclass
class TrialRow:
    """One measurement (an input under a set of variants) of a result row, over the row's columns."""
    input: str
    variants: tuple[str, ...]
    holds: bool
    low: float | None  # the smallest and largest difference over the columns
    high: float | None


@dataclass
class ResultRow:
    """The results of a claim that read the same (verdict, per-input verdicts, explanation, which
    measurements hold), with their columns and the largest differences among them: thirteen columns that
    measured the same are one row."""
    verdict: str
    words: str
    columns: list[str]
    max_diff: float | None  # as stated; None for an error or unsupported verdict
    under: list[tuple[str, float | None]]  # (alternative, largest difference under it)
    per_input: dict
    explanation: str
    trials: list[TrialRow]

    @property
    def columns_text(self) -> str:
        return columns_text(self.columns)

    @property
    def under_max(self) -> float | None:
        return _largest(d for _, d in self.under)


def result_rows(v: ClaimView) -> list[ResultRow]:
    """A claim's results grouped by what they say, worst verdict first."""
    rows: dict[tuple, ResultRow] = {}
    for r in sorted(v.results, key=lambda r: (_VERDICT_RANK.get(r.verdict, len(VERDICT_ORDER)), r.adapter,
                                              env_rank(r.env), r.env)):
        shown = r.verdict not in ("error", "unsupported")
        per_input = r.per_input if isinstance(r.per_input, dict) else {}
        trials = _trials(r)
        under = condition_diffs(r)
        key = (r.verdict, verdict_words(r), tuple((str(k), str(x)) for k, x in per_input.items()),
               str(r.explanation), tuple(a for a, _ in under),
               tuple((i, tuple(sorted(vs)), holds) for i, vs, holds, _ in trials))
        row = rows.get(key)
        if row is None:
            row = rows[key] = ResultRow(
                r.verdict, verdict_words(r), [], None, [(a, None) for a, _ in under], per_input,
                str(r.explanation), [TrialRow(i, tuple(sorted(vs)), holds, None, None) for i, vs, holds, _ in trials])
        row.columns.append(f"{r.adapter}@{r.env}")
        if shown:
            row.max_diff = _largest([row.max_diff, _num(r.max_diff)])
        row.under = [(a, _largest([d, more])) for (a, d), (_, more) in zip(row.under, under)]
        for t, (_, _, _, d) in zip(row.trials, trials):
            t.low = d if t.low is None else min(t.low, d)
            t.high = _largest([t.high, d])
    return list(rows.values())


# ---- the first screen's headline ------------------------------------------------------------------------

def headline(views: list[ClaimView]) -> list[ClaimView]:
    """The claims their file marks ``headline: true`` (the seed question: "GroupNorm with one group is
    LayerNorm" against each framework's default LayerNorm), one per framework call."""
    return [v for v in views if v.claim.get("headline") is True]


@dataclass
class HeadlineVerdict:
    """One verdict of a headline row, once, with its columns and its differences."""
    verdict: str
    words: str
    columns: list[str]
    max_diff: float | None  # as stated
    under: float | None  # under the conditions that make it hold

    @property
    def columns_text(self) -> str:
        return columns_text(self.columns)


@dataclass
class HeadlineRow:
    """Headline claims whose verdicts read the same, shown as one line: the claims by name (distinct
    names for distinct claims), each verdict once with its columns, the largest difference as stated and
    under the conditions."""
    claims: list[tuple[str, ClaimView]]  # (name, claim)
    verdicts: list[HeadlineVerdict]

    @property
    def views(self) -> list[ClaimView]:
        return [v for _, v in self.claims]

    @property
    def max_diff(self) -> float | None:
        return _largest(h.max_diff for h in self.verdicts)

    @property
    def under(self) -> float | None:
        return _largest(h.under for h in self.verdicts)


def _api_call(v: ClaimView, args: bool) -> str:
    """The claim's first call as its ``api`` writes it ("GroupNormalization-21(num_groups=1)"), with or
    without its arguments."""
    call = re.split(r"\s+vs\.?\s+|;", str(v.claim.get("api") or ""), maxsplit=1)[0].strip()
    return call if args else call.split("(", 1)[0].strip()


def headline_names(views: list[ClaimView]) -> dict[str, str]:
    """A distinct name per headline claim: its framework, and where several claims share one, the call
    each makes ("ONNX GroupNormalization-21", "ONNX GroupNormalization-18"), else its id."""
    names = {v.id: v.label or v.id for v in views}
    for qualify in (lambda v: _api_call(v, False), lambda v: _api_call(v, True), lambda v: v.id):
        seen: dict[str, int] = {}
        for n in names.values():
            seen[n] = seen.get(n, 0) + 1
        for v in views:
            if seen[names[v.id]] > 1 and qualify(v) and qualify(v) not in names[v.id]:
                names[v.id] = f"{v.label} {qualify(v)}".strip()
    return names


def headline_rows(views: list[ClaimView]) -> list[HeadlineRow]:
    """The headline claims, those whose verdicts read the same (the same words, worst first) on one line,
    in the order of their first claim: five frameworks that hold only under the same conditions are
    one line, not five."""
    claims = headline(views)
    names = headline_names(claims)
    rows: dict[tuple, tuple[list, dict]] = {}
    for v in claims:
        groups = _groups(v.results)
        key = tuple(words for _, words, _ in groups)
        named, by_words = rows.setdefault(key, ([], {}))
        named.append((names[v.id], v))
        for verdict, words, rs in groups:
            by_words.setdefault(words, (verdict, []))[1].extend(rs)
    out = []
    for named, by_words in rows.values():
        verdicts = []
        for words, (verdict, rs) in by_words.items():
            shown = verdict not in ("error", "unsupported")
            verdicts.append(HeadlineVerdict(
                verdict, words, [f"{r.adapter}@{r.env}" for r in rs],
                _largest(_num(r.max_diff) for r in rs) if shown else None,
                _largest(under_conditions(r) for r in rs)))
        out.append(HeadlineRow(named, verdicts))
    return out


# ---- building and the text form ----------------------------------------------------------------------

def _g(x) -> str:
    n = _num(x)
    return "" if n is None else f"{n:.3g}"


def _catalog_key(cid: str, claim: dict):
    cat = str(claim.get("catalog") or "")
    m = re.match(r"([A-Z]+)(\d+)", cat)
    return (m.group(1), int(m.group(2)), cid) if m else ("~", 0, cid)


def _absent(r: ClaimResult) -> bool:
    """The adapter's framework is not in that environment at all."""
    return bool(r.absent)


def build(merged: Merged) -> list[ClaimView]:
    views: dict[str, ClaimView] = {}
    for (env, adapter, cid), r in sorted(merged.claims.items()):
        v = views.setdefault(cid, ClaimView(r.claim if isinstance(r.claim, dict) else {"id": cid}))
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
            diff = f", max difference {_g(r.max_diff)}" if r.verdict not in ("error", "unsupported") else ""
            under = under_conditions(r)
            if under is not None:
                diff += f" as stated, {_g(under)} under the conditions"
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
