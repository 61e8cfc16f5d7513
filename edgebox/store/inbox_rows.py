"""The inbox: what reached the box from outside and must be acted on exactly once, kept
before anything is done with it and marked handled in the same transaction as everything it
caused. Two kinds: every SMS a modem received, and every office action (a click on the web
panel, a button on the siren panel).

A modem keeps a received SMS in its storage until the box deletes it; the box deletes it only
once it is a row here. The event loop then acts on it (an alarm, an acknowledgement, a cancel,
a broadcast …) inside ``handling_sms``: the mark and the effect commit together. So a crash at
any instant leaves each SMS either still on the modem (read again at the next start), or kept
and not yet acted on (acted on at the next start), or acted on once — never lost, never acted
on twice.

A message read again from the modem (the box died after keeping it, before deleting it) is
found by a sweep of the modem's storage, and known by its sender, text and the service
centre's time stamp (to the second): kept once. A message announced by the modem as it arrives
is always new, even with the same words from the same phone in the same second as another.

An office action is kept before it is queued for the event loop, so a box that dies between a
click and its effect still carries it out at the next start (``unhandled_office_actions``).
"""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Iterator

from edgebox.store.times import utc_iso

if TYPE_CHECKING:
    from edgebox.store.table_core import TableCore


@dataclass(frozen=True)
class KeptSms:
    """A received SMS kept and not yet acted on (``received_at``: UTC, ISO text)."""
    id: int
    modem: str
    number: str
    text: str
    received_at: str


@dataclass(frozen=True)
class KeptOfficeAction:
    """An office action kept and not yet carried out (``asked_at``: UTC, ISO text)."""
    id: int
    kind: str
    source: str
    user: str
    incident_id: int | None
    group_id: str | None
    text: str
    asked_at: str


class InboxRows:
    def __init__(self, core: TableCore):
        self._core = core

    def keep_sms(self, now: datetime, modem: str, number: str, text: str,
                 sent_at: datetime | None, read_again: bool = False) -> int | None:
        """Keep a received SMS; its inbox id, or None when this very message was kept before.
        ``read_again``: a sweep of the modem's storage found it, so it may have been kept
        before the box last died. Without the service centre's time stamp a message cannot be
        told from an equal one sent later ("1" to next week's alarm), so it is always kept."""
        identity = None
        if sent_at is not None:
            identity = hashlib.sha256("\n".join(
                (modem, number, utc_iso(sent_at), text)).encode("utf-8")).hexdigest()
        with self._core.transaction() as conn:
            if read_again and identity is not None and conn.execute(
                    "SELECT 1 FROM inbox WHERE identity = ?", (identity,)).fetchone():
                return None
            return conn.execute(
                "INSERT INTO inbox (modem, number, text, sent_at, identity, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?)", (modem, number, text,
                                               utc_iso(sent_at) if sent_at else None, identity,
                                               utc_iso(now))).lastrowid

    def handling_sms(self, now: datetime, inbox_id: int, keep_text: str):
        """Act on one kept SMS: a context that yields True when it is still to be acted on
        (False: it was already). Everything the body commits joins this transaction, and the
        SMS is marked handled in it, its text replaced by ``keep_text`` (a leader's PIN is not
        kept)."""
        return self._handling("inbox", inbox_id, now, text=keep_text)

    def keep_office_action(self, now: datetime, kind: str, source: str, user: str,
                           incident_id: int | None, group_id: str | None, text: str) -> int:
        """Keep what the office asked for, before the event loop hears of it; its id."""
        with self._core.transaction() as conn:
            return conn.execute(
                "INSERT INTO office_actions (kind, source, user, incident_id, group_id, text,"
                " asked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (kind, source, user, incident_id, group_id, text, utc_iso(now))).lastrowid

    def handling_office_action(self, now: datetime, action_id: int):
        """Carry out one kept office action: like ``handling_sms``."""
        return self._handling("office_actions", action_id, now)

    def unhandled_office_actions(self) -> list[KeptOfficeAction]:
        """Office actions kept but not carried out (the box died in between), oldest first."""
        with self._core.lock:
            return [KeptOfficeAction(**row) for row in self._core.db.query(
                "SELECT id, kind, source, user, incident_id, group_id, text, asked_at"
                " FROM office_actions WHERE handled_at IS NULL ORDER BY id")]

    @contextmanager
    def _handling(self, table: str, row_id: int, now: datetime,
                  **changes: str) -> Iterator[bool]:
        with self._core.transaction() as conn:
            todo = conn.execute(f"SELECT 1 FROM {table} WHERE id = ? AND handled_at IS NULL",
                                (row_id,)).fetchone() is not None
            yield todo
            if todo:
                columns = "".join(f", {name} = ?" for name in changes)
                conn.execute(f"UPDATE {table} SET handled_at = ?{columns} WHERE id = ?",
                             (utc_iso(now), *changes.values(), row_id))

    def unhandled_sms(self) -> list[KeptSms]:
        """SMS kept but not acted on (the box died in between), oldest first."""
        with self._core.lock:
            return [KeptSms(**row) for row in self._core.db.query(
                "SELECT id, modem, number, text, received_at FROM inbox WHERE handled_at IS NULL"
                " ORDER BY id")]
