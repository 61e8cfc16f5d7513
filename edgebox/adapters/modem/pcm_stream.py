"""The alarm sentence streamed to a Huawei stick's voice port during a call.

Huawei voice sticks (E1550, E173, E153, K3765 …; the voice firmware asterisk-chan-dongle
drives) carry the call's audio on a second serial interface once ``AT^DDSETEX=2`` routes it
there: 8 kHz, 16-bit signed little-endian mono, in frames of 320 bytes (20 ms) written at the
pace they are played (``AT^CVOICE?`` answers ``^CVOICE: 0,8000,16,20``: on, 8000 Hz, 16 bits,
20 ms; chan_dongle writes one frame per 20 ms tick). Written faster, the stick drops what its
small buffer cannot hold; so the stream is paced by the monotonic clock, on a thread of its
own, and stops when the call does.
"""
from __future__ import annotations

import logging
import threading
import time

import serial

log = logging.getLogger(__name__)

FRAME_BYTES = 320  # 160 samples of 16 bits: 20 ms at 8 kHz
FRAME_SECONDS = 0.02


class PcmStream:
    def __init__(self, port: str, pcm: bytes):
        self.port, self.pcm = port, pcm
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="voice-port", daemon=True)

    def start(self) -> PcmStream:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    def _run(self) -> None:
        try:
            with serial.serial_for_url(self.port, baudrate=115200, timeout=0.2,
                                       write_timeout=1) as voice:
                started = time.monotonic()
                for index, start in enumerate(range(0, len(self.pcm), FRAME_BYTES)):
                    # Each frame at its own time: a late one is not made up by a burst.
                    if self._stop.wait(max(0.0, started + index * FRAME_SECONDS
                                           - time.monotonic())):
                        return
                    voice.write(self.pcm[start:start + FRAME_BYTES])
                voice.flush()
        except (serial.SerialException, OSError) as exc:
            log.warning("the voice port %s failed while streaming the alarm: %s", self.port,
                        exc)
