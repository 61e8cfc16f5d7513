"""The hub's limits on failed dashboard logins, counted from its audit log.

The same policy as ``edgebox.login_limit`` describes (per address; per account an exponential
back-off that never holds back an address with no failures), but read from the database: the hub
may run as several worker processes (``edgebox hub serve --workers N``), and a guesser spreading
attempts over them must meet one count, not one per process. Every failed login is already an
audit row (``login_failed``, with account and address) and every login a ``login`` row, so the
count needs no table of its own; two indexes (schema migration 5) keep it to a few rows read.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Callable


def _stamp(seconds: float) -> str:
    """The audit log's time format (edgebox.hub.audit), so times compare as text."""
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds")


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


class AuditedLoginLimits:
    """At most ``attempts`` failed logins per address in ``window`` seconds (a login from the
    address starts its count again); per account, once ``attempts`` failures fall within the
    longest back-off, attempts from an address that has failed wait ``window`` × 2 per failure
    past the limit, at most ``max_wait``."""

    def __init__(self, db, attempts: int, window: float, max_wait: float = 3600,
                 clock: Callable[[], float] = time.time):
        self.db = db
        self.attempts, self.window, self.max_wait = attempts, window, max_wait
        self._clock = clock  # wall clock: the audit log's times are UTC, shared by processes

    def wait_seconds(self, address: str, account: str) -> float:
        """0 when a login as ``account`` from ``address`` may be checked now, else how long
        until it may."""
        now = self._clock()
        with self.db.transaction(write=False) as tx:
            last_login = tx.one("SELECT max(at) FROM audit WHERE address = ? AND action ="
                                " 'login'", (address,))[0]
            since = max(_stamp(now - self.window), last_login or "")
            mine = [row[0] for row in tx.rows(
                "SELECT at FROM audit WHERE address = ? AND action = 'login_failed' AND at > ?"
                " ORDER BY at", (address, since))]
            if not mine:
                return 0.0  # a clean address is never held back by its account
            horizon = _stamp(now - max(self.window, self.max_wait))
            theirs = [row[0] for row in tx.rows(
                "SELECT at FROM audit WHERE user_name = ? AND action = 'login_failed' AND"
                " at > ? ORDER BY at", (account, horizon))]
        waits = []
        if len(mine) >= self.attempts:
            waits.append(_seconds(mine[0]) + self.window - now)
        over = len(theirs) - self.attempts
        if over >= 0:
            backoff = min(self.max_wait, self.window * 2 ** min(over, 32))
            waits.append(_seconds(theirs[-1]) + backoff - now)
        return max([0.0, *waits])
