"""What a modem worker reads of the config, as one checked value built in the composition root
(edgebox.daemon.app), as the alarm policy's and the check-ins' settings are: the worker and
the parts it drives (ring_call, send_failures, system_commands) never see the config."""
from __future__ import annotations

from dataclasses import dataclass

from edgebox.daemon.ring_call import RingSettings, ring_settings
from edgebox.daemon.system_commands import ClockSettings, clock_settings


@dataclass(frozen=True)
class WorkerSettings:
    """What a modem worker reads of the config (the modem's own table aside)."""
    ring: RingSettings
    clock: ClockSettings
    max_attempts: int  # modem.max_attempts: a member's number failing that often gives up
    retry_seconds: float  # modem.retry_seconds: the first back-off, doubled each time
    out_of_service_after: int  # modem.out_of_service_after: numbers failing in a row
    out_of_service_minutes: float
    health_minutes: float  # modem.health_minutes: between health checks
    balance_ussd: str  # modem.balance_ussd, "" for none


def worker_settings(config) -> WorkerSettings:
    return WorkerSettings(ring_settings(config), clock_settings(config),
                          config.modem_max_attempts, config.modem_retry_seconds,
                          config.modem_out_of_service_after,
                          config.modem_out_of_service_minutes, config.modem_health_minutes,
                          config.modem_balance_ussd)
