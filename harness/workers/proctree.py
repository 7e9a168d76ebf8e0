"""Process trees: a worker leads its own process group, and what it started dies with it.

Used by the harness side of the workers (harness.workers) on a timeout, a crash
and at the end of a run.
"""
from __future__ import annotations

import os
import signal


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for e in entries:
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(e))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def kill_group(pid: int) -> None:
    """SIGKILL the process group a worker leads (setpgid in _worker_main)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def kill_tree(pid: int) -> None:
    """SIGKILL a live worker, every descendant found under it (also those that left its group) and its group."""
    for p in descendants(pid):
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    kill_group(pid)
