"""``normconf repro`` and ``normconf file``: standalone reproducers and issue bodies, for one cell or claim,
for the unexpected cells of a run (one per group), and for a root cause (one issue per cause).

* :mod:`.find`: the record to reproduce and the adapter's call (:class:`ReproError` for what cannot be);
* :mod:`.shrink`: the smallest case that ends the same way, by rules that keep the bug;
* :mod:`.script`: the script of a forward cell or a claim (``templates/``: its numeric helpers);
* :mod:`.script_training`: the script of a backward or running-statistics cell;
* :mod:`.issue`: the issue body of ``normconf repro``;
* :mod:`.command`: ``normconf repro`` (one cell, a claim, or the unexpected cells of a run, grouped);
* :mod:`.gather`: what a root cause explains in results, the cell that shows it best, the same input on
  the framework's other APIs, and the grouping of unexpected cells;
* :mod:`.public`: what an issue calls an adapter, an API and a condition;
* :mod:`.literal`: numbers and arrays at full precision;
* :mod:`.literal_script`: the script of an issue, its inputs and expected outputs as literals;
* :mod:`.filing`: the bodies of ``normconf file`` (bug report, documentation or default-change request,
  specification discussion, addendum to an upstream issue);
* :mod:`.file_command`: ``normconf file``.
"""
from .command import main, repro_case, repro_claim
from .find import ReproError
from .shrink import Shrunk

__all__ = ["ReproError", "Shrunk", "main", "repro_case", "repro_claim"]
