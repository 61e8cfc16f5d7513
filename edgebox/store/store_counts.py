"""The store's counts at a glance (``SqliteStore.summary``): what the demo prints at its end
and a benchmark waits on."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StoreCounts:
    incidents: int
    sms_sent: int
    calls_placed: int
    acks: int
    failures: int    # deliveries given up for good
    pending: int     # deliveries planned or being sent
    cancelled: int   # deliveries not sent because they were no longer wanted
    events: int      # the log's length
