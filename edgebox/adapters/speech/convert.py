"""Audio in and out of the box's one format, through Debian's ``sox``.

In: an office's recorded prompt (WAV at any rate, MP3, AMR) becomes a ``Clip``. Out: a clip
becomes what a modem or a player takes — a WAV file, raw PCM, or AMR-NB (SIMCom's 2G modules
play AMR files, ``AT+CREC``). ``sox`` reads and writes AMR through Debian's libsox-fmt-base, MP3 through libsox-fmt-mp3.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from edgebox.adapters.speech.clip import RATE, Clip, SpeechError
from edgebox.i18n import Text

RAW = ["-t", "raw", "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer", "-L"]
FORMATS = {"wav": ["-t", "wav"], "pcm": RAW, "amr": ["-t", "amr-nb", "-C", "7"]}  # 12.2 kbit/s
SOX_SECONDS = 60  # a minute of audio converts in well under a second even on a Pi 3


def run_sox(args: list[str], data: bytes) -> bytes:
    """sox with ``args``, ``data`` on stdin; no dither (-D), so the same input gives the same
    output: the emulator tells the right audio from the wrong by its digest."""
    if shutil.which("sox") is None:
        raise SpeechError(Text("speech_error.no_sox", "sox is not installed (Debian packages "
                               "sox, libsox-fmt-base, libsox-fmt-mp3)"))
    try:
        done = subprocess.run(["sox", "-V1", "-D", *args], input=data, capture_output=True,
                              timeout=SOX_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise SpeechError(Text("speech_error.sox_slow", "sox took longer than {seconds} s",
                               seconds=SOX_SECONDS)) from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip() or f"exit status {done.returncode}"
        # sox's own message, as it printed it
        raise SpeechError(Text("speech_error.sox_failed", "sox could not convert the audio: "
                               "{said}", said=message))
    return done.stdout


def to_clip(data: bytes, suffix: str) -> Clip:
    """Any audio file sox reads (``suffix`` names its type: .wav, .mp3, .amr) as a clip."""
    kind = suffix.lower().lstrip(".")
    if kind not in ("wav", "mp3", "amr"):
        raise SpeechError(f"unsupported audio type {suffix!r}: use WAV, MP3 or AMR")
    # Read from a file, not a pipe: MP3 and some WAV headers need to seek.
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / f"in.{kind}"
        source.write_bytes(data)
        pcm = run_sox([str(source), *RAW, "-", "remix", "-"], b"")
    return Clip(pcm)


def encode(clip: Clip, fmt: str) -> bytes:
    """The clip as a file or stream of ``fmt``: wav, pcm or amr."""
    if fmt not in FORMATS:
        raise SpeechError(f"unknown audio format {fmt!r}: one of {', '.join(FORMATS)}")
    if fmt == "wav":
        return clip.to_wav()  # no sox needed
    if fmt == "pcm":
        return clip.pcm
    return run_sox([*RAW, "-", *FORMATS[fmt], "-"], clip.pcm)


def decode(data: bytes, fmt: str) -> Clip:
    """The reverse of ``encode``: what a modem was sent, back as a clip (the emulator's ear)."""
    if fmt == "pcm":
        return Clip(data)
    if fmt == "wav":
        return Clip.from_wav(data)
    if fmt == "amr":
        return Clip(run_sox([*FORMATS["amr"][:2], "-", *RAW, "-"], data))
    raise SpeechError(f"unknown audio format {fmt!r}: one of {', '.join(FORMATS)}")
