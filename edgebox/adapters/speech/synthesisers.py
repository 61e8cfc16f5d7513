"""The two synthesisers behind the speech port, and the choice between them from the settings."""
from __future__ import annotations

import math
import shutil
import struct
import subprocess
import unicodedata
from typing import Protocol

from edgebox.adapters.speech.clip import RATE, Clip, SpeechError
from edgebox.adapters.speech.convert import RAW, run_sox
from edgebox.i18n import Text

ESPEAK_SECONDS = 30  # a sentence takes ~0.1 s on a PC and well under 2 s on a Pi 3


class Synthesiser(Protocol):
    name: str  # what the health page and the selftest say this box speaks with

    def render(self, text: str) -> Clip: ...


class EspeakSynthesiser:
    """Debian's espeak-ng, Mandarin voice by default. Its output (22.05 kHz WAV) is resampled to
    telephone audio and normalised to -3 dBFS, loud enough for a phone held at arm's length."""

    def __init__(self, voice: str = "cmn", words_per_minute: int = 150):
        self.voice, self.words_per_minute = voice, words_per_minute
        self.name = f"espeak-ng ({voice})"
        self._voice_checked = False

    @staticmethod
    def available() -> bool:
        return shutil.which("espeak-ng") is not None and shutil.which("sox") is not None

    def render(self, text: str) -> Clip:
        if shutil.which("espeak-ng") is None:
            raise SpeechError(Text("speech_error.no_espeak",
                                   "espeak-ng is not installed (Debian package espeak-ng)"))
        if not self._voice_checked:
            self._check_voice()
        try:  # the text goes on stdin: a sentence starting with "-" is not an option
            done = subprocess.run(
                ["espeak-ng", "-v", self.voice, "-s", str(self.words_per_minute), "--stdout"],
                input=text.encode("utf-8"), capture_output=True, timeout=ESPEAK_SECONDS,
                check=False)
        except subprocess.TimeoutExpired:
            raise SpeechError(Text("speech_error.espeak_slow", "espeak-ng took longer than "
                                   "{seconds} s", seconds=ESPEAK_SECONDS)) from None
        if done.returncode != 0 or not done.stdout:
            # espeak-ng's own message, as it printed it (a Text when it printed none)
            said = done.stderr.decode(errors="replace").strip() or Text(
                "speech_error.no_audio", "no audio")
            raise SpeechError(Text("speech_error.espeak_failed", "espeak-ng failed: {said}",
                                   said=said))
        return Clip(run_sox(["-t", "wav", "-", *RAW, "-", "gain", "-n", "-3"], done.stdout))

    def _check_voice(self) -> None:
        """espeak-ng falls back to its English voice for a name it does not know, silently:
        a box set up with a typo would read a Chinese alarm as a string of "Chinese letter"."""
        done = subprocess.run(["espeak-ng", "--voices"], capture_output=True, text=True,
                              timeout=ESPEAK_SECONDS, check=False)
        known = set()
        for line in done.stdout.splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 5:
                known.update((fields[1], fields[3], fields[4].rsplit("/", 1)[-1]))
        if self.voice not in known:
            raise SpeechError(Text("speech_error.no_voice", "espeak-ng has no voice '{voice}'"
                                   " (Mandarin is 'cmn')", voice=self.voice))
        self._voice_checked = True


CHARACTER_SECONDS = 0.2
PAUSE_SECONDS = 0.15
AMPLITUDE = 8000


class ToneSynthesiser:
    """The simulated backend: each spoken character a short tone whose pitch comes from the
    character, each pause a silence. Same text, same clip; a longer text, a longer clip; never
    silence for a non-empty sentence — what the tests of the audio path need to check."""

    name = "tones (simulated)"

    @staticmethod
    def available() -> bool:
        return True

    def render(self, text: str) -> Clip:
        parts = []
        for char in text:
            if char.isspace() or unicodedata.category(char).startswith(("P", "S", "Z")):
                parts.append(bytes(2 * int(PAUSE_SECONDS * RATE)))
            else:
                parts.append(tone(300 + (ord(char) % 40) * 15))
        return Clip(b"".join(parts))


def tone(hertz: float, seconds: float = CHARACTER_SECONDS) -> bytes:
    """A sine tone faded in and out, as PCM (also the loudspeaker's chime and beep)."""
    count = int(seconds * RATE)
    fade = RATE // 100  # 10 ms in and out, so tones do not click
    samples = []
    for i in range(count):
        envelope = min(1.0, i / fade, (count - 1 - i) / fade)
        samples.append(int(AMPLITUDE * envelope * math.sin(2 * math.pi * hertz * i / RATE)))
    return struct.pack(f"<{count}h", *samples)


def synthesiser_from_settings(engine: str, voice: str = "cmn",
                              words_per_minute: int = 150) -> Synthesiser:
    """``engine`` is "espeak-ng", "tones", or "auto" (espeak-ng where it is installed)."""
    if engine == "tones":
        return ToneSynthesiser()
    espeak = EspeakSynthesiser(voice, words_per_minute)
    if engine == "espeak-ng" or espeak.available():
        return espeak
    return ToneSynthesiser()
