"""The fingerprint of a forward output whose statistics are masked (a case with ``mask``).

The family search of :mod:`.forward` covers unmasked statistics; with a mask it asks, in this order:

* did the output ignore the mask (the unmasked reference, statistics over every position, reproduces it)?
* does another member of the family, with the mask, reproduce it (other axes, groups, centring, epsilon,
  variance estimator: :func:`~.family.candidates` and :func:`~.family.refinements`)?
* is it a numerical mechanism with the mask: statistics divided by the count plus a small constant
  (a guard against an empty mask, ``1e-7`` being Keras's ``backend.epsilon()``), or a one-pass variance
  ``E[x²] − E[x]²`` over the unmasked elements in the accumulation dtype?
* do only the masked positions differ (the unmasked ones agree): output 0, beta, or x itself there?

Otherwise it says the cause is not identified. NaN where the reference is finite (or the reverse) is named
with the rows that have no unmasked element (NaN by definition).
"""
from __future__ import annotations

import numpy as np

from harness.numerics.achievable import accumulation_dtype, achievable_error
from harness.numerics.masked import normalize_masked
from harness.numerics.reference import apply_affine, normalize, rows
from harness.numerics.verdict import compare, nonfinite_text
from harness.ops.dtypes import np_dtype
from harness.ops.layouts import Layout
from harness.ops.semantics import Semantics

from .family import candidates, difference, refinements

#: small constants a masked count is guarded with (Keras's backend.epsilon() is 1e-7)
COUNT_GUARDS = (1e-7, 1e-6, 1e-5, 1e-8, 1e-12)


def emulate_masked(x, sem: Semantics, dtype: str, mask, gamma=None, beta=None, *, variance="two-pass",
                   count_guard: float = 0.0, stats: str | None = None) -> np.ndarray:
    """``sem`` with masked statistics as a plain implementation computes it in ``stats`` (default the
    accumulation dtype of ``dtype``): sums of the unmasked elements divided by their count (plus
    ``count_guard``), a two-pass or one-pass (``E[x²] − E[x]²``, clipped at 0) variance, the
    normalization in ``stats`` too; the result rounded to ``dtype``."""
    out_dt, dt = np_dtype(dtype), np_dtype(stats or accumulation_dtype(dtype))
    xa = np.asarray(x).astype(dt)
    flat, back = rows(xa, sem)
    valid, _ = rows(np.broadcast_to(np.asarray(mask, bool), xa.shape), sem)
    with np.errstate(all="ignore"):
        n = np.sum(valid, axis=-1, keepdims=True).astype(dt) + dt.type(count_guard)

        def mean_of(a):
            return np.sum(np.where(valid, a, dt.type(0)), axis=-1, keepdims=True, dtype=dt) / n

        if not sem.center:
            mean, var = dt.type(0), mean_of(flat * flat)
        elif variance == "one-pass":
            mean = mean_of(flat)
            var = np.maximum(mean_of(flat * flat) - mean * mean, dt.type(0))
        else:
            mean = mean_of(flat)
            var = mean_of((flat - mean) * (flat - mean))
        y = back((flat - mean) / np.sqrt(var + dt.type(sem.eps)))
        y = apply_affine(y.astype(np.float64), sem, gamma, beta).astype(dt)
    return y.astype(out_dt).astype(np.float64)


