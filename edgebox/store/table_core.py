"""What each table object of the store is built on: the one connection, its lock, transactions
and the event log, all owned by SqliteStore, which hands a TableCore to every table it makes.

A table keeps no state of its own beyond these: two tables writing in one transaction (an
incident and the outbox rows of its fan-out) share it because they share the store's core.
"""
from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import sqlite_utils

# ``log(conn, now, kind, incident_id, data)``: an event written inside the transaction in hand,
# committed (and told to the store's listeners) with it; its ``seq``.
LogInTransaction = Callable[[sqlite3.Connection, datetime, str, "int | None", dict], int]


@dataclass(frozen=True)
class TableCore:
    db: sqlite_utils.Database
    lock: AbstractContextManager  # serialises every thread's use of the one connection
    transaction: Callable[..., AbstractContextManager[sqlite3.Connection]]
    log: LogInTransaction
    read: Callable[..., list[tuple]]  # rows of one read outside any transaction (no write lock)


def rows_as_dicts(conn: sqlite3.Connection, sql: str, *args) -> list[dict]:
    """Rows as dicts, read on the connection of the transaction in hand."""
    cursor = conn.execute(sql, args)
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]
