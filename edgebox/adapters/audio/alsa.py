"""The real backend: Debian's ``aplay`` on an ALSA device.

Why ``aplay`` and not a Python binding (pyalsaaudio): it comes with alsa-utils, which every
Raspberry Pi OS image has, so nothing compiled has to match the box's Python; a player is a
process, killed at once when an alarm pre-empts what plays (a binding's blocking write cannot be
interrupted from another thread); and the technician tests the same device with the same tool
(``aplay -l``, ``speaker-test``). The clip goes to aplay's stdin as raw 8 kHz mono S16_LE: the
``plughw:``/``default`` devices resample it to what the card takes (the Pi's jack and most USB
cards play 44.1/48 kHz only; a bare ``hw:`` device refuses 8 kHz).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import threading

from edgebox.adapters.audio.port import AudioError
from edgebox.adapters.speech import RATE, Clip

START_SECONDS = 10  # aplay opens the device in milliseconds; longer is a hung driver
STOP_SECONDS = 5
CARD_LINE = re.compile(r"^card (\d+): (\S+) \[(.*?)\], device (\d+): (.*)$")


def _aplay() -> str:
    path = shutil.which("aplay")
    if path is None:
        raise AudioError("aplay is not installed (Debian package alsa-utils)")
    return path


def list_playback_devices() -> list[str]:
    """The cards ``aplay -l`` lists, as "plughw:CARD,DEV (name)"; empty on a machine with
    none (aplay then says "no soundcards found" on stderr and still exits 0)."""
    done = subprocess.run([_aplay(), "-l"], capture_output=True, text=True,
                          timeout=START_SECONDS, check=False)
    devices = []
    for line in done.stdout.splitlines():
        match = CARD_LINE.match(line.strip())
        if match:
            _, short, long_name, device, _ = match.groups()
            devices.append(f"plughw:{short},{device} ({long_name})")
    return devices


class AplayOutput:
    def __init__(self, device: str = "default"):
        self.device = device
        self.name = f"ALSA {device}"
        self._lock = threading.Lock()
        self._player: subprocess.Popen | None = None
        self._stopped = False

    @property
    def is_playing(self) -> bool:
        with self._lock:
            return self._player is not None

    def play(self, clip: Clip, label: str = "") -> bool:
        command = [_aplay(), "-q", "-D", self.device, "-t", "raw", "-f", "S16_LE",
                   "-r", str(RATE), "-c", "1", "-"]
        with self._lock:
            self._stopped = False
            try:
                player = subprocess.Popen(command, stdin=subprocess.PIPE,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            except OSError as exc:
                raise AudioError(f"cannot start aplay: {exc}") from exc
            self._player = player
        try:
            # communicate() writes the clip and waits; a stop() kills the player meanwhile,
            # which ends the wait with a broken pipe or a signal's exit status.
            timeout = START_SECONDS + clip.seconds * 2
            try:
                _, errors = player.communicate(clip.pcm, timeout=timeout)
            except BrokenPipeError:
                errors = b""
                player.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                player.kill()
                player.wait(STOP_SECONDS)
                raise AudioError(f"aplay on {self.device} did not finish {clip.seconds:.1f} s"
                                 f" of audio in {timeout:.0f} s") from None
        finally:
            with self._lock:
                self._player = None
                stopped = self._stopped
        if stopped:
            return False
        if player.returncode != 0:
            message = (errors or b"").decode(errors="replace").strip()
            raise AudioError(f"aplay could not play on {self.device}: "
                             f"{message or f'exit status {player.returncode}'}")
        return True

    def stop(self) -> None:
        with self._lock:
            if self._player is not None and self._player.poll() is None:
                self._stopped = True
                self._player.kill()
