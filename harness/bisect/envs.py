"""Candidate environments: one virtual environment per candidate, made with ``uv``, kept in a cache.

Each environment lives under the cache directory (``--cache-dir``, ``$NORMCONF_BISECT_CACHE``, else
``$XDG_CACHE_HOME/normconf/bisect`` or ``~/.cache/normconf/bisect``) in a folder named by the package,
the version and a hash of everything that decides what is installed (the interpreter, the
requirements, the sources, the mode; for a wheel from a directory its content), so a rerun with the
same request reuses it. A folder becomes an environment only when its marker file
(``normconf-env.json``: the request and ``uv pip freeze`` of the result) is written, last; an
incomplete one is removed and made again, and a lock file keeps two bisects from building one
folder at once. Nothing is installed anywhere else: the user's own environments are never touched.

Two ways to build a candidate's environment:

* ``resolve`` (default): the harness's runtime requirements, the fixed ones (``--with``) and
  ``NAME==VERSION``, resolved together for each candidate;
* ``swap``: one base environment is resolved once (with the newest candidate), and each candidate's
  environment installs exactly the base's packages with ``NAME`` swapped for the candidate, without
  resolving (``--no-deps``): fast for a pure-Python package whose dependencies do not move.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from harness.results.record import utc_now
from harness.text.inert import printable

from .candidates import Candidate

MARKER = "normconf-env.json"
CACHE_ENV = "NORMCONF_BISECT_CACHE"
#: seconds one uv call may take (a large download on a slow line)
UV_TIMEOUT = 1800.0
#: bumped when an environment's layout changes, so older folders are not reused
_LAYOUT = 1


class InstallFailed(Exception):
    """A candidate's environment could not be made; the message is uv's reason in one line."""


class BisectSetupError(Exception):
    """Something every candidate needs is missing (uv itself); one line."""


def default_cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "normconf" / "bisect"


def find_uv() -> str:
    """The uv executable: the one the ``uv`` package ships, else the first ``uv`` on PATH."""
    try:
        from uv import find_uv_bin  # the uv package: a dependency of normconf
        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which("uv")
    if not found:
        raise BisectSetupError("uv is not installed (pip install uv)")
    return found


@dataclass(frozen=True)
class Sources:
    """Where packages come from, for every uv call (and so for every environment)."""

    #: directories of wheels every environment may install from (--find-links, --extra-find-links)
    find_links: tuple[str, ...] = ()
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    no_index: bool = False
    pre: bool = False
    #: whether source distributions may be built (otherwise only wheels are installed)
    build: bool = False

    def uv_args(self) -> list[str]:
        args: list[str] = []
        for d in self.find_links:
            args += ["--find-links", d]
        if self.no_index:
            args.append("--no-index")
        else:
            if self.index_url:
                args += ["--index-url", self.index_url]
            for u in self.extra_index_urls:
                args += ["--extra-index-url", u]
        if self.pre:
            args += ["--prerelease", "allow"]
        if not self.build:
            args.append("--no-build")
        return args


def _one_line(text: str, limit: int = 400) -> str:
    """uv's error output as one line: its reason, without progress lines and box-drawing marks."""
    lines = [ln.strip(" \t×╰─▶│├") for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith(("Using ", "Resolved ", "Prepared ", "Downloading ",
                                                               "Downloaded ", "warning: Failed to hardlink"))]
    t = printable(" ".join(" ".join(lines).split()))
    return t if len(t) <= limit else t[:limit - 3] + "..."


_LIVE: set[subprocess.Popen] = set()
_LIVE_LOCK = threading.Lock()
_STOPPING = threading.Event()


