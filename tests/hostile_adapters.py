"""Test-only adapters that misbehave in the ways a third-party adapter can,
registered like any plug-in: NORMCONF_ADAPTERS=tests.hostile_adapters:SPECS.

``oddout`` returns something other than a numeric array, chosen by the case tag;
``spawner`` starts grandchild processes (pids written to $NORMCONF_TEST_PIDFILE)
and then hangs or dies; ``slowstart`` hangs while it is being imported.
"""
from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import time

import numpy as np

from harness.adapters import AdapterSpec
from harness.adapters.base import Output
from tests.fault_adapters import Faulty

SPECS = [
    AdapterSpec("oddout", "tests.hostile_adapters:OddOut", description="odd output types"),
    AdapterSpec("spawner", "tests.hostile_adapters:Spawner", description="starts grandchildren"),
    AdapterSpec("slowstart", "tests.hostile_adapters:SlowStart", description="hangs at startup"),
]


class _Unpicklable(np.ndarray):
    def __reduce__(self):
        raise TypeError("cannot pickle this")


def _explode():
    raise RuntimeError("this reply cannot be unpickled")


class _Unreadable(np.ndarray):
    def __reduce__(self):
        return (_explode, ())


class OddOut(Faulty):
    name = "oddout"

    def run(self, case, inputs):
        good = super().run(case, inputs)
        shape = good.y.shape
        kind = next((t for t in case.tags if t.startswith("out-")), "")
        if kind == "out-object":
            return Output(object(), "y = object()")
        if kind == "out-strings":
            return Output(good.y.astype(str), "y = str array")
        if kind == "out-complex":
            return Output(good.y.astype(np.complex128), "y = complex array")
        if kind == "out-object-array":
            return Output(good.y.astype(object), "y = object array")
        if kind == "out-bool":
            return Output(np.ones(shape, bool), "y = bool array")
        if kind == "out-list":
            return Output(good.y.tolist(), "y = list")
        if kind == "out-none":
            return None
        if kind == "out-unpicklable":
            return Output(good.y.view(_Unpicklable), "y = unpicklable array")
        if kind == "out-unreadable":
            return Output(good.y.view(_Unreadable), "y = array the harness cannot unpickle")
        if kind == "out-structured":
            return Output(np.zeros(shape, dtype=[("a", "f8")]), "y = structured")
        if kind == "out-datetime":
            return Output(np.zeros(shape, dtype="datetime64[s]"), "y = datetime")
        return good


def _spawn():
    pids = []
    for new_session in (False, True):
        p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=new_session)
        pids.append(p.pid)
    path = os.environ.get("NORMCONF_TEST_PIDFILE")
    if path:
        with open(path, "a") as f:
            f.write("".join(f"{p}\n" for p in pids))
    return pids


class Spawner(Faulty):
    name = "spawner"

    def run(self, case, inputs):
        if "spawn-hang" in case.tags:
            _spawn()
            time.sleep(3600)
        if "spawn-crash" in case.tags:
            _spawn()
            ctypes.string_at(0)
        return super().run(case, inputs)


class SlowStart(Faulty):
    name = "slowstart"

    def __init__(self):
        time.sleep(3600)


class Slow(Faulty):
    """A correct adapter that takes a while per cell, with versions set by $NORMCONF_TEST_VERSION."""
    name = "slow"

    def versions(self):
        return {"slow": os.environ.get("NORMCONF_TEST_VERSION", "1.0")}

    def run(self, case, inputs):
        time.sleep(0.05)
        return super().run(case, inputs)


SPECS.append(AdapterSpec("slow", "tests.hostile_adapters:Slow", description="slow but right"))
