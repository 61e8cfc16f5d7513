"""Noticing when the wall clock steps, so alarm timers keep counting real time.

The ladder, expiry, merge windows and retry back-offs are wall-clock times in the store
(an incident's opening, a delivery's ``not_before``), so that they survive a restart. A box's
wall clock does step: NTP setting a clock that booted at its last saved time, the box itself
taking the network's time (``clock.set_system``), a technician's ``date -s``. Left alone, a step
back stalls every timer for as long as the step, and a step forward fires every remaining step
of the ladder at once, or expires the alarm.

The event loop asks on every turn, and once more just before the timers' tick, which then
measures with the wall time of that look (``now``): a step landing between the look and the
tick's own reading of the clock would else expire an alarm, or fire its ladder, before the
timers were moved (seen once under load). The watch compares the wall clock with the
monotonic clock, which never steps. When they part by more than ``STEP_SECONDS`` the store moves the timers'
times by the same amount (and logs ``clock_jumped``), so an alarm's age stays the real time
since it was raised. Slow NTP slewing (well under a millisecond a second) never adds up here:
the offset is taken afresh on every turn.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Callable

log = logging.getLogger("edgebox")

STEP_SECONDS = 2.0


class ClockWatch:
    def __init__(self, store, clock: Callable[[], datetime],
                 monotonic: Callable[[], float] = time.monotonic):
        self.store = store
        self.clock = clock
        self.monotonic = monotonic
        self._offset: float | None = None  # wall minus monotonic seconds, at the last look
        self.now: datetime | None = None  # the wall time of the last look

    def check(self) -> float | None:
        """Move the alarm timers if the wall clock stepped since the last look; the step in
        seconds (negative: back), or None."""
        now = self.now = self.clock()
        offset = now.timestamp() - self.monotonic()
        previous, self._offset = self._offset, offset
        if previous is None or abs(offset - previous) < STEP_SECONDS:
            return None
        step = offset - previous
        try:
            self.store.shift_timers(now, step)
        except Exception:  # never in the way of the event it runs before (and never twice:
            # the shift may have been committed before the error)
            log.exception("could not move the alarm timers after a clock step of %.1f s", step)
            return None
        return step
