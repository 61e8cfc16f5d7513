"""The box's config file as a whole: the core sections and the mechanism (edgebox.config)
joined with the sections their owners declare beside the code that reads them: ``[panel]``
(edgebox.adapters.gpio.panel_keys), ``[speech]`` (edgebox.adapters.speech.settings), ``[speaker]``
(edgebox.adapters.audio.settings), ``[web]``
(edgebox.web.settings) and ``[uplink]`` (edgebox.uplink.settings). Everything that reads the file goes through here, so a key is
checked by its owner before anything starts.
"""
from __future__ import annotations

from pathlib import Path

from edgebox.adapters.audio.settings import SPEAKER_KEYS
from edgebox.adapters.gpio.panel_keys import PANEL_KEYS
from edgebox.adapters.speech.settings import SPEECH_KEYS
from edgebox.config import CORE_KEYS, Config, join_sections, parse_sections, read_config_text
from edgebox.uplink.settings import UPLINK_KEYS
from edgebox.web.settings import WEB_KEYS

KEYS = join_sections(CORE_KEYS, PANEL_KEYS, SPEECH_KEYS, SPEAKER_KEYS, WEB_KEYS, UPLINK_KEYS)


def parse_config(text: str, source: str = "<config>") -> Config:
    return parse_sections(text, source, KEYS)


def load_config(path: str | Path) -> Config:
    return parse_config(read_config_text(path), str(path))
