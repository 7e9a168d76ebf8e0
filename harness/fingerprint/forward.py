"""Fingerprinting: which member of the family of candidate semantics
(:mod:`harness.fingerprint.family`) reproduces an output that disagrees with the
expected semantics, in words.

Given an input and such an output, :func:`fingerprint` searches the family for
the members that reproduce the output as closely as the verdict rule asks and
states the difference ("normalized over {T,F}; the case expects {F}"). When
none does, it says what is known of the numerical cause: NaN or infinite
outputs, a variance that overflowed, a one-pass variance, statistics
accumulated in half precision, or a result computed at a lower precision.
"""
from __future__ import annotations

from dataclasses import asdict

import numpy as np

from harness.numerics.achievable import accumulation_dtype, achievable_error, one_pass, squares_overflow, stable
from harness.numerics.reference import apply_affine, normalize
from harness.numerics.verdict import FACTOR, FLOOR, compare, nonfinite_text
from harness.ops.dtypes import np_dtype
from harness.ops.layouts import Layout
from harness.ops.semantics import Semantics

from .family import candidates, difference, refinements


def _key(sem: Semantics):
    lay = Layout(sem.layout)
    return (lay.ordered(sem.stat_axes), sem.groups, sem.center, sem.eps, sem.eps_outside, sem.ddof)


