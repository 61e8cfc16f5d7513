"""Panel buttons read by polling, debounced against an injected clock.

Polling (every few milliseconds from the panel's loop) rather than edge callbacks: it behaves
the same on RPi.GPIO, rpi-lgpio and the simulated pins, a hold time is just "pressed since", and
a test steps time by hand instead of sleeping.

Buttons switch to ground with the internal pull-up on (the usual wiring, and an unplugged
button then reads "not pressed"); ``active_low=False`` is for boards that switch to 3.3 V, with
the pull-down on instead.
"""
from __future__ import annotations

from dataclasses import dataclass

SIREN, SILENCE, TEST, ACK = "siren", "silence", "test", "ack"
BUTTONS = (SIREN, SILENCE, TEST, ACK)


@dataclass
class ButtonState:
    raw: bool = False            # the level as last read, pressed or not
    since: float = 0.0           # when ``raw`` last changed
    pressed: bool = False        # the debounced state
    fired: bool = False          # this press has been reported; re-armed on release


class Button:
    def __init__(self, gpio, name: str, pin: int, active_low: bool = True,
                 debounce_seconds: float = 0.05, hold_seconds: float = 0.0, now: float = 0.0):
        self.gpio = gpio
        self.name = name
        self.pin = pin
        self.debounce_seconds = debounce_seconds
        self.hold_seconds = hold_seconds  # SIREN must be held, so a brush past it does nothing
        self._pressed_level = gpio.LOW if active_low else gpio.HIGH
        gpio.setup(pin, gpio.IN, pull_up_down=gpio.PUD_UP if active_low else gpio.PUD_DOWN)
        self.state = ButtonState(since=now)

    def read(self) -> bool:
        return self.gpio.input(self.pin) == self._pressed_level

    def poll(self, now: float) -> bool:
        """Read the pin; True exactly once per press, when it has been held long enough."""
        state = self.state
        raw = self.read()
        if raw != state.raw:  # any bounce restarts both the debounce and the hold
            state.raw, state.since = raw, now
        steady = now - state.since >= self.debounce_seconds
        if steady:
            state.pressed = raw
            if not raw:
                state.fired = False
        if state.pressed and not state.fired and \
                now - state.since >= max(self.debounce_seconds, self.hold_seconds):
            state.fired = True
            return True
        return False
