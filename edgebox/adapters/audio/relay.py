"""The amplifier's power relay on one GPIO pin (through the RPi.GPIO API, like the siren).

A PA amplifier left powered hums over the whole village and wears its output stage; one
switched on with the first word cuts that word off while it powers up (a 100 W village
amplifier takes around half a second to a second to open its output relay). So the player
switches this relay a pre-roll before the first clip and a post-roll after the last one.
Pin 0: no relay wired (an amplifier that stays powered); the relay's state is still followed,
so the web panel and the tests see when the box would have powered it.
"""
from __future__ import annotations

import threading
from typing import Callable

from edgebox.adapters.gpio.outputs import Output


class AmplifierRelay:
    def __init__(self, gpio, pin: int, active_high: bool = True):
        self.pin = pin
        if pin:
            gpio.setmode(gpio.BCM)  # as the siren does; setting it twice is harmless
        self._output = Output(gpio, pin, active_high) if pin else None
        self._lock = threading.Lock()
        self.is_on = False
        self._listeners: list[Callable[[bool], None]] = []

    def watch(self, listener: Callable[[bool], None]) -> None:
        """``listener(on)`` after every change (the simulated output writes it down)."""
        self._listeners.append(listener)

    def set(self, on: bool) -> None:
        with self._lock:
            if on == self.is_on:
                return
            if self._output is not None:
                self._output.set(on)
            self.is_on = on
        for listener in self._listeners:
            listener(on)

    def close(self) -> None:
        self.set(False)
