"""normconf: conformance harness for normalization operators.

One package per concept, each importing only the layers below it (``pyproject.toml``'s import contracts):
``ops`` and ``text`` (the vocabulary, inert text); ``adapters``, ``cases``, ``numerics``, ``results``;
``fingerprint``, ``workers``, ``expectations``, ``report``; ``claims``; ``execution``; ``repro`` and
``plugin``; ``fuzz``; and the ``normconf`` command (:mod:`harness.cli`) on top.
"""

__version__ = "0.1.0"
