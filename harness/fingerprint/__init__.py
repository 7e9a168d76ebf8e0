"""The fingerprint: why an output differs from the reference, found by searching a family of semantics.

* :mod:`.family`: the candidate semantics (other axes, groups, epsilons, variance estimators) and their
  differences in words, and the numerical mechanisms tried when none reproduces an output (a one-pass
  variance, a float32 first stage, half-precision statistics stored or accumulated in the dtype);
* :mod:`.forward`: the fingerprint of a forward output (:func:`fingerprint`): the family search, then the
  mechanisms' emulations on the expected member, on it with its group statistics tiled over the
  channels, and on the closest other members;
* :mod:`.masked`: the fingerprint of a forward output with masked statistics (:func:`fingerprint_masked`);
* :mod:`.conventions`: the fingerprint of an op with its own definition: the conventions (and epsilons)
  whose member reproduces the output, in words;
* :mod:`.training`: the fingerprints of gradients and running statistics.

It runs only on a divergence; :mod:`harness.numerics` says what and how close, this package says why.
"""
from .forward import fingerprint
from .masked import fingerprint_masked
from .training import fingerprint_backward, fingerprint_running_stats

__all__ = ["fingerprint", "fingerprint_masked", "fingerprint_backward", "fingerprint_running_stats"]
