"""The web panel's logins (table ``web_sessions``), kept by the hash of their cookie token so a
login outlives a restart of the panel's process."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from edgebox.store.times import utc_iso

if TYPE_CHECKING:
    from edgebox.store.table_core import TableCore


@dataclass(frozen=True)
class WebSession:
    """A kept login: who, its form token, its language, and when it ends (UTC, ISO text)."""
    user: str
    csrf: str
    lang: str
    expires_at: str


class WebSessionRows:
    def __init__(self, core: TableCore):
        self._core = core

    def keep(self, now: datetime, token_hash: str, user: str, csrf: str, lang: str,
             expires_at: datetime, keep_at_most: int) -> None:
        """Keep one login; expired ones go, and beyond ``keep_at_most`` the oldest."""
        with self._core.transaction() as conn:
            conn.execute("DELETE FROM web_sessions WHERE expires_at < ?", (utc_iso(now),))
            conn.execute("INSERT OR REPLACE INTO web_sessions (token_hash, user, csrf, lang,"
                         " expires_at) VALUES (?, ?, ?, ?, ?)",
                         (token_hash, user, csrf, lang, utc_iso(expires_at)))
            conn.execute("DELETE FROM web_sessions WHERE token_hash NOT IN (SELECT token_hash"
                         " FROM web_sessions ORDER BY expires_at DESC LIMIT ?)", (keep_at_most,))

    def find(self, token_hash: str, now: datetime) -> WebSession | None:
        """The live login with this hash; None if none."""
        with self._core.lock:
            rows = list(self._core.db.query(
                "SELECT user, csrf, lang, expires_at FROM web_sessions WHERE token_hash = ?"
                " AND expires_at >= ?", [token_hash, utc_iso(now)]))
        return WebSession(**rows[0]) if rows else None

    def end(self, token_hash: str) -> None:
        with self._core.transaction() as conn:
            conn.execute("DELETE FROM web_sessions WHERE token_hash = ?", (token_hash,))
