"""Helpers shared by the harness's own tests."""
from __future__ import annotations

from collections import Counter, OrderedDict
from pathlib import Path

from harness.adapters import AdapterSpec, registry
from harness.cases.load import load_file
from harness.execution.runner import Runner

DATA = Path(__file__).parent / "data"

#: two layer-norm cases for runs of tests.fault_adapters' ``faulty`` adapter: "good" agrees, the one
#: tagged ``wrong`` diverges
FAULTY_CASES = """
cases:
  - id: good
    description: d
    source: s
    op: layer_norm
    layout: BTF
    shape: {B: 2, T: 3, F: 4}
  - id: wrong
    description: d
    source: s
    op: layer_norm
    layout: BTF
    shape: {B: 2, T: 3, F: 4}
    tags: [wrong]
"""


def smoke_cases():
    return load_file(DATA / "smoke.yaml", display="tests/data/smoke.yaml")


#: one Runner per environment name and adapter (its spec: a test may register another adapter under the same
#: name), kept across tests: its worker imports the framework once for the tests that run cells on that
#: adapter, and runs them one after another as a conformance run's worker does. The least recently used is
#: stopped past MAX_SHARED (each worker holds a framework in memory); conftest.py stops the rest at the end.
_SHARED: OrderedDict[tuple[str, AdapterSpec], Runner] = OrderedDict()
MAX_SHARED = 6


def shared_runner(adapter: str, env="test") -> Runner:
    key = (env, registry()[adapter])
    runner = _SHARED.get(key)
    if runner is None:
        runner = _SHARED[key] = Runner(env, None, [adapter])
        while len(_SHARED) > MAX_SHARED:
            _SHARED.popitem(last=False)[1].close()
    _SHARED.move_to_end(key)
    return runner


def close_shared_runners():
    """Stop the shared workers, all at once (each may take seconds to exit)."""
    from concurrent.futures import ThreadPoolExecutor

    runners = list(_SHARED.values())
    _SHARED.clear()
    with ThreadPoolExecutor(max_workers=max(1, len(runners))) as ex:
        list(ex.map(lambda r: r.close(), runners))


def run_cells(adapter: str, cases, env="test", **kw):
    """Run ``cases`` on ``adapter`` in its worker: the session's shared one, or with options of its own
    (``kw``: timeouts, jobs) a fresh Runner closed afterwards."""
    if not kw:
        runner = shared_runner(adapter, env)
        return [runner.run_cell(c, adapter) for c in cases]
    runner = Runner(env, None, [adapter], **kw)
    try:
        return [runner.run_cell(c, adapter) for c in cases]
    finally:
        runner.close()


def check_smoke(adapter: str, unsupported_ops=(), unsupported=lambda case: False, pinned=lambda case: None,
                cases=None):
    """Every smoke case agrees, except the ops (or cases) the adapter is declared
    not to support, which must be 'unsupported' with a reason, and the cells
    ``pinned`` to a genuine framework bug: ``pinned(case)`` returns the status
    the cell must still have ('diverge' or 'error'), so a fixed bug makes the
    pin fail and can be dropped. Returns the results."""
    cases = smoke_cases() if cases is None else cases
    results = run_cells(adapter, cases)
    problems = []
    for c, r in zip(cases, results):
        expect_unsupported = c.op in unsupported_ops or unsupported(c)
        pin = None if expect_unsupported else pinned(c)
        if expect_unsupported:
            if r.status != "unsupported" or not r.message:
                problems.append(f"{c.id}: expected unsupported with a reason, got {r.status} {r.message}")
        elif pin:
            if r.status != pin:
                problems.append(f"{c.id}: pinned framework bug expected {pin}, got {r.status} "
                                f"(fixed upstream? drop the pin) {r.message[:200]}")
        elif r.status != "agree":
            problems.append(f"{c.id}: {r.status}: {r.message.splitlines()[0] if r.message else ''}"
                            f" {r.metrics.max_abs}")
    counts = Counter(r.status for r in results)
    assert not problems, f"{adapter}: {dict(counts)}\n" + "\n".join(problems)
    assert counts["agree"] > 0, f"{adapter}: no agreeing cell"
    for r in results:
        assert r.versions, f"{adapter}: no framework versions recorded"
    return results


def snippet_reproduces(adapter: str, case):
    """Run ``adapter`` on ``case`` in this process, then execute the call it recorded
    (its snippet) in a fresh namespace set up only by its reproducer pieces (imports,
    conversions): the recorded call must give the same output, bit for bit. Returns
    the adapter's Output. For the adapter and framework tests, which may import frameworks."""
    import contextlib
    import os

    import numpy as np

    from harness.adapters import load_adapter, registry
    from harness.cases.inputs import make_inputs

    spec = registry()[adapter]
    for k, v in spec.env:
        assert os.environ.get(k, v) == v, f"{adapter} needs {k}={v} in this test process"
        os.environ[k] = v
    ad = load_adapter(spec)
    assert ad.supports(case) is None, ad.supports(case)
    inputs = make_inputs(case)
    out = ad.run(case, inputs)
    parts = ad.repro(case)
    ns = {"np": np}
    exec(parts["imports"], ns)  # noqa: S102 - the adapter's own generated code

    def conv(a):
        return None if a is None else eval(parts["to_framework"], {**ns, "a": np.asarray(a)})  # noqa: S307

    ns.update(x=conv(inputs.x), gamma=conv(inputs.gamma), beta=conv(inputs.beta))
    ctx = eval(parts["context"], ns) if parts.get("context") else contextlib.nullcontext()  # noqa: S307
    with ctx:
        exec(out.snippet, ns)  # noqa: S102
    y = eval(parts["to_numpy"], {**ns, "y": ns["y"]})  # noqa: S307
    np.testing.assert_array_equal(np.asarray(y, np.float64), np.asarray(out.y, np.float64),
                                  err_msg=f"{adapter}: the recorded call does not give the adapter's output")
    return out
