"""The port every audio output keeps: play a clip to its end (or until stopped), stop it."""
from __future__ import annotations

from typing import Protocol, runtime_checkable

from edgebox.adapters.speech import Clip
from edgebox.errors import EdgeboxError


class AudioError(EdgeboxError):
    """The audio device could not play (missing, busy, unplugged); the message says which."""


@runtime_checkable
class AudioOutput(Protocol):
    name: str  # what the selftest and the web panel say the box plays on

    def play(self, clip: Clip, label: str = "") -> bool:
        """Play ``clip`` on the caller's thread until it ends (True) or ``stop()`` cuts it
        short from another thread (False). ``label`` says what it is, for the log. Raises
        AudioError when the device fails."""

    def stop(self) -> None:
        """Cut the clip playing now short; nothing when none plays."""

    @property
    def is_playing(self) -> bool: ...
