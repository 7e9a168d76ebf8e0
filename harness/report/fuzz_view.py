"""Fuzz findings as a report section: ``DIR/summary.json`` of ``normconf fuzz`` -> HTML.

:func:`section` returns a self-contained ``<section id="fuzz">`` fragment (every
value escaped; only relative links to the finding files, which must stay
inside DIR), shown by `normconf report --fuzz DIR`. The summary file is
untrusted input: it is read with a size bound, and a missing or malformed
field renders as "?" rather than failing the report.
"""
from __future__ import annotations

import json
import os
import re
from html import escape
from pathlib import Path

MAX_SUMMARY_BYTES = 8 * 1024 * 1024
_REL = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


def load(fuzz_dir) -> dict:
    """The summary of a fuzz run (``{}`` with a ``problem`` when it cannot be read)."""
    path = Path(fuzz_dir) / "summary.json"
    try:
        if not path.is_file():
            return {"problem": f"no fuzz summary at {path}"}
        if path.stat().st_size > MAX_SUMMARY_BYTES:
            return {"problem": f"{path} is larger than {MAX_SUMMARY_BYTES} bytes"}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return {"problem": f"cannot read {path}: {type(e).__name__}: {e}"}
    return data if isinstance(data, dict) else {"problem": f"{path} does not hold a JSON object"}


def _t(v, limit: int = 600) -> str:
    s = "?" if v is None else str(v)
    s = " ".join(s.split())
    return escape(s if len(s) <= limit else s[:limit - 3] + "...")


def _href(base: str, rel) -> str:
    """A relative link to a file of the fuzz directory, or '' when ``rel`` is not a plain relative path."""
    if not isinstance(rel, str) or not _REL.match(rel) or ".." in rel.split("/"):
        return ""
    return escape(f"{base.rstrip('/')}/{rel}" if base else rel, quote=True)


def section(fuzz_dir, link_base: str | None = None) -> str:
    """The fuzz findings as an HTML ``<section>``; links point to ``link_base`` (default: ``fuzz_dir``)."""
    s = load(fuzz_dir)
    base = str(fuzz_dir) if link_base is None else link_base
    out = ['<section id="fuzz" aria-labelledby="h-fuzz">', '<h2 id="h-fuzz">Fuzz findings</h2>']
    if s.get("problem"):
        out += [f"<p>{_t(s['problem'])}</p>", "</section>"]
        return "\n".join(out)
    adapters = s.get("adapters") if isinstance(s.get("adapters"), dict) else {}
    n = sum(len(a.get("findings") or []) for a in adapters.values() if isinstance(a, dict))
    out.append(f"<p>{n} finding(s) from <code>normconf fuzz</code> with seed {_t(s.get('seed'))}, a budget of "
               f"{_t(s.get('budget'))} judged cells per adapter, environment {_t(s.get('env'))} "
               f"({_t(s.get('draws'))} cases drawn, written {_t(s.get('written'))}). A finding is a cell that "
               "diverged, errored, crashed or timed out with no expectation covering it, shrunk and "
               "deduplicated by adapter and explanation.</p>")
    out.append('<table class="fuzz"><caption class="sr">Budget spent and findings per adapter</caption><thead><tr>'
               '<th scope="col">adapter</th><th scope="col">cells judged</th><th scope="col">unsupported</th>'
               '<th scope="col">findings</th></tr></thead><tbody>')
    for name, a in adapters.items():
        if not isinstance(a, dict):
            continue
        out.append(f'<tr><th scope="row">{_t(name, 100)}</th><td>{_t(a.get("cells"))} of {_t(a.get("budget"))}</td>'
                   f'<td>{_t(a.get("unsupported"))}</td><td>{len(a.get("findings") or [])}'
                   f'{" (" + _t(a.get("note"), 200) + ")" if a.get("note") else ""}</td></tr>')
    out.append("</tbody></table>")
    for name, a in adapters.items():
        findings = a.get("findings") if isinstance(a, dict) else None
        if not isinstance(findings, list) or not findings:
            continue
        out.append(f"<h3>{_t(name, 100)}</h3><ul class=\"fuzz-findings\">")
        for f in findings:
            if not isinstance(f, dict):
                continue
            links = []
            for key, word in (("file", "case file"), ("repro", "reproducer"), ("issue", "issue body")):
                rel = f.get(key)
                if key != "file" and isinstance(rel, str):
                    rel = f"{os.path.dirname(str(f.get('file', '')))}/{rel}"
                href = _href(base, rel)
                if href:
                    links.append(f'<a href="{href}">{word}</a>')
            shrunk = (f"shrunk to {_t(f.get('shrunk_to'), 400)} from {_t(f.get('drawn'), 400)}" if f.get("shrunk")
                      else _t(f.get("shrink_note"), 400))
            out.append(f"<li><b>{_t(f.get('status'), 20)}</b> ({_t(f.get('op'), 40)}): {_t(f.get('explanation'), 1500)}"
                       f"<br><small>case <code>{_t(f.get('case_id'), 300)}</code>; found at judged cell "
                       f"{_t(f.get('first_cell'))}, {_t(f.get('occurrences'))} drawn case(s) alike; {shrunk}; "
                       f"{' · '.join(links)}</small><br><small>rerun: <code>{_t(f.get('rerun'), 600)}</code></small></li>")
        out.append("</ul>")
    out.append("</section>")
    return "\n".join(out)
