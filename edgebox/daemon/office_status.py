"""What the office sees at a glance, for the panel's LEDs and the web dashboard alike."""
from __future__ import annotations

from edgebox.adapters.gpio.outputs import OfficeLights
from edgebox.adapters.modem.readings import REGISTERED
from edgebox.readmodels.modem_status import modem_status


def modems(daemon) -> dict[str, dict]:
    """Every configured modem's last health reading and state (see ``edgebox modem status``),
    with ``alive``: whether its worker has the port open right now."""
    status = modem_status(daemon.store, list(daemon.workers))
    for name, worker in daemon.workers.items():
        status.setdefault(name, {})["alive"] = bool(worker.modem.alive)
    return status


def uplink_ok(store) -> bool:
    from edgebox.uplink.ledger import UplinkLedger
    status = UplinkLedger(store).status()
    return bool(status["last_success_at"]) and not status["last_error"]


def office_lights(daemon, uplink_configured: bool) -> OfficeLights:
    status = modems(daemon)
    alive = [row for row in status.values() if row.get("alive")]
    return OfficeLights(
        modem_ready=bool(alive),
        network=any(row.get("registration") in REGISTERED for row in alive),
        alarm_active=bool(daemon.store.incidents.all("open")),
        uplink_ok=uplink_configured and uplink_ok(daemon.store),
        roster_empty=daemon.roster.is_empty,
    )
