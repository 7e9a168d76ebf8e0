"""Search power of ``normconf fuzz``: judged cells needed to find each planted bug.

    PYTHONPATH=. .tox/unit/bin/python benchmarks/fuzz_power.py [--seeds 1 2 3] [--budget 300]
        [--max-elements 4096] [--out FILE]

Runs the search (no shrinking) on the test-only adapters of
tests/planted_adapters.py, all of them on the same drawn cases, once per
seed, and records for each planted bug the judged cell (of that adapter) at
which the first finding came, or "not found" within the budget. The correct
adapter (numpy-stable) must have no finding at all. Prints a Markdown table
and, with ``--out``, writes the figures as JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["NORMCONF_ADAPTERS"] = "tests.planted_adapters:SPECS"
os.environ.setdefault("PYTHONPATH", str(ROOT))

from harness.fuzz.engine import Fuzzer  # noqa: E402
from harness.results.write import cpu_name  # noqa: E402
from tests.planted_adapters import BUGS, PLANTED  # noqa: E402


def first_cells(seed: int, budget: int, max_elements: int, cases_root: Path) -> tuple[dict, dict]:
    adapters = ["numpy-stable", *PLANTED]
    fz = Fuzzer(adapters, budget=budget, seed=seed, env="bench", cases_root=cases_root, max_elements=max_elements,
                shrink_budget=0)
    t0 = time.perf_counter()
    try:
        fz.search()
    finally:
        fz.close()
    first: dict = {a: None for a in adapters}
    kinds: dict = {a: 0 for a in adapters}
    for f in fz.findings.values():
        kinds[f.adapter] += 1
        if first[f.adapter] is None or f.cell < first[f.adapter]:
            first[f.adapter] = f.cell
    info = {"seconds": round(time.perf_counter() - t0, 1), "draws": fz.draws,
            "cells": {a: fz.tally[a].cells for a in adapters}, "distinct_findings": kinds}
    return first, info


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--budget", type=int, default=300)
    p.add_argument("--max-elements", type=int, default=4096)
    p.add_argument("--out", type=Path)
    a = p.parse_args(argv)
    runs = {}
    with tempfile.TemporaryDirectory() as empty:  # no expectations: every divergence counts
        for seed in a.seeds:
            first, info = first_cells(seed, a.budget, a.max_elements, Path(empty))
            runs[seed] = {"first": first, **info}
            print(f"seed {seed}: {info['seconds']} s, {info['draws']} draws", file=sys.stderr)
    print(f"Machine: {cpu_name()} ({os.cpu_count()} CPUs), Python {platform.python_version()}; budget {a.budget} "
          f"judged cells per adapter, inputs of at most {a.max_elements} elements; seeds {a.seeds}.\n")
    print("| adapter | planted bug | " + " | ".join(f"seed {s}" for s in a.seeds) + " | worst |")
    print("|---|---|" + "---|" * len(a.seeds) + "---|")
    for name in ["numpy-stable", *PLANTED]:
        cells = [runs[s]["first"][name] for s in a.seeds]
        what = BUGS.get(name.removeprefix("planted-"), "none (correct)")
        shown = ["-" if c is None else str(c) for c in cells]
        if name == "numpy-stable":
            worst = "no finding" if all(c is None for c in cells) else "FINDING"
        else:
            found = [c for c in cells if c is not None]
            worst = f"not found in {a.budget}" if len(found) < len(cells) else str(max(found))
            if found:
                worst += f" (median {statistics.median(found):g})"
        print(f"| {name} | {what} | " + " | ".join(shown) + f" | {worst} |")
    if a.out:
        a.out.write_text(json.dumps({"budget": a.budget, "max_elements": a.max_elements, "runs": runs}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
