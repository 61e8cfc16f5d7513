"""The emulator's record of what happened on the simulated network, in order.

Entries are plain dicts (JSON-ready) with a ``kind``, ``at`` (seconds since the emulator
started, to the millisecond) and ``clock`` (the engine clock's own reading, unrounded: on a pty
that is ``time.monotonic()``, so entries of several emulators and the timings of whoever drives
them compare exactly). Tests and the demo read it to check what the box did; the benchmarks time
the box by it.
"""
from __future__ import annotations

import copy
import threading
import time
from typing import Callable

Entries = list[dict]


class EventLog:
    def __init__(self, clock: Callable[[], float]):
        self._clock = clock
        self._started = clock()
        self._entries: Entries = []
        self._changed = threading.Condition()
        self._sinks: list[Callable[[dict], None]] = []

    def add_sink(self, sink: Callable[[dict], None]) -> None:
        """Also hand every new entry to ``sink`` as it is recorded, in order (``serve
        --log-file`` writes them out, so the record outlives an emulator that is killed)."""
        with self._changed:
            self._sinks.append(sink)

    def elapsed(self) -> float:
        return self._clock() - self._started

    def record(self, kind: str, **fields) -> dict:
        now = self._clock()
        entry = {"kind": kind, "at": round(now - self._started, 3), "clock": now, **fields}
        with self._changed:
            self._entries.append(entry)
            for sink in self._sinks:
                sink(entry)
            self._changed.notify_all()
        return entry

    def entries(self) -> Entries:
        """A deep copy, so callers can keep or change it freely."""
        with self._changed:
            return copy.deepcopy(self._entries)

    def wait_for(self, predicate: Callable[[Entries], object], timeout: float) -> Entries:
        """Block until ``predicate(entries)`` is true; return the entries then.

        Waits in real time whatever the engine's clock is, since it is the caller who waits.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                snapshot = copy.deepcopy(self._entries)
                if predicate(snapshot):
                    return snapshot
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(describe_timeout(predicate, timeout, snapshot))
                self._changed.wait(remaining)


def describe_timeout(predicate: Callable, timeout: float, entries: Entries) -> str:
    name = getattr(predicate, "__name__", repr(predicate))
    recent = entries[-5:]
    return (f"emulator log did not satisfy {name} within {timeout:g} s; "
            f"{len(entries)} entries, last ones: {recent}")
