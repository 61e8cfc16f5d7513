"""Rendered sentences kept on disk by digest: an alarm sentence said to twelve members (and
repeated on key 2) is synthesised once, and survives a restart mid-alarm."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from edgebox.adapters.speech.clip import Clip, SpeechError
from edgebox.adapters.speech.synthesisers import Synthesiser

KEEP = 200  # files; a sentence is ~100 kB, so at most ~20 MB of the card


class SpeechCache:
    def __init__(self, directory: str | Path, synthesiser: Synthesiser):
        self.directory = Path(directory)
        self.synthesiser = synthesiser

    def _path(self, text: str) -> Path:
        key = hashlib.sha256(f"{self.synthesiser.name}\n{text}".encode()).hexdigest()
        return self.directory / f"{key}.wav"

    def holds(self, text: str) -> bool:
        """Whether the sentence is rendered already (a ring would read it, not synthesise)."""
        return self._path(text).is_file()

    def render(self, text: str) -> Clip:
        path = self._path(text)
        try:
            clip = Clip.from_wav(path.read_bytes())
            os.utime(path)  # recently used: kept by the pruning below
            return clip
        except (FileNotFoundError, SpeechError):
            pass  # not rendered yet, or a file cut short by a power loss: render again
        clip = self.synthesiser.render(text)
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_bytes(clip.to_wav())
        os.replace(partial, path)  # never a half-written sentence under the final name
        self._prune()
        return clip

    def _prune(self) -> None:
        files = sorted(self.directory.glob("*.wav"), key=lambda p: p.stat().st_mtime)
        for old in files[:-KEEP]:
            old.unlink(missing_ok=True)
