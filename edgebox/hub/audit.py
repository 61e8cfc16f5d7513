"""The hub's audit log: who did what (login, export, household count, account or box change),
when (UTC) and from where. Rows are only ever added; the county reads them on /audit."""
from __future__ import annotations

from datetime import datetime, timezone


def record_in(tx, user: str, action: str, detail: str = "", address: str = "") -> None:
    """One line, inside the caller's transaction: it is logged if and only if the change is."""
    at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    tx.execute("INSERT INTO audit (at, user_name, action, detail, address) VALUES"
               " (?, ?, ?, ?, ?)", (at, user, action, detail[:500], address[:64]))


def record(db, user: str, action: str, detail: str = "", address: str = "") -> None:
    """One line in the audit log: ``user`` did ``action`` (login, export …) from ``address``."""
    with db.transaction() as tx:
        record_in(tx, user, action, detail, address)


AUDIT_ROWS = 500


def audit_log(db, limit: int = AUDIT_ROWS) -> list[dict]:
    """The newest audit lines first (the county's audit page)."""
    with db.transaction(write=False) as tx:
        return tx.dicts("SELECT at, user_name, action, detail, address FROM audit"
                        f" ORDER BY at DESC LIMIT {int(limit)}")
