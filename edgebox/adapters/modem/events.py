"""What the modems tell the daemon, in the order it happened (one queue, one consumer). Every
event names the modem it came from, so the daemon answers on the right one."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IncomingCall:
    """Someone is ringing the box. ``digits``/``ton`` as in +CLIP; digits None when withheld.
    ``same_call``: this number was shown before and the box has not hung up since, nor has the
    caller given up: that call ringing on, however long our hang-up took. It must be rejected
    but is not a new alarm. ``waiting``: announced by +CCWA while the box was in a call of its
    own (ringing a member), so it is rejected with AT+CHLD=0, keeping that call."""
    digits: str | None
    ton: int | None
    same_call: bool = False
    modem: str = ""
    waiting: bool = False


@dataclass(frozen=True)
class IncomingSms:
    number: str  # as the network gave it: "+8613800138000" or "13800138000"
    text: str  # all parts joined
    modem: str = ""
    inbox_id: int | None = None  # its row in the store's inbox, once kept there


@dataclass(frozen=True)
class DeliveryReport:
    """The network's report on one submitted SMS part, by its message reference."""
    reference: int
    delivered: bool
    final: bool  # False while the network is still trying (TP-ST 0x20-0x3F)
    status: int
    modem: str = ""


@dataclass(frozen=True)
class UssdReply:
    text: str
    modem: str = ""


@dataclass(frozen=True)
class ModemLost:
    """The port failed (unplugged, reset): the modem needs reopening."""
    reason: str
    modem: str = ""


@dataclass(frozen=True)
class BootLineSeen:
    """The modem printed a boot line outside an initialisation (RDY, Call Ready …): it may have
    restarted in place. Its worker, asleep while idle, looks at once (see ModemWorker)."""
    line: str
    modem: str = ""


@dataclass(frozen=True)
class RingOutcome:
    """How a ring call ended: "hung_up" (rang its full length, we ended it), "answered",
    "acknowledged" (answered and the member pressed the acknowledgement key), "busy",
    "no_answer" (the network gave up first), "rejected" (ended before it rang) or "cancelled"
    (we hung up early: the call was no longer needed)."""
    result: str
    alerting_seconds: float
    spoken: bool = False
