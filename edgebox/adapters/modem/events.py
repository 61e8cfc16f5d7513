"""What a modem tells the daemon, in the order it happened (one queue, one consumer)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IncomingCall:
    """Someone is ringing the box. ``digits``/``ton`` as in +CLIP; digits None when withheld.
    ``same_call``: the same number rang moments ago, so this is probably that call ringing on
    before our hang-up reached the network; it must be rejected but is not a new alarm."""
    digits: str | None
    ton: int | None
    same_call: bool = False


@dataclass(frozen=True)
class IncomingSms:
    number: str  # as the network gave it: "+8613800138000" or "13800138000"
    text: str


@dataclass(frozen=True)
class ModemLost:
    """The port failed (unplugged, reset): the modem needs reopening."""
    reason: str


@dataclass(frozen=True)
class RingOutcome:
    """How a ring call ended: "hung_up" (rang its full length, we ended it), "answered",
    "busy", "no_answer" (the network gave up first) or "rejected" (ended before it rang)."""
    result: str
    alerting_seconds: float
