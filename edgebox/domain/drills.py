"""When scheduled drills happen: ``[drill] schedule`` entries, read in the box's local time.

    "daily 19:30"          every day
    "weekly 6 10:00"       every week on that day (1 Monday … 7 Sunday)
    "monthly 1 10:00"      every month on that day (1-31; a month without it has no drill)

"monthly:1 10:00" is read the same, and seconds may follow the minutes ("10:00:30"). Each
occurrence is a slot: the daemon drills once per slot, also when it was down at the slot's time
and comes back within ``LATE_LIMIT``; an older slot is skipped (nobody wants a drill at 3 a.m.
because the power came back then).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from edgebox.i18n import Text

LATE_LIMIT = timedelta(hours=1)
_FORM = re.compile(r"(daily|weekly|monthly)(?:[\s:]+(\d{1,2}))?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?")


@dataclass(frozen=True)
class Slot:
    every: str  # daily, weekly, monthly
    day: int  # weekday 1-7 or day of month 1-31; 0 for daily
    at: time

    def latest(self, now_local: datetime) -> datetime | None:
        """The newest occurrence at or before ``now_local`` (an aware local time) within the
        last 62 days; None if there is none."""
        day = now_local.date()
        for _ in range(63):
            if self._falls_on(day):
                moment = datetime.combine(day, self.at).astimezone()  # local, DST included
                if moment <= now_local:
                    return moment
            day -= timedelta(days=1)
        return None

    def _falls_on(self, day: date) -> bool:
        if self.every == "daily":
            return True
        if self.every == "weekly":
            return day.isoweekday() == self.day
        return day.day == self.day


def parse_slot(text: str) -> Slot:
    """One schedule entry; ValueError saying what is wrong."""
    found = _FORM.fullmatch(str(text).strip().lower())
    if not found:
        raise ValueError(Text("drill.slot_form", "'{text}' is not 'daily HH:MM', 'weekly D "
                              "HH:MM' or 'monthly N HH:MM'", text=text))
    every, day, hours, minutes, seconds = found.groups()
    if (every == "daily") != (day is None):
        raise ValueError(Text("drill.slot_day", "'{text}': daily takes no day, weekly and "
                              "monthly need one", text=text))
    day_number = int(day or 0)
    if every == "weekly" and not 1 <= day_number <= 7:
        raise ValueError(Text("drill.slot_weekday", "'{text}': the weekday is 1 (Monday) to 7 "
                              "(Sunday)", text=text))
    if every == "monthly" and not 1 <= day_number <= 31:
        raise ValueError(Text("drill.slot_month_day", "'{text}': the day of the month is 1 to "
                              "31", text=text))
    try:
        at = time(int(hours), int(minutes), int(seconds or 0))
    except ValueError:
        raise ValueError(Text("drill.slot_time", "'{text}': {hours}:{minutes} is not a time of "
                              "day", text=text, hours=hours, minutes=minutes)) from None
    return Slot(every, day_number, at)


def due_slot(entries: tuple[str, ...], now_local: datetime) -> datetime | None:
    """The newest slot of any entry that has come and is not older than ``LATE_LIMIT``."""
    due = [moment for moment in (parse_slot(e).latest(now_local) for e in entries)
           if moment is not None and now_local - moment < LATE_LIMIT]
    return max(due, default=None)
