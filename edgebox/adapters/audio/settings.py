"""The ``[speaker]`` keys of the config: the village loudspeaker's output, its amplifier relay,
what it announces and who may speak on it live by phone (edgebox.speaker reads them)."""
from __future__ import annotations

import re

from edgebox.adapters.gpio.panel_keys import gpio_pin
from edgebox.config import Key, between, one_of
from edgebox.i18n import Text

QUIET_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


def _quiet_hours(value: str) -> Text | None:
    return None if value == "" or QUIET_HOURS.match(value) else Text(
        "config.quiet_hours",
        'must be "HH:MM-HH:MM" in the box\'s time (such as "22:00-06:30"), or "" for none')


def _alsa_device(value: str) -> Text | None:
    return None if re.fullmatch(r"[A-Za-z0-9_:,.=-]+", value) else Text(
        "config.alsa_device",
        'must be an ALSA device name such as "default" or "plughw:1,0" (see aplay -L)')


def _pin(value: str) -> Text | None:
    return None if value == "" or (value.isdigit() and 4 <= len(value) <= 8) else Text(
        "config.live_pin", "must be 4-8 digits, or empty to turn live voice off")


SPEAKER_KEYS: dict[str, Key] = {
    "speaker.enabled": Key(bool, False),
    "speaker.backend": Key(str, "simulated", one_of("simulated", "alsa")),
    "speaker.device": Key(str, "default", _alsa_device),
    "speaker.simulated_file": Key(str, "/var/lib/edgebox/speaker-simulated.jsonl"),
    "speaker.simulated_speed": Key((int, float), 1, between(0.1, 100)),
    "speaker.relay_pin": Key(int, 0, gpio_pin),  # BCM pin of the amplifier's power relay
    "speaker.relay_active_high": Key(bool, True),
    "speaker.pre_roll_seconds": Key((int, float), 1.0, between(0, 10)),
    "speaker.post_roll_seconds": Key((int, float), 3.0, between(0, 60)),
    "speaker.repeats": Key(int, 3, between(1, 10)),
    "speaker.chime": Key(bool, True),
    "speaker.all_clear": Key(bool, True),
    "speaker.drills": Key(bool, True),
    # Senders whose 广播 are read out as well as texted: phones, and "office" for the panel's.
    "speaker.broadcasts_from": Key(list, []),
    "speaker.quiet_hours": Key(str, "", _quiet_hours),  # for broadcasts only, never alarms
    # Live voice (the 9999 variant): who may call in, enter the PIN and speak on the horn.
    "speaker.live_numbers": Key(list, []),
    "speaker.live_pin": Key(str, "", _pin),
    "speaker.live_max_seconds": Key((int, float), 300, between(10, 1800)),
    "speaker.live_max_wrong": Key(int, 3, between(1, 20)),
    "speaker.live_lockout_minutes": Key((int, float), 60, between(0.1, 24 * 60)),
    # How the live caller's voice leaves the modem (edgebox.adapters.audio.call_audio): "auto"
    # by the modem's family, or "serial", "uac" or "analogue"; the ALSA capture device it
    # arrives on ("uac"). The serial port is the modem's own: [[modems]] audio_port.
    "speaker.call_audio": Key(str, "auto", one_of("auto", "serial", "uac", "analogue")),
    "speaker.call_audio_device": Key(str, "plughw:Android", _alsa_device),
}
