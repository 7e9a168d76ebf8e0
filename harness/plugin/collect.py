"""Collection of the conformance run's YAML files into pytest items.

Below the case root, a case file becomes one item per (case, adapter) with ids
like ``<case file>::<case id>[<adapter>]``, e.g.
``cases/x/seed_btf.yaml::gn-btf-g1-eps1e-05-float32[torch]``; a claims file
(below ``claims/``) one item per (claim, adapter) it names; an expectations
file one item that passes when the file is valid. A bad file (or a duplicate
case id, or a claim naming an unknown adapter) becomes one failing item
carrying its one-line error; the other files are collected as usual.

Which files below the case root are collected is :func:`harness.cases.tree.walk`'s answer, the one
``normconf list`` gives: pytest descends into exactly the directories the walk went through (whatever
their names, ``build`` or ``dist`` too), never through a symbolic link, and the walk's warnings (the
links and odd files it left out) are printed once, as ``normconf list`` prints them.
"""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import pytest

from harness.adapters import registry
from harness.cases.load import CaseError, load_file
from harness.cases.tree import SUFFIXES, Tree, walk
from harness.claims.load import load_claims
from harness.expectations.load import load_file as load_expectations_file

from .items import CaseItem, ClaimItem
from .options import adapter_names, cases_root, expectations_dir
from .session import run_expectations

_SEEN = pytest.StashKey[dict]()
_TREES = pytest.StashKey[dict]()


def pytest_configure(config):
    config.stash[_SEEN] = {}
    config.stash[_TREES] = {}


def tree_of(config, root: Path) -> Tree:
    """The walk of ``root`` (the case root, or an expectations directory outside it), once a session."""
    root = Path(os.path.abspath(root))
    trees = config.stash[_TREES]
    if root not in trees:
        trees[root] = walk(root)
    return trees[root]


def _tree_above(config, path: Path) -> Tree | None:
    """The walk whose root holds ``path``: the case root's, or the expectations directory's."""
    for root in (cases_root(config), expectations_dir(config)):
        root = Path(os.path.abspath(root))
        if path == root or root in path.parents:
            return tree_of(config, root)
    return None


def pytest_ignore_collect(collection_path: Path, config):
    """Below the case root, pytest goes where the walk went and nowhere else."""
    path = Path(os.path.abspath(collection_path))
    tree = _tree_above(config, path)
    if tree is None:
        return True if _loops_or_enters(config, path) else None
    if path == tree.root:
        return None
    if path in tree.dirs or path in tree:
        return False
    if path.suffix in SUFFIXES or os.path.islink(path) or os.path.isdir(path):
        return True
    return None


def _loops_or_enters(config, path: Path) -> bool:
    """Whether ``path``, outside the case root, is a link to a directory that holds it (a loop) or that
    holds, or lies in, the case root: pytest would walk the same files again by another path."""
    if not os.path.islink(path) or not os.path.isdir(path):
        return False
    target, here = Path(os.path.realpath(path)), Path(os.path.realpath(path.parent))
    root = Path(os.path.realpath(cases_root(config)))
    return (target == here or target in here.parents or target == root or target in root.parents
            or root in target.parents)


def pytest_collection_finish(session):
    """The walks' warnings, once, on stderr as ``normconf list`` prints them."""
    config = session.config
    warnings = [w for t in config.stash[_TREES].values() for w in t.warnings]
    if not warnings:
        return
    capman = config.pluginmanager.getplugin("capturemanager")
    with capman.global_and_fixture_disabled() if capman else contextlib.nullcontext():
        for w in dict.fromkeys(warnings):
            print(f"normconf: warning: {w}", file=sys.stderr)


