"""Results for the comparison tests, written and read back the way a conformance run and the report do."""
from harness.results.read import read_many
from harness.results.record import Result
from harness.results.write import Writer

AGREE = {"max_abs": 1e-7, "allowed": 4e-6, "ratio": 0.025, "n": 24, "n_bad": 0}
DIVERGE = {"max_abs": 0.25, "allowed": 4e-6, "ratio": 62500.0, "n": 24, "n_bad": 9}
ALL_NAN = {"max_abs": float("inf"), "allowed": 4e-6, "n": 24, "n_bad": 24, "n_nan": 24,
           "nonfinite": "24 of 24 outputs are NaN"}


def case(cid, op="layer_norm", **kw):
    d = {"id": cid, "description": "a case", "source": "https://example.org/doc", "op": op, "layout": "BTF",
         "shape": {"B": 2, "T": 3, "F": 4}, "dtype": "float32", "epsilon": 1e-5, "affine": "ones", "seed": 0,
         "input": {"distribution": "normal", "mean": 0.0, "std": 1.0}, "groups": None, "axes": None,
         "check": "forward", "tags": [], "file": "cases/x.yaml", "line": 3}
    d.update(kw)
    return d


def semantics(stat_axes="F", eps=1e-5):
    return {"layout": "BTF", "stat_axes": stat_axes, "affine_axes": "F", "groups": None, "center": True,
            "eps": eps, "eps_outside": False, "ddof": 0, "bias": True}


def fingerprint(*stat_axes, explanation="normalized over {T,F}; the case expects {F}"):
    return {"explanation": explanation, "n_matches": len(stat_axes),
            "matches": [{"semantics": semantics(s), "max_abs": 1e-8, "describe": f"statistics over {{{s}}}"}
                        for s in stat_axes]}


def cell(cid, adapter, status, env="current", c=None, **kw):
    """A cell record; ``c`` is its case (a plain layer-norm case named ``cid`` by default)."""
    kw.setdefault("metrics", AGREE if status == "agree" else DIVERGE if status == "diverge" else {})
    kw.setdefault("versions", {"fw": "1.0"})
    if status in ("error", "crash", "timeout") and "message" not in kw:
        kw["message"] = "ValueError: bad input"
    if status == "unsupported" and "message" not in kw:
        kw["message"] = "the API has no such axis"
    return Result(case_id=cid, adapter=adapter, env=env, status=status, case=c or case(cid), **kw)


def merged(tmp_path, cells):
    """Write ``cells`` with the project's Writer, one file per environment, and read them back merged."""
    paths = []
    for env in dict.fromkeys(r.env for r in cells):
        p = tmp_path / f"{env}.jsonl"
        w = Writer(p, env)
        for r in cells:
            if r.env == env:
                w.write(r)
        w.close()
        paths.append(p)
    return read_many(paths)
