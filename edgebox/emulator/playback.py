"""One sound played into a call, as a modem plays TTS text or a file from its flash.

A modem plays one thing at a time (another request meanwhile is refused, ``+CME ERROR: 3``),
reports the end with its unsolicited line once the sound's length has passed (``+QTTS: 0``,
``+QPSND: 0``, ``+CTTS: 0``, …) or at once when the host stops it, and drops it without a
word when the call or the power goes.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from edgebox.emulator.modem_errors import CmeError
from edgebox.emulator.timing import Timer

if TYPE_CHECKING:
    from edgebox.emulator.at_engine import AtEngine


class Playback:
    def __init__(self, engine: AtEngine, end_report: Callable[[], str]):
        self.engine = engine
        self._end_report = end_report  # the end line, read when it is sent (profile, mechanism)
        self._timer: Timer | None = None

    @property
    def playing(self) -> bool:
        return self._timer is not None

    def refuse_if_playing(self) -> None:
        if self._timer is not None:
            raise CmeError(3)  # one sound at a time: the host waits for the end report

    def start(self, seconds: float) -> None:
        """Play for ``seconds`` of emulated time (scaled by the engine's latency)."""
        self.refuse_if_playing()
        self._timer = self.engine.timers.schedule(self.engine.latency.seconds(seconds),
                                                  self._finished)

    def stop(self) -> None:
        """The host's stop: the sound ends now, with its end report."""
        if self._timer is not None:
            self._timer.cancel()
            self._finished()

    def drop(self) -> None:
        """The call is gone: the sound stops without a report (it would come too late)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def power_off(self) -> None:
        self._timer = None  # its timer goes with all the others

    def _finished(self) -> None:
        self._timer = None
        self.engine.emit_urc(self._end_report())
