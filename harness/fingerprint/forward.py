"""Fingerprinting: which member of the family of candidate semantics
(:mod:`harness.fingerprint.family`) reproduces an output that disagrees with the
expected semantics, in words.

Given an input and such an output, :func:`fingerprint` searches the family for
the members that reproduce the output as closely as the verdict rule asks and
states the difference ("normalized over {T,F}; the case expects {F}"). When
none does, it emulates how implementations compute (the family's
:func:`~harness.fingerprint.family.mechanisms`: a one-pass variance, a first
stage in float32, half-precision statistics stored or accumulated in the
dtype, group statistics tiled over the channels) on the expected member and on
the closest others, and names the one whose emulation reproduces the output.
When none does either, it says what is known of the numerical cause: NaN or
infinite outputs, a variance that overflowed, an error of the size of a
one-pass variance or of half-precision statistics, or a result computed at a
lower precision.
"""
from __future__ import annotations

from dataclasses import asdict

import numpy as np

from harness.numerics.achievable import (
    UNIT_ROUNDOFF,
    accumulation_dtype,
    achievable_error,
    emulate,
    one_pass,
    squares_overflow,
    stable,
)
from harness.numerics.reference import apply_affine, normalize
from harness.numerics.verdict import FACTOR, FLOOR, compare, nonfinite_text
from harness.ops.definition import Formula
from harness.ops.dtypes import np_dtype
from harness.ops.layouts import Layout
from harness.ops.semantics import Semantics

from .conventions import fingerprint_formula
from .family import (
    Mechanism,
    candidates,
    difference,
    mechanisms,
    refinements,
    variant_words,
)


def _key(sem: Semantics):
    lay = Layout(sem.layout)
    return (lay.ordered(sem.stat_axes), sem.groups, sem.center, sem.eps, sem.eps_outside, sem.ddof)


def fingerprint(x, y, expected: Semantics, dtype: str, gamma=None, beta=None, *, achievable=None,
                max_matches=8) -> dict:
    """Members of the family that reproduce ``y`` from ``x`` as closely as the
    verdict rule asks of the expected semantics (``achievable`` is the expected
    semantics' achievable error on this input; computed when not given).
    Returns a JSON-ready dict with an ``explanation`` in words. A member whose
    own output is NaN or infinite never explains anything. An op with its own definition
    (a :class:`Formula`) is searched among its conventions (:mod:`.conventions`)."""
    if isinstance(expected, Formula):
        return fingerprint_formula(x, y, expected, dtype, achievable=achievable, max_matches=max_matches)
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
        ratio = f"{b_err / achievable:.3g}x" if achievable > 0 else "far above"
        numerical = f"max abs {b_err:.3g}, {ratio} the {achievable:.3g} a stable {dtype} implementation reaches"
        # the closest other structures, with the expected epsilon and variance estimator: a mechanism is
        # tried on the structure, not on a numerical variant fitted to its rounding
        others = []
        for sem in [b_sem] + [s for _, s, _ in scored]:
            sem = sem.with_(eps=expected.eps, eps_outside=expected.eps_outside, ddof=expected.ddof)
            if _structure(sem) != _structure(expected) and sem not in others:
                others.append(sem)
        found = None
        if not (_key(b_sem) == _key(expected) and lower) and ref is not None:
            found = _mechanism_search(x, y64, ref, expected, dtype, gamma, beta, achievable, others[:3])
        if _key(b_sem) == _key(expected) and lower:
            out["computed_in"] = lower
            out["explanation"] = (f"the expected semantics at {lower} precision (max abs {b_err:.3g}): the "
                                  f"{dtype} result was computed in {lower}")
        elif found:
            out.update(found["details"])
            if found["tiled"] and found["mechanism"] == "exact":
                out["matches"] = [{"semantics": out["best"], "max_abs": found["details"]["mechanism_max_abs"],
                                   "describe": found["sem"].describe() + ", " + _TILED_SHORT}]
                out["n_matches"] = 1
            if found["sem"] is expected and not found["tiled"]:
                e = c_expected.max_abs
                against = f"max abs {e:.3g}, " + (f"{e / achievable:.3g}x" if achievable > 0 else "far above") + \
                          f" the {achievable:.3g} a stable {dtype} implementation reaches"
                out["explanation"] = (f"{found['words']}, while the error against the reference is {against}; "
                                      f"the formula is the expected one")
            else:
                out["explanation"] = found["words"]
        elif _key(b_sem) == _key(expected):
            probe = variance_probe(x, y, ref, expected, dtype, gamma, beta)
            if probe:
                out["variance_probe"] = probe
            if probe and probe["one_pass_like"]:
                out["explanation"] = (
                    f"one-pass variance E[x²]−E[x]² accumulated in {probe['accumulation']}: the error "
                    f"({numerical}) matches an emulated one-pass variance (max abs {probe['one_pass_max_abs']:.3g}), "
                    f"while a two-pass variance stays at {probe['two_pass_max_abs']:.3g}; the formula is the "
                    f"expected one")
            elif probe and probe.get("first_stage_one_pass_like"):
                out["explanation"] = (
                    f"first stage computed in float32 (as ONNX's stash_type=1 specifies) with a one-pass variance "
                    f"E[x²]−E[x]²: the error ({numerical}) is the size of an emulated one (max abs "
                    f"{probe['first_stage_one_pass_max_abs']:.3g}), while a float32 first stage with a two-pass "
                    f"variance stays at {probe['first_stage_two_pass_max_abs']:.3g}; the formula is the expected one")
            elif probe and probe.get("half_statistics_like"):
                sizes = " and of ".join(
                    f"{what} (emulated max abs {probe[key]:.3g})" for key, what in (
                        ("accumulated_max_abs", f"statistics accumulated in {dtype}"),
                        ("stored_max_abs", f"float32 statistics stored in {dtype}")) if key in probe["half_like"])
                out["explanation"] = (
                    f"statistics of the {dtype} input less exact than float32 accumulation gives: the error "
                    f"({numerical}) is the size of {sizes}, but no emulation reproduces the output; the formula is "
                    f"the expected one")
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


