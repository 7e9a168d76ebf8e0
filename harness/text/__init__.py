"""Untrusted free text made inert: printable for a terminal, safe in a script's comments and strings, in
Markdown and as a file name, and without terminal control sequences for a page (:mod:`.inert`)."""
from .inert import (
           comment,
           comment_block,
           fence,
           file_name,
           fmt,
           md,
           md_link,
           printable,
           py,
           strip_escapes,
)

__all__ = ["comment", "comment_block", "fence", "file_name", "fmt", "md", "md_link", "printable", "py",
           "strip_escapes"]
