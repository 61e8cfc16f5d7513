"""The ``[panel]`` keys of the config: the office siren panel's pins, polarity, timing and
siren patterns, declared beside the panel that reads them (``panel_settings`` in
edgebox.adapters.gpio.panel checks what needs more than one key, such as a pin used twice).
"""
from __future__ import annotations

from edgebox.adapters.gpio.patterns import pattern_problem
from edgebox.config import Key, between
from edgebox.i18n import Text


def gpio_pin(value: int) -> Text | None:
    return None if value == 0 or 2 <= value <= 27 else Text(
        "config.gpio_pin", "must be a BCM pin 2-27, or 0 when not wired")


# BCM pins, 0 when not wired.
PANEL_KEYS: dict[str, Key] = {
    **{f"panel.button_{name}": Key(int, 0, gpio_pin)
       for name in ("siren", "silence", "test", "ack")},
    "panel.buttons_active_low": Key(bool, True),
    "panel.debounce_ms": Key(int, 50, between(5, 1000)),
    "panel.siren_hold_seconds": Key((int, float), 2, between(0.5, 10)),
    **{f"panel.led_{name}": Key(int, 0, gpio_pin)
       for name in ("heartbeat", "modem", "alarm", "uplink")},
    "panel.leds_active_high": Key(bool, True),
    "panel.buzzer": Key(int, 0, gpio_pin),
    "panel.buzzer_active_high": Key(bool, True),
    "panel.pattern_continuous": Key(list, [1.0], pattern_problem),
    "panel.pattern_pulsed": Key(list, [1.0, 1.0], pattern_problem),
    "panel.pattern_drill": Key(list, [0.25, 0.25, 0.25, 1.25], pattern_problem),
    "panel.siren_max_seconds": Key((int, float), 300, between(1, 3600)),
    "panel.test_seconds": Key((int, float), 5, between(1, 60)),
}
