"""Failed logins limited per client address, for the box's web panel and the county hub.

In memory: the counts go with a restart, which a guesser cannot cause, and a login writes
nothing to disk.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable

# Addresses remembered before those whose failures have all aged out are forgotten: many
# addresses each failing once (a scan) must not grow the table for ever.
MAX_CLIENTS = 1000


class LoginLimiter:
    """At most ``attempts`` failed logins per client address in ``window`` seconds, and ten
    times that from everywhere together (a LAN is small; a flood means someone is guessing)."""

    def __init__(self, attempts: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.attempts = attempts
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque] = {}
        self._all: deque = deque()

    def wait_seconds(self, client: str) -> float:
        """0 when this client may try now, else how long until it may."""
        now = self._clock()
        with self._lock:
            mine = self._trim(self._failures.get(client, deque()), now)
            everyone = self._trim(self._all, now)
            waits = []
            if len(mine) >= self.attempts:
                waits.append(mine[0] + self.window - now)
            if len(everyone) >= 10 * self.attempts:
                waits.append(everyone[0] + self.window - now)
            return max(waits, default=0.0)

    def failed(self, client: str) -> None:
        now = self._clock()
        with self._lock:
            self._failures.setdefault(client, deque()).append(now)
            self._all.append(now)
            if len(self._failures) > MAX_CLIENTS:
                for stale in [c for c, t in self._failures.items() if not self._trim(t, now)]:
                    del self._failures[stale]

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    def remembered(self) -> int:
        """How many addresses have failures on record."""
        with self._lock:
            return len(self._failures)

    def _trim(self, times: deque, now: float) -> deque:
        while times and times[0] <= now - self.window:
            times.popleft()
        return times
