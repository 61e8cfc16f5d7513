"""Simulated pins behind the RPi.GPIO API, for machines without a Raspberry Pi.

Like gpiozero's MockFactory: outputs record their history with timestamps, inputs can be driven
by tests, and code under test cannot tell the difference from ``import RPi.GPIO as GPIO``.
Edge detection is RPi.GPIO's too (``add_event_detect`` with its callback and ``bouncetime``,
``event_detected``, ``remove_event_detect``): a level driven onto an input fires the edge's
callbacks, as the kernel's interrupt does on a Pi (here on the driving thread, where RPi.GPIO
uses a thread of its own). ``edge_detection=False`` plays the kernels on which RPi.GPIO cannot
add edge detection at all (raspberrypi/linux#6037, kernel 6.6): ``add_event_detect`` raises
RuntimeError("Failed to add edge detection") as it does there.
"""
from __future__ import annotations

import threading
import time

BCM, BOARD = 11, 10
OUT, IN = 0, 1
LOW, HIGH = 0, 1
PUD_OFF, PUD_DOWN, PUD_UP = 20, 21, 22
RISING, FALLING, BOTH = 31, 32, 33  # RPi.GPIO's values


class SimulatedGPIO:
    BCM, BOARD, OUT, IN, LOW, HIGH = BCM, BOARD, OUT, IN, LOW, HIGH
    PUD_OFF, PUD_DOWN, PUD_UP = PUD_OFF, PUD_DOWN, PUD_UP
    RISING, FALLING, BOTH = RISING, FALLING, BOTH

    def __init__(self, clock=time.monotonic, edge_detection: bool = True):
        self._clock = clock
        self._edge_detection = edge_detection
        self._lock = threading.Lock()
        # pin -> [edge, bouncetime in seconds, callbacks, time of the last edge let through,
        # an edge seen since event_detected() last asked]
        self._detect: dict[int, list] = {}
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
        """Test side: put a level on an input pin (a button press); a change is an edge."""
        level = HIGH if level else LOW
        with self._lock:
            was, self.levels[pin] = self.levels.get(pin), level
            callbacks = self._edge(pin, was, level)
        for callback in callbacks:  # outside the lock: a callback may read the pin
            callback(pin)

    def add_event_detect(self, pin: int, edge: int, callback=None,
                         bouncetime: int | None = None) -> None:
        """Watch an input for ``edge`` (RISING, FALLING or BOTH); ``callback(pin)`` on each one
        not within ``bouncetime`` milliseconds of the last one let through."""
        with self._lock:
            if self.directions.get(pin) != IN:
                raise RuntimeError("You must setup() the GPIO channel as an input first")
            if edge not in (RISING, FALLING, BOTH):
                raise ValueError("The edge must be set to RISING, FALLING or BOTH")
            if pin in self._detect:
                raise RuntimeError("Conflicting edge detection already enabled for this GPIO "
                                   "channel")
            if not self._edge_detection:
                raise RuntimeError("Failed to add edge detection")
            self._detect[pin] = [edge, (bouncetime or 0) / 1000, [callback] if callback else [],
                                 None, False]

    def add_event_callback(self, pin: int, callback) -> None:
        with self._lock:
            if pin not in self._detect:
                raise RuntimeError("Add event detection using add_event_detect first before "
                                   "adding a callback")
            self._detect[pin][2].append(callback)

    def remove_event_detect(self, pin: int) -> None:
        with self._lock:
            self._detect.pop(pin, None)

    def event_detected(self, pin: int) -> bool:
        """An edge was seen since the last call (RPi.GPIO's latch)."""
        with self._lock:
            watch = self._detect.get(pin)
            if watch is None:
                return False
            seen, watch[4] = watch[4], False
            return seen

    def _edge(self, pin: int, was: int | None, level: int) -> list:
        """The callbacks a change of ``pin`` from ``was`` to ``level`` fires (lock held)."""
        watch = self._detect.get(pin)
        if watch is None or was is None or was == level:
            return []
        edge, bounce, callbacks, last, _ = watch
        if edge != BOTH and edge != (RISING if level == HIGH else FALLING):
            return []
        now = self._clock()
        if last is not None and now - last < bounce:
            return []  # RPi.GPIO drops edges within bouncetime of the last one let through
        watch[3], watch[4] = now, True
        return list(callbacks)

    def outputs_of(self, pin: int) -> list[tuple[float, int]]:
        """Test side: (time, level) of every write to one output pin, oldest first."""
        with self._lock:
            return [(at, level) for at, written, level in self.history if written == pin]

    def cleanup(self, pins=None) -> None:
        with self._lock:
            for pin in list(self.directions) if pins is None else list(pins):
                self.directions.pop(pin, None)
                self._detect.pop(pin, None)

    def _set(self, pin: int, level: int) -> None:
        self.levels[pin] = level
        self.history.append((self._clock(), pin, level))
