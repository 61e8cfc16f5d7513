"""What a ring call says, as audio: the delivery's sentence rendered once through the speech
cache (twelve members, one synthesis), or the office's recorded prompt for alarm calls. Made
by the modem's worker before it dials, outside the modem's port lock, so a synthesis never
holds up a hang-up. A sentence that cannot be rendered still rings (the modem's TTS speaks the
text, or the call rings without words): never a lost ring for want of audio.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from edgebox.adapters.modem.speech_out import Speech
from edgebox.adapters.speech import SpeechError, synthesiser_from_settings
from edgebox.adapters.speech.cache import SpeechCache
from edgebox.adapters.speech.prompt import load_prompt
from edgebox.adapters.speech.settings import speech_directory
from edgebox.store.outbox_rows import DeliveryRow

log = logging.getLogger(__name__)

# Calls that are no alarm: a daily check-in rings briefly with words of its own.
NOT_ALARMS = frozenset({"check_in"})


class CallSpeech:
    def __init__(self, cache: SpeechCache, data_directory: str | Path):
        self.cache = cache
        self.data_directory = Path(data_directory)
        self._rendering = threading.Lock()  # the workers of several modems share the cache

    @classmethod
    def from_config(cls, config) -> CallSpeech:
        directory = speech_directory(config)
        synthesiser = synthesiser_from_settings(config.get("speech.engine"),
                                                config.get("speech.voice"),
                                                config.get("speech.words_per_minute"))
        return cls(SpeechCache(directory / "speech", synthesiser), directory)

    def for_delivery(self, delivery: DeliveryRow) -> Speech | None:
        text = delivery.text
        if not text:
            return None
        prompt = None if delivery.purpose in NOT_ALARMS else load_prompt(
            self.data_directory)
        if prompt is not None:
            return Speech(text, prompt)
        try:
            with self._rendering:
                return Speech(text, self.cache.render(text))
        except (SpeechError, OSError) as exc:
            log.warning("the ring call's sentence could not be rendered (%s); the modem "
                        "speaks it by TTS if it can", exc)
            return Speech(text)
