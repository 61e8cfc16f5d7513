"""Modem personalities: identity strings and the dialect details that differ between models.

Only ``generic`` is registered today. The fields below are the points where real modules differ
(SIM800 puts ``+CLIP`` on its own timing, SIM7600/EC25 speak ``+CEREG`` and report DTMF), so a
new dialect is a new ``Profile`` entry plus, where needed, handlers keyed on these fields.
"""
from __future__ import annotations

from dataclasses import dataclass, field

CALLER_ID_STYLES = ("as_given", "national", "international")


@dataclass(frozen=True)
class Profile:
    name: str
    manufacturer: str
    model: str
    revision: str
    imei: str = "866123045678901"
    imsi: str = "460001234567890"
    operator: str = "CHINA MOBILE"
    smsc: str = "+8613800100500"
    echo: bool = True  # echo after power-up / ATZ, as every real modem does
    supports_crc: bool = True  # AT+CRC=1 turns RING into +CRING: VOICE
    clip_before_ring: bool = False  # some modules report the caller before the first RING
    caller_id_style: str = "as_given"  # how +CLIP shows the caller: see CALLER_ID_STYLES
    country_code: str = "86"  # for converting between national and international numbers
    sms_capacity: int = 50  # messages per storage ("SM", "ME")
    # Commands this model answers with ERROR even though the engine knows them.
    unsupported: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self):
        if self.caller_id_style not in CALLER_ID_STYLES:
            raise ValueError(f"caller_id_style must be one of {CALLER_ID_STYLES}")


PROFILES: dict[str, Profile] = {
    "generic": Profile(
        name="generic",
        manufacturer="edgebox",
        model="EMU-1",
        revision="EMU-1.0.0",
        # Not a Wavecom, ZTE or SIMCom: clients must fall back to polling +CLCC for call state.
        unsupported=frozenset({"+DDET", "+WIND", "+ZPAS", "^CURC", "+CEREG"}),
    ),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown modem profile {name!r}; known: {', '.join(sorted(PROFILES))}") from None
