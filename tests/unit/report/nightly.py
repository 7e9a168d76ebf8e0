"""Small results files of one night of the four nightly environments, written with the harness's own
Writer the way a run writes them: the pinned ``current`` and ``legacy`` and the moving ``latest`` and
``nightly``, each closed with its run's summary record (or not), and last night's files as a baseline.

Tonight, against the expectations the records carry:

* ``current`` (torch 2.13.0, keras 3.15.1) and ``legacy`` (tensorflow 2.15.1): as expected, one known
  divergence in current;
* ``latest`` (keras 3.16.0, torch 2.14.0): ``ln-2`` diverges on keras-tf and ``gn-3`` errors on torch,
  neither expected; ``gn-4`` agrees on keras-tf although its entry expects a divergence: fixed in keras
  3.16.0;
* ``nightly`` (keras 3.16.0.dev2026102704): ``ln-1`` diverges on keras-tf (unexpected), and claim ``T2``
  holds although its entry expects it to fail: fixed in keras 3.16.0.dev2026102704.

Last night ``latest`` ran keras 3.15.1 and torch 2.13.0 with every cell agreeing, and ``nightly`` keras
3.16.0.dev2026102604 with claim T2 failing as expected.
"""
from __future__ import annotations

from pathlib import Path

from harness.results.record import ClaimResult, Result
from harness.results.write import Summary, Writer

OK = {"max_abs": 1e-7, "max_rel": 1e-7, "max_ulp": 2.0, "n": 24, "n_bad": 0, "floor": 4.8e-7}
BAD = dict(OK, max_abs=0.5, max_ulp=1e7, n_bad=3)
ENTRY = {"id": "gn-4", "adapter": "keras-tf", "status": "diverge", "reason": "one-pass variance",
         "file": "cases/expectations/x.yaml", "line": 3}
CLAIM_ENTRY = {"id": "T2", "adapter": "keras-tf", "verdict": "fails", "reason": "documented wrongly",
               "file": "cases/expectations/claims.yaml", "line": 7}
CASES = ("ln-1", "ln-2", "gn-3", "gn-4", "gn-5")

VERSIONS = {
    "current": {"torch": {"torch": "2.13.0"}, "keras-tf": {"keras": "3.15.1", "tensorflow": "2.21.0"}},
    "legacy": {"tf-keras": {"tensorflow": "2.15.1", "keras": "2.15.0"}},
    "latest": {"torch": {"torch": "2.14.0"}, "keras-tf": {"keras": "3.16.0", "tensorflow": "2.21.0"}},
    "nightly": {"torch": {"torch": "2.14.0"}, "keras-tf": {"keras": "3.16.0.dev2026102704", "tensorflow": "2.21.0"}},
}
LAST_NIGHT = {
    "latest": {"torch": {"torch": "2.13.0"}, "keras-tf": {"keras": "3.15.1", "tensorflow": "2.21.0"}},
    "nightly": {"torch": {"torch": "2.14.0"}, "keras-tf": {"keras": "3.16.0.dev2026102604", "tensorflow": "2.21.0"}},
}


def case(cid: str) -> dict:
    op = "layer_norm" if cid.startswith("ln") else "group_norm"
    return {"id": cid, "description": f"{op} on [B,T,F]", "source": "https://example.org/norm", "op": op,
            "layout": "BTF", "shape": {"B": 2, "T": 3, "F": 4}, "dtype": "float32", "epsilon": 1e-5,
            "affine": "ones", "seed": 0, "input": {"distribution": "normal", "mean": 0.0, "std": 1.0},
            "groups": 2 if op == "group_norm" else None, "axes": None, "check": "forward", "tags": [],
            "file": f"cases/{op}/x.yaml", "line": 3}


def cell(cid, adapter, env, versions, status="agree", outcome="expected", expectation=None, time=None):
    m = OK if status == "agree" else (BAD if status == "diverge" else {})
    kw = {"time": time} if time else {}
    return Result(case_id=cid, adapter=adapter, env=env, status=status, versions=versions[env][adapter],
                  metrics=m, case=case(cid), outcome=outcome, expectation=expectation,
                  message="ValueError: shapes" if status == "error" else "", **kw)


