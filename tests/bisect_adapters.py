"""A test-only framework with a planted bug in some releases, and the adapter that calls it, to test
``normconf bisect``.

The framework is ``normconf-planted-fw`` (module ``normconf_planted_fw``), a LayerNorm in numpy, released
as tiny pure-Python wheels that :func:`write_series` builds: 1.0.0 ... 1.5.0 compute it right, 1.6.0 and
1.7.0 add epsilon outside the square root, 1.8.0 on divide the variance by m−1 (:data:`BUGS`). The
adapter ``planted-fw`` is registered the way a third-party adapter is
(``NORMCONF_ADAPTERS=tests.bisect_adapters:SPECS``); it imports the framework only in the worker, and
declares it (``requires``), so an environment without it is ``unsupported: not installed``.
"""
from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import numpy as np

from harness.adapters import AdapterSpec
from harness.adapters.base import Adapter, Output
from harness.ops.layouts import Layout

DIST = "normconf-planted-fw"
MODULE = "normconf_planted_fw"
VERSIONS = tuple(f"1.{i}.0" for i in range(10))
#: the first release of each planted bug (every release after it has it too, until the next)
BUGS = {"1.6.0": "eps-outside", "1.8.0": "unbiased"}

SOURCE = '''\
"""normconf-planted-fw {version}: a LayerNorm over the last axis, in numpy."""
import numpy as np

__version__ = {version!r}
BUG = {bug!r}


def layer_norm(x, gamma=None, beta=None, eps=1e-5):
    x = np.asarray(x)
    acc = np.float64 if x.dtype == np.float64 else np.float32
    a = x.astype(acc)
    m = a.shape[-1]
    d = a - a.mean(axis=-1, keepdims=True)
    var = (d * d).sum(axis=-1, keepdims=True) / acc(m - 1 if BUG == "unbiased" else m)
    den = np.sqrt(var) + acc(eps) if BUG == "eps-outside" else np.sqrt(var + acc(eps))
    y = d / den
    if gamma is not None:
        y = y * np.asarray(gamma, acc)
    if beta is not None:
        y = y + np.asarray(beta, acc)
    return y.astype(x.dtype)
'''


def bug_of(version: str) -> str:
    from packaging.version import Version

    bug = ""
    for first, b in sorted(BUGS.items(), key=lambda kv: Version(kv[0])):
        if Version(version) >= Version(first):
            bug = b
    return bug


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def write_wheel(directory: Path, version: str) -> Path:
    """A pure-Python wheel of the planted framework at ``version``."""
    info = f"{MODULE}-{version}.dist-info"
    files = {
        f"{MODULE}/__init__.py": SOURCE.format(version=version, bug=bug_of(version)).encode(),
        f"{info}/METADATA": (f"Metadata-Version: 2.1\nName: {DIST}\nVersion: {version}\n"
                             "Summary: a planted framework for normconf bisect's tests\nRequires-Dist: numpy\n").encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests.bisect_adapters\nRoot-Is-Purelib: true\n"
                         b"Tag: py3-none-any\n",
    }
    record = [_record_line(n, d) for n, d in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = Path(directory) / f"{MODULE}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in files.items():
            z.writestr(zipfile.ZipInfo(n, date_time=(2020, 1, 1, 0, 0, 0)), d)
    return path


def write_series(directory: Path, versions=VERSIONS, broken=()) -> Path:
    """Wheels of every release in ``versions`` in ``directory``; the releases in ``broken`` get a file
    that is not a wheel at all (a zip archive cut short), which no installer can install."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for v in versions:
        p = write_wheel(directory, v)
        if v in broken:
            p.write_bytes(p.read_bytes()[:40])
    return directory


class PlantedFw(Adapter):
    """``normconf_planted_fw.layer_norm`` on layer_norm cases over the last axis."""

    name = "planted-fw"
    ops = frozenset({"layer_norm"})
    dtypes = frozenset({"float32", "float64"})

    def versions(self):
        import normconf_planted_fw as fw  # the framework: only in the worker
        return {DIST: fw.__version__}

    def supports_case(self, case):
        last = Layout(case.layout).axes[-1]
        if case.axes not in (None, last) or case.affine_axes not in (None, last):
            return "normconf-planted-fw normalizes over the last axis only"
        return None

    def run(self, case, inputs):
        import normconf_planted_fw as fw  # the framework: only in the worker
        eps = case.epsilon if case.epsilon is not None else 1e-5
        y = fw.layer_norm(inputs.x, inputs.gamma, inputs.beta, eps)
        return Output(np.asarray(y), f"y = normconf_planted_fw.layer_norm(x, gamma, beta, eps={eps!r})")


SPECS = [AdapterSpec("planted-fw", "tests.bisect_adapters:PlantedFw", description="planted framework releases",
                     requires=(MODULE,), framework="planted-fw")]
