"""Voice calls on the simulated network: the box being rung, and the box ringing members.

One voice call at a time, like the single-line modules the box uses, plus at most one waiting
call: while the box's own call is up (dialling, alerting or active) a new caller is announced
only as ``+CCWA: "<number>",<type>,1`` (3GPP TS 27.007 7.12), and only after ``AT+CCWA=1``;
otherwise that caller hears busy. ``AT+CHLD=0`` releases the waiting call ("user determined user
busy", free for the caller); when the box's call ends first, the waiting call rings as an
ordinary incoming call. Every call ends with one
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
ACTIVE, DIALING, ALERTING, INCOMING, WAITING = 0, 2, 3, 4, 5


@dataclass
class Callee:
    """How a member's phone behaves when the box rings it."""

    answer_after: float | None = None  # seconds of alerting before they pick up; None: never
    busy: bool = False
    hangup_after: float | None = None  # seconds after answering that they hang up; None: never
    # The keys they press after answering, one after another ("1" acknowledges; "21": they
    # ask to hear the message again, then acknowledge).
    press: str | None = None
    press_after: float = 0.0  # seconds after answering (and between keys) that they press


@dataclass
class Call:
    id: int
    direction: int
    number: str
    state: int
    started: float
    rings: int = 0  # RINGs (or +CCWA) shown to the box (incoming calls)
    ring_limit: int = 10  # rings before the caller gives up
    ring_interval: float | None = None  # None: the modem's own cadence
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
        self.waiting: Call | None = None  # a caller announced by +CCWA during our own call
        self._callees: dict[str, Callee] = {}
        self._ids = itertools.count(1)

    # -- control side ------------------------------------------------------------------------

    def set_callee(self, number: str, answer_after: float | None = None, busy: bool = False,
                   hangup_after: float | None = None, press: str | None = None,
                   press_after: float = 0.0) -> None:
        if press is not None and (not press or any(key not in "0123456789*#ABCD"
                                                   for key in press)):
            raise ValueError("press must be DTMF keys: 0-9, *, #, A-D")
        if press_after < 0:
            raise ValueError("press_after must not be negative")
        self._callees[canonical_number(number, self.engine.profile.country_code)] = Callee(
            answer_after, busy, hangup_after, press, float(press_after))

    def ring_box(self, number: str, rings: int = 10, ring_interval: float | None = None) -> int:
        """A phone calls the box; returns the id its ``call_received`` log entry will carry.
        RING/+CLIP repeat every ``ring_interval`` seconds, by default the modem's own cadence
        (``Profile.ring_interval``, 5-6 s on real networks) on the emulator's time scale."""
        if rings < 1 or (ring_interval is not None and ring_interval <= 0):
            raise ValueError("rings must be at least 1 and ring_interval positive")
        call_id = next(self._ids)
        if not self.engine.reachable():
            # Off, unplugged, no SIM or no coverage: the caller hears "not reachable".
            self.engine.log.record("call_received", id=call_id, number=number, outcome="unreachable",
                                   rejected_after=None, rings=0)
            return call_id
        call = Call(call_id, MOBILE_TERMINATED, number, INCOMING, self.engine.clock(),
                    ring_limit=rings, ring_interval=ring_interval)
        if self.current is not None:
            # Call waiting during any call in progress: one the box placed, or one it answered
            # (a live voice on the loudspeaker), 3GPP TS 22.083.
            in_progress = (self.current.direction == MOBILE_ORIGINATED
                           or self.current.state == ACTIVE)
            if in_progress and self.waiting is None and self.engine.settings.ccwa:
                call.state = WAITING
                self.waiting = call
                self._announce_waiting(call)
                return call_id
            # Call waiting off (or a second caller already waiting): the caller hears busy.
            self.engine.log.record("call_received", id=call_id, number=number, outcome="busy",
                                   rejected_after=None, rings=0)
            return call_id
        self.current = call
        self._ring(call, rings, ring_interval)
        return call_id

    def _next_ring(self, call: Call) -> float:
        if call.ring_interval is not None:
            return call.ring_interval
        return self.engine.latency.ring_seconds(self.engine.profile.ring_interval)

    def _announce_waiting(self, call: Call) -> None:
        if call is not self.waiting:
            return
        if call.rings >= call.ring_limit:
            self.waiting = None  # the caller gave up while waiting
            self._log_received(call, "missed")
            return
        shown, number_type = self.present_caller(call.number)
        self.engine.emit_urc(f'+CCWA: "{shown}",{number_type},1')
        call.rings += 1
        call.timers = [self.engine.timers.schedule(self._next_ring(call),
                                                   lambda: self._announce_waiting(call))]

    def release_waiting(self) -> bool:
        """AT+CHLD=0: the waiting call is released (free for its caller); with none waiting, a
        ringing incoming call is rejected as ATH would. False when there was nothing to end."""
        call = self.waiting
        if call is not None:
            self.waiting = None
            call.cancel_timers()
            self._log_received(call, "rejected")
            return True
        if self.current is not None and self.current.state == INCOMING:
            self.hang_up()
            return True
        return False

    def _ring(self, call: Call, rings: int, interval: float | None) -> None:
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
        call.timers = [self.engine.timers.schedule(self._next_ring(call),
                                                   lambda: self._ring(call, rings, interval))]

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
        call.timers = [self.engine.timers.schedule(self.engine.latency.setup_seconds(),
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
        if self.engine.profile.early_connect:
            # SIMCom A76xx on some networks: the ring-back tone gets its own voice channel, and
            # the module reports it as if the callee had answered (see Profile.early_connect).
            self.engine.emit_urc("VOICE CALL: BEGIN")
            self._connected_line(call)
        ring_timeout = self.engine.latency.seconds(self.engine.latency.ring_timeout)
        if callee.answer_after is not None and callee.answer_after < ring_timeout:
            call.timers = [self.engine.timers.schedule(
                callee.answer_after, lambda: self._callee_answers(call, callee))]
        else:
            call.timers = [self.engine.timers.schedule(ring_timeout, lambda: self._no_answer(call))]

    def _connected_line(self, call: Call) -> None:
        if self.engine.settings.colp:
            shown, number_type = self.present_caller(call.number)
            self.engine.emit_urc(f'+COLP: "{shown}",{number_type}')

    def _callee_answers(self, call: Call, callee: Callee) -> None:
        call.state = ACTIVE
        call.answered_at = self.engine.clock()
        call.timers = []
        if not self.engine.profile.early_connect:  # an early-connect module said it already
            self._connected_line(call)
        for index, key in enumerate(callee.press or ""):
            call.timers.append(self.engine.timers.schedule(
                callee.press_after * (index + 1),
                lambda key=key: self._callee_presses(call, key)))
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
        self.engine.services["caller_audio"].answered(call)  # a caller who types and speaks
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
        if self.waiting is not None:
            call, self.waiting = self.waiting, None
            call.cancel_timers()
            self._log_received(call, "dropped")
        if self.current is not None:
            self._end(self.current, "dropped")

    def list_lines(self) -> list[str]:
        lines = []
        for index, call in enumerate(c for c in (self.current, self.waiting) if c is not None):
            shown, number_type = (self.present_caller(call.number)
                                  if call.direction == MOBILE_TERMINATED
                                  else (call.number, 145 if call.number.startswith("+") else 129))
            state = call.state
            if self.engine.profile.early_connect and state == ALERTING:
                state = ACTIVE  # what an early-connect module reports during the ring-back
            lines.append(f'+CLCC: {index + 1},{call.direction},{state},0,0,"{shown}",{number_type}')
        return lines

    def _end(self, call: Call, outcome: str) -> None:
        call.cancel_timers()
        self.current = None
        self.engine.services["voice"].call_ended()
        self.engine.services["caller_audio"].call_ended()
        now = self.engine.clock()
        if call.direction == MOBILE_TERMINATED:
            self._log_received(call, outcome)
        else:
            self._log_placed(call, outcome, now)
        if self.waiting is not None and outcome != "dropped":
            # Our call is over: the waiting caller now rings the box as any incoming call.
            waiting, self.waiting = self.waiting, None
            waiting.cancel_timers()
            waiting.state = INCOMING
            self.current = waiting
            self._ring(waiting, waiting.ring_limit, waiting.ring_interval)

    def _log_received(self, call: Call, outcome: str) -> None:
        now = self.engine.clock()
        rejected_after = round(now - call.started, 3) if outcome == "rejected" else None
        self.engine.log.record("call_received", id=call.id, number=call.number, outcome=outcome,
                               rejected_after=rejected_after, rings=call.rings,
                               **({"waiting": True} if call.state == WAITING else {}))

    def _log_placed(self, call: Call, outcome: str, now: float) -> None:
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
