"""One cell run in a candidate environment, through the normal run path, and its record read back.

The cell (a case id and an adapter) is found in the case files; in the candidate environment it runs as
``python -m harness run --env-name bisect --results FILE --adapters ADAPTER --cases-root ROOT
<case file>::<case id>[<adapter>]``, with the same harness code for every candidate: the working tree
the running ``harness`` package was imported from (its directory on ``PYTHONPATH``), or, when that
package is installed rather than checked out, a copy of it in the cache; the modules that
``NORMCONF_ADAPTERS`` names come from where they are here. The environment holds the harness's own
runtime requirements (``pyproject.toml``'s dependencies). The results file is read back with
:func:`harness.results.read.read`.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

import harness
from harness.cases.load import CaseError, discover, load_file
from harness.results.read import read
from harness.results.record import Result
from harness.text.inert import printable

from .envs import Env, run_quiet

#: the environment name the candidate runs record
ENV_NAME = "bisect"
#: requirements of the harness that a cell run does not need (the bisect command's own)
_NOT_FOR_A_RUN = {"uv"}
#: variables that would bring another environment's packages into a candidate's
_FOREIGN = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV", "CONDA_PREFIX",
            "__PYVENV_LAUNCHER__", "PYTHONEXECUTABLE")


class CellError(Exception):
    """The cell cannot be run at all (an unknown case id); one line."""


@dataclass(frozen=True)
class Cell:
    case_id: str
    adapter: str
    case_file: Path  # absolute
    cases_root: Path  # absolute

    @property
    def node_id(self) -> str:
        return f"{self.case_file}::{self.case_id}[{self.adapter}]"


def locate(case_id: str, adapter: str, cases_dir, *, max_elements=None) -> Cell:
    """The cell of ``case_id`` on ``adapter``: the case file that defines the case id."""
    root = Path(cases_dir).resolve()
    if not root.is_dir():
        raise CellError(f"{printable(cases_dir)}: no such case directory (--cases)")
    bad = []
    for path in discover(root):
        try:
            cases = load_file(path, max_elements=max_elements, display=os.path.relpath(path))
        except CaseError as e:
            bad.append(str(e))
            continue
        except Exception as e:  # noqa: BLE001 - one bad file never hides the others
            bad.append(f"{os.path.relpath(path)}: cannot load: {type(e).__name__}")
            continue
        if any(c.id == case_id for c in cases):
            return Cell(case_id, adapter, path, root)
    more = f" ({len(bad)} case file(s) could not be read; the first: {printable(bad[0])})" if bad else ""
    raise CellError(f"no case '{printable(case_id)}' in {printable(cases_dir)} (see normconf list){more}")


def _checkout() -> Path | None:
    """The working tree the running harness comes from, if it is one (not an installed copy)."""
    root = Path(harness.__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and root.name not in ("site-packages", "dist-packages"):
        return root
    return None


def harness_source(cache_root: Path) -> Path:
    """The folder to put on the candidates' ``PYTHONPATH``: the checkout, or a copy of the installed
    ``harness`` package in the cache (never a site-packages folder, which would bring its packages)."""
    root = _checkout()
    if root is not None:
        return root
    pkg = Path(harness.__file__).resolve().parent
    files = sorted(p for p in pkg.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    h = hashlib.sha256()
    for p in files:
        h.update(str(p.relative_to(pkg)).encode() + b"\0" + p.read_bytes())
    dest = Path(cache_root) / "harness" / h.hexdigest()[:16]
    if not (dest / "harness" / "__init__.py").is_file():
        tmp = Path(tempfile.mkdtemp(dir=Path(cache_root), prefix=".harness-"))
        shutil.copytree(pkg, tmp / "harness", ignore=shutil.ignore_patterns("__pycache__"))
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(tmp, dest)
        except OSError:  # another bisect made the same copy first
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def harness_requirements() -> list[str]:
    """The harness's runtime requirements: ``pyproject.toml``'s ``[project] dependencies`` of the
    checkout, else the installed distribution's; without what only the bisect command needs."""
    reqs: list[str] = []
    root = _checkout()
    if root is not None and sys.version_info >= (3, 11):
        import tomllib
        try:
            reqs = list(tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"])
        except (OSError, ValueError, KeyError, TypeError):
            reqs = []
    if not reqs:
        try:
            reqs = [r for r in (metadata.requires("normconf") or []) if "extra ==" not in r]
        except metadata.PackageNotFoundError:
            reqs = []
    out = []
    for r in reqs:
        try:
            if Requirement(r).name.lower() in _NOT_FOR_A_RUN:
                continue
        except InvalidRequirement:
            continue
        out.append(r)
    return out


def adapter_paths() -> list[str]:
    """The folders the ``NORMCONF_ADAPTERS`` modules are imported from here (their top-level package's
    parent), so that the candidates import the same adapters; never a site-packages folder."""
    out: list[str] = []
    for entry in os.environ.get("NORMCONF_ADAPTERS", "").split(","):
        top = entry.strip().partition(":")[0].split(".")[0]
        if not top:
            continue
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            continue
        if spec is None or not spec.origin or spec.origin in ("built-in", "frozen"):
            continue
        origin = Path(spec.origin).resolve()
        folder = origin.parent.parent if spec.submodule_search_locations else origin.parent
        if not {"site-packages", "dist-packages"} & set(folder.parts) and str(folder) not in out:
            out.append(str(folder))
    return out


@dataclass
class Ran:
    """What one run gave: the cell's record, or why there is none."""

    result: Result | None
    problem: str = ""
    seconds: float = 0.0


def run_cell(env: Env, cell: Cell, source: Path, *, cell_timeout: float, startup_timeout: float,
             timeout: float) -> Ran:
    """Run the cell with the environment's interpreter and read its record back."""
    env_vars = {k: v for k, v in os.environ.items() if k not in _FOREIGN}
    path = [str(source), *(p for p in adapter_paths() if p != str(source))]
    env_vars.update(PYTHONPATH=os.pathsep.join(path), PYTHONNOUSERSITE="1", VIRTUAL_ENV=str(env.path),
                    PATH=os.pathsep.join([str(env.python.parent), os.environ.get("PATH", "")]))
    with tempfile.TemporaryDirectory(prefix="normconf-bisect-") as tmp:
        results = Path(tmp) / "cell.jsonl"
        cmd = [str(env.python), "-m", "harness", "run", "--env-name", ENV_NAME, "--results", str(results),
               "--adapters", cell.adapter, "--cases-root", str(cell.cases_root), "--jobs", "1",
               "--cell-timeout", str(cell_timeout), "--startup-timeout", str(startup_timeout),
               "--rootdir", str(cell.cases_root.parent), cell.node_id]
        t0 = time.monotonic()
        rc, out = run_quiet(cmd, timeout=timeout, env=env_vars, cwd=str(source))
        seconds = time.monotonic() - t0
        if rc == 124:
            return Ran(None, f"the run took longer than {timeout:.0f} s and was stopped", seconds)
        got = read(results, warn=False) if results.is_file() else None
        if got is not None:
            for r in got.results:
                if r.case_id == cell.case_id and r.adapter == cell.adapter:
                    return Ran(r, "", seconds)
    tail = [ln.strip() for ln in out.splitlines() if ln.strip()]
    tail = [ln for ln in tail if not set(ln) <= set("=-_ ")][-3:]
    return Ran(None, f"the run wrote no record (exit {rc}): {printable(' | '.join(tail))[:300]}", seconds)
