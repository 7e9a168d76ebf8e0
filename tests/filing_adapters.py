"""Test-only adapters for normconf file and the shrinking rules, registered the way a third-party adapter is:
NORMCONF_ADAPTERS=tests.filing_adapters:SPECS.

* ``fakefw-layers`` and ``fakefw-stable``: two APIs of one test-only framework, ``normconf_fakefw``
  (``tests/fakefw/<version>/``; the worker puts ``$NORMCONF_FAKEFW`` or the ``buggy`` release on its path).
  The layers API's ``layer_norm`` computes a one-pass variance in the input's dtype and its ``rms_norm``
  refuses float64; the stable API computes a two-pass variance. Their reproducers import the framework by
  name, so a script needs it installed (``PYTHONPATH``) like any framework.
* ``noisy``: the right answer plus noise far above the rounding error (an explanation that names no cause).
"""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import numpy as np

from harness.adapters import AdapterSpec
from harness.adapters.base import Adapter, Output, run_snippet
from harness.numerics.reference import normalize
from harness.ops.layouts import Layout

FAKEFW = Path(__file__).resolve().parent / "fakefw"

SPECS = [
    AdapterSpec("fakefw-layers", "tests.filing_adapters:FakeLayers", description="FakeFW layers",
                framework="FakeFW"),
    AdapterSpec("fakefw-stable", "tests.filing_adapters:FakeStable", description="FakeFW stable functions",
                framework="FakeFW"),
    AdapterSpec("noisy", "tests.filing_adapters:Noisy", description="noise injection"),
]


def framework():
    """The test framework, from ``$NORMCONF_FAKEFW`` (a release directory) or the buggy release."""
    path = os.environ.get("NORMCONF_FAKEFW") or str(FAKEFW / "buggy")
    if path not in sys.path:
        sys.path.insert(0, path)
    return importlib.import_module("normconf_fakefw")


class FakeLayers(Adapter):
    name = "fakefw-layers"
    ops = frozenset({"layer_norm", "rms_norm"})
    layouts = frozenset({"BF", "BTF"})
    dtypes = frozenset({"float32", "float64"})
    function = "layer_norm"

    def versions(self):
        return {"normconf_fakefw": framework().__version__}

    def supports_case(self, case):
        lay = Layout(case.layout)
        if case.axes not in (None, lay.axes[-1]) or case.affine_axes not in (None, lay.axes[-1]):
            return "normconf_fakefw normalizes over the last axis only"
        return None

    def code(self, case) -> str:
        eps = "" if case.epsilon is None else f", eps={case.epsilon!r}"
        if case.op == "rms_norm":
            return f"y = fw.rms_norm(x, gamma{eps}, axis=-1)"
        return f"y = fw.{self.function}(x, gamma, beta{eps}, axis=-1)"

    def run(self, case, inputs):
        src = self.code(case)
        ns = run_snippet(self.name, src, {"fw": framework(), "np": np, "x": inputs.x, "gamma": inputs.gamma,
                                          "beta": inputs.beta})
        return Output(np.asarray(ns["y"]), src)

    def repro(self, case):
        return {"imports": "import normconf_fakefw as fw", "to_framework": "np.asarray(a)",
                "to_numpy": "np.asarray(y, np.float64)", "context": "",
                "versions": "{'normconf_fakefw': fw.__version__}", "call": self.code(case)}


class FakeStable(FakeLayers):
    name = "fakefw-stable"
    ops = frozenset({"layer_norm"})
    function = "stable_layer_norm"


class Noisy(Adapter):
    name = "noisy"
    ops = frozenset({"layer_norm"})
    dtypes = frozenset({"float32"})

    def versions(self):
        return {"numpy": np.__version__}

    def run(self, case, inputs):
        y = normalize(inputs.x, case.semantics, inputs.gamma, inputs.beta)
        noise = 1e-2 * np.random.default_rng(int(np.prod(case.shape))).standard_normal(y.shape)
        return Output((y + noise).astype(np.float32), "y = reference(x) + noise")
