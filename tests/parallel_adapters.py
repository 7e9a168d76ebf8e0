"""Test-only adapters for the concurrent dispatch: NORMCONF_ADAPTERS=tests.parallel_adapters:SPECS.

``steady-a`` and ``steady-b`` are the fault-injection adapter (tests.fault_adapters.Faulty, same tags) in
two worker processes (different worker keys), with versions and snippets that do not name the process and
a random pause per cell, so that replies come back in a different order from run to run.
"""
from __future__ import annotations

import random
import time

from harness.adapters import AdapterSpec
from harness.adapters.base import Output
from tests.fault_adapters import Faulty

SPECS = [
    AdapterSpec("steady-a", "tests.parallel_adapters:Steady", env=(("NORMCONF_TEST_LANE", "a"),),
                description="fault injection, first worker"),
    AdapterSpec("steady-b", "tests.parallel_adapters:Steady", env=(("NORMCONF_TEST_LANE", "b"),),
                description="fault injection, second worker"),
]


class Steady(Faulty):
    name = "steady"

    def versions(self):
        return {"steady": "1.0"}

    def run(self, case, inputs):
        time.sleep(random.random() * 0.02)
        out = super().run(case, inputs)
        return Output(out.y, "y = reference(x)")
