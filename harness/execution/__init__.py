"""The execution of a run: cells and claims through the workers, judged, explained and written.

* :mod:`.runner`: the :class:`Runner` (resume, the writer, expectations, claims);
* :mod:`.dispatch`: cells sent to every worker ahead of time (``--jobs``);
* :mod:`.judge`: a cell's verdict for every check (:func:`judge_cell`);
* :mod:`.explain`: a cell that did not agree, in words.
"""
from .explain import explain
from .judge import judge_cell
from .runner import Runner

__all__ = ["Runner", "explain", "judge_cell"]
