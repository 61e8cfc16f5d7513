"""The hub's database: SQLite by default, PostgreSQL when given a ``postgresql://`` URL.

One small interface over both, so every query is written once with ``?`` placeholders:
``with db.transaction() as tx: tx.execute(sql, args)``. Connections come from a small pool (the
web server serves requests on several threads); a connection that failed is dropped, not
reused. Driver errors leave this module as HubStoreError.
"""
from __future__ import annotations

import queue
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from edgebox.hub.errors import HubStoreError

POOL_SIZE = 8


def _psycopg():
    try:
        import psycopg
    except ImportError as exc:  # the hub extra is not installed
        raise HubStoreError("PostgreSQL needs psycopg: pip install 'edgebox[hub]'") from exc
    return psycopg


class Transaction:
    def __init__(self, cursor, dialect: str):
        self._cursor = cursor
        self.dialect = dialect

    def _sql(self, sql: str) -> str:
        if self.dialect == "postgresql":
            return sql.replace("%", "%%").replace("?", "%s")
        return sql

    def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        self._cursor.execute(self._sql(sql), tuple(args))
        return self._cursor.rowcount

    def executemany(self, sql: str, rows: list[Sequence[Any]]) -> None:
        if rows:
            self._cursor.executemany(self._sql(sql), [tuple(r) for r in rows])

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        self._cursor.execute(self._sql(sql), tuple(args))
        return list(self._cursor.fetchall())

    def one(self, sql: str, args: Sequence[Any] = ()) -> tuple | None:
        self._cursor.execute(self._sql(sql), tuple(args))
        return self._cursor.fetchone()

    def dicts(self, sql: str, args: Sequence[Any] = ()) -> list[dict]:
        self._cursor.execute(self._sql(sql), tuple(args))
        names = [column[0] for column in self._cursor.description]
        return [dict(zip(names, row)) for row in self._cursor.fetchall()]

    @property
    def for_update(self) -> str:
        """Row lock for a SELECT (PostgreSQL); SQLite's BEGIN IMMEDIATE already serialises."""
        return " FOR UPDATE" if self.dialect == "postgresql" else ""


class Database:
    def __init__(self, url: str):
        self.url = url
        self.dialect = "postgresql" if url.startswith(("postgresql://", "postgres://")) \
            else "sqlite"
        self.path = url.removeprefix("sqlite:///") if self.dialect == "sqlite" else ""
        self._pool: queue.LifoQueue = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(POOL_SIZE)
        self._all: list = []
        self._lock = threading.Lock()
        if self.dialect == "sqlite" and self.path != ":memory:":
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise HubStoreError(f"cannot create the folder of {self.path}: {exc}") from exc

    def __repr__(self) -> str:  # the URL may hold a password
        return f"Database({self.dialect})"

    def _connect(self):
        if self.dialect == "sqlite":
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=10)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            return conn
        psycopg = _psycopg()
        # A request must not hang forever on a lock or a stuck statement: fail, the box retries.
        return psycopg.connect(self.url, connect_timeout=10,
                               options="-c lock_timeout=10000 -c statement_timeout=30000")

    def _errors(self) -> tuple[type[BaseException], ...]:
        if self.dialect == "sqlite":
            return (sqlite3.Error,)
        return (_psycopg().Error,)

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Transaction]:
        errors = self._errors()
        self._slots.acquire()
        conn = None
        try:
            try:
                conn = self._pool.get_nowait()
            except queue.Empty:
                try:
                    conn = self._connect()
                except errors as exc:
                    raise HubStoreError(f"cannot open the hub database: {exc}") from exc
                with self._lock:
                    self._all.append(conn)
            broken = False
            try:
                yield from self._run(conn, write)
            except errors as exc:
                broken = True
                raise HubStoreError(f"hub database error: {exc}") from exc
            except BaseException:
                raise
            finally:
                if broken:
                    self._discard(conn)
                else:
                    self._pool.put(conn)
        finally:
            self._slots.release()

    def _run(self, conn, write: bool) -> Iterator[Transaction]:
        if self.dialect == "sqlite":
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield Transaction(conn.cursor(), "sqlite")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return
        try:
            with conn.cursor() as cursor:
                yield Transaction(cursor, "postgresql")
        except BaseException:
            conn.rollback()
            raise
        conn.commit()

    def _discard(self, conn) -> None:
        with self._lock:
            if conn in self._all:
                self._all.remove(conn)
        try:
            conn.close()
        except self._errors():
            pass  # already broken; nothing more to do with it

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            try:
                conn.close()
            except self._errors():
                pass


def open_database(url: str) -> Database:
    """A database URL (``postgresql://…``, ``sqlite:///path``) or a plain file path, migrated."""
    from edgebox.hub.schema import migrate
    db = Database(url)
    migrate(db)
    return db
