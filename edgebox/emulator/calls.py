"""Voice calls on the simulated network: the box being rung, and the box ringing members.

One voice call at a time, like the single-line modules the box uses. Every call ends with one
log entry (``call_received`` or ``call_placed``) saying how it ended; ``call_placed`` also says
how long the network took to set it up and how long it alerted. A tracing engine also logs each
``+CLIP`` the host is shown (``clip_emitted``, when it goes out). What is heard and keyed
during a call (TTS, DTMF) is the voice service's business; this desk tells it when a callee
answers, presses a key or the call ends.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from edgebox.emulator.modem_errors import CmeError
from edgebox.emulator.timing import Timer

MOBILE_ORIGINATED, MOBILE_TERMINATED = 0, 1
ACTIVE, DIALING, ALERTING, INCOMING = 0, 2, 3, 4


@dataclass
class Callee:
    """How a member's phone behaves when the box rings it."""

    answer_after: float | None = None  # seconds of alerting before they pick up; None: never
    busy: bool = False
    hangup_after: float | None = None  # seconds after answering that they hang up; None: never
    press: str | None = None  # the key they press after answering ("1" acknowledges)
    press_after: float = 0.0  # seconds after answering that they press it


@dataclass
class Call:
    id: int
    direction: int
    number: str
    state: int
    started: float
    rings: int = 0  # RINGs shown to the box (incoming calls)
    alerting_since: float | None = None
    answered_at: float | None = None
    timers: list[Timer] = field(default_factory=list)

    def cancel_timers(self) -> None:
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()


