"""Slots: how many adapter workers may be busy at once, and which waiting thread goes first.

A pool made with ``jobs`` shares one :class:`Slots` among its workers; a worker
holds a slot while it starts or answers a request. A thread states how urgent
its waits are with :func:`set_urgency` (the dispatcher's prefetching threads
do), and a worker reads it with :func:`urgency` when it asks for a slot.
Without ``jobs`` a worker uses :class:`NoSlots`, which never waits.
"""
from __future__ import annotations

import threading


class Slots:
    """At most ``n`` holders at once; a waiter whose ``urgent()`` is true goes before the others.

    The main thread is always urgent (it is waiting for an answer); a prefetching
    thread is urgent while the main thread waits for the very cell it is about to run."""

    def __init__(self, n: int):
        self.free = max(1, int(n))
        self._cond = threading.Condition()
        self._waiting: list = []

    def acquire(self, urgent=lambda: False):
        if threading.current_thread() is threading.main_thread():
            urgent = _always
        with self._cond:
            self._waiting.append(urgent)
            try:
                while not (self.free > 0 and (urgent() or not any(u() for u in self._waiting if u is not urgent))):
                    self._cond.wait(0.5)
            finally:
                self._waiting.remove(urgent)
            self.free -= 1

    def release(self):
        with self._cond:
            self.free += 1
            self._cond.notify_all()

    def poke(self):
        """Wake the waiters (someone's urgency changed)."""
        with self._cond:
            self._cond.notify_all()


class NoSlots:
    """No bound: every acquire succeeds at once."""

    def acquire(self, urgent=None):
        pass

    def release(self):
        pass

    def poke(self):
        pass


def _always():
    return True


def never():
    """The urgency of a waiter that lets every urgent one go first."""
    return False


_local = threading.local()


def set_urgency(urgent) -> None:
    """Make ``urgent`` (a callable) this thread's urgency whenever it waits for a slot."""
    _local.urgent = urgent


def urgency():
    """This thread's urgency, as set by :func:`set_urgency` (:func:`never` when it set none)."""
    return getattr(_local, "urgent", None) or never
