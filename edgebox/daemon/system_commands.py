"""The shell commands a modem worker runs on the box: the modem's power cycle (the recovery
ladder's last step) and setting the system clock from the network's time. Each is the
technician's own command from the config, run without a shell, its outcome logged."""
from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone

from edgebox import __built__
from edgebox.daemon.ports import WorkerStore
from edgebox.domain.clock import clock_decision


@dataclass(frozen=True)
class ClockSettings:
    set_system: bool  # clock.set_system: may the box set its clock from the network's?
    max_adjust_hours: float  # clock.max_adjust_hours: a larger jump is not trusted
    set_command: str  # clock.set_command, with {epoch}


def clock_settings(config) -> ClockSettings:
    return ClockSettings(config.clock_set_system, config.clock_max_adjust_hours,
                         config.clock_set_command)


def run_command(command: str, timeout: float) -> str:
    """Run ``command`` (split as a shell would, but no shell); "exit <code>" or why it did
    not run."""
    try:
        result = subprocess.run(shlex.split(command), capture_output=True, text=True,
                                timeout=timeout)
        return f"exit {result.returncode}"
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)


def power_cycle(store: WorkerStore, now: datetime, modem: str, command: str) -> None:
    """Cut and restore the modem's power with the configured command, and log it."""
    store.append_event(now, "modem_power_cycled", modem=modem, command=command,
                       outcome=run_command(command, timeout=120))


def offer_network_time(store: WorkerStore, now: datetime, modem: str, network_time: datetime | None,
                       settings: ClockSettings) -> None:
    """Set the system clock to the network's time (as ``modem`` read it) when the domain's
    rule says so, and log it; otherwise leave it alone."""
    if not settings.set_system:
        return
    action, why = clock_decision(datetime.now(timezone.utc), network_time, __built__,
                                 settings.max_adjust_hours)
    if action != "set":
        return
    command = settings.set_command.format(epoch=int(network_time.timestamp()))
    store.append_event(now, "clock_set", modem=modem, reason=why,
                       network_time=network_time.isoformat(),
                       outcome=run_command(command, timeout=30))
