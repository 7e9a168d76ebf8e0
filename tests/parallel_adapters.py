"""Test-only adapters for the concurrent dispatch: NORMCONF_ADAPTERS=tests.parallel_adapters:SPECS.

``steady-a`` and ``steady-b`` are the fault-injection adapter (tests.fault_adapters.Faulty, same tags) in
two worker processes (different worker keys), with versions and snippets that do not name the process and
a random pause per cell, so that replies come back in a different order from run to run. ``SLEEPY``:
columns that sleep a known time per cell, for the scheduling tests.
"""
from __future__ import annotations

import os
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


#: NORMCONF_ADAPTERS=tests.parallel_adapters:SLEEPY: columns of known cost for the scheduling tests, each its
#: own worker key; a cell sleeps its column's seconds (the snippet names the process that ran it)
SLEEPY = [
    AdapterSpec(f"sleepy-{name}", "tests.parallel_adapters:Sleepy", env=(("NORMCONF_TEST_SLEEP", seconds),),
                description=f"sleeps {seconds} s per cell")
    for name, seconds in (("slow", "0.25"), ("mid", "0.08"), ("quick", "0.0"), ("quick2", "0.0"))
]


class Sleepy(Faulty):
    name = "sleepy"

    def versions(self):
        return {"sleepy": "1.0"}

    def run(self, case, inputs):
        time.sleep(float(os.environ.get("NORMCONF_TEST_SLEEP", "0")))
        return super().run(case, inputs)
