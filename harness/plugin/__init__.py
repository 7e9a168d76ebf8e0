"""The normconf pytest plugin: runs case and claim files as a conformance run.

Loaded as ``-p harness.plugin`` (``normconf run``) or from a conftest's
``pytest_plugins``; it registers its parts, one concern each:

* :mod:`harness.plugin.options`: the command-line options and ``--shard``;
* :mod:`harness.plugin.session`: the session's Runner and expectations;
* :mod:`harness.plugin.collect`: case, claims and expectations files become
  items (:mod:`harness.plugin.items`: one per cell and per claim and adapter);
* :mod:`harness.plugin.outcomes`: every item's outcome (expected, unexpected,
  harness failure), the session summary and the exit status (0, 1 or 2).
"""
pytest_plugins = [
    "harness.plugin.options",
    "harness.plugin.session",
    "harness.plugin.collect",
    "harness.plugin.outcomes",
]