_TILED_SHORT = "channel c takes the statistics of group c mod G"


def _structure(sem: Semantics):
    return set(sem.stat_axes), sem.groups, sem.center


def _fit(y64, emu, dtype: str, achievable: float):
    """The Comparison of ``y64`` with an emulated output under the verdict rule in ``dtype``, the
    achievable error at least one rounding of the emulation's largest value (an emulation of a
    member whose output is large is exact only to its own rounding); None when the emulation is not
    finite where the output is."""
    with np.errstate(all="ignore"):
        fin = np.isfinite(y64)
        if not np.all(np.isfinite(emu[fin])):
            return None
        top = float(np.max(np.abs(emu[fin]))) if fin.any() else 0.0
    return compare(y64, emu, dtype, achievable=max(achievable, UNIT_ROUNDOFF[dtype] * top))


def _tiled_words(sem: Semantics, channels: int) -> str:
    g = sem.groups
    return (f"channel c normalized with the statistics of group c mod {g} (the {g} group statistics tiled over "
            f"the {channels} channels instead of each repeated over its own {channels // g}); the statistics "
            f"themselves are over {_axes_text(sem)} per group as the case expects")


def _axes_text(sem: Semantics) -> str:
    return "{" + ",".join(Layout(sem.layout).ordered(sem.stat_axes)) + "}"


def _mechanism_search(x, y64, ref, expected: Semantics, dtype: str, gamma, beta, achievable, others) -> dict | None:
    """The first structure, in order (the expected one; its group statistics tiled over the channels;
    ``others``, the closest other members), that an emulated mechanism of
    :func:`~harness.fingerprint.family.mechanisms` reproduces, with its words and details; None when
    none does. On the expected structure a one-pass variance is left to :func:`variance_probe` (its
    words stay those of the size test)."""
    lay = Layout(expected.layout)
    channels = np.shape(x)[lay.index(lay.channel)]
    with np.errstate(all="ignore"):
        observed = float(np.nanmax(np.abs(y64 - ref)))
    tolerances = {dtype: achievable}
    if dtype == "float64":
        with np.errstate(all="ignore"):
            tolerances["float32"] = achievable_error(np.asarray(x, np.float64).astype(np.float32), ref, expected,
                                                     "float32", gamma, beta)
    structures = [(expected, False)]
    if expected.groups and 1 < expected.groups < channels:
        structures.append((expected, True))
    for s in others:  # members that only name the expected rows differently add nothing
        with np.errstate(all="ignore"):
            if not np.allclose(normalize(x, s, gamma, beta), ref, rtol=1e-12, atol=0.0, equal_nan=True):
                structures.append((s, False))
    for sem, tiled in structures:
        mechs = mechanisms(dtype, sem.center)
        if sem is expected and not tiled:
            mechs = [m for m in mechs if m.kind != "variance"]
        if tiled:
            exact = Mechanism("exact", "", ({"stats": "float64", "normalize_in": "float64", "affine_in": "float64"},))
            mechs = [exact] + mechs
        fits = []
        for mech in mechs:
            tol_dtype = mech.precision or dtype
            best = None
            for kw in mech.variants:
                emu = emulate(x, sem, dtype, gamma, beta, tiled_groups=tiled, **kw)
                c = _fit(y64, emu, tol_dtype, tolerances[tol_dtype])
                if c is None or not c.ok or (best is not None and c.max_abs >= best[1]):
                    continue
                with np.errstate(all="ignore"):
                    own = float(np.nanmax(np.abs(emu - ref)))
                if observed >= own / 4:  # the output is as far off as the mechanism makes it, not closer
                    best = (kw, c.max_abs)
            if best:
                fits.append((mech, *best))
        if not fits:
            continue
        mech, kw, dist = _choose(fits, observed)
        words = _words(mech, kw, dtype, fits)
        if tiled:
            words = _tiled_words(sem, channels) + (f"; {words}" if words else "")
        elif sem is not expected:
            words = f"{difference(sem, expected)}; {words}"
        best_dict = _sem_dict(sem)
        if tiled:
            best_dict["tiled_groups"] = True
        if dist <= observed / 4:
            words += f": an emulation reproduces the output (max abs {dist:.3g} from it)"
        else:
            words += (f": an emulation matches the output to {mech.precision or dtype} rounding (max abs "
                      f"{dist:.3g} from it)")
        return {"sem": sem, "tiled": tiled, "mechanism": mech.name, "words": words, "distance": float(dist),
                "details": {"best": best_dict, "mechanism": mech.name, "mechanism_max_abs": float(dist)}}
    return None


