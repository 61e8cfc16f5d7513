"""The siren as the alarm core sounds it: for ``siren.on_seconds``, logged, then off."""
from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class SirenSettings:
    on_seconds: float  # 0: the alarm core never sounds it (the panel still may)


def siren_settings(config) -> SirenSettings:
    return SirenSettings(config.siren_on_seconds)


class SirenControl:
    def __init__(self, siren, store, clock, settings: SirenSettings):
        self._siren, self._store, self._clock = siren, store, clock
        self._settings = settings
        self._off_at: float | None = None  # monotonic: a stepped wall clock does not move it

    @property
    def off_at(self) -> float | None:
        """Monotonic time the sounding ends (the event loop wakes for it), None if not set."""
        return self._off_at

    @property
    def is_on(self) -> bool:
        return self._siren.is_on

    def on(self, incident_id: int | None, pattern: str = "continuous") -> None:
        seconds = self._settings.on_seconds
        if seconds <= 0:
            return
        self._siren.on(pattern)  # the relay follows the pattern's rhythm (adapters/gpio/patterns)
        self._off_at = time.monotonic() + seconds
        # Logged with the next durable commit, like call_rejected: off the alarm path.
        self._store.defer_event(self._clock(), "siren_on", incident_id, seconds=seconds,
                                pattern=pattern)

    def off(self) -> None:
        if self._siren.is_on:
            self._off_at = None
            self._siren.off()
            self._store.append_event(self._clock(), "siren_off")

    def tick(self) -> None:
        """Called on every turn of the event loop: the sounding time is up."""
        if self._off_at is not None and time.monotonic() >= self._off_at:
            self.off()
