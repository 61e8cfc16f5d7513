"""One modem's ring calls, and how one is ended early.

A member's phone is rung for the alarm's time (a check-in briefly, a flash 响一声 for a few
seconds of ringing), the alarm spoken when they answer, their key heard. An acknowledgement
or a cancel arriving while the phone rings (or while they listen) makes the rest of that call
pointless. Whether it still is, is read from what the event loop committed (``wanted``) just
before dialling and again on every ``recheck``, both under one lock, so a decision committed
at any moment is seen by one of the two.
"""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from edgebox.adapters.modem.events import RingOutcome
from edgebox.daemon.call_speech import CallSpeech
from edgebox.daemon.ports import WorkerStore
from edgebox.daemon.worker_events import KeyAcknowledged
from edgebox.domain.acks import alarm_needs_line, ring_still_wanted
from edgebox.domain.alarm import flash_limit
from edgebox.store.outbox_rows import DeliveryRow


@dataclass(frozen=True)
class RingSettings:
    alarm_seconds: float  # alarm.ring_seconds: an alarm's ring call at most
    flash_seconds: float  # alarm.flash_seconds: how long a flash rings the member's phone
    check_in_seconds: float  # check_in.ring_seconds: a daily check-in's brief ring


def ring_settings(config) -> RingSettings:
    return RingSettings(config.alarm_ring_seconds, config.alarm_flash_seconds,
                        config.get("check_in.ring_seconds"))


class RingCall:
    def __init__(self, name: str, store: WorkerStore, modem, clock: Callable[[], datetime],
                 events: queue.Queue, speech: CallSpeech, settings: RingSettings):
        self.name, self.store, self.modem, self.clock = name, store, modem, clock
        self.speech = speech
        self.settings = settings
        # A key pressed goes to the event loop as an event: the worker never calls the core.
        self._events = events
        self._lock = threading.Lock()
        self._ringing: DeliveryRow | None = None  # the delivery being rung now
        self._hang_up = threading.Event()

    def ring(self, d: DeliveryRow) -> None:
        """Ring the delivery's member (or record it cancelled, never dialled, if it is not
        wanted now) and record how it went. A modem failure raises ModemError."""
        with self._lock:
            wanted = self.wanted(d)
            self._ringing = d if wanted else None
            self._hang_up.clear()
        if not wanted:  # acknowledged or cancelled since it was queued: never dial
            self.store.outbox.finish(self.clock(), d.id, "cancelled", "call_cancelled")
            return
        seconds, ring_for = self.settings.alarm_seconds, None
        if d.purpose == "check_in":  # a check-in rings briefly, no words
            seconds = self.settings.check_in_seconds
        elif d.purpose == "flash":  # 响一声: the member's phone rings a few seconds, no words
            ring_for = self.settings.flash_seconds
            seconds = flash_limit(seconds, ring_for)
        speaking = self.modem.speech_mechanism
        try:
            outcome: RingOutcome = self.modem.ring(d.phone, seconds,
                                                   speech=self.speech.for_delivery(d),
                                                   stop=self._hang_up, ring_for=ring_for)
        finally:
            with self._lock:
                self._ringing = None
        if self.modem.speech_mechanism != speaking:  # the modem refused a way of speaking
            self.store.append_event(self.clock(), "modem_speech", modem=self.name,
                                    speech=self.modem.speech_mechanism, was=speaking)
        self.store.outbox.finish(self.clock(), d.id, "sent", "call_placed",
                                 result=outcome.result, spoken=outcome.spoken,
                                 alerting_seconds=outcome.alerting_seconds)
        if outcome.result == "acknowledged":
            self._events.put(KeyAcknowledged(d.id))

    def wanted(self, d: DeliveryRow) -> bool:
        """The alarm's state as the event loop committed it, read under the domain's rule."""
        if d.purpose == "check_in":  # a daily check-in: not while an alarm needs the line
            return not alarm_needs_line(self.store.incidents.all("open"))
        incident = self.store.incidents.get(d.incident_id) if d.incident_id else None
        acked = ({a.household_id for a in self.store.incidents.acks(incident.id)}
                 if incident is not None else set())
        return ring_still_wanted(d.incident_id, d.purpose, d.household_id, incident,
                                 acked)

    def recheck(self) -> bool:
        """Hang up the ring call in progress if what the event loop committed (an
        acknowledgement, a cancel, a caller joining) makes it pointless now; the event loop
        asks after each such commit. True when a call is being ended."""
        with self._lock:
            if self._ringing is None or self.wanted(self._ringing):
                return False
            self._hang_up.set()
            return True
