"""Test-only adapters for fault injection, registered the way a third-party
adapter is: NORMCONF_ADAPTERS=tests.fault_adapters:SPECS.

``faulty`` computes the right answer with NumPy unless the case carries a
fault tag: segfault, abort, exit, memory, hang, raise, wrong.
"""
from __future__ import annotations

import ctypes
import os
import time

from harness.adapters import AdapterSpec
from harness.adapters.base import Adapter, Output
from harness.numerics.reference import normalize
from harness.ops.layouts import Layout

SPECS = [
    AdapterSpec("faulty", "tests.fault_adapters:Faulty", description="fault injection"),
    AdapterSpec("missing", "tests.fault_adapters_missing:Missing", description="framework not installed",
                requires=("normconf_no_such_framework",)),
    AdapterSpec("broken", "tests.fault_adapters_broken:Broken", description="installed, but its import fails",
                requires=("numpy",)),
    AdapterSpec("envcheck", "tests.fault_adapters:EnvCheck", env=(("NORMCONF_TEST_FLAG", "42"),)),
]


class Faulty(Adapter):
    name = "faulty"
    ops = frozenset({"batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm"})
    dtypes = frozenset({"float32", "float64"})
    decoupled_affine = True

    def versions(self):
        return {"faulty": "1.0", "pid": str(os.getpid())}

    def supports_case(self, case):
        return "faulty skips cases tagged unsupported" if "unsupported" in case.tags else None

    def run(self, case, inputs):
        tags = set(case.tags)
        if "segfault" in tags:
            ctypes.string_at(0)
        if "abort" in tags:
            os.abort()
        if "exit" in tags:
            os._exit(7)
        if "memory" in tags:
            raise MemoryError("injected")
        if "hang" in tags:
            time.sleep(3600)
        if "raise" in tags:
            raise ValueError("injected <script>alert(1)</script>")
        y = normalize(inputs.x, self._semantics(case), inputs.gamma, inputs.beta).astype(inputs.x.dtype)
        if "wrong" in tags:
            y = y + 1.0
        return Output(y, f"y = reference(x)  # pid {os.getpid()}")

    @staticmethod
    def _semantics(case):
        sem = case.semantics
        if "stats-all" in case.tags:  # statistics over every non-batch axis, whatever the case asks
            sem = sem.with_(stat_axes=Layout(case.layout).non_batch)
        return sem

    def repro(self, case):
        """The same computation as run(), as numpy code for a standalone script."""
        from harness.repro.script import op_spec

        spec = op_spec(self._semantics(case), case.size)
        axes = spec["axes"]
        lines = ["# the faulty test adapter computes the operator in float64 with numpy",
                 f"xs = np.asarray(x, np.float64).reshape({spec['grouped_shape']!r})"]
        if "raise" in case.tags:
            lines.append("raise ValueError('injected <script>alert(1)</script>')")
        if spec["center"]:
            lines += [f"m = xs.mean(axis={axes!r}, keepdims=True)",
                      f"v = ((xs - m) ** 2).mean(axis={axes!r}, keepdims=True)", "d = xs - m"]
        else:
            lines += [f"v = (xs ** 2).mean(axis={axes!r}, keepdims=True)", "d = xs"]
        lines += [f"y = (d / np.sqrt(v + {spec['eps']!r})).reshape(x.shape)",
                  "if gamma is not None:", f"    y = y * gamma.reshape({spec['affine_shape']!r})",
                  "if beta is not None:", f"    y = y + beta.reshape({spec['affine_shape']!r})",
                  "y = y.astype(x.dtype)"]
        if "wrong" in case.tags:
            lines.append("y = y + 1.0  # the injected fault")
        return {"imports": "", "to_framework": "a", "to_numpy": "np.asarray(y, np.float64)", "context": "",
                "versions": "{'numpy': np.__version__}", "call": "\n".join(lines)}


class EnvCheck(Faulty):
    name = "envcheck"

    def run(self, case, inputs):
        if os.environ.get("NORMCONF_TEST_FLAG") != "42":
            raise RuntimeError("worker environment not applied")
        return super().run(case, inputs)

#: registered through a package entry point in the plug-in test
EP_SPECS = AdapterSpec("faulty-ep", "tests.fault_adapters:Faulty", description="fault injection via entry point")
