"""``normconf fuzz``: differential fuzzing over the case schema.

* :mod:`.strategies`: hypothesis strategies that draw case files from the schema;
* :mod:`.findings`: what counts as a finding and its kind;
* :mod:`.engine`: the :class:`Fuzzer` (draw, run, shrink);
* :mod:`.write`: one case file, reproducer and summary entry per finding;
* :mod:`.command`: the command.
"""
from .command import main
from .engine import Fuzzer, run
from .findings import Finding, is_finding, kind

__all__ = ["Finding", "Fuzzer", "is_finding", "kind", "main", "run"]