def _choose(fits, observed: float):
    """The fit to name, in the family's order (exact, then a one-pass variance, a float32 first stage
    before its one-pass form, stored half-precision statistics before accumulated ones): where no fit
    reproduces the output (comes within a quarter of its error, ``observed``), the first; else the
    first that reproduces it and is within twice the distance of the closest. A more specific form is
    named only where it reproduces the output and the more general one does not."""
    closest = min(d for _, _, d in fits)
    if closest > observed / 4:
        return fits[0]
    return next(f for f in fits if f[2] <= max(2 * closest, observed / 4))


def _words(mech: Mechanism, kw: dict, dtype: str, fits) -> str:
    """The words of the chosen fit; half-precision statistics that both accumulated and stored forms
    reproduce are named as such, without claiming one."""
    names = {m.name for m, _, _ in fits}
    if mech.kind == "half" and "accumulated" in names and names & {"stored", "stored-one-pass"}:
        return (f"statistics kept in {dtype} (accumulated in {dtype}, or accumulated in float32 and stored in "
                f"{dtype}: emulations of both fit)")
    if not mech.words:
        return ""
    extra = variant_words(mech, dtype, kw)
    return mech.words + (f" ({extra})" if extra else "")


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
    4x the two-pass one). For half precision also the errors of statistics
    accumulated in the dtype and of float32 statistics stored in it, and whether
    the observed error is the size of either (within a factor of 4, itself over 4x
    the two-pass one); for float64 the error of a first stage (statistics and
    normalization) in float32 with a one-pass and with a two-pass variance, and
    whether the observed error is the one-pass kind (as for the one-pass test).
    ``ref`` is the expected output."""
    if not expected.center:
        return None
    with np.errstate(all="ignore"):
        observed = float(np.nanmax(np.abs(np.asarray(y, np.float64) - ref)))
        one = float(np.nanmax(np.abs(one_pass(x, expected, dtype, gamma, beta) - ref)))
        two = float(np.nanmax(np.abs(stable(x, expected, dtype, gamma, beta) - ref)))
    like = one > 4 * two and one / 10 <= observed <= 10 * one and observed > 2 * two
    out = {"observed_max_abs": observed, "one_pass_max_abs": one, "two_pass_max_abs": two, "one_pass_like": like,
           "accumulation": accumulation_dtype(dtype)}
    if accumulation_dtype(dtype) != dtype:  # half precision: statistics accumulated or stored in the dtype?
        like = []
        for key, variants in (("accumulated_max_abs", [{"stats": dtype, "summation": s}
                                                       for s in ("pairwise", "sequential")]),
                              ("stored_max_abs", [{"store": dtype, "normalize_in": dtype, "about_stored_mean": a}
                                                  for a in (False, True)])):
            with np.errstate(all="ignore"):
                errs = [float(np.nanmax(np.abs(emulate(x, expected, dtype, gamma, beta, **kw) - ref)))
                        for kw in variants]
            near = [e for e in errs if e > 4 * two and e / 4 <= observed <= 4 * e]
            out[key] = near[0] if near else max(errs)
            if near:
                like.append(key)
        out["half_like"] = like
        out["half_statistics_like"] = bool(like)
    if dtype == "float64":  # a first stage in float32, as ONNX's stash_type=1 computes it?
        with np.errstate(all="ignore"):
            one32, two32 = (float(np.nanmax(np.abs(emulate(
                x, expected, dtype, gamma, beta, stats="float32", variance=v, normalize_in="float32",
                affine_in="float64", invert=False) - ref))) for v in ("one-pass", "two-pass"))
        out["first_stage_one_pass_max_abs"] = one32
        out["first_stage_two_pass_max_abs"] = two32
        out["first_stage_one_pass_like"] = bool(one32 > 4 * two32 and one32 / 10 <= observed <= 10 * one32
                                                and observed > 2 * two32)
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
