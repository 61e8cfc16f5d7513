"""When has a member answered the box's ring call? The rule per dialect.

Most modems follow 3GPP TS 27.007: ``+CLCC`` lists our call as 2 (dialling), then 3
(alerting: the member's phone rings, we hear the ring-back tone), then 0 (active) once the
member picks up, and ``+COLP`` (after ``AT+COLP=1``) comes with the answer. There, either
``+CLCC`` active or ``+COLP`` is an answer.

SIMCom A76xx modules (A7670, A7672, A7608 …) on some networks are given a voice channel for
the ring-back tone itself, and then report, moments after alerting begins, everything a real
answer would: ``VOICE CALL: BEGIN``, ``+COLP`` and ``+CLCC: 1,0,0,…``; when the member does
answer nothing more comes (A7672SA field traces: "+CLCC 1,0,2 / 1,0,3 / VOICE CALL: BEGIN /
+CLCC 1,0,0 / +COLP" at ring-back, identical for not answered, rejected and answered). The
rule there: a "connected" sign within ``EARLY_CONNECT_SECONDS`` of the call starting to alert
(or before any alerting was seen) is the ring-back, and from then on only a key the member
presses proves an answer - so the box neither speaks into the ring-back nor logs 已接听 for a
member who never picked up; the SMS carries the words. Active after alerting was seen for
longer than that (the same module on a network without early channels) is an answer.
"""
from __future__ import annotations

import re

# A human needs a few seconds to hear the phone and pick up; a ring-back channel comes within
# a second of alerting.
EARLY_CONNECT_SECONDS = 2.0
_EARLY_CONNECT_MODELS = re.compile(r"\bA76\d\d", re.IGNORECASE)


def connects_early(identity: str) -> bool:
    """A modem (by its +CGMI/+CGMM identity) that may report the ring-back as connected."""
    return bool(_EARLY_CONNECT_MODELS.search(identity or ""))


class AnswerRule:
    """Decides, poll by poll, whether the ring call has been answered."""

    def __init__(self, early_connect: bool):
        self.early_connect = early_connect
        self.alerting_since: float | None = None
        self.ring_back = False  # an early-connect modem reported the ring-back as connected

    def answered(self, active: bool, connected: bool, alerting: bool, now: float) -> bool:
        """``active``: +CLCC lists the call as active; ``connected``: +COLP or VOICE CALL:
        BEGIN came; ``alerting``: +CLCC lists it as alerting; ``now``: monotonic seconds."""
        if alerting and self.alerting_since is None:
            self.alerting_since = now
        if not (active or connected):
            return False
        if not self.early_connect:
            return True
        if self.ring_back:
            return False
        if self.alerting_since is None or now - self.alerting_since < EARLY_CONNECT_SECONDS:
            self.ring_back = True
            if self.alerting_since is None:  # the ring-back says the member's phone rings
                self.alerting_since = now
            return False
        return active
