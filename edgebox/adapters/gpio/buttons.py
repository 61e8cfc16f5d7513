"""Panel buttons: woken by edges, decided by reading the level, debounced against an injected
clock.

An edge (RPi.GPIO's ``add_event_detect`` on both edges, the same on rpi-lgpio and the simulated
pins) only wakes the panel's loop; what counts is the level read then and read again when the
debounce or the hold time is up (``next_due``), so a test steps time by hand and an edge lost
to ``bouncetime`` (RPi.GPIO drops edges within it, the last of a bounce among them) only
delays the read. While a button is held the level is read again every debounce period: its
release edge may be lost too, and the next press would then never count. A pin that cannot
watch for edges at all is read every turn instead (``watch`` returns False).

Buttons switch to ground with the internal pull-up on (the usual wiring, and an unplugged
button then reads "not pressed"); ``active_low=False`` is for boards that switch to 3.3 V, with
the pull-down on instead.
"""
from __future__ import annotations

from dataclasses import dataclass

SIREN, SILENCE, TEST, ACK = "siren", "silence", "test", "ack"
# Float rounding: a read at exactly the time next_due named counts as at it, not a hair before.
EPSILON = 1e-9
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
        # When the edges let through last woke us, plus the bounce time: edges inside it are
        # dropped by the library, so the level read on the wake-up may be a bounce's and the
        # pin is read once more when the window is over (see ``edge_seen``).
        self._settle_at: float | None = None

    def watch(self, on_edge) -> bool:
        """Call ``on_edge(pin)`` on each edge of the pin (bounces within the debounce time
        dropped by the GPIO library); False when edge detection cannot be added here (RPi.GPIO
        on kernel 6.6, raspberrypi/linux#6037) and the button must be polled."""
        bounce = max(1, round(self.debounce_seconds * 1000))
        try:
            self.gpio.add_event_detect(self.pin, self.gpio.BOTH, callback=on_edge,
                                       bouncetime=bounce)
        except RuntimeError:
            return False
        return True

    def unwatch(self) -> None:
        self.gpio.remove_event_detect(self.pin)

    def edge_seen(self, now: float) -> None:
        """An edge of this pin woke the panel (on the GPIO library's thread). The library
        drops the edges that follow within the bounce time, the last of a bounce or a quick
        release and press among them, so whatever the wake-up reads, the pin is read again
        once that window is over: a button pressed and held then is not missed."""
        self._settle_at = now + self.debounce_seconds

    def next_due(self, now: float) -> float | None:
        """When the level must be read again without an edge: the end of the bounce window
        after an edge, the debounce's end after a change, the hold's end while a press waits
        for it, the next debounce period while held; None when released and steady (only an
        edge can change anything)."""
        state = self.state
        due = None
        if state.raw != state.pressed:
            due = state.since + self.debounce_seconds
        elif state.pressed and not state.fired:
            due = state.since + max(self.debounce_seconds, self.hold_seconds)
        elif state.pressed:
            due = now + self.debounce_seconds
        settle = self._settle_at
        if settle is not None:
            due = settle if due is None else min(due, settle)
        return due

    def read(self) -> bool:
        return self.gpio.input(self.pin) == self._pressed_level

    def poll(self, now: float) -> bool:
        """Read the pin; True exactly once per press, when it has been held long enough."""
        state = self.state
        if self._settle_at is not None and now >= self._settle_at - EPSILON:
            self._settle_at = None  # this read is the one after the bounce window
        raw = self.read()
        if raw != state.raw:  # any bounce restarts both the debounce and the hold
            state.raw, state.since = raw, now
        steady = now - state.since >= self.debounce_seconds - EPSILON
        if steady:
            state.pressed = raw
            if not raw:
                state.fired = False
        if state.pressed and not state.fired and \
                now - state.since >= max(self.debounce_seconds, self.hold_seconds) - EPSILON:
            state.fired = True
            return True
        return False
