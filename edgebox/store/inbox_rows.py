"""The SMS inbox: every SMS a modem received, kept before the modem deletes its copy, and
marked handled in the same transaction as everything it caused.

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

Mixed into SqliteStore: uses its ``transaction`` and ``_lock``."""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from datetime import datetime
from typing import Iterator

from edgebox.store.times import utc_iso


class InboxRows:
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
        with self.transaction() as conn:
            if read_again and identity is not None and conn.execute(
                    "SELECT 1 FROM inbox WHERE identity = ?", (identity,)).fetchone():
                return None
            return conn.execute(
                "INSERT INTO inbox (modem, number, text, sent_at, identity, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?)", (modem, number, text,
                                               utc_iso(sent_at) if sent_at else None, identity,
                                               utc_iso(now))).lastrowid

    @contextmanager
    def handling_sms(self, now: datetime, inbox_id: int, keep_text: str) -> Iterator[bool]:
        """Act on one kept SMS: yields True when it is still to be acted on (False: it was
        already). Everything the body commits joins this transaction, and the SMS is marked
        handled in it, its text replaced by ``keep_text`` (a leader's PIN is not kept)."""
        with self.transaction() as conn:
            todo = conn.execute("SELECT 1 FROM inbox WHERE id = ? AND handled_at IS NULL",
                                (inbox_id,)).fetchone() is not None
            yield todo
            if todo:
                conn.execute("UPDATE inbox SET handled_at = ?, text = ? WHERE id = ?",
                             (utc_iso(now), keep_text, inbox_id))

    def unhandled_sms(self) -> list[dict]:
        """SMS kept but not acted on (the box died in between), oldest first."""
        with self._lock:
            return list(self.db.query(
                "SELECT id, modem, number, text FROM inbox WHERE handled_at IS NULL ORDER BY id"))
