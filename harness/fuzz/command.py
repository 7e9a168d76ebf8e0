"""The ``normconf fuzz`` command: its arguments to a fuzzing run, the findings written, a summary line."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from harness.cases.yamlsource import CaseError
from harness.text.inert import printable

from .engine import run
from .strategies import DEFAULT_MAX_ELEMENTS


def main(args) -> int:
    adapters = [a.strip() for a in args.adapters.split(",") if a.strip()]
    op_names = [o.strip() for o in args.ops.split(",")] if args.ops else None


    env = args.env_name or os.environ.get("NORMCONF_ENV") or os.environ.get("TOX_ENV_NAME") or "local"

    def log(msg):
        print(f"normconf fuzz: {printable(msg)}", file=sys.stderr)

    try:
        summary = run(adapters, budget=args.budget, seed=args.seed, env=env, out=args.out,
                      cases_root=args.cases, repro=args.repro, log=log if not args.quiet else None,
                      op_names=op_names, max_elements=args.max_elements or DEFAULT_MAX_ELEMENTS, max_draws=args.max_draws,
                      shrink_budget=args.shrink_budget, cell_timeout=args.cell_timeout)
    except (ValueError, CaseError) as e:
        log(str(e))
        return 2
    n = sum(len(a["findings"]) for a in summary["adapters"].values())
    for name, a in summary["adapters"].items():
        print(f"{name}: {a['cells']} cells judged, {a['unsupported']} unsupported, {len(a['findings'])} finding(s)"
              + (f" ({a['note']})" if a.get("note") else ""))
        for f in a["findings"]:
            print(f"  {f['file']}: {f['status']}: {printable(f['explanation'])[:200]}")
    print(f"normconf fuzz: {n} finding(s); summary in {printable(str(Path(args.out) / 'summary.md'))}")
    return 1 if n else 0


def summary_json(path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))
