"""Sessions, CSRF tokens and login rate limiting (``edgebox.login_limit``) for the web panel.

Sessions live in memory: a restart of the box logs the office out, which is acceptable and
means no session can leak from the database or an SD card. Every visitor gets a session (so the
login form itself carries a CSRF token and the language choice sticks); logging in replaces it
with a new one, so a token planted before login is worthless after.
"""
from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

COOKIE = "edgebox_session"
MAX_SESSIONS = 500  # anonymous visitors beyond this push out the oldest ones


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


class Sessions:
    def __init__(self, lifetime: float, clock: Callable[[], float] = time.monotonic):
        self.lifetime = lifetime
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if session.expires < self._clock():
                del self._sessions[token]
                return None
            return session

    def new(self, user: str = "", lang: str = "zh") -> Session:
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(24),
                          self._clock() + self.lifetime, user, lang)
        with self._lock:
            self._sessions[session.token] = session
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        return session

    def end(self, token: str) -> None:
        with self._lock:
            self._sessions.pop(token, None)


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())