def fingerprint(x, y, expected: Semantics, dtype: str, gamma=None, beta=None, *, achievable=None,
                max_matches=8) -> dict:
    """Members of the family that reproduce ``y`` from ``x`` as closely as the
    verdict rule asks of the expected semantics (``achievable`` is the expected
    semantics' achievable error on this input; computed when not given).
    Returns a JSON-ready dict with an ``explanation`` in words. A member whose
    own output is NaN or infinite never explains anything."""
    x = np.asarray(x)
    y = np.asarray(y)
    lay = Layout(expected.layout)
    channels = x.shape[lay.index(lay.channel)]
    if y.shape != x.shape:
        return {"matches": [], "explanation": f"output shape {list(y.shape)} differs from input shape "
                                              f"{list(x.shape)}; no member of the family changes the shape"}
    try:
        ref = normalize(x, expected, gamma, beta)  # the expected output, used by every check below
    except ValueError:
        ref = None
    if achievable is None:
        achievable = achievable_error(x, ref, expected, dtype, gamma, beta) if ref is not None else 0.0
    y64 = np.asarray(y, np.float64)
    nonfinite = nonfinite_text(y64, ref) if ref is not None else None
    if nonfinite:
        return _explain_nonfinite(x, y64, ref, expected, dtype, gamma, beta, nonfinite, achievable)

    collapsed = _collapsed(x, y64, ref, expected, dtype, gamma, beta, achievable)
    if collapsed:
        return {"matches": [], "n_matches": 0, "explanation": collapsed}

    def err(sem, with_affine=True):
        try:
            out = normalize(x, sem, gamma if with_affine else None, beta if with_affine else None)
        except ValueError:
            return None
        if not np.all(np.isfinite(out)):
            return None  # a member that produces NaN/inf explains nothing
        return compare(y, out, dtype, achievable=achievable)

    # stage 1: structure; stage 2: numerics around the best structures
    scored = []
    for sem in candidates(expected, channels):
        c = err(sem)
        if c is not None:
            scored.append((c.max_abs, sem, c.ok))
    scored.sort(key=lambda t: t[0])
    seen, matches, best = set(), [], None
    for _, base, _ in scored[:6]:
        for sem in refinements(base, expected):
            k = _key(sem)
            if k in seen:
                continue
            seen.add(k)
            c = err(sem)
            if c is None:
                continue
            if best is None or c.max_abs < best[0]:
                best = (c.max_abs, sem)
            if c.ok:
                matches.append((c.max_abs, sem))
    # A numerical variant (epsilon value or placement, variance estimator) of the
    # expected structure only explains an output it fits clearly better than
    # the expected semantics does; otherwise it is fitting rounding noise.
    c_expected = compare(y, ref, dtype, achievable=achievable) if ref is not None else None
    if c_expected is not None:
        def structural(sem):
            return (set(sem.stat_axes), sem.groups, sem.center) != (set(expected.stat_axes), expected.groups,
                                                                     expected.center)
        matches = [(e, sem) for e, sem in matches if structural(sem) or e <= c_expected.max_abs / 4]
    affine_ignored = False
    if not matches and gamma is not None:
        c = err(expected, with_affine=False)
        if c is not None and c.ok:
            matches.append((c.max_abs, expected))
            affine_ignored = True
    matches.sort(key=lambda t: (t[0], _key(t[1]) != _key(expected)))
    out = {"matches": [{"semantics": _sem_dict(s), "max_abs": float(e), "describe": s.describe()}
                       for e, s in matches[:max_matches]],
           "n_matches": len(matches)}
    if affine_ignored:
        out["explanation"] = "the output is the expected normalization without the affine transform (gamma/beta ignored)"
    elif matches:
        primary = _simplest(matches, expected)
        out["best"] = _sem_dict(primary)
        expl = difference(primary, expected)
        if len(matches) > 1:
            others = {difference(s, expected) for _, s in matches} - {expl}
            if others:
                expl += f" (also consistent: {'; or '.join(sorted(others)[:3])})"
        out["explanation"] = expl
    else:
        b_err, b_sem = best if best else (float("inf"), expected)
        if c_expected is not None and c_expected.max_abs <= 2 * b_err:
            # nothing fits clearly better than the expected formula: call it numerical
            b_err, b_sem = c_expected.max_abs, expected
        out["closest"] = _sem_dict(b_sem)
        out["closest_max_abs"] = float(b_err)
        lower = _lower_precision(x, y, ref, expected, dtype, gamma, beta) if ref is not None else None
        if _key(b_sem) == _key(expected) and lower:
            out["computed_in"] = lower
            out["explanation"] = (f"the expected semantics at {lower} precision (max abs {b_err:.3g}): the "
                                  f"{dtype} result was computed in {lower}")
        elif _key(b_sem) == _key(expected):
            ratio = f"{b_err / achievable:.3g}x" if achievable > 0 else "far above"
            numerical = (f"max abs {b_err:.3g}, {ratio} the {achievable:.3g} a stable {dtype} implementation "
                         f"reaches")
            probe = variance_probe(x, y, ref, expected, dtype, gamma, beta)
            if probe:
                out["variance_probe"] = probe
            if probe and probe["one_pass_like"]:
                out["explanation"] = (
                    f"one-pass variance E[x²]−E[x]² accumulated in {probe['accumulation']}: the error "
                    f"({numerical}) matches an emulated one-pass variance (max abs {probe['one_pass_max_abs']:.3g}), "
                    f"while a two-pass variance stays at {probe['two_pass_max_abs']:.3g}; the formula is the "
                    f"expected one")
            elif probe and probe.get("low_accumulation_like"):
                out["explanation"] = (
                    f"statistics accumulated in {dtype} rather than float32: the error ({numerical}) matches a "
                    f"two-pass implementation that accumulates in {dtype} (emulated max abs "
                    f"{probe['low_accumulation_max_abs']:.3g}); the formula is the expected one")
            else:
                out["explanation"] = (f"no member of the family reproduces the output; the closest is the expected "
                                      f"semantics itself ({numerical}): a numerical difference, not a different "
                                      f"formula")
                if probe:
                    out["explanation"] += ("; its size does not match a one-pass variance either (emulated max abs "
                                           f"{probe['one_pass_max_abs']:.3g}): the cause is not identified")
        else:
            out["explanation"] = (f"no member of the family reproduces the output; closest: "
                                  f"{difference(b_sem, expected)} (max abs {b_err:.3g})")
    return out


def _collapsed(x, y64, ref, expected, dtype, gamma, beta, achievable) -> str | None:
    """Every normalized value 0 (the output is beta, or 0) where the reference is not:
    typically a variance that overflowed to inf."""
    if ref is None:
        return None
    base = apply_affine(np.zeros_like(ref), expected, gamma, beta)
    allowed = FACTOR * achievable + FLOOR[dtype]
    if np.max(np.abs(y64 - base)) > allowed or np.max(np.abs(ref - base)) <= 8 * allowed:
        return None
    text = "every normalized value is 0 (the output is " + ("beta" if beta is not None else "0") + ")"
    mx = float(np.max(np.abs(np.asarray(x, np.float64))))
    if mx * mx > float(np.finfo(np_dtype(dtype)).max):
        text += (f": x² overflows {dtype} (max |x| = {mx:.3g}), so a variance accumulated in {dtype} is inf; "
                 f"accumulated in {accumulation_dtype(dtype)} it is finite")
    return text