def claim(cid, adapter, env, versions, verdict="holds", outcome="expected", expectation=None):
    return ClaimResult(claim_id=cid, adapter=adapter, env=env, verdict=verdict, versions=versions[env][adapter],
                       claim={"id": cid, "framework": "Keras 3", "api": "keras.layers.GroupNormalization",
                              "quote": "GroupNorm(1) is LayerNorm", "source": "https://example.org/doc"},
                       outcome=outcome, expectation=expectation, max_diff=0.0 if verdict == "holds" else 2.9)


def write(path: Path, env: str, records, versions, summary: Summary | None | str = "auto") -> Path:
    """A results file as a run writes it; ``summary`` "auto" closes it with the tally of ``records``
    (exit 0 or 1), None leaves it without one (a killed run)."""
    w = Writer(path, env)
    for adapter, v in versions[env].items():
        w.adapter(adapter, v)
    for r in records:
        w.write(r)
    if summary == "auto":
        bad = [r for r in records if r.outcome == "unexpected"]
        fixed = [r for r in records if r.outcome == "fixed"]

        def node(r):
            return f"cases/x.yaml::{getattr(r, 'case_id', '') or r.claim_id}[{r.adapter}]"

        summary = Summary(env, 1 if bad or fixed else 0, expected=len(records) - len(bad) - len(fixed),
                          unexpected=[{"node": node(r), "reason": "new divergence"} for r in bad],
                          fixed=[{"node": node(r), "reason": "unexpected pass"} for r in fixed])
    if summary is not None:
        w.summary(summary)
    w.close()
    return path


def tonight(d: Path, envs=("current", "legacy", "latest", "nightly")) -> dict[str, Path]:
    """Tonight's results files of ``envs`` in ``d`` (the others are not written: their paths are missing)."""
    v = VERSIONS
    recs = {
        "current": [cell(c, a, "current", v) for c in CASES for a in ("torch", "keras-tf") if (c, a) != ("gn-4", "keras-tf")]
        + [cell("gn-4", "keras-tf", "current", v, "diverge", expectation=ENTRY),
           claim("T1", "torch", "current", v), claim("T2", "keras-tf", "current", v, "fails", expectation=CLAIM_ENTRY)],
        "legacy": [cell(c, "tf-keras", "legacy", v) for c in CASES],
        "latest": [cell(c, a, "latest", v) for c in CASES for a in ("torch", "keras-tf")
                   if (c, a) not in (("ln-2", "keras-tf"), ("gn-3", "torch"), ("gn-4", "keras-tf"))]
        + [cell("ln-2", "keras-tf", "latest", v, "diverge", "unexpected"),
           cell("gn-3", "torch", "latest", v, "error", "unexpected"),
           cell("gn-4", "keras-tf", "latest", v, "agree", "fixed", dict(ENTRY, fixed_in={"keras": "3.16.0"})),
           claim("T1", "torch", "latest", v), claim("T2", "keras-tf", "latest", v, "fails", expectation=CLAIM_ENTRY)],
        "nightly": [cell(c, a, "nightly", v) for c in CASES for a in ("torch", "keras-tf")
                    if (c, a) not in (("ln-1", "keras-tf"), ("gn-4", "keras-tf"))]
        + [cell("ln-1", "keras-tf", "nightly", v, "diverge", "unexpected"),
           cell("gn-4", "keras-tf", "nightly", v, "diverge", expectation=ENTRY),
           claim("T1", "torch", "nightly", v),
           claim("T2", "keras-tf", "nightly", v, "holds", "fixed",
                 dict(CLAIM_ENTRY, fixed_in={"keras": "3.16.0.dev2026102704"}))],
    }
    d.mkdir(parents=True, exist_ok=True)
    out = {}
    for env in ("current", "legacy", "latest", "nightly"):
        out[env] = d / f"{env}.jsonl"
        if env in envs:
            write(out[env], env, recs[env], v)
    return out


def last_night(d: Path) -> dict[str, Path]:
    """Last night's results of current, latest and nightly: every latest cell agreed."""
    v = {**VERSIONS, **LAST_NIGHT}
    recs = {
        env: [cell(c, a, env, v) for c in CASES for a in ("torch", "keras-tf") if (c, a) != ("gn-4", "keras-tf")]
        + [cell("gn-4", "keras-tf", env, v, "diverge", expectation=ENTRY), claim("T1", "torch", env, v),
           claim("T2", "keras-tf", env, v, "fails", expectation=CLAIM_ENTRY)]
        for env in ("current", "latest", "nightly")
    }
    d.mkdir(parents=True, exist_ok=True)
    return {env: write(d / f"{env}.jsonl", env, rs, v) for env, rs in recs.items()}
