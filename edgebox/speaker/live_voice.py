"""Live voice by phone (the 9999 variant of the village horn): an authorised number calls the
box, types the PIN and "#", hears a beep and speaks; its voice plays on the loudspeaker until
it hangs up or ``live_max_seconds`` pass.

Every other call keeps working as an alarm: ``took_call`` takes only calls from
``speaker.live_numbers`` and only when no session runs; a waiting call (+CCWA) is never taken.
An alarm always wins. During a session the box is in a call of its own, so an alarm caller
arrives as a waiting call and is rejected and raised as usual (AT+CHLD=0 keeps the live call
until then); the alarm's opening ends the session at once (``hear``), and its announcement
would anyway cut the live voice short on the loudspeaker (LIVE < ALARM).

The PIN: ``live_max_wrong`` wrong PINs in a row lock the number out for
``live_lockout_minutes`` (edgebox.domain.pin_lockout, the leaders' rule), read from the log so
a restart changes nothing; a locked-out number is hung up on unanswered. The PIN is compared in
constant time and never logged.

The voice's way from the modem is the family's own (edgebox.adapters.audio.call_audio).
"""
from __future__ import annotations

import hmac
import logging
import threading
import time
from datetime import timedelta

from edgebox.adapters.audio.call_audio import (ANALOGUE, UAC, AlsaCaptureSource, AnalogueSource,
                                               SerialPcmSource, loudest_level, route_for)
from edgebox.adapters.audio.port import AudioError
from edgebox.domain.phones import normalise_caller
from edgebox.domain.pin_lockout import locked_until
from edgebox.errors import ModemError
from edgebox.speaker.player import LIVE, Loudspeaker
from edgebox.speaker.settings import SpeakerSettings
from edgebox.store.logged_event import Event
from edgebox.store.times import parse_utc

log = logging.getLogger("edgebox.speaker")

PIN_SECONDS = 30  # to type the PIN once answered; then the box hangs up
PIN_END = "#"
MAX_PIN = 8
POLL = 0.2
BEEP_TONE = "#"  # AT+VTS tone the caller hears when the loudspeaker is theirs


