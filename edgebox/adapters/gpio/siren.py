"""GpioSiren: the siren relay on one GPIO pin, through the RPi.GPIO API.

The relay is set up driven to its *off* level at once, so the siren is silent while Linux boots
and whenever the daemon restarts. ``active_high`` follows the relay board (many are active-low).

``on(kind)`` starts a pattern (see ``patterns``); ``update(now)``, called by the panel's loop at
each ``next_step(now)``, steps the relay through it and enforces the hard maximum on-time, which
holds whoever switched the siren on and however often ``on()`` is called again meanwhile: a
stuck alarm loop or a forgotten manual siren never sounds for more than ``max_on_seconds``.
Whoever steps it ``watch``-es it: switched on or off from any thread, the siren wakes that loop,
which otherwise sleeps while the siren is silent.
"""
from __future__ import annotations

import importlib
import threading
import time
from typing import Callable

from edgebox.adapters.gpio.patterns import CONTINUOUS, DEFAULTS, Pattern, kind_of
from edgebox.i18n import Text


def load_gpio(backend: str):
    """The RPi.GPIO module (``rpi-lgpio`` provides it on every Pi) or simulated pins."""
    if backend == "rpi":
        try:
            return importlib.import_module("RPi.GPIO")
        except (ImportError, RuntimeError) as exc:
            raise RuntimeError(Text(
                "config.no_rpi_gpio", "siren.backend is 'rpi' but the RPi.GPIO API is not "
                "available here ({error}); install edgebox[pi] on the Pi, or use backend "
                "'simulated'", error=str(exc))) from exc
    from edgebox.adapters.gpio.simulated import SimulatedGPIO
    return SimulatedGPIO()


class GpioSiren:
    def __init__(self, gpio, pin: int, active_high: bool = True,
                 patterns: dict[str, tuple[float, ...]] | None = None,
                 max_on_seconds: float = 0, clock: Callable[[], float] = time.monotonic):
        self.gpio = gpio
        self.pin = pin
        self.max_on_seconds = max_on_seconds  # 0: no limit
        self._patterns = {kind: Pattern(kind, tuple(steps))
                          for kind, steps in {**DEFAULTS, **(patterns or {})}.items()}
        self._clock = clock
        self._on_level = gpio.HIGH if active_high else gpio.LOW
        self._off_level = gpio.LOW if active_high else gpio.HIGH
        self._lock = threading.Lock()
        self.is_on = False
        self.pattern: Pattern | None = None
        self.generation = 0  # counts soundings, so a caller can tell whether "its" one still runs
        self._sounding_since = 0.0  # start of the sounding: the maximum on-time counts from here
        self._pattern_since = 0.0
        self.closed = False  # the relay's present state (set up off just below)
        self._listeners: list[Callable[[], None]] = []
        gpio.setmode(gpio.BCM)
        gpio.setup(pin, gpio.OUT, initial=self._off_level)

    def watch(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after every ``on()`` and ``off()``, from the caller's thread:
        the loop that steps the pattern wakes for a sounding it did not start."""
        self._listeners.append(listener)

    def on(self, kind: str = CONTINUOUS) -> int:
        """Sound with the pattern ``kind`` ("continuous", "pulsed" or "drill").
        Returns the sounding's generation."""
        with self._lock:
            now = self._clock()
            if not self.is_on:
                self._sounding_since = now
                self.generation += 1
            self.is_on = True
            self.pattern = self._patterns[kind_of(kind)]
            self._pattern_since = now
            self._write(True)
            generation = self.generation
        self._changed()
        return generation

    def off(self) -> None:
        with self._lock:
            self.is_on = False
            self.pattern = None
            self._write(False)
        self._changed()

    def next_step(self, now: float | None = None) -> float | None:
        """When ``update`` next has something to do, on the siren's clock: the pattern's
        next change or the end of the maximum on-time, whichever is first; None while silent,
        or sounding continuously with no limit."""
        with self._lock:
            if not self.is_on:
                return None
            due = []
            if self.max_on_seconds:
                due.append(self._sounding_since + self.max_on_seconds)
            now = self._clock() if now is None else now
            change = self.pattern.next_change(now - self._pattern_since)
            if change is not None:
                due.append(self._pattern_since + change)
            return min(due) if due else None

    def update(self, now: float | None = None) -> bool:
        """Step the pattern to ``now``; True when the maximum on-time has just silenced it."""
        with self._lock:
            if not self.is_on:
                return False
            now = self._clock() if now is None else now
            if self.max_on_seconds and now - self._sounding_since >= self.max_on_seconds:
                self.is_on = False
                self.pattern = None
                self._write(False)
                return True
            self._write(self.pattern.level_at(now - self._pattern_since))
            return False

    def close(self) -> None:
        self.off()
        self.gpio.cleanup([self.pin])

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    def _write(self, closed: bool) -> None:
        # Only changes reach the pin: update() runs many times a second.
        if closed != self.closed:
            self.gpio.output(self.pin, self._on_level if closed else self._off_level)
            self.closed = closed
