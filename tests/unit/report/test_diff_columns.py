"""normconf diff between environments: a column whose framework is on one side only appears (or goes),
and a framework version change that changed no cell is said, not left out."""
from dataclasses import replace

from harness.report.diff import diff, format_text, pairing
from harness.results.read import Merged

from .nightly import VERSIONS, cell


def test_diff_counts_a_column_that_appears_as_added_and_names_version_changes_that_changed_nothing(tmp_path):
    def merged(records):
        return Merged({}, {}, {(r.env, r.adapter, r.case_id): r for r in records}, [])

    absent = replace(cell("ln-1", "keras-tf", "latest", VERSIONS, "unsupported"), env="current",
                     absent="not available", versions={})  # as a run records a column it cannot run
    old = merged([replace(cell("ln-1", "torch", "latest", VERSIONS), env="current", versions={"torch": "2.13.0"}),
                  absent])
    new = merged([cell("ln-1", "torch", "latest", VERSIONS), cell("ln-1", "keras-tf", "latest", VERSIONS)])
    d = diff(old, new, pairs=pairing(old, new))
    assert [(c.kind, c.column) for c in d.changes] == [("added", "keras-tf@latest")]
    assert d.version_changes["keras-tf@latest"] == "keras - -> 3.16.0, tensorflow - -> 2.21.0"  # a new column
    text = format_text(d, "a", "b")
    assert f"with torch 2.13.0 -> {VERSIONS['latest']['torch']['torch']} (torch@latest): no change" in text
