"""What a ring call says, as audio: the delivery's sentence rendered once through the speech
cache (twelve members, one synthesis), or the office's recorded prompt for alarm calls.

An alarm's sentences are rendered ahead, on this module's own thread ("speech"), as soon as the
alarm is planned (``prepare``, asked by the event loop after its commit and the hang-up): the
synthesis (a quarter of a second on a PC, a second or two on a Pi 3) then overlaps the first
SMS's submit instead of delaying the first ring, and never holds up the event loop. The
modem's worker asks ``for_delivery`` just before it dials, outside the modem's port lock: it
finds the sentence in the cache, or waits for the render ahead only if that is not done yet.
A sentence that cannot be rendered still rings (the modem's TTS speaks the text, or the call
rings without words): never a lost ring for want of audio.
"""
from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path
from typing import Iterable

from edgebox.adapters.modem.speech_out import Speech
from edgebox.adapters.speech import SpeechError, synthesiser_from_settings
from edgebox.adapters.speech.cache import SpeechCache
from edgebox.adapters.speech.prompt import load_prompt
from edgebox.adapters.speech.settings import speech_directory
from edgebox.adapters.speech.synthesisers import ESPEAK_SECONDS
from edgebox.daemon.thread_names import label_threads
from edgebox.domain.alarm import speaks
from edgebox.store.outbox_rows import DeliveryRow

log = logging.getLogger(__name__)

# Calls that are no alarm: a daily check-in rings briefly with words of its own.
NOT_ALARMS = frozenset({"check_in"})
# The longest a ring waits for its sentence being rendered ahead: the synthesiser's own limit
# and a margin. Past it the ring renders (or speaks by TTS) by itself.
AHEAD_WAIT_SECONDS = ESPEAK_SECONDS + 5


class CallSpeech:
    def __init__(self, cache: SpeechCache, data_directory: str | Path):
        self.cache = cache
        self.data_directory = Path(data_directory)
        self._rendering = threading.Lock()  # the workers of several modems share the cache
        self._lock = threading.Lock()  # guards the two below
        self._ahead: dict[str, threading.Event] = {}  # sentences queued or being rendered ahead
        self._failed: set[str] = set()  # rendered ahead in vain: the ring does not try again
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_config(cls, config) -> CallSpeech:
        directory = speech_directory(config)
        synthesiser = synthesiser_from_settings(config.get("speech.engine"),
                                                config.get("speech.voice"),
                                                config.get("speech.words_per_minute"))
        return cls(SpeechCache(directory / "speech", synthesiser), directory)

    # -- ahead of the ring (the event loop asks, the speech thread renders) --------------------

    def prepare(self, sentences: Iterable[str]) -> None:
        """Render these sentences on the speech thread, now: an alarm's ring calls were just
        planned. Returns at once."""
        with self._lock:
            new = [t for t in dict.fromkeys(sentences) if t and t not in self._ahead]
            if new:  # each alarm tries afresh (a synthesiser mended meanwhile, room on the disk)
                self._failed.clear()
            for text in new:
                self._ahead[text] = threading.Event()
            if new and self._thread is None:
                self._thread = threading.Thread(target=self._render_ahead, name="speech",
                                                daemon=True)
                self._thread.start()
        for text in new:
            self._queue.put(text)

    def close(self) -> None:
        """End the speech thread once what it has in hand is rendered (the box is stopping)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=AHEAD_WAIT_SECONDS)

    def _render_ahead(self) -> None:
        label_threads()  # its name in `top -H`, as the daemon's other threads have
        while True:
            text = self._queue.get()
            if text is None:
                return
            failed = False
            try:
                if load_prompt(self.data_directory) is None:  # a recorded prompt needs none
                    with self._rendering:
                        self.cache.render(text)
            except (SpeechError, OSError) as exc:
                failed = True
                log.warning("the alarm's sentence could not be rendered (%s); its ring calls "
                            "speak it by the modem's TTS if they can", exc)
            finally:
                with self._lock:
                    if failed:
                        self._failed.add(text)
                    self._ahead.pop(text).set()

    # -- at the ring (a modem's worker asks) ---------------------------------------------------

    def for_delivery(self, delivery: DeliveryRow) -> Speech | None:
        text = delivery.text
        if not text or not speaks(delivery.purpose):
            return None
        prompt = None if delivery.purpose in NOT_ALARMS else load_prompt(
            self.data_directory)
        if prompt is not None:
            return Speech(text, prompt)
        with self._lock:
            ahead = self._ahead.get(text)
        if ahead is not None:  # being rendered ahead: waiting for it beats a second synthesis
            ahead.wait(AHEAD_WAIT_SECONDS)
        with self._lock:
            if text in self._failed:  # it would fail the same way, and hold the ring up again
                return Speech(text)
        try:
            with self._rendering:
                return Speech(text, self.cache.render(text))
        except (SpeechError, OSError) as exc:
            log.warning("the ring call's sentence could not be rendered (%s); the modem "
                        "speaks it by TTS if it can", exc)
            return Speech(text)
