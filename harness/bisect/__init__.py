"""``normconf bisect``: the first release of a package where a cell's verdict changed.

* :mod:`.candidates`: the releases to try (an index's simple API, or directories of wheels);
* :mod:`.envs`: one cached uv environment per candidate (resolved, or the package swapped in a base);
* :mod:`.cell`: the cell run in a candidate's environment through ``normconf run``, its record read back;
* :mod:`.search`: the two ends, then halving (or every candidate), as ``git bisect run`` does;
* :mod:`.command`: the command and its output.
"""
from .command import main
from .search import Search, Transition, bisect

__all__ = ["Search", "Transition", "bisect", "main"]
