"""The office's own recorded prompt: a WAV/MP3/AMR it uploads on the web panel, spoken into
alarm calls instead of the synthesised sentence (the SMS still names the caller and the
address). Kept as telephone audio beside the box's database, so the daemon and the web panel,
two processes, find the same file.
"""
from __future__ import annotations

import os
from pathlib import Path

from edgebox.adapters.speech.clip import Clip, SpeechError
from edgebox.adapters.speech.convert import to_clip

FILE_NAME = "alarm-prompt.wav"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # a minute of 44.1 kHz MP3 is ~1 MB; a WAV of 30 s ~5 MB
# A SIM800 keeps ~40 KB of AMR (12.2 kbit/s): 25 s; a prompt is a sentence, not a speech.
MAX_SECONDS = 25.0
MIN_SECONDS = 1.0
TYPES = (".wav", ".mp3", ".amr")


class PromptError(SpeechError):
    """An upload that cannot be the prompt; ``reason`` names why for the panel's words:
    too_big, type, unreadable, too_long, too_short, silent."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def prompt_path(data_directory: str | Path) -> Path:
    return Path(data_directory) / FILE_NAME


def save_prompt(data_directory: str | Path, data: bytes, filename: str) -> Clip:
    """Check and convert an uploaded recording and keep it as the prompt; nothing changes
    when it is refused (PromptError)."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise PromptError("too_big", f"{len(data)} bytes")
    suffix = Path(filename or "").suffix.lower()
    if suffix not in TYPES:
        raise PromptError("type", suffix or "no suffix")
    try:
        clip = to_clip(data, suffix)
    except SpeechError as exc:
        raise PromptError("unreadable", str(exc)) from None
    if clip.seconds > MAX_SECONDS:
        raise PromptError("too_long", f"{clip.seconds:.1f} s")
    if clip.seconds < MIN_SECONDS:
        raise PromptError("too_short", f"{clip.seconds:.1f} s")
    if clip.is_silent():
        raise PromptError("silent")
    path = prompt_path(data_directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(clip.to_wav())
    os.replace(partial, path)  # the daemon never reads half a prompt
    return clip


def load_prompt(data_directory: str | Path) -> Clip | None:
    """The prompt, or None when there is none (or it was damaged: the sentence is spoken)."""
    try:
        return Clip.from_wav(prompt_path(data_directory).read_bytes())
    except (FileNotFoundError, SpeechError):
        return None


def remove_prompt(data_directory: str | Path) -> bool:
    try:
        prompt_path(data_directory).unlink()
        return True
    except FileNotFoundError:
        return False