def _explain_nonfinite(x, y64, ref, expected, dtype, gamma, beta, text, achievable) -> dict:
    """An output with NaN/inf where the reference is finite: say so first, then what is known of why."""
    parts = [text]
    big = squares_overflow(x, dtype)
    if big is not None:
        parts.append(f"x² overflows {accumulation_dtype(dtype)} here (max |x| = {big:.3g}); a careful "
                     f"implementation that scales before squaring still returns finite values (error "
                     f"{achievable:.3g})")
    elif expected.center and np.isnan(y64).any():
        raw = one_pass(x, expected, dtype, gamma, beta, clip=False)
        got, emu = np.isnan(y64), np.isnan(raw)
        if emu.any() and (got & emu).sum() >= 0.5 * (got | emu).sum():
            parts.append(f"the NaNs sit where a one-pass variance E[x²]−E[x]² in {accumulation_dtype(dtype)} "
                         f"turns negative (not clipped at 0; emulated: {int(emu.sum())} NaN outputs)")
        else:
            parts.append("no member of the family produces NaN on this input")
    fin = np.isfinite(y64) & np.isfinite(ref)
    if fin.any():
        d = float(np.max(np.abs(y64[fin] - ref[fin])))
        parts.append(f"the finite outputs differ from the reference by at most {d:.3g}")
    return {"matches": [], "n_matches": 0, "nonfinite": text, "explanation": "; ".join(parts)}


_LOWER = {"float64": ("float32",), "float32": ("float16", "bfloat16")}


def variance_probe(x, y, ref, expected: Semantics, dtype: str, gamma=None, beta=None):
    """For a centred op: how large the error of a one-pass and of a two-pass
    variance would be (statistics in the accumulation dtype: float32 for half
    precision), and whether the observed error looks like the one-pass kind
    (within a factor of 10 of the emulated one-pass error, which itself is over
    4x the two-pass one). ``ref`` is the expected output."""
    if not expected.center:
        return None
    with np.errstate(all="ignore"):
        observed = float(np.nanmax(np.abs(np.asarray(y, np.float64) - ref)))
        one = float(np.nanmax(np.abs(one_pass(x, expected, dtype, gamma, beta) - ref)))
        two = float(np.nanmax(np.abs(stable(x, expected, dtype, gamma, beta) - ref)))
    like = one > 4 * two and one / 10 <= observed <= 10 * one and observed > 2 * two
    out = {"observed_max_abs": observed, "one_pass_max_abs": one, "two_pass_max_abs": two, "one_pass_like": like,
           "accumulation": accumulation_dtype(dtype)}
    if accumulation_dtype(dtype) != dtype:  # half precision: statistics kept in the dtype itself?
        with np.errstate(all="ignore"):
            low = float(np.nanmax(np.abs(stable(x, expected, dtype, gamma, beta, accumulate=dtype) - ref)))
        out["low_accumulation_max_abs"] = low
        out["low_accumulation_like"] = bool(low > 4 * two and low / 4 <= observed <= 4 * low)
    return out


def _lower_precision(x, y, ref, expected, dtype, gamma, beta):
    """The lower precision an output was evidently computed in: every value is
    exactly representable in it and its error against the expected output
    ``ref`` is what that precision achieves."""
    y64 = np.asarray(y, np.float64)
    for lower in _LOWER.get(dtype, ()):
        with np.errstate(all="ignore"):
            representable = np.array_equal(y64.astype(np_dtype(lower)).astype(np.float64), y64, equal_nan=True)
        if not representable:
            continue
        ach = achievable_error(np.asarray(x, np.float64).astype(np_dtype(lower)), ref, expected, lower, gamma, beta)
        if compare(y, ref, lower, achievable=ach).ok:
            return lower
    return None


def _simplest(matches, expected):
    """Among matches, the one closest to the expected semantics (fewest differences), then the most exact."""
    def n_diff(s):
        return sum([set(s.stat_axes) != set(expected.stat_axes), s.groups != expected.groups,
                    s.center != expected.center, s.eps != expected.eps, s.eps_outside != expected.eps_outside,
                    s.ddof != expected.ddof])
    return min(matches, key=lambda t: (n_diff(t[1]), t[0]))[1]


def _sem_dict(sem: Semantics) -> dict:
    d = asdict(sem)
    d["stat_axes"] = "".join(Layout(sem.layout).ordered(sem.stat_axes))
    d["affine_axes"] = "".join(Layout(sem.layout).ordered(sem.affine_axes))
    return d
