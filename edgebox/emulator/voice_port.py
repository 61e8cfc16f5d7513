"""A Huawei stick's second serial interface, the voice port, as a pseudo-terminal of its own:
what the host writes there during a call routed by AT^DDSETEX=2 is the far end's sound
(``call_audio.PcmPort``). The stick sends the caller's voice back the same way, on the same
port: ``write`` (the live loudspeaker's side, ``caller_audio``)."""
from __future__ import annotations

import os
import select
import threading
import tty
from typing import Callable


class VoicePort:
    def __init__(self, heard: Callable[[bytes], None]):
        self._heard = heard
        self._master = self._slave = None
        self._running = False
        self._thread: threading.Thread | None = None
        self.port: str | None = None

    def start(self) -> VoicePort:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._running = True
        self._thread = threading.Thread(target=self._read, name="voice-port", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join(timeout=2)
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None

    def write(self, data: bytes) -> None:
        """The caller's voice, out to the host. A frame nobody reads is lost, as on the stick."""
        master = self._master
        if master is not None:
            try:
                os.write(master, data)
            except OSError:
                pass  # the port closed under the writer (the emulator stopping)

    def _read(self) -> None:
        while self._running:
            readable, _, _ = select.select([self._master], [], [], 0.1)
            if readable:
                try:
                    data = os.read(self._master, 65536)
                except OSError:
                    continue  # nobody holds the other side yet
                if data:
                    self._heard(data)
