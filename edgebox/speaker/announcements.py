"""Announcements: the loudspeaker as one more listener of the alarm core's committed events.

It hears the store's events after they commit (SqliteStore.subscribe), on the committing
thread, and only queues them: rendering speech (espeak-ng takes a second on a Pi 3) and playing
happen on its own thread and the player's. By the time an alarm is announced it has been
texted and rung; a loudspeaker that fails or hangs delays and loses nothing of the alarm.

- ``incident_opened``: chime and sentence (type, group, household, address) ``repeats``
  times, at alarm urgency, cutting short a broadcast or a live voice. A drill says 演练 before
  and after (unless ``speaker.drills`` is off); a missed check-in is a knock on a door, never
  announced.
- ``incident_closed``: called off by its caller or the office, the all-clear (``all_clear``),
  ending the alarm's repeats if they still play; a drill's end says so. An alarm that expired
  unacknowledged is not "all clear" and is not announced.
- ``broadcast_planned``: read out too when its sender is in ``broadcasts_from`` (a phone, or
  "office" for the web panel's), unless in the quiet hours, which hold for notices only.
- ``office_action`` "speak": the office's "speak this text now" from the web panel, read once.
"""
from __future__ import annotations

import logging
import queue
import threading
from datetime import datetime

from edgebox.adapters.speech import Clip, SpeechError
from edgebox.domain.alarm import alarm_label
from edgebox.domain.escalation import QUIET_TYPES
from edgebox.speaker.player import ALARM, NOTICE, Loudspeaker
from edgebox.speaker.settings import SpeakerSettings
from edgebox.speaker.sounds import chime
from edgebox.speaker.words import spoken
from edgebox.store.logged_event import Event

log = logging.getLogger("edgebox.speaker")

HEARD = ("incident_opened", "incident_closed", "broadcast_planned", "office_action")
GAP_SECONDS = 1.5  # between two repeats: the end of one is not run into the next
ALL_CLEAR_REASONS = ("cancelled", "drill_over")


class Announcer:
    def __init__(self, speaker: Loudspeaker, speech, settings: SpeakerSettings, rosters,
                 clock):
        """``speech``: what renders a sentence (a SpeechCache); ``rosters``: a callable
        giving the roster in force; ``clock``: UTC now (quiet hours are read in box time)."""
        self.speaker, self.speech, self.settings = speaker, speech, settings
        self.rosters, self.clock = rosters, clock
        self._events: queue.Queue = queue.Queue()
        self._announced: dict[int, tuple] = {}  # incident -> (its item, its fields, drill)
        self._thread: threading.Thread | None = None

    def hear(self, event: Event) -> None:
        """The store's listener: queue, and nothing else, on the committing thread."""
        if event.kind in HEARD:
            self._events.put(event)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="announcer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._events.put(None)
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        while (event := self._events.get()) is not None:
            try:
                self._announce(event)
            except (SpeechError, KeyError, ValueError) as exc:
                log.error("loudspeaker: %s #%s not announced: %s", event.kind,
                          event.incident_id, exc)

    def _announce(self, event: Event) -> None:
        data = event.data
        if event.kind == "incident_opened":
            self._alarm(event.incident_id, data)
        elif event.kind == "incident_closed":
            self._closed(event.incident_id, data)
        elif event.kind == "office_action":
            if data.get("action") == "speak" and data.get("text"):
                self.say_now(data["text"])
        else:
            self._broadcast(data)

    # ---- alarms ------------------------------------------------------------------------------

    def _alarm(self, incident_id: int, data: dict) -> None:
        alarm_type = data.get("alarm_type", "call")
        drill = bool(data.get("drill"))
        if data.get("kind") == "check_in" or alarm_type in QUIET_TYPES:
            return
        if drill and not self.settings.drills:
            return
        lang = self.settings.language
        roster = self.rosters()
        household = roster.household(data["household"])
        fields = dict(group=roster.group(data["group"]).name, caller=household.name,
                      address=household.address, label=alarm_label(alarm_type, lang))
        sentence = spoken(lang, "alarm", **fields)
        if drill:
            sentence = spoken(lang, "drill", sentence=sentence)
        pieces = self._repeated(sentence, self.settings.repeats)
        item = self.speaker.queue(ALARM, f"#{incident_id} {sentence}", pieces)
        self._announced[incident_id] = (item, fields, drill)

    def _closed(self, incident_id: int, data: dict) -> None:
        announced = self._announced.pop(incident_id, None)
        if announced is None or data.get("reason") not in ALL_CLEAR_REASONS:
            if announced is not None:
                self.speaker.cancel(announced[0])  # expired: its repeats end, nothing is said
            return
        item, fields, drill = announced
        self.speaker.cancel(item)  # the alarm's remaining repeats would now mislead
        if not self.settings.all_clear:
            return
        lang = self.settings.language
        sentence = spoken(lang, "drill_over") if drill else spoken(lang, "all_clear", **fields)
        self.speaker.queue(ALARM, f"#{incident_id} {sentence}", self._repeated(sentence, 1))

    # ---- broadcasts ----------------------------------------------------------------------------

    def _broadcast(self, data: dict) -> None:
        if data.get("sender") not in self.settings.broadcasts_from:
            return
        local = self._local_now()
        if self.settings.quiet_at(local.time()):
            log.info("loudspeaker: broadcast %s texted only: quiet hours (%s)",
                     data.get("broadcast"), local.strftime("%H:%M"))
            return
        sentence = spoken(self.settings.language, "broadcast", text=data.get("text", ""))
        self.speaker.queue(NOTICE, sentence, self._repeated(sentence, 1))

    def say_now(self, text: str) -> None:
        """The office's "speak this text now": a notice, read once, quiet hours or not (the
        office chose the moment)."""
        sentence = spoken(self.settings.language, "office", text=text)
        self.speaker.queue(NOTICE, sentence, self._repeated(sentence, 1))

    # ---- pieces ------------------------------------------------------------------------------

    def _repeated(self, sentence: str, times: int) -> list[tuple[str, Clip]]:
        """Chime and sentence, ``times`` over; rendered once (the speech cache keeps it)."""
        words = self.speech.render(sentence)
        pieces: list[tuple[str, Clip]] = []
        for number in range(1, times + 1):
            if self.settings.chime:
                pieces.append(("chime", chime()))
            pieces.append((f"{sentence} ({number}/{times})", words))
            if number < times:
                pieces.append(("gap", Clip.silence(GAP_SECONDS)))
        return pieces

    def _local_now(self) -> datetime:
        return self.clock().astimezone()
