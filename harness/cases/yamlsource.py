"""Reading untrusted YAML: bounded, safe, with a line number for every key.

Case and claims files come from anywhere (a pull request, a shared drive), so
reading one is bounded before anything else looks at it:

* the file must be a regular file of at most ``MAX_FILE_BYTES`` (a FIFO or a
  device never blocks the reader), in UTF-8;
* collections nest at most ``MAX_DEPTH`` levels;
* the document, with every alias expanded, has at most ``MAX_NODES`` nodes
  (a "billion laughs" file stops there) and no alias may contain itself;
* numbers are finite: ``.nan``, ``.inf`` and literals that overflow (``1e400``)
  are refused, integers must fit in 64 bits, number literals are short;
* a case file expands to at most ``MAX_CASES_PER_FILE`` cases;
* every string (a key or a value) is valid Unicode a results file can carry and a terminal shows as
  it is: no lone surrogate (``"\\ud800"``), no control character but tab and newline (no NUL, no
  escape, no carriage return, no C1 control) and no bidirectional control (``U+202E`` and the like).

Merge keys (``<<: *base``) are read as YAML 1.1 defines them: the keys of the merged mapping(s) that
the mapping does not give itself. The line of a value is the line where its text is written: for a
value that comes from an alias or a merge key, the line in the anchored mapping, never the line of the
``*alias``; the key named is always the key the value has where it is used.

Every refusal is a :class:`CaseError`, whose text is one line
``file:line: key 'k': message`` with control characters escaped, so nothing
from a file reaches the terminal raw. YAML tags on collections are refused;
the loader is PyYAML's SafeLoader plus YAML 1.2 floats such as ``1e-5``.
"""
from __future__ import annotations

import math
import os
import re
import stat
from typing import Any

import yaml

from harness.ops.layouts import LAYOUTS, Layout
from harness.text.inert import printable

MAX_FILE_BYTES = 128 * 1024
MAX_DEPTH = 32
MAX_NODES = 5_000
MAX_NUMBER_CHARS = 64
MAX_INT = 2**63 - 1
MAX_CASES_PER_FILE = 10_000



