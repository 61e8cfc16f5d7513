"""What a modem worker tells the event loop, as events on its queue (never a call into it)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KeyAcknowledged:
    """A member pressed the acknowledgement key in a ring call."""
    delivery_id: int


@dataclass(frozen=True)
class ModemOutage:
    """A modem stayed unreachable through the recovery ladder: the office is to hear of it."""
    modem: str
