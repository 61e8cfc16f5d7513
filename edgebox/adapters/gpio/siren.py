"""GpioSiren: the siren relay on one GPIO pin, through the RPi.GPIO API.

The relay is set up driven to its *off* level at once, so the siren is silent while Linux boots
and whenever the daemon restarts. ``active_high`` follows the relay board (many are active-low).
"""
from __future__ import annotations

import importlib
import threading


def load_gpio(backend: str):
    """The RPi.GPIO module (``rpi-lgpio`` provides it on every Pi) or simulated pins."""
    if backend == "rpi":
        try:
            return importlib.import_module("RPi.GPIO")
        except (ImportError, RuntimeError) as exc:
            raise RuntimeError(
                "siren.backend is 'rpi' but the RPi.GPIO API is not available here "
                f"({exc}); install edgebox[pi] on the Pi, or use backend 'simulated'") from exc
    from edgebox.adapters.gpio.simulated import SimulatedGPIO
    return SimulatedGPIO()


class GpioSiren:
    def __init__(self, gpio, pin: int, active_high: bool = True):
        self.gpio = gpio
        self.pin = pin
        self._on_level = gpio.HIGH if active_high else gpio.LOW
        self._off_level = gpio.LOW if active_high else gpio.HIGH
        self._lock = threading.Lock()
        self.is_on = False
        gpio.setmode(gpio.BCM)
        gpio.setup(pin, gpio.OUT, initial=self._off_level)

    def on(self) -> None:
        with self._lock:
            self.gpio.output(self.pin, self._on_level)
            self.is_on = True

    def off(self) -> None:
        with self._lock:
            self.gpio.output(self.pin, self._off_level)
            self.is_on = False

    def close(self) -> None:
        self.off()
        self.gpio.cleanup([self.pin])
