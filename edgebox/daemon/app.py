"""The composition root: the one place that turns a Config into a running Daemon.

Everything the daemon talks to is chosen here from the config (which modem port, which GPIO
backend, which database), so tests and the demo build the very same object graph with other
settings instead of patching internals.
"""
from __future__ import annotations

import logging
import queue
import sys

from edgebox.adapters.gpio.siren import GpioSiren, load_gpio
from edgebox.adapters.modem.serial_modem import SerialModem
from edgebox.daemon.service import Daemon, utc_now
from edgebox.daemon.timeline import describe
from edgebox.errors import ConfigError
from edgebox.store import SqliteStore

log = logging.getLogger("edgebox")


def setup_logging(level: str = "info", stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s",
                                           "%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The library logs every byte at DEBUG and its own guesses at INFO; ours says what matters.
    logging.getLogger("gsmmodem").setLevel(logging.WARNING)


def import_configured_roster(config, store) -> None:
    """Import ``box.roster_csv`` at start when set: a bad sheet stops the start, naming the line."""
    if not config.box_roster_csv:
        return
    from edgebox.roster_io.csv_sheet import read_roster_csv
    try:
        roster = read_roster_csv(config.box_roster_csv, region=config.box_region)
    except FileNotFoundError:
        raise ConfigError("box.roster_csv", f"{config.box_roster_csv} does not exist") from None
    if roster != store.load_roster():
        store.replace_roster(roster, utc_now(), source=config.box_roster_csv)


def build_modems(config, events: queue.Queue) -> dict[str, SerialModem]:
    return {
        m.name: SerialModem(m.port, m.baudrate, m.flow_control, m.pin,
                            config.modem_command_timeout, config.modem_sms_timeout, name=m.name,
                            events=events, delivery_reports=config.modem_delivery_reports)
        for m in config.modems
    }


def build_services(config, store) -> list:
    """Companions of the alarm loops that the config asks for (each has start() and stop())."""
    return []


def build_daemon(config, gpio=None, clock=utc_now) -> Daemon:
    store = SqliteStore(config.box_database)
    import_configured_roster(config, store)
    events: queue.Queue = queue.Queue()  # every modem's events, in the order they happened
    try:
        gpio = gpio or load_gpio(config.siren_backend)
    except RuntimeError as exc:
        raise ConfigError("siren.backend", str(exc)) from exc
    siren = GpioSiren(gpio, config.siren_pin, config.siren_active_high)
    daemon = Daemon(config, store, build_modems(config, events), siren, events, clock=clock,
                    services=build_services(config, store))
    store.subscribe(lambda event: log.info(describe(event, daemon.roster, config.box_language)))
    return daemon