def pytest_collect_file(parent, file_path: Path):
    if file_path.suffix not in SUFFIXES:
        return None
    config = parent.config
    path = Path(os.path.abspath(file_path))
    tree = _tree_above(config, path)
    if tree is None or path not in tree:
        return None  # not a file the walk reads (a link, or outside the case root)
    exp = Path(os.path.abspath(expectations_dir(config)))
    if exp in path.parents:
        return ExpectationsFile.from_parent(parent, path=file_path)
    kind = tree.kind(path)
    if kind == "claims":
        return ClaimFile.from_parent(parent, path=file_path)
    if kind == "case":
        return CaseFile.from_parent(parent, path=file_path)
    return None  # documented defaults, or expectations other than the run's


def _as_case_error(file, e: Exception) -> CaseError:
    if isinstance(e, CaseError):
        return e
    return CaseError(file, 0, None, f"cannot load: {type(e).__name__}: {e}")


class CaseFile(pytest.File):
    def collect(self):
        rel = os.path.relpath(self.path, self.config.rootpath)
        try:
            cases = load_file(self.path, max_elements=self.config.getoption("--max-elements"), display=rel)
        except Exception as e:  # noqa: BLE001 - one bad file is one failing item; the others still run
            yield CaseFileError.from_parent(self, name="<invalid case file>", error=_as_case_error(rel, e))
            return
        seen = self.config.stash[_SEEN]
        for c in cases:
            if c.id in seen:
                first = seen[c.id]
                err = CaseError(rel, c.line, "id", f"duplicate case id '{c.id}' (also in {first})")
                yield CaseFileError.from_parent(self, name="<invalid case file>", error=err)
                return
        for c in cases:
            seen[c.id] = f"{c.file}:{c.line}"
        names = adapter_names(self.config)
        if names is None:
            names = list(registry())
        for c in cases:
            for a in names:
                yield CaseItem.from_parent(self, name=f"{c.id}[{a}]", case=c, adapter=a)


class ClaimFile(pytest.File):
    def collect(self):
        rel = os.path.relpath(self.path, self.config.rootpath)
        try:
            claims = load_claims(self.path, display=rel)
        except Exception as e:  # noqa: BLE001 - one bad file is one failing item; the others still run
            yield CaseFileError.from_parent(self, name="<invalid claims file>", error=_as_case_error(rel, e))
            return
        selected = adapter_names(self.config)
        known = registry()
        for c in claims:
            for a in c.adapters:
                if a not in known:
                    err = CaseError(rel, c.line, "adapters", f"unknown adapter '{a}' in claim '{c.id}'")
                    yield CaseFileError.from_parent(self, name=f"<invalid claim {c.id}>", error=err)
                    continue
                if selected is None or a in selected:
                    yield ClaimItem.from_parent(self, name=f"{c.id}[{a}]", claim=c, adapter=a)


class ExpectationsFile(pytest.File):
    """An expectations file: one item that fails with the file's one-line error when it is bad."""

    def collect(self):
        rel = os.path.relpath(self.path, self.config.rootpath)
        try:
            load_expectations_file(self.path, rel)
        except Exception as e:  # noqa: BLE001 - a bad file is one failing item
            yield CaseFileError.from_parent(self, name="<invalid expectations file>", error=_as_case_error(rel, e))
            return
        yield ExpectationsOK.from_parent(self, name="<expectations>")


def expectations_errors(config, rel: str) -> list[CaseError]:
    """The errors the whole set of expectations files has in file ``rel`` (an entry naming a root cause
    that no file declares, a cause declared twice)."""
    return [e for e in run_expectations(config).errors if e.file == rel]


class ExpectationsOK(pytest.Item):
    def runtest(self):
        errors = expectations_errors(self.config, os.path.relpath(self.path, self.config.rootpath))
        if errors:
            raise errors[0]

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, CaseError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, "expectations file"


class CaseFileError(pytest.Item):
    def __init__(self, *, error: CaseError, **kw):
        super().__init__(**kw)
        self.error = error

    def runtest(self):
        raise self.error

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, CaseError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, max(self.error.line - 1, 0), str(self.error)
