"""Which files a run reads: the one walk of a cases root.

``normconf list``, ``normconf run`` (the pytest plugin's collection), the expectations and the
documented-defaults loaders all take their files from :func:`walk`, so they agree on every tree:

* files named ``*.yaml`` or ``*.yml``, in every directory below the root, whatever its name;
* names that start with a dot (an editor's or a tool's: ``.git``, ``.x.yaml.swp``) are left out,
  files and directories alike, without a word;
* a symbolic link is never followed, to a file or a directory, whether it points out of the root,
  back into it (a loop, or a second path to a file already read) or nowhere: a link to a directory
  or named like a YAML file is left out with one warning naming it, and so is a YAML name that is
  neither a regular file nor a directory (a FIFO, a device) and a directory that cannot be read.

Below the root, ``claims/`` holds claims files, ``expectations/`` expectations files and
``defaults/`` documented defaults; every other file is a case file (:meth:`Tree.kind`).
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from harness.text.inert import printable

SUFFIXES = (".yaml", ".yml")
CLAIMS_DIR = "claims"
EXPECTATIONS_DIR = "expectations"
DEFAULTS_DIR = "defaults"
#: the directories below a cases root that hold no case files, and what their files are
KINDS = {CLAIMS_DIR: "claims", EXPECTATIONS_DIR: "expectations", DEFAULTS_DIR: "defaults"}


@dataclass(frozen=True)
class Tree:
    """The files of a cases root (absolute paths), the directories walked, and the warnings of what
    was left out."""

    root: Path
    files: tuple[Path, ...]
    dirs: frozenset[Path]
    warnings: tuple[str, ...]

    def kind(self, path) -> str:
        """``case``, ``claims``, ``expectations`` or ``defaults``: what the file at ``path`` holds."""
        rel = Path(path).relative_to(self.root)
        return KINDS.get(rel.parts[0], "case") if len(rel.parts) > 1 else "case"

    def of(self, kind: str) -> list[Path]:
        """The files of one kind, sorted."""
        return [p for p in self.files if self.kind(p) == kind]

    def __contains__(self, path) -> bool:
        return Path(path) in self._file_set

    @property
    def _file_set(self) -> frozenset[Path]:
        cached = self.__dict__.get("_set")
        if cached is None:
            cached = frozenset(self.files)
            object.__setattr__(self, "_set", cached)
        return cached


def _shown(path: Path) -> str:
    try:
        return printable(os.path.relpath(path))
    except ValueError:
        return printable(str(path))


def walk(root, sub: str | None = None) -> Tree:
    """The files below ``root`` (only below ``root/sub`` with ``sub``: the same files the whole walk
    finds there). A missing root is an empty tree."""
    root = Path(os.path.abspath(root))
    files: list[Path] = []
    dirs: set[Path] = set()
    warnings: list[str] = []

    def skip(path: Path, why: str):
        warnings.append(f"{_shown(path)}: not read: {why}")

    start = root
    for part in Path(sub).parts if sub else ():
        start = start / part
        try:
            st = os.lstat(start)
        except OSError:
            return Tree(root, (), frozenset(), ())
        if stat.S_ISLNK(st.st_mode):
            skip(start, _link_why(root, start))
            return Tree(root, (), frozenset(), tuple(warnings))
    if not start.is_dir():
        return Tree(root, (), frozenset(), ())
    stack = [start]
    while stack:
        d = stack.pop()
        dirs.add(d)
        try:
            with os.scandir(d) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            skip(d, f"cannot read the directory ({e.strerror or e})")
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = d / entry.name
            try:
                if entry.is_symlink():
                    if entry.name.endswith(SUFFIXES) or _is_dir_link(path):
                        skip(path, _link_why(root, path))
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(path)
                    continue
                if not entry.name.endswith(SUFFIXES):
                    continue
                if not entry.is_file(follow_symlinks=False):
                    skip(path, "not a regular file")
                    continue
            except OSError as e:
                skip(path, f"cannot inspect it ({e.strerror or e})")
                continue
            files.append(path)
    return Tree(root, tuple(sorted(files)), frozenset(dirs), tuple(warnings))


def _is_dir_link(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _link_why(root: Path, path: Path) -> str:
    """Why the link at ``path`` is not followed, naming where it points."""
    try:
        target = Path(os.path.realpath(path))
    except (OSError, RuntimeError):
        return "a symbolic link (links are never followed)"
    real_root = Path(os.path.realpath(root))
    if not os.path.lexists(target) or not target.exists():
        where = "to nothing"
    elif target == real_root or real_root in target.parents:
        where = "back into the cases root"
    else:
        where = "out of the cases root"
    return f"a symbolic link {where} (links are never followed)"
