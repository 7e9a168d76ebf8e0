"""Reuse of what a framework builds between the cells of one worker process.

Exporting a module to ONNX, converting it for OpenVINO or LiteRT, or creating an
inference session costs far more than running the result, and many cells need the
same artefact: the same op, options, parameters, shape and dtype with other input
values (the input values never change a graph). An adapter keeps such artefacts in
an :class:`ArtefactCache` under a key made of everything that decides the artefact
(the generated code, which spells out the op, its options, epsilon, dtype and
layout; the input's shape and dtype; a digest of the parameter values the graph
holds), so a cell whose key is new pays for the build and the next cell with the
same key reuses it. A reused artefact gives the output a fresh one gives, bit for
bit: only objects without state that carries from one call to the next are cached.

Each cache is a small LRU, so memory does not grow with the number of cases.
``normconf run --no-cache`` (the environment variable ``NORMCONF_NO_CACHE=1``, which
the worker processes inherit) turns every cache off: each cell builds its own.
"""
from __future__ import annotations

import hashlib
import os
from collections import OrderedDict

import numpy as np

from . import NO_CACHE_ENV

#: artefacts kept per cache: cells that share one tend to be neighbours in a run
DEFAULT_SIZE = 16


def enabled() -> bool:
    """Whether the caches are on (read at each lookup, so a test can switch them)."""
    return os.environ.get(NO_CACHE_ENV, "").strip().lower() in ("", "0", "false", "no")


class ArtefactCache:
    """An LRU of built artefacts with counts of hits and misses."""

    def __init__(self, name: str, size: int = DEFAULT_SIZE):
        self.name, self.size = name, size
        self.hits = self.misses = 0
        self._items: OrderedDict = OrderedDict()
        _CACHES[name] = self

    def get(self, key, build):
        """The artefact under ``key``, built with ``build()`` when absent (every time when caching is off)."""
        if not enabled():
            self.misses += 1
            return build()
        try:
            value = self._items[key]
        except KeyError:
            pass
        else:
            self._items.move_to_end(key)
            self.hits += 1
            return value
        self.misses += 1
        value = build()  # a build that raises stores nothing: the next cell tries again
        self._items[key] = value
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        self._items.clear()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)


_CACHES: dict[str, ArtefactCache] = {}


def stats() -> dict[str, tuple[int, int]]:
    """Every cache of this process: name -> (hits, misses)."""
    return {name: (c.hits, c.misses) for name, c in _CACHES.items()}


def clear_all() -> None:
    for c in _CACHES.values():
        c.clear()


def digest(*values) -> str:
    """A digest of arrays (dtype, shape and bytes), None and plain values, for a cache key."""
    h = hashlib.blake2b(digest_size=20)
    for v in values:
        if v is None:
            h.update(b"N")
        elif isinstance(v, (bytes, bytearray, memoryview)):
            h.update(b"B%d:" % len(v))
            h.update(v)
        elif isinstance(v, (tuple, list)):
            h.update(b"T%d(" % len(v))
            h.update(digest(*v).encode())
        elif hasattr(v, "dtype") and hasattr(v, "shape"):
            a = np.ascontiguousarray(v)
            h.update(f"A{a.dtype.str}{a.shape}:".encode())
            h.update(a.view(np.uint8).reshape(-1).data if a.size else b"")
        else:
            h.update(f"V{v!r}:".encode())
    return h.hexdigest()


def array_key(inputs, *names) -> str:
    """A digest of the named arrays of ``inputs`` (absent ones count as None)."""
    return digest(*(getattr(inputs, n, None) for n in names))


class StandIn:
    """Stands in for a module or object in a generated call's namespace: the attributes given here replace
    the target's (cached constructors), every other attribute is the target's own."""

    def __init__(self, target, **attrs):
        self._target = target
        self.__dict__.update(attrs)

    def __getattr__(self, name):
        return getattr(self._target, name)


def run_built(adapter_name: str, cache: ArtefactCache, key, src: str, call: str, keep: tuple[str, ...],
              ns: dict, run) -> dict:
    """Execute a generated call whose first part builds an artefact and whose last part uses it.

    ``src`` is the whole call (what the cell records); ``call`` the lines that use the
    artefact (they read the names in ``keep`` and the inputs); ``run(name, src, ns)``
    executes code. On a miss ``src`` runs in ``ns`` and the ``keep`` names are stored
    under ``key``; on a hit they are put into ``ns`` and only ``call`` runs.
    """
    built = []

    def build():
        run(adapter_name, src, ns)
        built.append(True)
        return {k: ns[k] for k in keep}

    stored = cache.get(key, build)
    if not built:
        ns.update(stored)
        run(adapter_name, call, ns)
    return ns
