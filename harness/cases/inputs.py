"""Seeded, deterministic inputs.

Every array comes from numpy's PCG64 generator seeded with the case seed and a
fixed stream number, so a case's inputs are the same on every machine and can
be rebuilt from its result record alone. Values are drawn in float64 and then
rounded to the case dtype; the reference sees the rounded values.

Given affine values (``affine: {gamma: ..., beta: ...}``) are constants, lists, or draws from
gamma's stream (1) and beta's stream (2), as ``affine: random`` draws them.

Checks beyond the forward output draw more streams: ``check: backward`` an
upstream gradient ``dy`` (standard normal, stream 3), ``check: running_stats``
one training batch per step (the case's input distribution, streams 16, 17,
...), each the shape of x; ``check: inference`` the given running mean (stream 4)
and variance (stream 5), one value per channel, from ``statistics`` (a number for
every channel, a list, or a distribution drawn like x).

A case with a ``mask`` also gets ``mask``: a boolean array of the positions, x's shape without the
channel axis (``[B, T]`` for ``BTF``), True where a position counts for the statistics. A lengths
mask marks, in batch row b, the first ``lengths[b]`` positions along its axis (every other position
axis entirely); a random mask draws each position masked with its probability (stream 8: uniform
numbers in [0, 1), a position is masked where its number is below the probability).
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
STREAM_MASK = 8
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


def param_values(spec, shape, seed: int, stream: int, missing: float) -> np.ndarray:
    """Given gamma or beta values (:class:`harness.cases.model.ParamValues`) as a float64 array of
    ``shape``; ``missing`` everywhere when none are given. Distributions and magnitudes draw from the
    parameter's own stream; a list fills the shape in C order (the parameters' layout order)."""
    if spec is None:
        return np.full(shape, missing)
    if spec.kind == "constant":
        return np.full(shape, spec.args[0])
    if spec.kind == "list":
        return np.asarray(spec.args, dtype=np.float64).reshape(shape)
    gen = rng(seed, stream)
    if spec.kind == "normal":
        return spec.args[0] + spec.args[1] * gen.standard_normal(shape)
    if spec.kind == "uniform":
        return gen.uniform(spec.args[0], spec.args[1], shape)
    if spec.kind == "magnitude":  # |value| in [m, 2m), the sign of u
        u = gen.uniform(-1.0, 1.0, shape)
        return np.copysign(spec.args[0] * (1.0 + np.abs(u)), u)
    raise ValueError(f"unknown parameter values {spec.kind!r}")


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
    mask: np.ndarray | None = None  # the positions (x's shape without the channel axis), True where valid
    running_mean: np.ndarray | None = None
    running_var: np.ndarray | None = None


def position_mask(case) -> np.ndarray | None:
    """The case's mask over positions (x's shape without the channel axis), or None without a mask."""
    spec = dict(getattr(case, "mask", ()) or ())
    if not spec:
        return None
    lay = Layout(case.layout)
    axes = [a for a in lay.axes if a != lay.channel]
    shape = tuple(case.size[a] for a in axes)
    if "random" in spec:
        return rng(case.seed, STREAM_MASK).random(shape) >= float(spec["random"])
    b, t = axes.index(lay.batch), axes.index(spec["axis"])
    lengths = np.asarray(spec["lengths"], np.int64)
    pos = np.arange(shape[t])
    valid = pos[None, :] < lengths[:, None]  # [batch, axis]
    bshape = [1] * len(shape)
    bshape[b], bshape[t] = shape[b], shape[t]
    if b > t:
        valid = valid.T
    return np.broadcast_to(valid.reshape(bshape), shape).copy()


def full_mask(mask: np.ndarray | None, layout: str, shape) -> np.ndarray | None:
    """A position mask broadcast over the channel axis to x's ``shape`` (None stays None)."""
    if mask is None:
        return None
    lay = Layout(layout)
    return np.broadcast_to(np.expand_dims(np.asarray(mask, bool), lay.index(lay.channel)), tuple(shape))


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
    mask = position_mask(case)
    if mask is not None:
        extra["mask"] = mask
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
    elif case.affine == "random":
        g = 1.0 + 0.5 * rng(case.seed, STREAM_GAMMA).standard_normal(pshape)
        b = 0.5 * rng(case.seed, STREAM_BETA).standard_normal(pshape)
    else:  # given values
        g = param_values(case.affine.gamma, pshape, case.seed, STREAM_GAMMA, 1.0)
        b = param_values(case.affine.beta, pshape, case.seed, STREAM_BETA, 0.0)
    if not case.spec.bias:
        b = None
    return Inputs(x, round_to(g, case.dtype), None if b is None else round_to(b, case.dtype), **extra)
