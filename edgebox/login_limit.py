"""Failed logins limited per client address, for the box's web panel; the policy the county hub
follows too (per address and per account), counted there from its audit log
(``edgebox.hub.login_limits``) because the hub may run as several processes.

On the box, in memory: the counts go with a restart, which a guesser cannot cause, and a login
writes nothing to disk.

Why the hub has no limit on "everyone together" and what its limit per account does: a limit
over all addresses lets anyone with ten addresses lock the whole county out by failing on
purpose. A limit per account alone would let them lock one official out for as long as they
keep failing. So the hub limits each address (as the box does) and, per account, backs off
exponentially (to at most ``max_wait``) for attempts from addresses that have failed before,
while a login from an address with no failure on record is always checked: the owner at their
own desk still gets in, and a guesser gets one try per fresh address per window, not a stream.
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
    """At most ``attempts`` failed logins per client address in ``window`` seconds and, when
    ``everyone`` is set, ``everyone`` times that from all addresses together (the box: a LAN is
    small, a flood means someone is guessing)."""

    def __init__(self, attempts: int, window: float, clock: Callable[[], float] = time.monotonic,
                 everyone: int | None = 10):
        self.everyone = everyone
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
            if self.everyone and len(everyone) >= self.everyone * self.attempts:
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

    def has_failures(self, client: str) -> bool:
        """Whether this address failed within the window."""
        now = self._clock()
        with self._lock:
            return bool(self._trim(self._failures.get(client, deque()), now))

    def remembered(self) -> int:
        """How many addresses have failures on record."""
        with self._lock:
            return len(self._failures)

    def _trim(self, times: deque, now: float) -> deque:
        while times and times[0] <= now - self.window:
            times.popleft()
        return times