class LiveVoice:
    def __init__(self, settings: SpeakerSettings, speaker: Loudspeaker, store, modems,
                 clock, region: str):
        """``modems``: a callable giving the SerialModem a call rang on, by its name."""
        self.settings, self.speaker, self.store = settings, speaker, store
        self.modems, self.clock, self.region = modems, clock, region
        self._lock = threading.Lock()
        self._phone: str | None = None  # the number of the session running, if one is
        self._end = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.settings.live_numbers and self.settings.live_pin)

    # ---- the event loop's side ---------------------------------------------------------------

    def took_call(self, call) -> bool:
        """On the event loop: is this call a live voice (answered here, on a thread of its
        own)? False leaves it to the alarm policy. Quick: no AT command waits here. A fault
        here leaves the call to the alarm policy, never loses it."""
        try:
            return self._take(call)
        except Exception:  # a loudspeaker bug must not cost an alarm call
            log.exception("live voice: call %r left to the alarm policy", call)
            return False

    def _take(self, call) -> bool:
        if not self.enabled or call.waiting or call.digits is None:
            return False
        phone = normalise_caller(call.digits, call.ton, self.region)
        if phone not in self.settings.live_numbers:
            return False
        modem = self.modems(call.modem)
        with self._lock:
            if self._phone is not None:
                if phone != self._phone:
                    return False  # one live voice at a time: this one is a call as any other
                modem.notes.call_rejected()  # the session's own call ringing on: already ours
                return True
            self._phone = phone
            self._end.clear()
        modem.notes.call_rejected()  # announced calls count until the daemon dealt with them
        self._thread = threading.Thread(target=self._session, args=(modem, phone),
                                        name="live-voice", daemon=True)
        self._thread.start()
        return True

    def hear(self, event: Event) -> None:
        """The store's listener: an alarm opened ends a live session at once."""
        if event.kind == "incident_opened" and self._phone is not None:
            self._end.set()

    def stop(self) -> None:
        self._end.set()
        if self._thread is not None:
            self._thread.join(15)

    def state(self) -> dict:
        return {"live_phone": self._phone or ""}

    # ---- the session ---------------------------------------------------------------------------

    def _locked(self, phone: str) -> bool:
        tries = [(parse_utc(e.at), e.kind == "live_started")
                 for e in self.store.events_of_kinds(["live_pin_wrong", "live_started"])
                 if e.data.get("phone") == phone]
        until = locked_until(tries, self.settings.live_max_wrong,
                             timedelta(minutes=self.settings.live_lockout_minutes))
        return until is not None and until > self.clock()

    def _session(self, modem, phone: str) -> None:
        reason = "error"
        # The box is in a call of its own from here: an alarm calling now arrives as a waiting
        # call and is released alone (AT+CHLD=0, SerialModem.reject_call), and the call's end
        # is reported to the notes.
        modem.notes.begin_call()
        modem.in_outgoing_call = True
        try:
            if self._locked(phone):
                reason = "locked"
                self.store.append_event(self.clock(), "live_refused", phone=phone,
                                        reason="locked")
                return
            modem.command("ATA")
            reason = self._after_answer(modem, phone)
        except ModemError as exc:
            log.error("live voice from %s: %s", phone, exc)
        finally:
            modem.in_outgoing_call = False
            try:
                modem.command("ATH")
                modem.notes.hung_up()
            except ModemError as exc:
                log.warning("hanging up the live call from %s failed: %s", phone, exc)
            self.store.append_event(self.clock(), "live_ended", phone=phone, reason=reason)
            with self._lock:
                self._phone = None

    def _after_answer(self, modem, phone: str) -> str:
        pin = self._read_pin(modem)
        if pin is None:
            return "hung_up" if modem.notes.call_end(0) else "no_pin"
        if not hmac.compare_digest(pin.encode(), self.settings.live_pin.encode()):
            self.store.append_event(self.clock(), "live_pin_wrong", phone=phone)
            return "wrong_pin"
        route = route_for(modem.dialect.family, modem.identity, self.settings.call_audio)
        source = (AnalogueSource() if route.kind == ANALOGUE else
                  AlsaCaptureSource(self.settings.call_audio_device) if route.kind == UAC else
                  SerialPcmSource(modem.audio_port))  # the modem's own [[modems]] audio_port
        try:
            source.open()  # before the voice is switched on: the first words are kept
        except AudioError as exc:
            log.error("live voice from %s: %s", phone, exc)
            return "audio_failed"
        try:
            return self._speak(modem, phone, source, route)
        finally:
            source.close()
            for command in route.stop:
                try:
                    modem.command(command)
                except ModemError as exc:
                    log.warning("could not switch the call's audio off: %s", exc)

    def _read_pin(self, modem) -> str | None:
        """The digits typed before "#" (or the eighth digit), None if the caller hung up or
        typed nothing in time."""
        deadline = time.monotonic() + PIN_SECONDS
        digits = ""
        while len(digits) < MAX_PIN:
            key = modem.notes.wait_for_key(deadline, stop=self._end)  # every key: a PIN has 2s
            if key is None:
                return None
            if key == PIN_END:
                return digits
            digits += key
        return digits

    def _speak(self, modem, phone: str, source, route) -> str:
        """The voice on the loudspeaker until the caller hangs up, the time is up, or an alarm
        comes; the reason it ended."""
        stop = threading.Event()
        failed: list[str] = []

        def pieces():
            try:
                for clip in source.chunks(stop):
                    yield (f"live {phone}", clip)
            except AudioError as exc:
                failed.append(str(exc))
                log.error("live voice from %s: %s", phone, exc)

        # The amplifier first (relay, pre-roll), then the voice path, then the beep: on a SIM800
        # the voice goes to the amplifier the moment it is switched on, past the box.
        item = self.speaker.queue(LIVE, f"live {phone}", pieces())
        try:
            deadline = time.monotonic() + self.settings.live_max_seconds
            reason = self._wait(modem, item, lambda: item.started.is_set(), deadline, failed)
            if reason is not None:
                return reason
            for command in route.start:
                modem.command(command)
            if route.kind == ANALOGUE:
                top = loudest_level(modem.command("AT+CLVL=?"))
                modem.command(f"AT+CLVL={top if top is not None else 5}")
            self.store.append_event(self.clock(), "live_started", phone=phone, route=route.kind)
            try:
                modem.command(f"AT+VTS={BEEP_TONE}")  # the caller's beep: speak now
            except ModemError as exc:
                log.info("no beep for the live caller (%s)", exc)
            return self._wait(modem, item, lambda: False, deadline, failed)
        finally:
            stop.set()
            self.speaker.cancel(item)
            item.done.wait(10)

    def _wait(self, modem, item, until, deadline: float, failed: list) -> str | None:
        """Wait for ``until()``; the reason the session must end if it comes first."""
        while not until():
            if time.monotonic() >= deadline:
                return "time_limit"
            if modem.notes.call_end(POLL):
                return "hung_up"
            if self._end.is_set():
                return "alarm"
            if item.done.is_set():  # cut short by an alarm's announcement, or the source ended
                return "audio_failed" if failed else "alarm" if item.cut else "audio_ended"
        return None