def fingerprint_masked(x, y, expected: Semantics, dtype: str, mask, gamma=None, beta=None, *,
                       achievable: float = 0.0) -> dict:
    """Why ``y`` differs from the masked reference of ``expected`` (``mask`` broadcastable to x's
    shape, True where an element counts); a JSON-ready dict with an ``explanation``."""
    x = np.asarray(x)
    y64 = np.asarray(y, np.float64)
    if y64.shape != x.shape:
        return {"matches": [], "explanation": f"output shape {list(y64.shape)} differs from input shape "
                                              f"{list(x.shape)}; no member of the family changes the shape"}
    valid = np.broadcast_to(np.asarray(mask, bool), x.shape)
    ref = normalize_masked(x, expected, valid, gamma, beta)

    def fits(out):
        return out is not None and compare(y64, out, dtype, achievable=achievable)

    nonfinite = nonfinite_text(y64, ref)
    empty = _empty_rows(x, expected, valid)
    if nonfinite:
        words = nonfinite
        if empty.any() and np.any(np.isfinite(y64[empty])):
            words += (f"; {int(np.sum(empty))} outputs lie in statistics rows without an unmasked element, "
                      "NaN by definition (0/0)")
            plain = normalize(x, expected, gamma, beta)
            if np.all(np.isfinite(y64[empty])) and compare(y64[empty], plain[empty], dtype,
                                                            achievable=achievable).ok:
                words += ": the output there is the unmasked normalization (statistics over every position)"
            elif np.all(y64[empty] == 0):
                words += ": the output there is 0"
        return {"matches": [], "nonfinite": nonfinite, "explanation": words}

    # the mask ignored
    plain = normalize(x, expected, gamma, beta)
    if fits(plain).ok:
        return {"matches": [_match(expected, fits(plain).max_abs, "without the mask")], "n_matches": 1,
                "explanation": "the mask was ignored: statistics over every position, the masked ones included"}

    # another member of the family, with the mask
    channels = x.shape[Layout(expected.layout).index(Layout(expected.layout).channel)]
    c_expected = compare(y64, ref, dtype, achievable=achievable)
    matches = []
    for base in candidates(expected, channels):
        for sem in (refinements(base, expected) if _same(base, expected) else [base]):
            try:
                out = normalize_masked(x, sem, valid, gamma, beta)
            except ValueError:
                continue
            if not np.all(np.isfinite(out)):
                continue
            c = compare(y64, out, dtype, achievable=achievable)
            if c.ok and (not _same(sem, expected) or c.max_abs <= c_expected.max_abs / 4):
                matches.append((c.max_abs, sem))
    if matches:
        matches.sort(key=lambda t: t[0])
        _, sem = matches[0]
        return {"matches": [_match(s, e, "with the mask") for e, s in matches[:8]], "n_matches": len(matches),
                "explanation": f"{difference(sem, expected)} (statistics over the unmasked positions)"}

    # numerical mechanisms with the mask
    for guard in COUNT_GUARDS:
        c = fits(emulate_masked(x, expected, dtype, valid, gamma, beta, count_guard=guard))
        if c.ok:
            return {"matches": [], "mechanism_max_abs": c.max_abs,
                    "explanation": f"the masked mean and variance are divided by the count plus {guard:g} "
                                   f"(a guard against an empty mask) instead of the count: an emulation in "
                                   f"{accumulation_dtype(dtype)} reproduces the output (max abs {c.max_abs:.3g} "
                                   f"from it)"}
    if dtype == "float64":  # computed in float32: judged by what float32 reaches
        ach32 = achievable_error(x, ref, expected, "float32", gamma, beta, mask=valid)
        for guard in (0.0,) + COUNT_GUARDS:
            emu = emulate_masked(x, expected, dtype, valid, gamma, beta, count_guard=guard, stats="float32")
            c = compare(y64, emu, dtype, achievable=ach32)
            if c.ok:
                also = f", the counts plus {guard:g}" if guard else ""
                return {"matches": [], "computed_in": "float32", "mechanism_max_abs": c.max_abs,
                        "explanation": f"computed in float32 (masked statistics and normalization{also}): an "
                                       f"emulation reproduces the float64 output to float32 rounding (max abs "
                                       f"{c.max_abs:.3g} from it)"}
    if expected.center:
        c = fits(emulate_masked(x, expected, dtype, valid, gamma, beta, variance="one-pass"))
        if c.ok and c_expected.max_abs > 8 * max(achievable, 1e-300):
            return {"matches": [], "mechanism_max_abs": c.max_abs,
                    "explanation": f"one-pass variance E[x²]−E[x]² over the unmasked elements, in "
                                   f"{accumulation_dtype(dtype)}: an emulation reproduces the output (max abs "
                                   f"{c.max_abs:.3g} from it)"}

    # only the masked positions differ
    on_valid = compare(y64[valid], ref[valid], dtype, achievable=achievable)
    if on_valid.ok and not valid.all():
        off = ~valid
        words = (f"the unmasked positions agree; the masked positions differ (max abs "
                 f"{c_expected.max_abs:.3g})")
        bshape = tuple(x.shape[i] if a in expected.affine_axes else 1
                       for i, a in enumerate(Layout(expected.layout).axes))
        b = None if beta is None or not expected.bias else np.broadcast_to(
            np.asarray(beta, np.float64).reshape(bshape), x.shape)
        for what, value in (("0", np.zeros(x.shape)), ("beta", b), ("the input x", np.asarray(x, np.float64))):
            if value is not None and compare(y64[off], value[off], dtype, achievable=achievable).ok:
                words += f": the output there is {what}"
                break
        return {"matches": [], "explanation": words}
    return {"matches": [], "explanation": (
        f"no member of the family reproduces the output with or without the mask, nor a masked count guard or "
        f"one-pass variance (max abs {c_expected.max_abs:.3g}, allowed {c_expected.allowed:.3g}): the cause is "
        f"not identified")}


def _same(a: Semantics, b: Semantics) -> bool:
    return (set(a.stat_axes), a.groups, a.center) == (set(b.stat_axes), b.groups, b.center)


def _empty_rows(x, sem: Semantics, valid) -> np.ndarray:
    """Elements of x's shape whose statistics row has no unmasked element."""
    vflat, back = rows(valid, sem)
    none = ~np.any(vflat, axis=-1, keepdims=True)
    return back(np.broadcast_to(none, vflat.shape).copy())


def _match(sem: Semantics, err: float, how: str) -> dict:
    lay = Layout(sem.layout)
    return {"semantics": {"layout": sem.layout, "stat_axes": "".join(lay.ordered(sem.stat_axes)),
                          "groups": sem.groups, "center": sem.center, "eps": sem.eps,
                          "eps_outside": sem.eps_outside, "ddof": sem.ddof},
            "max_abs": float(err), "describe": f"{sem.describe()}, {how}"}
