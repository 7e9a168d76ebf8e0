"""Documentation claims ("GroupNorm with one group is LayerNorm"), loaded and measured.

* :mod:`.load`: claims files and the :class:`Claim` model;
* :mod:`.sides`: a claim's sides as cases;
* :mod:`.trial`: one input of a claim (:class:`Trial`) and the :class:`Verdict` types, forward claims;
* :mod:`.running`: one input of a running-statistics claim;
* :mod:`.evaluate`: the verdict over every input and variant (:func:`evaluate`).
"""
from .evaluate import to_result
from .load import Claim, load_claims
from .trial import Trial, Verdict

__all__ = ["Claim", "Trial", "Verdict", "load_claims", "to_result"]
