"""Simulated pins behind the RPi.GPIO API, for machines without a Raspberry Pi.

Like gpiozero's MockFactory: outputs record their history with timestamps, inputs can be driven
by tests, and code under test cannot tell the difference from ``import RPi.GPIO as GPIO``.
"""
from __future__ import annotations

import threading
import time

BCM, BOARD = 11, 10
OUT, IN = 0, 1
LOW, HIGH = 0, 1
PUD_OFF, PUD_DOWN, PUD_UP = 20, 21, 22


class SimulatedGPIO:
    BCM, BOARD, OUT, IN, LOW, HIGH = BCM, BOARD, OUT, IN, LOW, HIGH
    PUD_OFF, PUD_DOWN, PUD_UP = PUD_OFF, PUD_DOWN, PUD_UP

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self.mode: int | None = None
        self.directions: dict[int, int] = {}
        self.levels: dict[int, int] = {}
        self.pulls: dict[int, int] = {}  # pull resistor of every input, as set up
        self.history: list[tuple[float, int, int]] = []  # (time, pin, level) of every output

    def setmode(self, mode: int) -> None:
        self.mode = mode

    def setwarnings(self, flag: bool) -> None:
        """Accepted for API compatibility; simulated pins have nothing to warn about."""

    def setup(self, pin: int, direction: int, pull_up_down: int = PUD_OFF,
              initial: int = LOW) -> None:
        if self.mode is None:
            raise RuntimeError("Please set pin numbering mode using GPIO.setmode(GPIO.BOARD) "
                               "or GPIO.setmode(GPIO.BCM)")
        with self._lock:
            self.directions[pin] = direction
            if direction == OUT:
                self._set(pin, initial)
            else:
                self.pulls[pin] = pull_up_down
                self.levels[pin] = HIGH if pull_up_down == PUD_UP else LOW

    def output(self, pin: int, value: int | bool) -> None:
        with self._lock:
            if self.directions.get(pin) != OUT:
                raise RuntimeError(f"The GPIO channel {pin} has not been set up as an OUTPUT")
            self._set(pin, HIGH if value else LOW)

    def input(self, pin: int) -> int:
        with self._lock:
            if pin not in self.directions:
                raise RuntimeError(f"You must setup() the GPIO channel {pin} first")
            return self.levels[pin]

    def drive(self, pin: int, level: int) -> None:
        """Test side: put a level on an input pin (a button press)."""
        with self._lock:
            self.levels[pin] = HIGH if level else LOW

    def outputs_of(self, pin: int) -> list[tuple[float, int]]:
        """Test side: (time, level) of every write to one output pin, oldest first."""
        with self._lock:
            return [(at, level) for at, written, level in self.history if written == pin]

    def cleanup(self, pins=None) -> None:
        with self._lock:
            for pin in list(self.directions) if pins is None else list(pins):
                self.directions.pop(pin, None)

    def _set(self, pin: int, level: int) -> None:
        self.levels[pin] = level
        self.history.append((self._clock(), pin, level))
