"""The village office's siren panel: buttons, status LEDs, buzzer, and the siren's rhythm.

One small loop (a daemon companion, ``start()``/``stop()``) reads the buttons, steps the siren
pattern and its maximum on-time, and drives the LEDs. It runs when something asks for it and
sleeps otherwise: a button's edge wakes it (the GPIO library's callback), so does the siren being
switched on or off from any thread (``GpioSiren.watch``); each turn says when the next is due
(``next_due``: a debounce or hold ending, the siren's next step or its maximum on-time, the
test's end, the beep's end, a wired LED blinking over), and with nothing due it waits for the
next wake-up with no timeout. An idle box's panel costs no wake-ups. ``tick(now)`` does one turn
against any clock, which is how the tests drive it without sleeping.

A button does what the web panel's buttons do: it logs ``button_pressed`` and hands an
``OfficeAction`` to the daemon's office desk, which keeps it in the store and queues it for the
alarm loop, which carries it out in order with everything else. Only TEST stays local: it plays
the drill pattern and lights every LED for ``test_seconds`` (nobody is texted), and never
interrupts a siren that is already sounding.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from edgebox.adapters.gpio import buttons as names
from edgebox.adapters.gpio.buttons import Button
from edgebox.adapters.gpio.outputs import LEDS, OfficeLights, Output, led_levels, led_next_change
from edgebox.adapters.gpio.patterns import DRILL, KINDS
from edgebox.domain.office_actions import ACKNOWLEDGE, SIREN_OFF, SIREN_ON, OfficeAction
from edgebox.errors import ConfigError
from edgebox.i18n import Text

log = logging.getLogger("edgebox")

BEEP_SECONDS = 0.1  # the buzzer's answer to an accepted press
LIGHTS_EVERY = 1.0  # seconds between reads of what the LEDs report (store look-ups)
# The shortest sleep between two turns: a due time that float rounding puts a hair ahead of
# the clock is met on the next turn instead of spinning.
MIN_WAIT_SECONDS = 0.002


@dataclass(frozen=True)
class PanelSettings:
    buttons: dict[str, int] = field(default_factory=dict)  # name -> BCM pin (wired ones only)
    buttons_active_low: bool = True
    debounce_seconds: float = 0.05
    siren_hold_seconds: float = 2.0
    leds: dict[str, int] = field(default_factory=dict)
    leds_active_high: bool = True
    buzzer: int = 0
    buzzer_active_high: bool = True
    patterns: dict[str, tuple[float, ...]] = field(default_factory=dict)
    siren_max_seconds: float = 300
    test_seconds: float = 5


def panel_settings(config) -> PanelSettings:
    """The ``[panel]`` keys, with a ConfigError when two things share a pin."""
    wired = {f"panel.button_{n}": config.get(f"panel.button_{n}") for n in names.BUTTONS}
    wired.update({f"panel.led_{n}": config.get(f"panel.led_{n}") for n in LEDS})
    wired["panel.buzzer"] = config.panel_buzzer
    used = {config.siren_pin: "siren.pin"}
    for key, pin in wired.items():
        if not pin:
            continue
        if pin in used:
            raise ConfigError(key, Text("config.pin_used", "pin {pin} is already used by "
                                        "{other}", pin=pin, other=used[pin]))
        used[pin] = key
    return PanelSettings(
        buttons={n: config.get(f"panel.button_{n}") for n in names.BUTTONS
                 if config.get(f"panel.button_{n}")},
        buttons_active_low=config.panel_buttons_active_low,
        debounce_seconds=config.panel_debounce_ms / 1000,
        siren_hold_seconds=config.panel_siren_hold_seconds,
        leds={n: config.get(f"panel.led_{n}") for n in LEDS if config.get(f"panel.led_{n}")},
        leds_active_high=config.panel_leds_active_high,
        buzzer=config.panel_buzzer,
        buzzer_active_high=config.panel_buzzer_active_high,
        patterns={kind: tuple(config.get(f"panel.pattern_{kind}")) for kind in KINDS},
        siren_max_seconds=config.panel_siren_max_seconds,
        test_seconds=config.panel_test_seconds,
    )


class PanelService:
    def __init__(self, gpio, settings: PanelSettings, siren, actions, store,
                 lights: Callable[[], OfficeLights], wall_clock: Callable[[], datetime],
                 clock: Callable[[], float] = time.monotonic, tick_seconds: float = 0.01):
        # ``tick_seconds``: how often a button that cannot watch for edges is read.
        self.settings = settings
        self.siren = siren
        self.actions = actions
        self.store = store
        self._lights_source = lights
        self._wall_clock = wall_clock
        self._clock = clock
        self._tick_seconds = tick_seconds
        now = clock()
        gpio.setmode(gpio.BCM)
        self.buttons = [
            Button(gpio, name, pin, settings.buttons_active_low, settings.debounce_seconds,
                   settings.siren_hold_seconds if name == names.SIREN else 0.0, now)
            for name, pin in settings.buttons.items()]
        self.leds = {name: Output(gpio, pin, settings.leds_active_high)
                     for name, pin in settings.leds.items()}
        self.buzzer = Output(gpio, settings.buzzer, settings.buzzer_active_high) \
            if settings.buzzer else None
        self.lights = OfficeLights()
        self._lights_due = now
        self._beep_until = 0.0
        self._test_until: float | None = None
        self._test_generation = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.next_due: float | None = None  # when the next turn is due; None: only on a wake-up
        # Buttons whose pin cannot watch for edges are read on every turn, tick_seconds apart.
        self.polled = [b.name for b in self.buttons if not b.watch(self._edge)]
        if self.polled:
            log.warning("panel buttons %s cannot watch for edges here (the GPIO library could "
                        "not add edge detection): read every %g s instead",
                        ", ".join(self.polled), tick_seconds)
        siren.watch(self._wake.set)

    # -- companion life cycle ----------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="panel", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=5)
        for button in self.buttons:
            if button.name not in self.polled:
                button.unwatch()
        for led in self.leds.values():
            led.set(False)
        if self.buzzer:
            self.buzzer.set(False)

    def _edge(self, pin: int) -> None:
        """A button's edge (on the GPIO library's thread): the loop reads the buttons, and
        reads that button again when its bounce window is over (Button.edge_seen)."""
        now = self._clock()
        for button in self.buttons:
            if button.pin == pin:
                button.edge_seen(now)
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            # Cleared before the turn: a wake-up during it makes the wait below return at once.
            self._wake.clear()
            try:
                self.tick(self._clock())
                wait = None if self.next_due is None else max(
                    MIN_WAIT_SECONDS, self.next_due - self._clock())
            except Exception:  # the panel must keep stepping the siren and its limit
                log.exception("siren panel turn failed")
                wait = 1.0
            self._wake.wait(wait)

    # -- one turn ----------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        for button in self.buttons:
            if button.poll(now):
                self._pressed(button.name, now)
        if self.siren.update(now):
            self._log("siren_off", reason="max_on_time", seconds=self.settings.siren_max_seconds)
        if self._test_until is not None and now >= self._test_until:
            self._end_test()
        if self.leds and now >= self._lights_due:  # read only when an LED shows it
            self._lights_due = now + LIGHTS_EVERY
            self.lights = self._lights_source()
        levels = led_levels(self.lights, now, lamp_test=self._test_until is not None)
        for name, led in self.leds.items():
            led.set(levels[name])
        if self.buzzer:
            self.buzzer.set(now < self._beep_until)
        self.next_due = self._next_due(now)

    def _next_due(self, now: float) -> float | None:
        """The earliest time something on the panel changes without a wake-up, or None."""
        due = [b.next_due(now) for b in self.buttons if b.name not in self.polled]
        if self.polled:
            due.append(now + self._tick_seconds)
        due.append(self.siren.next_step(now))
        due.append(self._test_until)
        if now < self._beep_until:
            due.append(self._beep_until)
        if self.leds:  # what they report is read once a second; blinking steps between
            due.append(self._lights_due)
            due.append(led_next_change(self.lights, now, self.leds,
                                       lamp_test=self._test_until is not None))
        found = [d for d in due if d is not None]
        return min(found) if found else None

    def _pressed(self, button: str, now: float) -> None:
        self._beep_until = now + BEEP_SECONDS
        self._log("button_pressed", button=button)
        if button == names.SIREN:
            self.actions.put(OfficeAction(SIREN_ON, "button"))
        elif button == names.SILENCE:
            self._end_test()
            self.actions.put(OfficeAction(SIREN_OFF, "button"))
        elif button == names.ACK:
            self.actions.put(OfficeAction(ACKNOWLEDGE, "button"))
        elif button == names.TEST and not self.siren.is_on:
            self._test_generation = self.siren.on(DRILL)
            self._test_until = now + self.settings.test_seconds
            self._log("siren_test", seconds=self.settings.test_seconds)

    def _end_test(self) -> None:
        if self._test_until is None:
            return
        self._test_until = None
        # Only the test's own sounding: an alarm that started meanwhile keeps its siren.
        if self.siren.is_on and self.siren.generation == self._test_generation \
                and self.siren.pattern.kind == DRILL:
            self.siren.off()

    def _log(self, kind: str, **data: object) -> None:
        self.store.append_event(self._wall_clock(), kind, **data)
