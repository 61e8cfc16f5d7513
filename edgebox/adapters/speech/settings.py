"""The ``[speech]`` keys of the config: which synthesiser speaks the alarm, in which voice."""
from __future__ import annotations

from pathlib import Path

from edgebox.config import Key, between, one_of
from edgebox.i18n import Text

SPEECH_KEYS: dict[str, Key] = {
    # "auto": espeak-ng where it is installed (the package depends on it), else simulated tones.
    "speech.engine": Key(str, "auto", one_of("auto", "espeak-ng", "tones")),
    "speech.voice": Key(str, "cmn", lambda v: None if v.replace("-", "").isalnum() else Text(
        "config.speech_voice", "must be an espeak-ng voice name such as cmn")),
    "speech.words_per_minute": Key(int, 150, between(80, 300)),
}


def speech_directory(config) -> Path:
    """Where the box keeps its rendered sentences and the office's prompt: beside its
    database, on the data partition, where the daemon and the web panel both can write."""
    return Path(config.box_database).resolve().parent
