"""``normconf repro``: standalone reproducer scripts and issue bodies for one cell or claim.

* :mod:`.find`: the record to reproduce and the adapter's call (:class:`ReproError` for what cannot be);
* :mod:`.shrink`: the smallest case that ends the same way;
* :mod:`.script`: the script of a forward cell or a claim (``templates/``: its numeric helpers);
* :mod:`.script_training`: the script of a backward or running-statistics cell;
* :mod:`.issue`: the issue body;
* :mod:`.command`: the command (one cell, a claim, or a batch).
"""
from .command import main, repro_case, repro_claim
from .find import ReproError
from .shrink import Shrunk

__all__ = ["ReproError", "Shrunk", "main", "repro_case", "repro_claim"]
