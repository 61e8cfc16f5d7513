"""Sessions, CSRF tokens and login rate limiting (``edgebox.login_limit``) for the web panel.

Sessions live in memory, and logins also in the store by the SHA-256 of their token (never
the token: a copy of the database or the SD card holds no live session), so a login outlives a
restart of the panel's process or of the box. Every visitor gets a session (so the login form
itself carries a CSRF token and the language choice sticks); logging in replaces it with a new
one, so a token planted before login is worthless after.

Visitors' and logged-in sessions are kept apart, each bounded on its own: anyone on the LAN can
make visitor sessions by the hundred (every GET of /login makes one), and that must push out
only other visitors, never the duty officer who is logged in. Logged-in sessions are made only
by a right password, which the login limit keeps rare.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from edgebox.store.times import utc_now

COOKIE = "edgebox_session"
MAX_VISITORS = 500  # visitors (not logged in) beyond this push out the oldest visitors
MAX_LOGGED_IN = 50  # logins beyond this end the oldest login


@dataclass
class Session:
    token: str
    csrf: str
    expires: float
    user: str = ""       # "" until logged in
    lang: str = "zh"
    data: dict = field(default_factory=dict)  # e.g. a roster import waiting for confirmation

    @property
    def logged_in(self) -> bool:
        return bool(self.user)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Sessions:
    def __init__(self, lifetime: float, clock: Callable[[], float] = time.monotonic,
                 store=None, wall_clock: Callable[[], datetime] = utc_now):
        """``store``: where logins are kept across restarts, the store's ``sessions`` table
        (None: in memory only)."""
        self.lifetime = lifetime
        self._clock = clock
        self._store = store
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._visitors: OrderedDict[str, Session] = OrderedDict()
        self._logged_in: OrderedDict[str, Session] = OrderedDict()

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        with self._lock:
            for pool in (self._logged_in, self._visitors):
                session = pool.get(token)
                if session is None:
                    continue
                if session.expires < self._clock():
                    del pool[token]
                    return None
                return session
        return self._kept(token)

    def _kept(self, token: str) -> Session | None:
        """A login this process has not seen, from the store (made before a restart)."""
        if self._store is None:
            return None
        now = self._wall_clock()
        kept = self._store.find(token_hash(token), now)
        if kept is None:
            return None
        left = (datetime.fromisoformat(kept.expires_at) - now).total_seconds()
        session = Session(token, kept.csrf, self._clock() + left, kept.user, kept.lang)
        with self._lock:
            self._logged_in[token] = session
            while len(self._logged_in) > MAX_LOGGED_IN:
                self._logged_in.popitem(last=False)
        return session

    def new(self, user: str = "", lang: str = "zh") -> Session:
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(24),
                          self._clock() + self.lifetime, user, lang)
        pool, bound = ((self._logged_in, MAX_LOGGED_IN) if user
                       else (self._visitors, MAX_VISITORS))
        with self._lock:
            pool[session.token] = session
            while len(pool) > bound:
                pool.popitem(last=False)
        if user and self._store is not None:
            now = self._wall_clock()
            self._store.keep(now, token_hash(session.token), user, session.csrf, lang,
                             now + timedelta(seconds=self.lifetime), MAX_LOGGED_IN)
        return session

    def end(self, token: str) -> None:
        with self._lock:
            self._visitors.pop(token, None)
            ended = self._logged_in.pop(token, None)
        if self._store is not None and (ended is None or ended.user):
            self._store.end(token_hash(token))  # also one only the store held


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())
