"""``edgebox siren test`` and ``edgebox panel watch``: for the technician wiring the panel.

Both open the pins themselves, so stop the daemon first (``systemctl stop edgebox``): a pin
can have one owner at a time. Each holds the daemon's database lock while it runs, so it refuses
beside a running daemon (naming its PID) and a daemon refuses to start beside it.
"""
from __future__ import annotations

import sys
import time

import click

from edgebox.cli_support import EXIT_IN_USE, config_option, fail, load
from edgebox.errors import EdgeboxError
from edgebox.i18n import said

pins_config_option = config_option("the box's TOML config (pins, polarity, patterns)")


def _open_pins(config_path: str, what: str):
    from edgebox.adapters.gpio.panel import panel_settings
    from edgebox.adapters.gpio.siren import load_gpio
    from edgebox.single_instance import DatabaseLock, InUse
    config = load(config_path)
    try:
        # held until the command ends: the daemon's pins are ours till then
        lock = DatabaseLock(config.box_database, what).acquire()
        click.get_current_context().call_on_close(lock.release)
    except InUse as exc:
        fail(str(exc), EXIT_IN_USE)
    except EdgeboxError as exc:
        fail(said(exc, config.box_language))
    try:
        return config, panel_settings(config), load_gpio(config.siren_backend)
    except (EdgeboxError, RuntimeError) as exc:  # a bad key, RPi.GPIO missing, a pin taken
        fail(said(exc, config.box_language))


@click.group()
def siren() -> None:
    """Try the siren relay by hand.

    \b
    Example:
      edgebox siren test --pattern drill --seconds 3
    """


@siren.command("test")
@pins_config_option
@click.option("--pattern", type=click.Choice(["continuous", "pulsed", "drill"]),
              default="drill", show_default=True, help="which configured pattern to play")
@click.option("--seconds", type=click.FloatRange(0.1, 60), default=3, show_default=True,
              help="how long to sound")
def siren_test(config_path: str, pattern: str, seconds: float) -> None:
    """Sound the siren with one pattern for a few seconds and print each relay change.

    \b
    Example:
      edgebox siren test --config /etc/edgebox/edgebox.toml --pattern pulsed --seconds 5
    """
    from edgebox.adapters.gpio.siren import GpioSiren
    config, panel, gpio = _open_pins(config_path, "edgebox siren test")
    try:
        relay = GpioSiren(gpio, config.siren_pin, config.siren_active_high, panel.patterns,
                          panel.siren_max_seconds)
    except RuntimeError as exc:
        fail(f"cannot drive pin {config.siren_pin}: {exc}")
    click.echo(f"siren on pin {config.siren_pin} ({'active high' if config.siren_active_high else 'active low'}), "
               f"pattern {pattern} {list(panel.patterns[pattern])}, {seconds:g} s")
    start = time.monotonic()
    relay.on(pattern)
    was = None
    try:
        while (elapsed := time.monotonic() - start) < seconds:
            relay.update()
            if relay.is_on and relay.closed != was:
                was = relay.closed
                click.echo(f"  {elapsed:6.2f}s  {'ON' if was else 'off'}")
            time.sleep(0.01)
    finally:
        relay.close()
    click.echo(f"  {time.monotonic() - start:6.2f}s  off (done)")


@click.group()
def panel() -> None:
    """The office siren panel's buttons and LEDs.

    \b
    Example:
      edgebox panel watch --config /etc/edgebox/edgebox.toml
    """


@panel.command("watch")
@pins_config_option
@click.option("--seconds", type=float, default=0, help="stop after this long (0: until Ctrl-C)")
def panel_watch(config_path: str, seconds: float) -> None:
    """Show the panel's buttons live: each level change and each accepted press (after the
    debounce, and SIREN after its hold time), as the daemon would see them. Nothing is sent.

    \b
    Example:
      edgebox panel watch --config /etc/edgebox/edgebox.toml
    """
    from edgebox.adapters.gpio.buttons import SIREN, Button
    config, settings, gpio = _open_pins(config_path, "edgebox panel watch")
    if not settings.buttons:
        fail("no button is wired: set panel.button_siren, _silence, _test or _ack")
    gpio.setmode(gpio.BCM)
    start = time.monotonic()
    buttons = [Button(gpio, name, pin, settings.buttons_active_low, settings.debounce_seconds,
                      settings.siren_hold_seconds if name == SIREN else 0.0, start)
               for name, pin in settings.buttons.items()]
    pull = "pull-up, pressed = low" if settings.buttons_active_low else "pull-down, pressed = high"
    for button in buttons:
        click.echo(f"{button.name:<8} pin {button.pin:>2} ({pull}): "
                   f"{'pressed' if button.read() else 'released'}")
    levels = {b.name: b.read() for b in buttons}
    try:
        while not seconds or time.monotonic() - start < seconds:
            now = time.monotonic()
            for button in buttons:
                level = button.read()
                if level != levels[button.name]:
                    levels[button.name] = level
                    click.echo(f"{now - start:8.3f}s {button.name:<8} "
                               f"{'down' if level else 'up'}")
                if button.poll(now):
                    click.echo(f"{now - start:8.3f}s {button.name:<8} PRESS accepted")
            sys.stdout.flush()
            time.sleep(0.005)
    except KeyboardInterrupt:
        pass
    finally:
        gpio.cleanup([b.pin for b in buttons])
