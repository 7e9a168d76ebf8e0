"""The inference fingerprint names the member of the family an output fits (epsilon outside the square
root, epsilon rounded to float32, statistics held in float32, the batch's own statistics), or says the
cause is not identified."""
import numpy as np

from harness import ops
from harness.fingerprint.training import fingerprint_inference
from harness.numerics import running
from harness.numerics.verdict import compare


def _explain(y, x, sem, dtype, mean, var, gamma, beta):
    ref = running.inference(x, mean, var, sem, gamma, beta)
    ach = running.inference_achievable(x, mean, var, ref, sem, dtype, gamma, beta)
    cmp = compare(y, ref, dtype, achievable=ach)
    assert not cmp.ok
    return fingerprint_inference(x, y, sem, dtype, mean, var, gamma, beta, cmp)["explanation"]


def test_inference_fingerprints():
    g = np.random.default_rng(0)
    sem = ops.op_semantics("batch_norm", "NCHW", eps=1e-3)
    x = g.standard_normal((2, 3, 2, 2))
    mean, var = np.array([0.1, -0.2, 0.3]), np.array([1e-3, 2e-3, 5e-4])
    gamma, beta = np.array([1.5, 0.5, 1.0]), np.array([0.0, 1.0, -1.0])
    m, v = mean.reshape(1, 3, 1, 1), var.reshape(1, 3, 1, 1)
    gb, bb = gamma.reshape(1, 3, 1, 1), beta.reshape(1, 3, 1, 1)
    outside = (x - m) / (np.sqrt(v) + 1e-3) * gb + bb
    assert "epsilon added outside the square root" in _explain(outside, x, sem, "float64", mean, var, gamma, beta)
    batch = running.inference(x, x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3)), sem, gamma, beta)
    assert "batch's own statistics" in _explain(batch, x, sem, "float64", mean, var, gamma, beta)
    sem64 = sem.with_(eps=1e-5)
    mean2, var2 = g.standard_normal(3), g.uniform(0.5, 2, 3)
    held = running.inference(x, mean2.astype(np.float32), var2.astype(np.float32), sem64, gamma, beta)
    assert "held in float32" in _explain(held, x, sem64, "float64", mean2, var2, gamma, beta)
    eps32 = running.inference(x, mean2, var2, sem64.with_(eps=float(np.float32(1e-5))), gamma, beta)
    assert "epsilon rounded to float32" in _explain(eps32, x, sem64, "float64", mean2, var2, gamma, beta)
    noise = running.inference(x, mean2, var2, sem64, gamma, beta) + 1e-3 * g.standard_normal(x.shape)
    assert "not identified" in _explain(noise, x, sem64, "float64", mean2, var2, gamma, beta)
