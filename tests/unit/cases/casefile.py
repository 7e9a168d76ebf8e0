"""A one-case YAML file written for a test and loaded: the keys every case needs, and the ones a test gives."""
from __future__ import annotations

import textwrap

from harness.cases.load import load_file

BASE = """
cases:
  - id: c
    description: d
    source: s
    op: {op}
    layout: {layout}
    shape: {shape}
{extra}
"""


def load_one(tmp_path, *, op, layout, shape, extra="", display=None):
    """Write the case (``extra``: more keys, as YAML lines) to ``tmp_path/c.yaml`` and load it."""
    p = tmp_path / "c.yaml"
    p.write_text(BASE.format(op=op, layout=layout, shape=shape, extra=textwrap.indent(textwrap.dedent(extra), "    ")))
    return load_file(p) if display is None else load_file(p, display=display)
