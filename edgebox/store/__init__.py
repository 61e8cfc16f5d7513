"""Durable state: the roster, incidents, the delivery outbox and the append-only event log."""
from edgebox.store.sqlite_store import SqliteStore

__all__ = ["SqliteStore"]
