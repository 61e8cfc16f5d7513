"""The web panel's logins (table ``web_sessions``), kept by the hash of their cookie token so a
login outlives a restart of the panel's process; a mixin of SqliteStore."""
from __future__ import annotations

from datetime import datetime

from edgebox.store.times import utc_iso


class SessionRows:
    def keep_web_session(self, now: datetime, token_hash: str, user: str, csrf: str, lang: str,
                         expires_at: datetime, keep_at_most: int) -> None:
        """Keep one login; expired ones go, and beyond ``keep_at_most`` the oldest."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM web_sessions WHERE expires_at < ?", (utc_iso(now),))
            conn.execute("INSERT OR REPLACE INTO web_sessions (token_hash, user, csrf, lang,"
                         " expires_at) VALUES (?, ?, ?, ?, ?)",
                         (token_hash, user, csrf, lang, utc_iso(expires_at)))
            conn.execute("DELETE FROM web_sessions WHERE token_hash NOT IN (SELECT token_hash"
                         " FROM web_sessions ORDER BY expires_at DESC LIMIT ?)", (keep_at_most,))

    def web_session(self, token_hash: str, now: datetime) -> dict | None:
        """The live login with this hash: user, csrf, lang, expires_at; None if none."""
        with self._lock:
            rows = list(self.db.query(
                "SELECT user, csrf, lang, expires_at FROM web_sessions WHERE token_hash = ?"
                " AND expires_at >= ?", [token_hash, utc_iso(now)]))
        return rows[0] if rows else None

    def end_web_session(self, token_hash: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM web_sessions WHERE token_hash = ?", (token_hash,))