def _short(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[:n] + "..."


class CaseError(Exception):
    """A bad case file. ``str()`` is one line: file:line: key 'k': message."""

    def __init__(self, file, line, key, message):
        self.file, self.line, self.key, self.message = str(file), line, key, message
        super().__init__(str(self))

    def __str__(self):
        where = f"{printable(self.file)}:{self.line}" if self.line else printable(self.file)
        key = f" key '{_short(printable(self.key))}':" if self.key else ""
        return f"{where}:{key} {printable(self.message)}"


def read_source(path, file=None, limit: int = MAX_FILE_BYTES) -> str:
    """The text of a regular UTF-8 file of at most ``limit`` bytes, or a CaseError.
    Opened without blocking, so a FIFO or a device is refused, never waited on."""
    file = str(path) if file is None else file
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise CaseError(file, 0, None, f"cannot read: {e.strerror or e}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise CaseError(file, 0, None, "cannot read: is a directory")
        if not stat.S_ISREG(st.st_mode):
            raise CaseError(file, 0, None, "cannot read: not a regular file")
        if st.st_size > limit:
            raise CaseError(file, 0, None, f"file is {st.st_size} bytes; the limit is {limit}")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise CaseError(file, 0, None, f"file is over the limit of {limit} bytes")
    except OSError as e:
        raise CaseError(file, 0, None, f"cannot read: {e.strerror or e}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise CaseError(file, line, None, f"not valid UTF-8 (byte {e.start})") from None


# --- the loader -----------------------------------------------------------------

class _Loader(yaml.SafeLoader):
    """SafeLoader that reads YAML 1.2 floats such as ``1e-5`` and bounds nesting."""

    def __init__(self, stream, file="<string>"):
        super().__init__(stream)
        self._file = file
        self._depth = 0
        self._composed = 0

    def compose_node(self, parent, index):
        self._depth += 1
        self._composed += 1
        try:
            if self._depth > MAX_DEPTH or self._composed > MAX_NODES:
                event = self.peek_event()
                what = (f"nested deeper than {MAX_DEPTH} levels" if self._depth > MAX_DEPTH
                        else f"more than {MAX_NODES} values")
                raise CaseError(self._file, event.start_mark.line + 1, None, what)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_Loader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)

_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_MERGE_TAG = "tag:yaml.org,2002:merge"
_NUMBER_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
#: characters no string of a case, claims or expectations file may hold: lone surrogates (no UTF-8, no
#: JSON reader takes them), control characters but tab and newline, and bidirectional controls
_BAD_CHAR = re.compile("[\ud800-\udfff\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                       "\u2066-\u2069]")


def string_problem(text: str) -> str | None:
    """Why ``text`` cannot be a string of a case file (None when it can)."""
    m = _BAD_CHAR.search(text)
    if m is None:
        return None
    c = m.group()
    code = f"{_short(text, 40)!r}: U+{ord(c):04X}"
    if "\ud800" <= c <= "\udfff":
        return f"{code} at character {m.start()} is a lone surrogate, not valid Unicode"
    if c in "\u061c\u200e\u200f" or "\u202a" <= c <= "\u202e" or "\u2066" <= c <= "\u2069":
        return f"{code} at character {m.start()} is a bidirectional control character (not allowed)"
    return f"{code} at character {m.start()} is a control character (only tab and newline are allowed)"


def _key_name(path) -> str | None:
    """The dotted key of a path, as schema errors name it: ('cases', 0, 'input', 'std', 1) -> 'input.std'."""
    parts = list(path)
    while parts and not isinstance(parts[-1], str):
        parts.pop()
    tail = []
    for p in reversed(parts):
        if not isinstance(p, str):
            break
        tail.insert(0, p)
    return ".".join(tail) or None


class _Converter:
    """Node graph -> plain Python, counting expanded nodes and refusing cycles and non-finite numbers."""

    def __init__(self, loader, file, lines):
        self.loader, self.file, self.lines = loader, file, lines
        self.nodes = 0
        self.active: set[int] = set()
        self.seen: set[int] = set()  # nodes converted once: met again, a node is an alias's
        self.merged: dict[int, list] = {}  # a merged mapping's pairs, resolved once

    def error(self, node, path, message):
        return CaseError(self.file, node.start_mark.line + 1, _key_name(path), message)

    def scalar(self, node, path):
        if node.tag in _NUMBER_TAGS and len(node.value) > MAX_NUMBER_CHARS:
            raise self.error(node, path, f"number literal longer than {MAX_NUMBER_CHARS} characters")
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.YAMLError:
            raise
        except Exception as e:  # noqa: BLE001 - e.g. a date that does not exist
            raise self.error(node, path, f"cannot read value {node.value[:40]!r}: {e}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(node, path, f"{node.value[:40]!r} is not a finite number")
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise self.error(node, path, f"integer {node.value[:40]!r} is out of range (at most 2**63-1)")
        if isinstance(value, str):
            why = string_problem(value)
            if why:
                raise self.error(node, path, why)
        return value

    def convert(self, node, path):
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.error(node, path, f"more than {MAX_NODES} values (after expanding aliases)")
        self.lines[path] = node.start_mark.line + 1
        self.seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if node.tag not in _PLAIN_TAGS:
            raise self.error(node, path, f"YAML tag {node.tag} is not allowed")
        if id(node) in self.active:
            raise self.error(node, path, "alias refers to itself (recursive alias)")
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                out = {}
                for knode, vnode in self.pairs(node, path):
                    kline = knode.start_mark.line + 1
                    if not isinstance(knode, yaml.ScalarNode):
                        raise CaseError(self.file, kline, None, "keys must be strings")
                    key = self.scalar(knode, path + (str(knode.value),))
                    if not isinstance(key, str):
                        raise CaseError(self.file, kline, str(key), "keys must be strings")
                    if key in out:
                        raise CaseError(self.file, kline, key, "duplicate key")
                    aliased = id(vnode) in self.seen
                    out[key] = self.convert(vnode, path + (key,))
                    # the line of the key, or for an alias's value the line where that value is written
                    self.lines[path + (key,)] = vnode.start_mark.line + 1 if aliased else kline
                return out
            return [self.convert(v, path + (i,)) for i, v in enumerate(node.value)]
        finally:
            self.active.discard(id(node))

    def pairs(self, node, path) -> list:
        """The (key node, value node) pairs of a mapping with its merge keys (``<<``) resolved: the
        mapping's own keys, then each merged mapping's keys that neither it nor an earlier one gives."""
        own, merged = [], []
        for knode, vnode in node.value:
            if knode.tag != _MERGE_TAG:
                own.append((knode, vnode))
                continue
            sources = vnode.value if isinstance(vnode, yaml.SequenceNode) else [vnode]
            for src in sources:
                if not isinstance(src, yaml.MappingNode) or src.tag not in _PLAIN_TAGS:
                    raise CaseError(self.file, src.start_mark.line + 1, _key_name(path + ("<<",)),
                                    "a merge key (<<) takes a mapping or a list of mappings")
                if id(src) in self.active:
                    raise self.error(src, path, "alias refers to itself (recursive alias)")
                self.nodes += len(src.value)  # a merge expands its mapping: it counts as an alias does
                if self.nodes > MAX_NODES:
                    raise self.error(src, path, f"more than {MAX_NODES} values (after expanding aliases)")
                if id(src) not in self.merged:
                    self.active.add(id(src))
                    try:
                        self.merged[id(src)] = self.pairs(src, path)
                    finally:
                        self.active.discard(id(src))
                merged.append(self.merged[id(src)])
        out, given = list(own), {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
        for pairs in merged:
            for knode, vnode in pairs:
                name = knode.value if isinstance(knode, yaml.ScalarNode) else None
                if name is not None and name in given:
                    continue
                given.add(name)
                out.append((knode, vnode))
        return out


def load_yaml(text: str, file) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML safely within the limits; return the data and a map from key path to line."""
    lines: dict[tuple, int] = {}
    if len(text) > MAX_FILE_BYTES:
        raise CaseError(file, 0, None, f"text is {len(text)} characters; the limit is {MAX_FILE_BYTES}")
    try:
        loader = _Loader(text, file)
        try:
            node = loader.get_single_node()
            data = None if node is None else _Converter(loader, file, lines).convert(node, ())
        finally:
            loader.dispose()
    except CaseError:
        raise
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 0
        problem = " ".join(str(e.problem or e.context or "syntax error").split())
        if e.context and e.context_mark and e.problem_mark and e.context_mark.line != e.problem_mark.line:
            problem += f" ({' '.join(e.context.split())} at line {e.context_mark.line + 1})"
        raise CaseError(file, line, None, f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as e:
        raise CaseError(file, 0, None, f"YAML error: {' '.join(str(e).split())}") from None
    except RecursionError:
        raise CaseError(file, 0, None, "nested too deeply") from None
    except Exception as e:  # noqa: BLE001 - whatever a file does, the answer is one line
        raise CaseError(file, 0, None, f"cannot read: {type(e).__name__}: {' '.join(str(e).split())}") from None
    return data, lines


# --- grid size ----------------------------------------------------------------

def _n(v) -> int:
    return len(v) if isinstance(v, list) else 1


def check_grid(file, data, lines, limit: int = MAX_CASES_PER_FILE) -> None:
    """Refuse a schema-valid case file whose cases would expand to more than ``limit`` cases,
    before expanding anything. Counts every list-valued parameter (an upper bound)."""

    defaults = data.get("defaults") or {}
    total = 0
    for i, raw in enumerate(data.get("cases") or []):
        entry = {**defaults, **raw}
        common = 1
        for k, v in entry.items():
            if k not in ("tags", "shape", "layout", "input"):
                common *= _n(v)
        for v in {**(defaults.get("input") or {}), **(raw.get("input") or {})}.values():
            common *= _n(v)
        shape = entry.get("shape") or {}
        count = 0
        for name in (entry.get("layout") if isinstance(entry.get("layout"), list) else [entry.get("layout")]):
            axes = Layout(name).axes if name in LAYOUTS else tuple(shape)
            count += common * math.prod(_n(shape.get(a)) for a in axes)
        total += count
        if total > limit:
            line = lines.get(("cases", i), 0)
            raise CaseError(file, line, None,
                            f"case '{raw.get('id')}' expands to {count} cases, {total} in the file so far; "
                            f"the limit is {limit} per file")
