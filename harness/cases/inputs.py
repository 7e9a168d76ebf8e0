"""Seeded, deterministic inputs.

Every array comes from numpy's PCG64 generator seeded with the case seed and a
fixed stream number, so a case's inputs are the same on every machine and can
be rebuilt from its result record alone. Values are drawn in float64 and then
rounded to the case dtype; the reference sees the rounded values.

Checks beyond the forward output draw more streams: ``check: backward`` an
upstream gradient ``dy`` (standard normal, stream 3), ``check: running_stats``
one training batch per step (the case's input distribution, streams 16, 17,
...), each the shape of x; ``check: inference`` the given running mean (stream 4)
and variance (stream 5), one value per channel, from ``statistics`` (a number for
every channel, a list, or a distribution drawn like x).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.ops.dtypes import np_dtype
from harness.ops.layouts import Layout
from harness.ops.semantics import param_shape

STREAM_X, STREAM_GAMMA, STREAM_BETA = 0, 1, 2
STREAM_DY = 3
#: check inference: the given running mean and variance
STREAM_MEAN, STREAM_VAR = 4, 5
#: the stream of training step k's batch is STREAM_BATCH + k
STREAM_BATCH = 16



def rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=(stream,))))


def round_to(a: np.ndarray, dtype: str) -> np.ndarray:
    """Round float64 values to ``dtype`` and return them in that dtype."""
    return np.asarray(a, dtype=np.float64).astype(np_dtype(dtype))


def draw(spec: dict, shape, gen: np.random.Generator) -> np.ndarray:
    dist = spec.get("distribution", "normal")
    if dist == "normal":
        return spec["mean"] + spec["std"] * gen.standard_normal(shape)
    if dist == "uniform":
        return gen.uniform(spec["low"], spec["high"], shape)
    if dist == "constant":
        return np.full(shape, float(spec["value"]))
    raise ValueError(f"unknown distribution {dist!r}")


@dataclass(frozen=True)
class Inputs:
    """Arrays in the case dtype: x, and gamma/beta (None when affine is none);
    ``dy`` (check backward) the upstream gradient, ``batches`` (check
    running_stats) the training batches in step order."""

    x: np.ndarray
    gamma: np.ndarray | None
    beta: np.ndarray | None
    dy: np.ndarray | None = None
    batches: tuple = ()
    running_mean: np.ndarray | None = None
    running_var: np.ndarray | None = None


def statistic(spec, channels: int, gen: np.random.Generator) -> np.ndarray:
    """One running statistic (float64, one value per channel) from its spec: a number, a list, or a
    distribution (``normal``: mean, std; ``uniform``: low, high)."""
    if isinstance(spec, dict):
        return np.asarray(draw(spec, (channels,), gen), np.float64)
    if isinstance(spec, (list, tuple)):
        return np.asarray(spec, np.float64)
    return np.full(channels, float(spec))


def make_inputs(case) -> Inputs:
    x = round_to(draw(case.input_spec, case.shape, rng(case.seed, STREAM_X)), case.dtype)
    extra = {}
    check = getattr(case, "check", "forward")
    if check == "backward":
        extra["dy"] = round_to(rng(case.seed, STREAM_DY).standard_normal(case.shape), case.dtype)
    elif check == "running_stats":
        extra["batches"] = tuple(
            round_to(draw(case.input_spec, case.shape, rng(case.seed, STREAM_BATCH + k)), case.dtype)
            for k in range(case.steps))
    elif check == "inference":
        spec = case.statistics_spec
        channels = case.size[Layout(case.layout).channel]
        extra["running_mean"] = round_to(statistic(spec["mean"], channels, rng(case.seed, STREAM_MEAN)), case.dtype)
        extra["running_var"] = round_to(statistic(spec["var"], channels, rng(case.seed, STREAM_VAR)), case.dtype)
    if case.affine == "none":
        return Inputs(x, None, None, **extra)
    pshape = param_shape(case.semantics, case.size)
    if case.affine == "ones":
        g, b = np.ones(pshape), np.zeros(pshape)
    else:
        g = 1.0 + 0.5 * rng(case.seed, STREAM_GAMMA).standard_normal(pshape)
        b = 0.5 * rng(case.seed, STREAM_BETA).standard_normal(pshape)
    if not case.spec.bias:
        b = None
    return Inputs(x, round_to(g, case.dtype), None if b is None else round_to(b, case.dtype), **extra)
