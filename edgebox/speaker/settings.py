"""The ``[speaker]`` section as one checked value, and the output and relay it names."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import time as clock_time

from edgebox.adapters.audio.alsa import AplayOutput
from edgebox.adapters.audio.relay import AmplifierRelay
from edgebox.adapters.audio.settings import QUIET_HOURS
from edgebox.adapters.audio.simulated import SimulatedOutput
from edgebox.config import check_numbers
from edgebox.errors import ConfigError
from edgebox.i18n import Text

OFFICE_SENDER = "office"  # the web panel's broadcasts, in speaker.broadcasts_from


@dataclass(frozen=True)
class SpeakerSettings:
    enabled: bool
    backend: str
    device: str
    simulated_file: str
    simulated_speed: float
    relay_pin: int
    relay_active_high: bool
    pre_roll: float
    post_roll: float
    repeats: int
    chime: bool
    all_clear: bool
    drills: bool
    broadcasts_from: frozenset[str]
    quiet_hours: tuple[clock_time, clock_time] | None
    live_numbers: tuple[str, ...]
    live_pin: str
    live_max_seconds: float
    live_max_wrong: int
    live_lockout_minutes: float
    language: str
    call_audio: str = "auto"
    call_audio_device: str = "plughw:Android"

    def __repr__(self) -> str:  # the PIN stays out of logs and tracebacks
        return f"SpeakerSettings(enabled={self.enabled}, backend={self.backend!r})"

    def quiet_at(self, local: clock_time) -> bool:
        """Within the quiet hours (box time)? They may run past midnight: 22:00-06:30."""
        if self.quiet_hours is None:
            return False
        start, end = self.quiet_hours
        return start <= local < end if start <= end else local >= start or local < end


def speaker_settings(config) -> SpeakerSettings:
    region = config.box_region
    quiet = None
    if config.speaker_quiet_hours:
        h1, m1, h2, m2 = map(int, QUIET_HOURS.match(config.speaker_quiet_hours).groups())
        quiet = (clock_time(h1, m1), clock_time(h2, m2))
        if quiet[0] == quiet[1]:
            raise ConfigError("speaker.quiet_hours", Text(
                "config.quiet_hours_empty", "starts and ends at the same time"))
    live_numbers = tuple(check_numbers("speaker.live_numbers", config.speaker_live_numbers, region))
    if live_numbers and not config.speaker_live_pin:
        raise ConfigError("speaker.live_pin", Text(
            "config.live_pin_required", "is required when speaker.live_numbers is set: a caller "
            "ID alone is easy to fake"))
    if config.speaker_backend == "simulated" and not config.speaker_simulated_file.strip():
        raise ConfigError("speaker.simulated_file", Text(
            "config.simulated_file", "must name a file for the simulated loudspeaker to write "
            "what it plays"))
    if config.speaker_relay_pin and config.speaker_relay_pin == config.siren_pin:
        raise ConfigError("speaker.relay_pin", Text(
            "config.relay_is_siren", "GPIO {pin} is the siren's pin (siren.pin)",
            pin=config.speaker_relay_pin))
    return SpeakerSettings(
        config.speaker_enabled, config.speaker_backend, config.speaker_device,
        config.speaker_simulated_file, float(config.speaker_simulated_speed),
        config.speaker_relay_pin, config.speaker_relay_active_high,
        float(config.speaker_pre_roll_seconds), float(config.speaker_post_roll_seconds),
        config.speaker_repeats, config.speaker_chime, config.speaker_all_clear,
        config.speaker_drills,
        frozenset(check_numbers("speaker.broadcasts_from", config.speaker_broadcasts_from, region,
                           allow=(OFFICE_SENDER,))),
        quiet, live_numbers, config.speaker_live_pin, float(config.speaker_live_max_seconds),
        config.speaker_live_max_wrong, float(config.speaker_live_lockout_minutes),
        config.box_language, config.speaker_call_audio, config.speaker_call_audio_device)


def build_output(settings: SpeakerSettings):
    if settings.backend == "alsa":
        return AplayOutput(settings.device)
    return SimulatedOutput(settings.simulated_file, settings.simulated_speed)


def build_relay(settings: SpeakerSettings, gpio, output) -> AmplifierRelay:
    relay = AmplifierRelay(gpio, settings.relay_pin, settings.relay_active_high)
    if isinstance(output, SimulatedOutput):
        relay.watch(output.relay_changed)  # the relay's changes in line with the clips
    return relay
