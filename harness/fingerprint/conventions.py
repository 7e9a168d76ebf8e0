"""The fingerprint of an op with its own definition: which convention an output fits.

An operator's :class:`~harness.ops.definition.Definition` lists the conventions frameworks compute it
with (each a value of one parameter of its reference, with words). :func:`fingerprint_formula` tries
every combination of them, with the case's epsilon and the documented defaults of frameworks
(``eps_values``, and 0: no epsilon), first in float64 (the reference of that member), then as plain
implementations in the accumulation dtype and in the case dtype (the numerics module's ``emulate``:
where an epsilon rounds to 0 in float16, a zero row becomes 0 * inf). The explanation names the
conventions in which the fitting member differs from the definition, and the dtype where only an
emulation fits: "eps clamps the squared norm: x * rsqrt(max(sum(x**2), eps)) (TensorFlow, tf.keras)".
"""
from __future__ import annotations

import itertools

import numpy as np

from harness.numerics import families
from harness.numerics.achievable import accumulation_dtype
from harness.numerics.verdict import compare, nonfinite_text
from harness.ops.definition import Formula


def members(expected: Formula) -> list[Formula]:
    """Every combination of the definition's conventions, with the case's epsilon and the documented
    defaults (the definition's own first; "no epsilon" is a convention where an op has it)."""
    d = expected.definition
    params = d.params
    combos = itertools.product(*(d.values(p) for p in params))
    epss = [expected.eps]
    if d.epsilon:
        epss += [e for e in d.eps_values if e not in epss]
    out = []
    for combo in combos:
        conv = tuple(zip(params, combo))
        for eps in epss if d.uses_epsilon(conv) else epss[:1]:
            f = expected.with_(eps=eps, **dict(conv))
            if f not in out:
                out.append(f)
    # the fewest differences first; a different convention before a different epsilon
    out.sort(key=lambda f: (len(f.differences(expected)), f.eps != expected.eps, f != expected))
    return out


def _member_dict(f: Formula) -> dict:
    return {"op": f.op, "layout": f.layout, "eps": f.eps, **dict(f.args), **dict(f.conventions)}


def fingerprint_formula(x, y, expected: Formula, dtype: str, *, achievable=None, max_matches=8) -> dict:
    """Members of the operator's family (conventions x epsilons) that reproduce ``y`` from ``x`` as
    closely as the verdict rule asks; a JSON-ready dict with an ``explanation`` in words."""
    x = np.asarray(x)
    y64 = np.asarray(y, np.float64)
    if y64.shape != x.shape:
        return {"matches": [], "explanation": f"output shape {list(y64.shape)} differs from input shape "
                                              f"{list(x.shape)}"}
    ref = families.reference(x, expected)
    if achievable is None:
        achievable = families.achievable_error(x, ref, expected, dtype)
    found = []  # (how, error, member): how is "float64" or the dtype an emulation computes in
    cands = members(expected)
    for f in cands:
        out = families.reference(x, f)
        c = compare(y64, out, dtype, achievable=achievable)
        if c.ok and f != expected:
            found.append(("float64", c.max_abs, f))
    if not found:
        # the accumulation dtype, the case dtype, and float32 for a float64 case (a lower precision)
        stats = list(dict.fromkeys([accumulation_dtype(dtype), dtype, "float32" if dtype == "float64" else dtype]))
        forms = families.forms(expected)
        for st in stats:
            for form in forms:
                for f in cands:
                    out = families.emulate(x, f, dtype, st, form)
                    c = compare(y64, out, dtype, achievable=achievable)
                    if c.ok:
                        found.append(((st, form), c.max_abs, f))
        # the fewest differences from the definition first, then the accumulation dtype
        found.sort(key=lambda t: (len(t[2].differences(expected)), t[0][0] != stats[0], t[2].eps != expected.eps,
                                  t[1]))
    out = {"matches": [{"semantics": _member_dict(f), "max_abs": float(e), "computed_in": _how(how, f)[0],
                        "describe": f.describe() + ("" if how == "float64" else ", " + _how(how, f)[1])}
                       for how, e, f in found[:max_matches]],
           "n_matches": len(found)}
    nonfinite = nonfinite_text(y64, ref)
    if found:
        how, _, best = found[0]
        out["best"] = _member_dict(best)
        diff = best.differences(expected)
        words = primary = "; ".join(diff) if diff else "the definition"
        if how != "float64":
            words += ", " + _how(how, best)[1]
        expl = f"the output fits {words}"
        if diff:
            expl += "; the case expects " + "; ".join(expected.differences(best))
        others = sorted({"; ".join(f.differences(expected)) or "the definition" for _, _, f in found[1:]} - {primary})
        if others:
            expl += f" (also consistent: {'; or '.join(others[:3])})"
        out["explanation"] = (f"{nonfinite}: " if nonfinite else "") + expl
    elif dtype == "float64" and not nonfinite and _at_float32(x, y64, ref, expected):
        c = compare(y64, ref, dtype, achievable=achievable)
        out["computed_in"] = "float32"
        out["explanation"] = (f"the definition at float32 precision (max abs {c.max_abs:.3g}, within what a "
                              "float32 implementation reaches): the float64 result was computed in float32")
    else:
        c = compare(y64, ref, dtype, achievable=achievable)
        ratio = f"{c.max_abs / achievable:.3g}x" if achievable > 0 else "far above"
        what = nonfinite or (f"max abs {c.max_abs:.3g}, {ratio} the {achievable:.3g} a stable {dtype} "
                             "implementation reaches")
        out["explanation"] = (f"{what}; no convention of {expected.op} ("
                              + "; ".join(sorted({c.words for c in expected.definition.conventions}))
                              + ") and no epsilon tried reproduces the output, in float64 or computed in "
                              f"{dtype}: cause unknown")
    if nonfinite:
        out["nonfinite"] = nonfinite
    return out


def _at_float32(x, y64, ref, expected: Formula) -> bool:
    """Whether ``y64`` is as close to ``ref`` as a float32 implementation gets (the float32 verdict rule)."""
    x32 = np.asarray(x, np.float64).astype(np.float32)
    ach = families.achievable_error(x32, ref, expected, "float32")
    return compare(y64, ref, "float32", achievable=ach).ok


def _how(how, f: Formula) -> tuple[str, str]:
    """(the dtype, words) of how a member was computed: "float64", or an emulation's (dtype, form)."""
    if how == "float64":
        return "float64", "in float64"
    st, form = how
    words = f"computed in {st}"
    form_words = families.forms(f).get(form, "")
    if form_words and len(families.forms(f)) > 1:
        words += f" as {form_words}"
    note = families.emulation_words(f, st, form)
    return st, words + (f" ({note})" if note else "")
