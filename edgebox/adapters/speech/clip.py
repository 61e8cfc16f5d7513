"""A piece of telephone audio: 8 kHz mono 16-bit PCM, and what tests and modems ask of it."""
from __future__ import annotations

import hashlib
import io
import math
import sys
import wave
from array import array
from dataclasses import dataclass

from edgebox.errors import EdgeboxError

RATE = 8000  # samples per second: what a GSM voice channel carries
WIDTH = 2  # bytes per sample, signed 16-bit little-endian
SILENCE_RMS = 100  # below this (of 32767) a clip is silence or line hiss, not speech


class SpeechError(EdgeboxError):
    """Audio could not be made or read (a missing program, a broken file); the message says which."""


@dataclass(frozen=True)
class Clip:
    pcm: bytes  # signed 16-bit little-endian samples at RATE, one channel

    def __post_init__(self):
        if len(self.pcm) % WIDTH:
            raise SpeechError("PCM audio must hold whole 16-bit samples")

    @property
    def samples(self) -> int:
        return len(self.pcm) // WIDTH

    @property
    def seconds(self) -> float:
        return self.samples / RATE

    @property
    def digest(self) -> str:
        """What the box and the emulator compare to tell that the right audio reached a call."""
        return hashlib.sha256(self.pcm).hexdigest()

    def _values(self) -> array:
        values = array("h")
        values.frombytes(self.pcm)
        if sys.byteorder == "big":
            values.byteswap()
        return values

    @property
    def rms(self) -> float:
        values = self._values()
        if not values:
            return 0.0
        return math.sqrt(sum(v * v for v in values) / len(values))

    def is_silent(self) -> bool:
        return self.rms < SILENCE_RMS

    def to_wav(self) -> bytes:
        out = io.BytesIO()
        with wave.open(out, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(WIDTH)
            w.setframerate(RATE)
            w.writeframes(self.pcm)
        return out.getvalue()

    @classmethod
    def from_wav(cls, data: bytes) -> Clip:
        """A WAV already in the box's format (8 kHz mono 16-bit); anything else goes through
        ``convert.to_clip``, which resamples."""
        try:
            with wave.open(io.BytesIO(data), "rb") as w:
                shape = (w.getnchannels(), w.getsampwidth(), w.getframerate())
                frames = w.readframes(w.getnframes())
        except (wave.Error, EOFError) as e:
            raise SpeechError(f"not a readable WAV file: {e}") from None
        if shape != (1, WIDTH, RATE):
            raise SpeechError(f"WAV is {shape[2]} Hz, {shape[0]} channel(s), {8 * shape[1]}-bit;"
                              f" the box wants {RATE} Hz mono 16-bit")
        return cls(frames)

    def __add__(self, other: Clip) -> Clip:
        return Clip(self.pcm + other.pcm)

    @classmethod
    def silence(cls, seconds: float) -> Clip:
        return cls(bytes(WIDTH * int(round(seconds * RATE))))

    def __repr__(self) -> str:  # a clip's bytes would flood any log or assertion message
        return f"Clip({self.seconds:.2f} s, rms {self.rms:.0f}, {self.digest[:12]})"