def run_quiet(cmd: list[str], *, timeout: float, env=None, cwd=None) -> tuple[int, str]:
    """(exit status, output) of ``cmd`` in its own process group, which is killed whole when the
    time runs out (exit status 124), the caller is interrupted, or :func:`stop_all` is called."""
    with tempfile.TemporaryFile() as out:
        with _LIVE_LOCK:
            if _STOPPING.is_set():
                return 130, "stopped"
            p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                 cwd=cwd, start_new_session=True)
            _LIVE.add(p)
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = 124
            _kill(p)
        except BaseException:
            _kill(p)
            raise
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(p)
        out.seek(0)
        return rc, out.read().decode("utf-8", errors="replace")


def stop_all():
    """Kill every process group :func:`run_quiet` still waits on (other threads' installs and runs), and
    start no more until :func:`allow_runs`."""
    with _LIVE_LOCK:
        _STOPPING.set()
        live = list(_LIVE)
    for p in live:
        _kill(p)


def allow_runs():
    _STOPPING.clear()


def _kill(p: subprocess.Popen):
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(p.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        p.wait(timeout=30)


@contextlib.contextmanager
def _locked(path: Path):
    try:
        import fcntl
    except ImportError:  # no POSIX locks: one bisect at a time per cache
        yield
        return
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _sha256(path: Path) -> str:
    st = path.stat()
    return _sha256_of(str(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=256)
def _sha256_of(path: str, mtime_ns: int, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def env_python(path: Path) -> Path:
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


@dataclass
class Env:
    """A ready environment: its folder, its interpreter, whether it came from the cache, and what
    ``uv pip freeze`` says is in it."""

    path: Path
    reused: bool
    installed: list[str] = field(default_factory=list)

    @property
    def python(self) -> Path:
        return env_python(self.path)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]", "_", text)[:60]


class Environments:
    """Makes (or reuses) the environment of each candidate of one package."""

    def __init__(self, root: Path, uv: str, sources: Sources, *, package: str, harness_requirements: list[str],
                 fixed: list[str], swap: bool = False, log=None):
        self.root = Path(root)
        self.uv = uv
        self.sources = sources
        self.package = canonicalize_name(package)
        self.harness_requirements = list(harness_requirements)
        self.fixed = list(fixed)
        self.swap = swap
        self.log = log or (lambda text: None)
        self._base: list[str] | None = None
        #: the swap mode's base environment, once made
        self.base: Env | None = None
        self._base_failed = ""
        self.made = 0
        self.reused = 0
        self.failed = 0
        self._lock = threading.Lock()  # candidates may be made from several threads (--jobs)

    # what decides an environment's content
    def _interpreter(self) -> dict:
        return {"python": platform.python_version(), "implementation": platform.python_implementation(),
                "base_prefix": sys.base_prefix, "platform": sys.platform, "machine": platform.machine(),
                "layout": _LAYOUT}

    def requirement(self, c: Candidate) -> str:
        """What installs the candidate: the file itself for a wheel from a directory (no index is asked
        for it), else ``NAME==VERSION``."""
        if c.file is not None:
            return f"{self.package} @ {c.file.as_uri()}"
        return f"{self.package}=={c.version}"

    def _keyed(self, c: Candidate) -> str:
        """The candidate as the cache key sees it: a wheel by its content, wherever it lies."""
        if c.file is not None:
            return f"{self.package} @ sha256:{_sha256(c.file)}"
        return f"{self.package}=={c.version}"

    def _key(self, requirements: list[str], no_deps: bool) -> tuple[str, dict]:
        request = {**self._interpreter(), "requirements": requirements, "no_deps": no_deps,
                   "sources": self.sources.uv_args()}
        return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()[:16], request

    def _uv(self, *args: str, timeout: float = UV_TIMEOUT) -> tuple[int, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH")}
        env.setdefault("UV_PYTHON_DOWNLOADS", "never")
        return run_quiet([self.uv, *args], timeout=timeout, env=env)

    def _make(self, name: str, requirements: list[str], keyed: list[str], *, no_deps: bool) -> Env:
        """The environment of ``requirements`` (``keyed``: the same as the cache key sees them)."""
        key, request = self._key(keyed, no_deps)
        path = self.root / f"{_slug(name)}-{key}"
        self.root.mkdir(parents=True, exist_ok=True)
        with _locked(self.root / f".{path.name}.lock"):
            marker = path / MARKER
            if marker.is_file():
                try:
                    installed = json.loads(marker.read_text()).get("installed", [])
                except (OSError, ValueError):
                    installed = None
                if isinstance(installed, list) and env_python(path).exists():
                    return Env(path, True, [str(x) for x in installed])
            if os.path.lexists(path):
                shutil.rmtree(path, ignore_errors=True)  # a folder left by an interrupted build
            try:
                rc, out = self._uv("venv", "--quiet", "--python", sys.executable, str(path))
                if rc != 0:
                    raise InstallFailed(f"uv venv failed: {_one_line(out)}")
                reqfile = path / "normconf-requirements.txt"
                reqfile.write_text("\n".join(requirements) + "\n")
                args = ["pip", "install", "--python", str(env_python(path)), *self.sources.uv_args()]
                if no_deps:
                    args.append("--no-deps")
                rc, out = self._uv(*args, "-r", str(reqfile))
                if rc != 0:
                    raise InstallFailed(_one_line(out) or f"uv pip install exited with {rc}")
                rc, out = self._uv("pip", "freeze", "--python", str(env_python(path)))
                installed = out.split("\n") if rc == 0 else []
                installed = [ln.strip() for ln in installed if ln.strip() and not ln.startswith(("Using ", "#"))]
                tmp = path / (MARKER + ".tmp")
                tmp.write_text(json.dumps({"request": request, "installed": installed, "created": utc_now()},
                                          indent=1))
                os.replace(tmp, marker)
            except BaseException:
                shutil.rmtree(path, ignore_errors=True)
                raise
        return Env(path, False, installed)

    def _base_requirements(self, newest_first: list[Candidate]) -> list[str]:
        """The pinned packages of the swap mode's base environment, without the package itself: the
        newest candidate that installs, resolved with its dependencies."""
        with self._lock:
            return self._base_locked(newest_first)

    def _base_locked(self, newest_first: list[Candidate]) -> list[str]:
        if self._base_failed:
            raise InstallFailed(self._base_failed)
        if self._base is None:
            reasons = []
            for c in newest_first:
                self.log(f"base environment: {self.package} {c} with its dependencies")
                try:
                    common = [*self.harness_requirements, *self.fixed]
                    env = self._make(f"base-{self.package}-{c.version}", [*common, self.requirement(c)],
                                     [*common, self._keyed(c)], no_deps=False)
                except InstallFailed as e:
                    reasons.append(f"{c}: {e}")
                    self.log(f"base environment with {self.package} {c} did not install: {e}")
                    continue
                self.base = env
                break
            else:
                self._base_failed = "no base environment installs (" + "; ".join(reasons)[:300] + ")"
                raise InstallFailed(self._base_failed)
            pins = []
            for line in env.installed:
                try:
                    if canonicalize_name(Requirement(line).name) == self.package:
                        continue
                except InvalidRequirement:
                    continue
                pins.append(line)
            self._base = pins
        return self._base

    def get(self, c: Candidate, newest_first: list[Candidate]) -> Env:
        """The environment of candidate ``c`` (``newest_first``: every candidate, newest first, for the
        swap mode's base). Raises :class:`InstallFailed`."""
        try:
            common = self._base_requirements(newest_first) if self.swap else [*self.harness_requirements,
                                                                               *self.fixed]
            env = self._make(f"{self.package}-{c.version}", [*common, self.requirement(c)],
                             [*common, self._keyed(c)], no_deps=self.swap)
        except InstallFailed:
            with self._lock:
                self.failed += 1
            raise
        with self._lock:
            if env.reused:
                self.reused += 1
            else:
                self.made += 1
        return env
