"""The box's own ring call on a modem, from dialling to hanging up: watch the call come up,
decide when it is answered (ring_back), speak the alarm into it (speech_out) and wait for the
member's key, then hang up. SerialModem.ring runs it on the modem's port; the FakeModem of
the tests shares its acknowledgement key."""
from __future__ import annotations

import logging
import threading
import time

from edgebox.adapters.modem import readings
from edgebox.adapters.modem.events import RingOutcome
from edgebox.adapters.modem.ring_back import AnswerRule, connects_early
from edgebox.adapters.modem.speech_out import REPLAY_KEY, Listening, Speech
from edgebox.errors import ModemError

log = logging.getLogger(__name__)

CLCC_ACTIVE, CLCC_ALERTING = 0, 3
POLL_SECONDS = 0.3
ACK_KEY = "1"


def ring(modem, number: str, max_seconds: float, speech: Speech | str | None = None,
         stop: threading.Event | None = None, ring_for: float | None = None) -> RingOutcome:
    """Ring ``number`` on ``modem`` (a SerialModem) for at most ``max_seconds``. If the member
    answers, speak ``speech`` (where the modem can) and wait for the acknowledgement key until
    the time is up. Setting ``stop`` hangs up early: the call is no longer needed (result
    "cancelled"). ``ring_for``: hang up that many seconds after the member's phone starts
    ringing (a flash, 响一声: the call set-up varies, the ringing a villager hears should not).
    What counts as answered depends on the modem (see ring_back): a ring-back reported as
    connected is not spoken into; there only the member's key proves an answer.
    ``speech`` is a ``Speech`` (text and its audio) or just the text; the audio goes to the
    modem as a file before dialling, and is played when the member answers; key 2 plays it
    again (see speech_out)."""
    speech = Speech.of(speech)
    modem.speech.load(speech)
    modem.notes.begin_call()
    modem.in_outgoing_call = True
    rule = AnswerRule(connects_early(modem.identity))
    spoken, result = False, "hung_up"
    try:
        modem.command(f"ATD{number};")
        deadline = time.monotonic() + max_seconds
        while time.monotonic() < deadline:
            if stop is not None and stop.is_set():
                result = "cancelled"
                break
            ended = modem.notes.call_end(POLL_SECONDS)
            if ended:
                result = ended
                break
            state = outgoing_state(modem)
            if state is None:
                result = "no_answer" if rule.alerting_since else "rejected"
                break
            answered = rule.answered(state == CLCC_ACTIVE, modem.notes.connected.is_set(),
                                     state == CLCC_ALERTING, time.monotonic())
            if ring_for is not None and rule.alerting_since is not None:
                deadline = min(deadline, rule.alerting_since + ring_for)
            if rule.ring_back and modem.notes.take_key() == ACK_KEY:
                result = "acknowledged"  # the member picked up after all, and said so
                break
            if answered:
                listening = Listening(deadline, speech)
                spoken = listening.heard(modem.speech.speak(speech))
                pressed = modem.notes.wait_for_key(
                    listening.until, REPLAY_KEY, stop=stop,
                    replay=lambda: listening.heard(modem.speech.speak(speech, True)))
                result = ("acknowledged" if pressed == ACK_KEY else
                          "cancelled" if stop is not None and stop.is_set() else "answered")
                break
    finally:
        modem.in_outgoing_call = False
        modem.speech.call_over()
        try:
            modem.command("ATH")
        except ModemError as exc:
            log.warning("hanging up the ring call to %s failed: %s", number, exc)
    alerting = time.monotonic() - rule.alerting_since if rule.alerting_since else 0.0
    return RingOutcome(result, round(alerting, 2), spoken)


def outgoing_state(modem) -> int | None:
    """The +CLCC state of the call we placed (0 active, 3 alerting …), None when it is gone."""
    for line in modem.command("AT+CLCC"):
        match = readings.CLCC.match(line)
        if match and match.group(2) == "0":  # direction 0: a call we placed
            return int(match.group(3))
    return None
