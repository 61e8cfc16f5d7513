"""The village office's siren panel: buttons, status LEDs, buzzer, and the siren's rhythm.

One small loop (a daemon companion, ``start()``/``stop()``) polls the buttons, steps the siren
pattern and its maximum on-time, and drives the LEDs, every ``tick_seconds``. ``tick(now)`` does
one turn against any clock, which is how the tests drive it without sleeping.

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
from edgebox.adapters.gpio.outputs import LEDS, OfficeLights, Output, led_levels
from edgebox.adapters.gpio.patterns import DRILL, KINDS
from edgebox.domain.office_actions import ACKNOWLEDGE, SIREN_OFF, SIREN_ON, OfficeAction
from edgebox.errors import ConfigError

log = logging.getLogger("edgebox")

BEEP_SECONDS = 0.1  # the buzzer's answer to an accepted press
LIGHTS_EVERY = 1.0  # seconds between reads of what the LEDs report (store look-ups)


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
            raise ConfigError(key, f"pin {pin} is already used by {used[pin]}")
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
        self._thread: threading.Thread | None = None

    # -- companion life cycle ----------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="panel", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        for led in self.leds.values():
            led.set(False)
        if self.buzzer:
            self.buzzer.set(False)

    def _run(self) -> None:
        while not self._stop.wait(self._tick_seconds):
            try:
                self.tick(self._clock())
            except Exception:  # the panel must keep stepping the siren and its limit
                log.exception("siren panel turn failed")

    # -- one turn ----------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        for button in self.buttons:
            if button.poll(now):
                self._pressed(button.name, now)
        if self.siren.update(now):
            self._log("siren_off", reason="max_on_time", seconds=self.settings.siren_max_seconds)
        if self._test_until is not None and now >= self._test_until:
            self._end_test()
        if now >= self._lights_due:
            self._lights_due = now + LIGHTS_EVERY
            self.lights = self._lights_source()
        levels = led_levels(self.lights, now, lamp_test=self._test_until is not None)
        for name, led in self.leds.items():
            led.set(levels[name])
        if self.buzzer:
            self.buzzer.set(now < self._beep_until)

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
