"""Fingerprints of backward and running-statistics cells: which member of the
family reproduces what a framework returned, in words.

Backward: the gradients of every structural candidate of the forward family
(statistics over other axes or groups, centred or RMS) and of its numerical
variants (another epsilon, epsilon outside the square root, an unbiased
variance), and the gradient with the statistics treated as constants. Running
statistics: the update rules of :class:`harness.numerics.running.Update` (an unbiased
running variance, momentum as the weight of the old value, both). A candidate
explains a cell when every named output agrees with the candidate's reference
under the verdict rule (the candidate's own achievable error for running
statistics, the expected semantics' for gradients, as the forward fingerprint
does).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from harness.numerics import running
from harness.numerics.achievable_backward import achievable_grad_errors
from harness.numerics.backward import affine_broadcast, grads, row_stats
from harness.numerics.reference import normalize, rows
from harness.numerics.verdict import compare
from harness.ops.layouts import Layout
from harness.ops.semantics import Semantics

from .family import candidates, difference, float32_epsilons, refinements


def _all_ok(actual: dict, refs: dict, dtype: str, achievable: dict) -> bool:
    for k, ref in refs.items():
        a = actual.get(k)
        if a is None or not compare(a, ref, dtype, achievable=achievable.get(k, 0.0)).ok:
            return False
    return True


def _off_words(comparisons: dict) -> str:
    bad = [k for k, c in comparisons.items() if not c.ok]
    good = [k for k, c in comparisons.items() if c.ok]
    text = ", ".join(f"{k} (error {comparisons[k].max_abs:.3g}, allowed {comparisons[k].allowed:.3g})" for k in bad)
    return f"{text} differ{'s' if len(bad) == 1 else ''}" + (f"; {', '.join(good)} agree{'s' if len(good) == 1 else ''}" if good else "")


def _constant_stats_grads(x, sem: Semantics, dy, gamma=None, beta=None) -> dict:
    """Gradients with mean and variance treated as constants: dx = dy * gamma / s."""
    out = grads(x, sem, dy, gamma, beta)
    x64 = np.asarray(x, np.float64)
    _, _, s, _, back = row_stats(x64, sem)
    g = np.asarray(dy, np.float64)
    if gamma is not None:
        g = g * affine_broadcast(gamma, sem, x64.shape)
    gf, _ = rows(g, sem)
    out["dx"] = back(gf / s)
    return out


LOWER = "computed in float32 although the case is float64: every output is within what stable float32 " \
        "implementations reach"


def fingerprint_backward(x, actual: dict, expected: Semantics, dtype: str, dy, gamma, beta, achievable: dict,
                         comparisons: dict, refs: dict, max_matches=6) -> dict:
    """Members of the family whose gradients reproduce ``actual`` (names -> arrays)."""
    if dtype == "float64" and _all_ok(actual, refs, dtype,
                                      achievable_grad_errors(x, refs, expected, "float32", dy, gamma, beta)):
        return {"matches": [], "explanation": f"gradients {LOWER} ({_off_words(comparisons)})"}
    lay = Layout(expected.layout)
    channels = np.shape(x)[lay.index(lay.channel)]
    found: list[tuple[str, Semantics | None]] = []
    seen = set()

    def consider(sem: Semantics | None, words: str, refs: dict):
        if words in seen or len(found) >= max_matches:
            return
        seen.add(words)
        with np.errstate(all="ignore"):
            if all(np.all(np.isfinite(r)) for r in refs.values()) and _all_ok(actual, refs, dtype, achievable):
                found.append((words, sem))

    for sem in refinements(expected, expected):
        if sem != expected:
            consider(sem, "gradient of " + difference(sem, expected), grads(x, sem, dy, gamma, beta))
    consider(None, "gradient with the mean and variance treated as constants (no gradient through the statistics)",
             _constant_stats_grads(x, expected, dy, gamma, beta))
    for sem in candidates(expected, channels):
        if sem.with_(bias=expected.bias) == expected:
            continue
        try:
            refs = grads(x, sem, dy, gamma, beta)
        except ValueError:
            continue
        consider(sem, "gradient of " + difference(sem, expected), refs)
    off = _off_words(comparisons)
    if found:
        expl = "; or ".join(w for w, _ in found[:3]) + f" ({off})"
    else:
        expl = f"no member of the family reproduces these gradients ({off})"
    return {"matches": [{"explanation": w} for w, _ in found], "explanation": expl}


def update_words(found: running.Update, expected: running.Update, n: int, per: str = "channel") -> str:
    parts = []
    if found.ddof != expected.ddof:
        parts.append(f"running variance updated with the unbiased (n/(n-1), n={n} values per {per}) batch "
                     "variance while the batch is normalized with the biased one" if found.ddof == 1 else
                     "running variance updated with the biased batch variance")
    if expected.cumulative and not found.cumulative:
        parts.append("the running statistics are never updated (momentum None taken as 0: they keep their "
                     "initial mean 0 and variance 1)" if found.momentum == 0 else
                     f"an exponential average with momentum {found.momentum:g} instead of the cumulative one")
        return "; ".join(parts)
    if found.old_weight != expected.old_weight:
        m = expected.momentum
        parts.append(f"momentum {m:g} applied as the weight of the old value "
                     f"(new = {m:g}*old + {1 - m:g}*batch; the case means new = {1 - m:g}*old + {m:g}*batch)")
    return "; ".join(parts)


def fingerprint_running_stats(x, actual: dict, sem: Semantics, dtype: str, expected: running.Update, batches,
                              gamma, beta, comparisons: dict, refs: dict) -> dict:
    """Update rules that reproduce the running statistics and inference output ``actual``."""
    n = running.values_per_channel(batches, sem)
    per = "instance" if running.per_instance(sem) else "channel"
    matches, seen = [], {(sem.eps, expected.ddof, expected.new_weight)}
    # a momentum held in float32: the weight of the new batch rounded (tf.keras's decay), or the
    # weight of the old value rounded and the new one taken as 1 minus it (Flax's momentum)
    moms = [expected.momentum]
    if expected.cumulative:  # an API that takes None for something else: no update, or its default momentum
        moms += [0.0, 0.1]
    elif dtype == "float64":
        for v in (float(np.float32(expected.momentum)), 1.0 - float(np.float32(1.0 - expected.momentum))):
            if v not in moms:
                moms.append(v)
    # and an epsilon held in float32 (an ONNX FLOAT attribute, like its momentum)
    sems = [sem] + ([replace(sem, eps=e) for e in float32_epsilons(sem)] if dtype == "float64" else [])
    for csem in sems:
        for mom in moms:
            for ddof in (0, 1):
                for old in (False, True):
                    if old and (mom is None or expected.cumulative):
                        continue  # the cumulative average has no old-value convention
                    cand = running.Update(mom, ddof, old)
                    if (csem.eps, cand.ddof, cand.new_weight) in seen:
                        continue  # momentum 0.5 weighs old and new alike
                    seen.add((csem.eps, cand.ddof, cand.new_weight))
                    cref = running.reference(x, batches, csem, cand, gamma, beta)
                    ach = running.achievable_errors(x, batches, cref, csem, dtype, cand, gamma, beta)
                    if _all_ok(actual, cref, dtype, ach):
                        words = [update_words(cand, expected if expected.cumulative else
                                              running.Update(mom, expected.ddof, expected.old_weight), n, per)]
                        if mom != expected.momentum and not expected.cumulative:
                            words.insert(0, f"momentum weight rounded to float32 ({mom!r} instead of "
                                            f"{expected.momentum!r})")
                        if csem.eps != sem.eps:
                            words.append(f"epsilon rounded to float32 ({csem.eps!r} instead of {sem.eps!r})")
                        matches.append({"ddof": ddof, "momentum_weights_old": old, "momentum": mom,
                                        "eps": csem.eps, "explanation": "; ".join(w for w in words if w)})
    if not matches and dtype == "float64" and _all_ok(actual, refs, dtype, running.achievable_errors(
            x, batches, refs, sem, "float32", expected, gamma, beta)):
        held = sorted({str(np.asarray(v).dtype) for k, v in actual.items() if k != "y"} - {dtype})
        where = f"; the running statistics are held in {', '.join(held)}" if held else ""
        return {"matches": [], "explanation": f"running statistics and output {LOWER}{where} "
                                              f"({_off_words(comparisons)})"}
    off = _off_words(comparisons)
    if matches:
        expl = "; or ".join(m["explanation"] for m in matches) + f" ({off})"
    else:
        expl = f"no running-statistics update rule of the family reproduces these outputs ({off})"
    return {"matches": matches, "explanation": expl}


#: epsilons a framework may use instead of the case's (documented defaults of the APIs normconf calls)
OTHER_EPSILONS = (1e-3, 1e-5, 1e-6, 1e-12, 0.0)


def _inference_candidates(x, sem: Semantics, dtype: str, mean, var, gamma, beta):
    """(words, float64 output) of the members of the inference family other than the case's."""
    m64, v64 = np.asarray(mean, np.float64), np.asarray(var, np.float64)
    x64 = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        mb = affine_broadcast(m64, sem, x64.shape)
        vb = affine_broadcast(v64, sem, x64.shape)
        g = affine_broadcast(gamma, sem, x64.shape) if gamma is not None else 1.0
        b = affine_broadcast(beta, sem, x64.shape) if beta is not None and sem.bias else 0.0
        yield "epsilon added outside the square root ((x - mean) / (sqrt(var) + eps))", \
            (x64 - mb) / (np.sqrt(vb) + sem.eps) * g + b
        yield "the variance used as the standard deviation ((x - mean) / (var + eps))", (x64 - mb) / (vb + sem.eps) * g + b
    for e in OTHER_EPSILONS + tuple(float32_epsilons(sem) if dtype == "float64" else ()):
        if e != sem.eps:
            words = "epsilon ignored (0)" if e == 0 else \
                f"epsilon rounded to float32 ({e!r} instead of {sem.eps!r})" if e == float(np.float32(sem.eps)) \
                else f"epsilon {e:g} instead of {sem.eps:g}"
            yield words, running.inference(x, m64, v64, replace(sem, eps=e), gamma, beta)
    if dtype == "float64":
        yield "the running statistics held in float32 (the given float64 mean and variance rounded to float32)", \
            running.inference(x, m64.astype(np.float32), v64.astype(np.float32), sem, gamma, beta)
    if dtype in ("float16", "bfloat16"):
        for form in ("divide", "rsqrt", "fold"):
            words = {"divide": "computed in {d} (no float32 intermediate)",
                     "rsqrt": "1/sqrt(var + eps) and the products computed in {d} (rsqrt, then multiply)",
                     "fold": "folded to x * k + (beta - mean * k) with k = gamma / sqrt(var + eps) in {d}"}[form]
            yield words.format(d=dtype), running.inference_stable(x, m64, v64, sem, dtype, gamma, beta, form=form,
                                                                  acc=dtype)
    yield "normalized with the batch's own statistics, not the given running statistics", \
        normalize(x, running.channel_semantics(sem) if not running.per_instance(sem) else sem, gamma, beta)


def fingerprint_inference(x, y, sem: Semantics, dtype: str, mean, var, gamma, beta, comparison) -> dict:
    """Members of the inference family (epsilon placement or value, statistics held in float32, half
    precision forms, batch statistics used instead of the given ones) that reproduce ``y``."""
    off = f"error {comparison.max_abs:.3g}, allowed {comparison.allowed:.3g}"
    ref = running.inference(x, mean, var, sem, gamma, beta)
    found = []
    for words, cand in _inference_candidates(x, sem, dtype, mean, var, gamma, beta):
        with np.errstate(all="ignore"):
            if not np.all(np.isfinite(cand)):
                continue
        if compare(y, cand, dtype, achievable=comparison.achievable).ok:
            found.append(words)
    if not found and dtype == "float64" and compare(y, ref, dtype, achievable=running.inference_achievable(
            x, mean, var, ref, sem, "float32", gamma, beta)).ok:
        return {"matches": [], "explanation": f"output {LOWER} ({off})"}
    if found:
        return {"matches": [{"explanation": w} for w in found], "explanation": "; or ".join(found[:3]) + f" ({off})"}
    return {"matches": [], "explanation": f"no member of the inference family reproduces this output; the cause is "
                                          f"not identified ({off})"}
