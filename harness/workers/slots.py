"""Slots: how many adapter workers may be busy at once, and which waiting thread goes first.

A pool made with ``jobs`` shares one :class:`Slots` among its workers; a worker
holds a slot while it starts or answers a request. A thread states how urgent
its waits are with :func:`set_urgency` (the dispatcher's prefetching threads
do), and a worker reads it with :func:`urgency` when it asks for a slot. Among
the waiters that are not urgent, the one with the highest priority (the
dispatcher gives a lane's expected remaining seconds, so the slowest columns
go first) takes a free slot.
Without ``jobs`` a worker uses :class:`NoSlots`, which never waits.
"""
from __future__ import annotations

import threading


class Slots:
    """At most ``n`` holders at once; a waiter whose ``urgent()`` is true goes before the others.

    The main thread is always urgent (it is waiting for an answer); a prefetching
    thread is urgent while the main thread waits for the very cell it is about to run.
    Among waiters that are not urgent, a higher ``priority()`` goes first."""

    def __init__(self, n: int):
        self.n = max(1, int(n))
        self.free = self.n
        self._cond = threading.Condition()
        self._waiting: list = []  # [(urgent, priority)]
        self._gen = 0  # bumped whenever the waiters, the free slots or someone's urgency may have changed
        self._ranked = (-1, None)  # (generation, the waiter that goes next)

    def acquire(self, urgent=lambda: False, priority=None):
        if threading.current_thread() is threading.main_thread():
            urgent = _always
        me = (urgent, priority or _zero)
        with self._cond:
            self._waiting.append(me)
            self._gen += 1
            try:
                while not (self.free > 0 and (urgent() or self._next() is me)):
                    if not self._cond.wait(0.5):
                        self._gen += 1  # priorities move without a notification
            finally:
                self._waiting.remove(me)
            self.free -= 1
            self._gen += 1
            self._cond.notify_all()  # the next waiter may take another free slot

    def _next(self):
        """The waiter that goes next: an urgent one, else the highest priority (worked out once per
        change, not by every waiter)."""
        gen, best = self._ranked
        if gen != self._gen:
            best, key = None, None
            for w in self._waiting:
                k = (1, 0.0) if w[0]() else (0, w[1]())
                if key is None or k > key:
                    best, key = w, k
            self._ranked = (self._gen, best)
        return best

    def waiting(self) -> int:
        """How many threads wait for a slot now."""
        with self._cond:
            return len(self._waiting)

    def release(self):
        with self._cond:
            self.free += 1
            self._gen += 1
            self._cond.notify_all()

    def poke(self):
        """Wake the waiters (someone's urgency changed)."""
        with self._cond:
            self._gen += 1
            self._cond.notify_all()


class NoSlots:
    """No bound: every acquire succeeds at once."""

    def acquire(self, urgent=None, priority=None):
        pass

    def release(self):
        pass

    def poke(self):
        pass


def _always():
    return True


def _zero():
    return 0.0


def never():
    """The urgency of a waiter that lets every urgent one go first."""
    return False


_local = threading.local()


def set_urgency(urgent, priority=None) -> None:
    """Make ``urgent`` (a callable) this thread's urgency whenever it waits for a slot, and ``priority``
    (a callable returning a number; higher goes first among waiters that are not urgent) its priority."""
    _local.urgent = urgent
    _local.priority = priority


def urgency():
    """This thread's urgency, as set by :func:`set_urgency` (:func:`never` when it set none)."""
    return getattr(_local, "urgent", None) or never


def priority():
    """This thread's priority, as set by :func:`set_urgency` (0 when it set none)."""
    return getattr(_local, "priority", None) or _zero