class CallDesk:
    def __init__(self, engine):
        self.engine = engine
        self.current: Call | None = None
        self._callees: dict[str, Callee] = {}
        self._ids = itertools.count(1)

    # -- control side ------------------------------------------------------------------------

    def set_callee(self, number: str, answer_after: float | None = None, busy: bool = False,
                   hangup_after: float | None = None, press: str | None = None,
                   press_after: float = 0.0) -> None:
        if press is not None and (len(press) != 1 or press not in "0123456789*#ABCD"):
            raise ValueError("press must be one DTMF key: 0-9, *, #, A-D")
        if press_after < 0:
            raise ValueError("press_after must not be negative")
        self._callees[canonical_number(number, self.engine.profile.country_code)] = Callee(
            answer_after, busy, hangup_after, press, float(press_after))

    def ring_box(self, number: str, rings: int = 10, ring_interval: float = 1.0) -> int:
        """A phone calls the box; returns the id its ``call_received`` log entry will carry."""
        if rings < 1 or ring_interval <= 0:
            raise ValueError("rings must be at least 1 and ring_interval positive")
        call_id = next(self._ids)
        if not self.engine.reachable():
            # Off, unplugged, no SIM or no coverage: the caller hears "not reachable".
            self.engine.log.record("call_received", id=call_id, number=number, outcome="unreachable",
                                   rejected_after=None, rings=0)
            return call_id
        if self.current is not None:
            # No call waiting on these lines: the caller just hears busy.
            self.engine.log.record("call_received", id=call_id, number=number, outcome="busy",
                                   rejected_after=None, rings=0)
            return call_id
        call = Call(call_id, MOBILE_TERMINATED, number, INCOMING, self.engine.clock())
        self.current = call
        self._ring(call, rings, ring_interval)
        return call_id

    def _ring(self, call: Call, rings: int, interval: float) -> None:
        if call is not self.current or call.state != INCOMING:
            return
        if call.rings >= rings:
            self.engine.emit_urc("NO CARRIER")  # the caller gave up
            self._end(call, "missed")
            return
        settings = self.engine.settings
        ring = "+CRING: VOICE" if settings.crc and self.engine.profile.supports_crc else "RING"
        shown, number_type = self.present_caller(call.number)
        clip = f'+CLIP: "{shown}",{number_type},"",,"",0' if settings.clip else None
        profile = self.engine.profile
        # Traced: the moment the caller id reaches the host, where the box's alarm path starts.
        clip_out = (lambda: self.engine.log.record("clip_emitted", call=call.id, number=shown,
                                                   type=number_type)) if self.engine.trace else None
        if clip and (profile.clip_before_ring or profile.clip_without_ring):
            self.engine.emit_urc(clip, on_output=clip_out)
        if not profile.clip_without_ring:
            self.engine.emit_urc(ring)
        if clip and not (profile.clip_before_ring or profile.clip_without_ring):
            self.engine.emit_urc(clip, on_output=clip_out)
        call.rings += 1
        call.timers = [self.engine.timers.schedule(interval, lambda: self._ring(call, rings, interval))]

    def present_caller(self, number: str) -> tuple[str, int]:
        """The caller's number and type of address as +CLIP/+CLCC show them."""
        style, country = self.engine.profile.caller_id_style, self.engine.profile.country_code
        international = number.startswith("+")
        if style == "national" and international and number[1:].startswith(country):
            return number[1 + len(country):], 129
        if style == "international" and not international:
            return f"+{country}{number.lstrip('0')}", 145
        return number, 145 if international else 129

    # -- host side ---------------------------------------------------------------------------

    def dial(self, number: str) -> None:
        if self.current is not None:
            raise CmeError(3)
        call = Call(next(self._ids), MOBILE_ORIGINATED, number, DIALING, self.engine.clock())
        self.current = call
        call.timers = [self.engine.timers.schedule(self.engine.latency.call_setup,
                                                   lambda: self._setup_done(call))]

    def _setup_done(self, call: Call) -> None:
        callee = self._callees.get(canonical_number(call.number, self.engine.profile.country_code),
                                   Callee())
        if not self.engine.network.registered:
            self.engine.emit_urc("NO CARRIER")
            self._end(call, "no_network")
            return
        if callee.busy:
            self.engine.emit_urc("BUSY")
            self._end(call, "busy")
            return
        call.state = ALERTING
        call.alerting_since = self.engine.clock()
        ring_timeout = self.engine.latency.ring_timeout
        if callee.answer_after is not None and callee.answer_after < ring_timeout:
            call.timers = [self.engine.timers.schedule(
                callee.answer_after, lambda: self._callee_answers(call, callee))]
        else:
            call.timers = [self.engine.timers.schedule(ring_timeout, lambda: self._no_answer(call))]

    def _callee_answers(self, call: Call, callee: Callee) -> None:
        call.state = ACTIVE
        call.answered_at = self.engine.clock()
        call.timers = []
        if self.engine.settings.colp:
            shown, number_type = self.present_caller(call.number)
            self.engine.emit_urc(f'+COLP: "{shown}",{number_type}')
        if callee.press is not None:
            call.timers.append(self.engine.timers.schedule(
                callee.press_after, lambda: self._callee_presses(call, callee.press)))
        if callee.hangup_after is not None:
            call.timers.append(self.engine.timers.schedule(callee.hangup_after,
                                                           lambda: self._callee_hangs_up(call)))

    def _callee_presses(self, call: Call, key: str) -> None:
        if call is self.current and call.state == ACTIVE:
            self.engine.services["voice"].key_pressed(call, key)

    def _callee_hangs_up(self, call: Call) -> None:
        self.engine.emit_urc("NO CARRIER")
        self._end(call, "answered")

    def _no_answer(self, call: Call) -> None:
        self.engine.emit_urc("NO ANSWER")
        self._end(call, "no_answer")

    def answer(self) -> bool:
        """ATA: pick up a ringing incoming call; False when nothing rings."""
        call = self.current
        if call is None or call.state != INCOMING:
            return False
        call.cancel_timers()
        call.state = ACTIVE
        call.answered_at = self.engine.clock()
        return True

    def hang_up(self) -> None:
        """ATH / AT+CHUP: end whatever call there is (rejecting a ringing one)."""
        call = self.current
        if call is None:
            return
        if call.direction == MOBILE_TERMINATED:
            self._end(call, "answered" if call.answered_at is not None else "rejected")
        else:
            self._end(call, "answered" if call.answered_at is not None else "hung_up_by_box")

    def power_off(self) -> None:
        """The modem lost power: the call in progress is dropped on the network side."""
        if self.current is not None:
            self._end(self.current, "dropped")

    def list_lines(self) -> list[str]:
        call = self.current
        if call is None:
            return []
        shown, number_type = (self.present_caller(call.number) if call.direction == MOBILE_TERMINATED
                              else (call.number, 145 if call.number.startswith("+") else 129))
        return [f'+CLCC: 1,{call.direction},{call.state},0,0,"{shown}",{number_type}']

    def _end(self, call: Call, outcome: str) -> None:
        call.cancel_timers()
        self.current = None
        self.engine.services["voice"].call_ended()
        now = self.engine.clock()
        if call.direction == MOBILE_TERMINATED:
            rejected_after = round(now - call.started, 3) if outcome == "rejected" else None
            self.engine.log.record("call_received", id=call.id, number=call.number, outcome=outcome,
                                   rejected_after=rejected_after, rings=call.rings)
            return
        alerting = 0.0
        if call.alerting_since is not None:
            alerting = (call.answered_at if call.answered_at is not None else now) - call.alerting_since
        setup = (call.alerting_since if call.alerting_since is not None else now) - call.started
        self.engine.log.record("call_placed", id=call.id, number=call.number, outcome=outcome,
                               alerting_seconds=round(alerting, 3), duration=round(now - call.started, 3),
                               setup_seconds=round(setup, 3))


def canonical_number(number: str, country_code: str) -> str:
    """Digits of a number without its country code, so +8613800138000 matches 13800138000."""
    digits = re.sub(r"\D", "", number)
    if number.startswith("+") and digits.startswith(country_code):
        return digits[len(country_code):]
    if number.startswith("00") and digits[2:].startswith(country_code):
        return digits[2 + len(country_code):]
    return digits
