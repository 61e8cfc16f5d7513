"""The simulated backend: what would have played, written down with its times.

One JSON line as a clip starts (``{"event": "start", ...}``) and one as it ends
(``{"event": "play", ...}``: its digest, seconds, label, the monotonic and UTC start and end,
whether it was cut short, whether the amplifier relay was on, where its samples are in
``<file>.pcm``, which holds everything played, back to back)
and per relay change (``{"event": "relay", "on": ...}``), appended and flushed as they happen,
so a test in another process reads what the daemon's loudspeaker did, in order. A clip takes its
own length divided by ``speed`` (1: real time; tests scale it, never to zero).
"""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from edgebox.adapters.audio.port import AudioError
from edgebox.adapters.speech import Clip


KEEP_PCM_BYTES = 64 * 1024 * 1024  # an hour and more of 8 kHz audio


def _utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class SimulatedOutput:
    def __init__(self, path: str | Path, speed: float = 1.0, clock=time.monotonic):
        if speed <= 0:
            raise ValueError("a simulated loudspeaker's speed must be above 0")
        self.path = Path(path)
        self.speed = speed
        self.name = f"simulated ({self.path})"
        self.relay_on = False  # what the relay shows now, written beside each clip
        self._clock = clock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._playing = False

    @property
    def is_playing(self) -> bool:
        return self._playing

    def play(self, clip: Clip, label: str = "") -> bool:
        self._stop.clear()
        self._playing = True
        started, started_at = self._clock(), _utc()
        # written as it starts too: a reader in another process sees what is playing now
        self._write({"event": "start", "label": label, "digest": clip.digest,
                     "start": started, "relay": self.relay_on})
        try:
            cut = self._stop.wait(clip.seconds / self.speed)
        finally:
            self._playing = False
        offset = self._keep_pcm(clip)
        self._write({"event": "play", "label": label, "digest": clip.digest,
                     "seconds": round(clip.seconds, 3), "silent": clip.is_silent(),
                     "pcm_offset": offset, "pcm_bytes": len(clip.pcm),
                     "start": started, "end": self._clock(), "start_utc": started_at,
                     "end_utc": _utc(), "cut": cut, "relay": self.relay_on})
        return not cut

    def _keep_pcm(self, clip: Clip) -> int | None:
        """Append what played to ``<file>.pcm`` (all of it, even when cut: the clip was handed
        over whole); its offset there goes in the log line. A bench box left simulating for
        months stops keeping samples at KEEP_PCM_BYTES (None then); the log lines go on."""
        pcm_path = self.path.with_name(self.path.name + ".pcm")
        try:
            with self._lock, pcm_path.open("ab") as out:
                offset = out.tell()
                if offset + len(clip.pcm) > KEEP_PCM_BYTES:
                    return None
                out.write(clip.pcm)
        except OSError as exc:
            raise AudioError(f"cannot write the simulated loudspeaker's audio {pcm_path}:"
                             f" {exc}") from exc
        return offset

    def stop(self) -> None:
        if self._playing:
            self._stop.set()

    def relay_changed(self, on: bool) -> None:
        """The amplifier relay switched (AmplifierRelay.watch): written in line with the clips."""
        self.relay_on = on
        self._write({"event": "relay", "on": on, "at": self._clock(), "at_utc": _utc()})

    def _write(self, entry: dict) -> None:
        try:
            with self._lock, self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(entry, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise AudioError(f"cannot write the simulated loudspeaker's log {self.path}:"
                             f" {exc}") from exc


def played_pcm(path: str | Path, entry: dict) -> bytes:
    """The samples of one ``play`` entry, from ``<file>.pcm`` (b"" past the keeping limit)."""
    if entry["pcm_offset"] is None:
        return b""
    pcm = Path(str(path) + ".pcm").read_bytes()
    return pcm[entry["pcm_offset"]:entry["pcm_offset"] + entry["pcm_bytes"]]


def read_simulated_log(path: str | Path) -> list[dict]:
    """Every entry written so far, oldest first (a line being written is left for later)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return entries
