"""The normconf pytest plugin: runs case and claim files as a conformance run.

Loaded as ``-p harness.pytest_plugin`` (``normconf run``) or from a conftest's
``pytest_plugins``; it registers its parts, one concern each:

* :mod:`harness.plugin_options`: the command-line options and ``--shard``;
* :mod:`harness.plugin_run`: the session's Runner and expectations;
* :mod:`harness.plugin_collect`: case, claims and expectations files become
  items (:mod:`harness.plugin_items`: one per cell and per claim and adapter);
* :mod:`harness.plugin_outcomes`: every item's outcome (expected, unexpected,
  harness failure), the session summary and the exit status (0, 1 or 2).
"""
pytest_plugins = [
    "harness.plugin_options",
    "harness.plugin_run",
    "harness.plugin_collect",
    "harness.plugin_outcomes",
]
