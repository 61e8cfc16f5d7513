"""Whether the network's time (from the modem, +CCLK) may set the box's clock.

A box on a wall has no battery clock: after a power cut it boots at the last saved time. The
network's time is usually right but not always (some cells send 2000-01-01, or a wrong zone),
so it is taken only when it is plausible, and a big jump only when the system clock is
obviously unset.
"""
from __future__ import annotations

from datetime import datetime, timedelta

CLOSE_ENOUGH = timedelta(seconds=30)


def clock_decision(system_now: datetime, network_now: datetime | None, built_at: datetime,
                   max_adjust_hours: float) -> tuple[str, str]:
    """("set", why) when the clock should be set to ``network_now``, else ("keep", why)."""
    if network_now is None:
        return "keep", "the modem gave no network time"
    if network_now < built_at:
        return "keep", f"network time {network_now:%Y-%m-%d} is before this software was built"
    drift = abs(network_now - system_now)
    if drift <= CLOSE_ENOUGH:
        return "keep", "the clock is right"
    if system_now < built_at:
        return "set", "the system clock was unset"
    if max_adjust_hours and drift > timedelta(hours=max_adjust_hours):
        return "keep", f"a jump of {drift} is more than {max_adjust_hours} h: not trusted"
    return "set", f"the clock was {drift} off"
