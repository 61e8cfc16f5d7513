"""Status LEDs and the buzzer: plain on/off outputs, and what each LED shows.

LEDs (each optional):
- heartbeat: blinks once a second while the panel's loop runs (a frozen box stops blinking);
- modem: steady when a modem is ready and registered, quick blink when ready but without
  network, dark when no modem answers;
- alarm: quick blink while an incident is open; steady while the roster is empty (a call would
  alert nobody: the box must not look ready when it is not);
- uplink: steady while uploads to the county hub succeed.
"""
from __future__ import annotations

from dataclasses import dataclass

HEARTBEAT, MODEM, ALARM, UPLINK = "heartbeat", "modem", "alarm", "uplink"
LEDS = (HEARTBEAT, MODEM, ALARM, UPLINK)


@dataclass(frozen=True)
class OfficeLights:
    """What the LEDs report, refreshed by the panel about once a second."""
    modem_ready: bool = False
    network: bool = False
    alarm_active: bool = False
    uplink_ok: bool = False
    roster_empty: bool = False


class Output:
    """One output pin, set up off at once and written only when it changes."""

    def __init__(self, gpio, pin: int, active_high: bool = True):
        self.gpio = gpio
        self.pin = pin
        self._on = gpio.HIGH if active_high else gpio.LOW
        self._off = gpio.LOW if active_high else gpio.HIGH
        self.is_on = False
        gpio.setup(pin, gpio.OUT, initial=self._off)

    def set(self, on: bool) -> None:
        if on != self.is_on:
            self.gpio.output(self.pin, self._on if on else self._off)
            self.is_on = on


SLOW, QUICK = 2, 4  # changes a second: 1 Hz and 2 Hz blinking


def led_levels(lights: OfficeLights, now: float, lamp_test: bool = False) -> dict[str, bool]:
    """Each LED's level at ``now`` (seconds on the panel's clock)."""
    if lamp_test:  # the TEST button lights everything, so a dead LED shows
        return dict.fromkeys(LEDS, True)
    slow = int(now * SLOW) % 2 == 0   # 1 Hz, half on
    quick = int(now * QUICK) % 2 == 0  # 2 Hz
    return {
        HEARTBEAT: slow,
        MODEM: lights.modem_ready and (lights.network or quick),
        ALARM: quick if lights.alarm_active else lights.roster_empty,
        UPLINK: lights.uplink_ok,
    }


def led_next_change(lights: OfficeLights, now: float, wired, lamp_test: bool = False
                    ) -> float | None:
    """When the next of the ``wired`` LEDs blinks over, or None when every one of them is
    steady: the panel sleeps until then, and not at all for steady LEDs."""
    if lamp_test:
        return None
    rates = []
    if HEARTBEAT in wired:
        rates.append(SLOW)
    if MODEM in wired and lights.modem_ready and not lights.network:
        rates.append(QUICK)
    if ALARM in wired and lights.alarm_active:
        rates.append(QUICK)
    if not rates:
        return None
    rate = max(rates)  # the quick grid holds the slow one's changes too
    return (int(now * rate) + 1) / rate
