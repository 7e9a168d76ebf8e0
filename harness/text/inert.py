"""Untrusted text made inert: on a terminal, in a script's comments and literals, and in Markdown.

Case, claims, expectations and results files are untrusted input, and so is the text they carry:
:func:`printable` escapes control, format and separator characters before any of it reaches a terminal
or a log line, and :func:`strip_escapes` removes the terminal control sequences (colours, cursor moves,
titles, hyperlinks) that frameworks put in their messages before that text is shown as text (a page).

Nothing read from a results or case file becomes code: free text (ids,
descriptions, sources, quotes, explanations) goes into comments through
:func:`comment`, which drops control characters and line breaks, or into
string literals through ``repr`` (:func:`py`); into Markdown through
:func:`md`, which also escapes HTML and Markdown characters.
"""
from __future__ import annotations

import re
import textwrap

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
#: ECMA-48 control sequences, 7- and 8-bit: CSI (ESC [ or 0x9b, parameters, intermediates, a final byte);
#: OSC, DCS, SOS, PM and APC strings up to their terminator (BEL or ST; an unterminated one ends at the
#: line's end); an escape with intermediates (ESC ( B); a two-character escape (ESC 7, ESC c); then any
#: other C0 or C1 control character but tab and line feed (a carriage return ends a line)
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]+[0-~]?"
    r"|\x1b[0-~]?"
    r"|(?P<cr>\r(?!\n))"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_HAS_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")



def comment(text, limit: int = 400) -> str:
    """``text`` safe for one ``#`` comment line: control characters, line breaks and
    bidirectional overrides become spaces; long text is cut."""
    t = " ".join(_CONTROL.sub(" ", str(text)).split())
    return t if len(t) <= limit else t[:limit - 3] + "..."


def comment_block(text, prefix: str = "# ", width: int = 100) -> list[str]:
    """Free text as comment lines (see :func:`comment`)."""
    t = comment(text, limit=2000)
    return [prefix + line for line in (textwrap.wrap(t, width) or [""])]


def py(v) -> str:
    """A Python literal for a validated value (numbers, tuples, text through repr)."""
    if isinstance(v, bool) or v is None:
        return repr(v)
    if isinstance(v, float):
        return repr(float(v))
    if isinstance(v, int):
        return repr(int(v))
    if isinstance(v, tuple):
        return "(" + ", ".join(py(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, list):
        return "[" + ", ".join(py(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{py(k)}: {py(x)}" for k, x in v.items()) + "}"
    if isinstance(v, str):
        return repr(v)
    raise TypeError(type(v))


def fmt(v) -> str:
    """A recorded figure for a line of text: 4 significant digits, anything else as it is."""
    return f"{v:.4g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)


def md(text, limit: int = 600) -> str:
    """Free text for Markdown: one line, control characters dropped, HTML characters as entities,
    Markdown characters escaped."""
    t = comment(text, limit).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", t)


def md_link(text, url) -> str:
    """A link only for http(s) URLs; anything else is shown as escaped text."""
    u = comment(url, 500)
    if re.match(r"^https?://[^\s<>()\[\]`]+$", u):
        return f"[{md(text)}]({u})"
    return md(text) + (f" ({md(u)})" if u and u != text else "")


def fence(code: str) -> str:
    """``code`` in a fenced block longer than any run of backticks inside it."""
    ticks = max([len(m) for m in re.findall(r"`+", code)] + [2]) + 1
    return f"{'`' * ticks}python\n{code.rstrip()}\n{'`' * ticks}"


def printable(text) -> str:
    """``text`` with control, format and separator characters escaped (``\\x1b``, ``\\n``, ``\\u202e``)."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def strip_escapes(text: str) -> str:
    """``text`` without terminal control sequences and control characters (tab and line feed stay; a
    lone carriage return becomes a line feed, as a terminal would start the line again)."""
    if not _HAS_CONTROL.search(text):
        return text
    return _ESCAPES.sub(lambda m: "\n" if m.group("cr") else "", text)


def file_name(text, limit: int) -> str:
    """``text`` as a file name: every character but letters, digits, ``_``, ``.`` and ``-`` replaced by ``_``,
    at most ``limit`` characters, never empty."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", str(text))[:limit] or "_"
