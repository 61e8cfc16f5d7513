"""The lock-out rule for PINs typed by phone: the leaders' SMS administration and the live
loudspeaker's keypad PIN keep the same one.

``max_wrong`` wrong PINs in a row lock the number for ``window`` from the last of them; a right
PIN ends the run, and so does a pause longer than ``window`` between two wrong ones. Tries made
while locked out are not counted (the caller is refused before the PIN is looked at). Read from
the log's tries, oldest first, so a restart changes nothing.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable


def locked_until(tries: Iterable[tuple[datetime, bool]], max_wrong: int,
                 window: timedelta) -> datetime | None:
    """When the lock-out ends, from ``tries`` as (time, right), None if never locked."""
    run, last_wrong, until = 0, None, None
    for at, right in tries:
        if right:
            run = 0
            continue
        if last_wrong is not None and at - last_wrong > window:
            run = 0
        run, last_wrong = run + 1, at
        if run >= max_wrong:
            run, until = 0, at + window
    return until
