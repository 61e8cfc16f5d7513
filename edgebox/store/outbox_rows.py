"""The outbox's rows as the store hands them out: a delivery as claimed or read back, and the
parts of a sent SMS. Frozen: a row is what the table held when it was read; a change goes
through the outbox (``finish``, ``retry`` …), never through the row.

Timestamps are UTC datetimes (stored as ISO text, see times.py). Each field is a column of its
table: a column added by a migration is added here too, else reading a row fails loudly.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from edgebox.store.times import parse_utc


def _moment(text: str | None) -> datetime | None:
    return parse_utc(text) if text else None


@dataclass(frozen=True)
class DeliveryRow:
    """One SMS or call of table ``deliveries``."""

    id: int
    incident_id: int | None  # None: no alarm's (an office notice, a broadcast, a reply)
    kind: str  # sms or call
    phone: str  # E.164
    household_id: str | None  # None: an office's or the township's number
    purpose: str  # alarm, ring, flash, ack_relay, broadcast … (domain.alarm.PRIORITY)
    text: str  # the SMS, or the sentence a ring call speaks
    priority: int  # lower goes first
    state: str  # pending, sending, sent, failed, cancelled
    attempts: int  # claims that counted against it
    not_before: datetime | None  # a retry's back-off ends
    last_error: str | None
    modem_ref: str | None  # a sent SMS's message references, one per part: "12,13"
    created_at: datetime
    updated_at: datetime
    modem: str | None  # the modem that last claimed it
    report: str | None  # delivered / failed, once every part's report came
    broadcast_id: int | None

    @classmethod
    def from_row(cls, row: dict) -> DeliveryRow:
        return cls(**{**row, "not_before": _moment(row["not_before"]),
                      "created_at": parse_utc(row["created_at"]),
                      "updated_at": parse_utc(row["updated_at"])})


@dataclass(frozen=True)
class SmsPart:
    """One part of a sent SMS (table ``sms_parts``), with its delivery report once it came."""

    id: int
    delivery_id: int
    modem: str
    reference: int  # the network's message reference (+CMGS), wraps at 256
    part: int  # 1, 2 … in the order submitted
    submitted_at: datetime
    status: str | None  # None until the report comes: delivered / failed
    reported_at: datetime | None

    @classmethod
    def from_row(cls, row: dict) -> SmsPart:
        return cls(**{**row, "submitted_at": parse_utc(row["submitted_at"]),
                      "reported_at": _moment(row["reported_at"])})
