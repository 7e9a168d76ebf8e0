"""Root causes: why cells and claims do not agree, one per mechanism and upstream repository.

Expectation entries name the cells that end a known way; a root cause says why, once, for every entry
that names it (``cause: <id>``). It is what an upstream issue is about: a short name, the mechanism in one
sentence, the packages and versions it affects, a classification that decides what, if anything, is
fileable (:data:`CLASSIFICATIONS`), the repository where it belongs, and its upstream state: the issue or
pull request that already reports it, or the date the public trackers were last searched without a
match. Documented, by-spec and superseded behaviour quotes the framework's own documentation.

Causes are declared in expectations files under a ``causes:`` key (``cases/expectations/causes/``):

.. code-block:: yaml

    causes:
      - id: torch-batch-norm-unbiased-running-var
        name: BatchNorm's running variance is the unbiased batch variance
        mechanism: running_var is updated with the n/(n-1) batch variance; the batch is normalized with the
          biased one.
        classification: documented
        repository: pytorch/pytorch
        affects: [{package: torch, versions: ">=1.0", apis: [torch.nn.BatchNorm1d]}]
        docs: [{url: "https://docs.pytorch.org/...", quote: "... the unbiased estimator ..."}]
        upstream: {url: "https://github.com/pytorch/pytorch/issues/77427"}
        workaround: ...

This module holds the :class:`Cause` model and the words for it; :mod:`.load` reads and validates it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

#: classification -> what it is, in words
CLASSIFICATIONS = {
    "bug": "bug",
    "documented": "documented behaviour",
    "spec": "follows the specification",
    "superseded": "superseded API",
    "harness": "harness limitation",
}

#: classification -> what ``normconf file`` writes for it
FILING_FORMS = {
    "bug": "bug report",
    "documented": "documentation or default-change request",
    "spec": "specification discussion",
    "superseded": "nothing (the API is superseded; the migration is the fix)",
    "harness": "nothing (a harness limitation)",
}


@dataclass(frozen=True)
class Affects:
    package: str
    versions: str = ""  # a PEP 440 range, as measured
    apis: tuple[str, ...] = ()

    def text(self) -> str:
        return self.package + (f" {self.versions}" if self.versions else "") + (
            f" ({', '.join(self.apis)})" if self.apis else "")


@dataclass(frozen=True)
class Doc:
    url: str
    quote: str = ""


@dataclass(frozen=True)
class Upstream:
    url: str = ""  # an issue or pull request that reports it
    title: str = ""
    state: str = ""  # open | closed | merged | ... as seen on the date searched
    none_found: str = ""  # the date (YYYY-MM-DD) the trackers were searched without a match
    searched: tuple[str, ...] = ()  # the queries (or places) searched

    def text(self) -> str:
        if self.url:
            return self.url + (f" ({self.state})" if self.state else "")
        if self.none_found:
            return f"none found (searched {self.none_found})"
        return "not searched"


@dataclass(frozen=True)
class Cause:
    id: str
    name: str
    mechanism: str
    classification: str
    repository: str = ""  # owner/name on GitHub; '' for a harness limitation
    affects: tuple[Affects, ...] = ()
    docs: tuple[Doc, ...] = ()
    upstream: Upstream = field(default_factory=Upstream)
    workaround: str = ""
    compare: tuple[str, ...] = ()  # adapters whose same cells make the best comparison
    file: str = ""
    line: int = 0

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def classification_text(self) -> str:
        return CLASSIFICATIONS[self.classification]

    @property
    def reported(self) -> bool:
        """Whether an upstream issue or pull request already reports it."""
        return bool(self.upstream.url)

    @property
    def fileable(self) -> bool:
        """Whether ``normconf file`` writes a new issue for it (not a harness limitation, not superseded,
        not already reported upstream)."""
        return self.classification not in ("harness", "superseded") and not self.reported

    def upstream_text(self) -> str:
        """The upstream state in words: the URL of the report, "none found (searched DATE)", or "not
        applicable" for a harness limitation."""
        if self.classification == "harness":
            return "not applicable (a harness limitation)"
        return self.upstream.text()

    def affects_text(self) -> str:
        return "; ".join(a.text() for a in self.affects)

    def to_dict(self) -> dict:
        d = {"id": self.id, "name": self.name, "mechanism": self.mechanism,
             "classification": self.classification, "repository": self.repository,
             "affects": [{"package": a.package, "versions": a.versions, "apis": list(a.apis)} for a in self.affects],
             "docs": [{"url": x.url, "quote": x.quote} for x in self.docs],
             "upstream": {k: v for k, v in (("url", self.upstream.url), ("title", self.upstream.title),
                                            ("state", self.upstream.state),
                                            ("none_found", self.upstream.none_found),
                                            ("searched", list(self.upstream.searched))) if v},
             "file": self.file, "line": self.line}
        if self.workaround:
            d["workaround"] = self.workaround
        if self.compare:
            d["compare"] = list(self.compare)
        return d
