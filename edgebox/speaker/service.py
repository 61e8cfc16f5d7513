"""The loudspeaker as one of the daemon's services, built from the ``[speaker]`` section.

Off unless ``speaker.enabled``. Built at the composition root (edgebox.daemon.app) beside the
siren panel, on the same GPIO module as the siren (one RPi.GPIO per process), and subscribed
to the store's committed events, so the alarm core neither knows of it nor waits for it.
"""
from __future__ import annotations

import logging
import os

from edgebox.adapters.speech import synthesiser_from_settings
from edgebox.adapters.speech.cache import SpeechCache
from edgebox.speaker.announcements import Announcer
from edgebox.speaker.live_voice import LiveVoice
from edgebox.speaker.player import Loudspeaker
from edgebox.speaker.settings import build_output, build_relay, speaker_settings
from edgebox.speaker.status import status_path, write_status

log = logging.getLogger("edgebox.speaker")


def speech_cache(config) -> SpeechCache:
    """The [speech] synthesiser behind a cache beside the database (a sentence said three
    times, or again after a restart, is rendered once)."""
    synthesiser = synthesiser_from_settings(config.speech_engine, config.speech_voice,
                                            config.speech_words_per_minute)
    directory = os.path.join(os.path.dirname(os.path.abspath(config.box_database)),
                             "speech-cache")
    return SpeechCache(directory, synthesiser)


class SpeakerService:
    """The player, the announcer and the live voice, started and stopped together."""

    def __init__(self, config, store, gpio, rosters, clock, modems):
        self.settings = speaker_settings(config)
        output = build_output(self.settings)
        self.loudspeaker = Loudspeaker(output, build_relay(self.settings, gpio, output),
                                       self.settings.pre_roll, self.settings.post_roll)
        self.speech = speech_cache(config)
        self.announcer = Announcer(self.loudspeaker, self.speech, self.settings, rosters, clock)
        self.live = LiveVoice(self.settings, self.loudspeaker, store, modems, clock,
                              config.box_region)
        store.subscribe(self.announcer.hear)
        store.subscribe(self.live.hear)
        self.status_file = status_path(config.box_database)
        self.loudspeaker.watch(self.publish)

    def publish(self) -> None:
        """The state for the web panel (edgebox.speaker.status)."""
        try:
            write_status(self.status_file, self.state())
        except OSError as exc:
            log.warning("loudspeaker state not written to %s: %s", self.status_file, exc)

    def start(self) -> None:
        self.publish()
        self.loudspeaker.start()
        self.announcer.start()
        log.info("loudspeaker on %s, speaking with %s%s", self.loudspeaker.output.name,
                 self.speech.synthesiser.name,
                 "; live voice by phone on" if self.live.enabled else "")

    def stop(self) -> None:
        self.live.stop()
        self.announcer.stop()
        self.loudspeaker.stop()

    def state(self) -> dict:
        return {**self.loudspeaker.state(), **self.live.state()}


def add_loudspeaker(daemon, config, store, gpio, clock) -> SpeakerService | None:
    """Append the loudspeaker to the daemon's services when the config enables it, and let
    it take the live voice's calls before the alarm policy sees them."""
    if not config.speaker_enabled:
        return None
    service = SpeakerService(config, store, gpio, lambda: daemon.roster, clock,
                             lambda name: daemon.workers[name].modem)
    daemon.services.append(service)
    daemon.core.alarms.call_takers.append(service.live.took_call)
    return service
