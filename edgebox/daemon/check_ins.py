"""Daily check-ins on the event loop (the rules are domain/check_ins.py's).

``tick`` runs with the daemon's timers: it starts each opted-in household's check-in when its
window opens, plans the ring call through the outbox (lowest priority: an alarm always goes
first) and reads the call's outcome back from the store once a modem worker has made it; the
worker never calls in here. ``took_call`` runs first in the call handler: a household's call
within its window is its 平安, a call after a missed check-in closes it; any other call is
left to the alarm policy. Everything it decides is in the store (table ``check_ins``), so a
restart resumes each check-in where it was.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from edgebox.daemon.call_rejection import reject_call
from edgebox.daemon.ports import (CallControl, CheckInTable, Clock, EventLog, IncidentTable,
                                  Outbox, RosterSource)
from edgebox.domain import alarm, check_ins
from edgebox.domain.acks import alarm_needs_line
from edgebox.domain.phones import normalise_caller
from edgebox.domain.roster import Household, Roster
from edgebox.store.check_in_rows import CheckInRow


@dataclass(frozen=True)
class CheckInSettings:
    """The ``[check_in]`` section as rules, with the box's language and region and how long an
    incident stays open (a call answering a missed check-in must find it open)."""
    rules: check_ins.Rules
    language: str
    region: str
    open_minutes: float


def check_in_settings(config) -> CheckInSettings:
    return CheckInSettings(
        check_ins.Rules(retry_minutes=config.get("check_in.retry_minutes"),
                        retries=config.get("check_in.retries"),
                        window_minutes=config.get("check_in.window_minutes"),
                        neighbours=config.get("check_in.neighbours"),
                        ring_seconds=config.get("check_in.ring_seconds")),
        config.box_language, config.box_region, config.alarm_open_minutes)


class CheckIns:
    def __init__(self, store: EventLog, incidents: IncidentTable, table: CheckInTable,
                 rosters: RosterSource, calls: CallControl, outbox: Outbox, clock: Clock,
                 settings: CheckInSettings):
        self.store = store
        self.incidents = incidents  # the alarm a missed check-in opened, and whether one is on
        self.table = table  # the check-ins' own rows
        self.rosters = rosters  # the roster in force now (swapped on re-import)
        self.calls = calls
        self.outbox = outbox
        self.clock = clock
        self.settings = settings
        self.rules = settings.rules
        # (household, day) known to have a row; days before yesterday are dropped on each tick,
        # so a box left on for years keeps only a day or two of keys.
        self._started: set[tuple[str, str]] = set()

    # ---- the clock ---------------------------------------------------------------------------

    def tick(self, now: datetime) -> None:
        roster = self.rosters.roster
        for household, day in check_ins.due(roster, now.astimezone(), self.rules):
            key = (household.id, day.isoformat())
            if key not in self._started:
                self._started.add(key)
                self.table.start(now, household.id, day, household.check_in)
        stale = (now.astimezone().date() - timedelta(days=1)).isoformat()
        self._started = {key for key in self._started if key[1] >= stale}
        for row in self.table.in_progress():
            if row.day < stale:
                # The box was off past the day: asking neighbours today to look in about a
                # day long gone would only confuse them; today's check-in starts on its own.
                self.table.close(now, row, "day_over")
                continue
            try:
                household = roster.household(row.household_id)
            except KeyError:  # taken off the roster since: nobody to ring or to look in on
                self.table.close(now, row, "not_in_roster")
                continue
            if row.delivery_id is not None:
                self._ring_finished(now, row, household, roster)
            elif self._parse(row.next_ring_at) <= now and not self._alarm_first():
                self.table.ring(now, row, check_ins.plan_ring(household))
                self.outbox.wake()

    def _alarm_first(self) -> bool:
        """An alarm has the voice line: while anything more urgent than a check-in waits in
        the outbox, or an alarm is waiting for help (``alarm_waiting``), no check-in ring is
        planned."""
        return self.table.urgent_deliveries(check_ins.PRIORITY["check_in"]) or \
            self.alarm_waiting()

    def alarm_waiting(self) -> bool:
        """An alarm nobody has acknowledged yet is open: its escalation may need the line
        any moment, so no check-in ring is planned (the modem worker reads the same rule
        before dialling one, and hangs one up that is ringing)."""
        return alarm_needs_line(self.incidents.all("open"))

    def _ring_finished(self, now: datetime, row: CheckInRow, household: Household,
                       roster: Roster) -> None:
        result = self.table.ring_result(row.delivery_id)
        if result is None:
            return  # not made yet, or ringing now
        decision = check_ins.after_ring(result, row.rings + 1, self.rules)
        if decision == "safe":
            self.table.safe(now, row, "ring")
        elif decision == "again":  # hung up (or never dialled) for an alarm: not a try
            self.table.retry(now, row, result, now, counted=False)
        elif decision == "retry":
            self.table.retry(now, row, result, now + timedelta(minutes=self.rules.retry_minutes))
        elif not roster.groups_of(household.id):
            self.table.close(now, row, "no_group")
        else:
            plan = check_ins.plan_look_in(roster, household, self.settings.language,
                                          self.rules.neighbours)
            self.table.missed(now, row, result, roster.groups_of(household.id)[0].id,
                              household.primary_phone, plan)
            self.outbox.wake()

    # ---- calls -------------------------------------------------------------------------------

    def took_call(self, call) -> bool:
        """True when the call was the household's check-in (it is rejected, free, and nothing
        else happens); False to handle it as any call."""
        if call.same_call:
            return False
        roster = self.rosters.roster
        phone = normalise_caller(call.digits, call.ton, self.settings.region)
        household = roster.household_by_phone(phone)
        if household is None or not household.check_in:
            return False
        now = self.clock()
        day = check_ins.open_window(household, now.astimezone(), self.rules)
        if day is not None and (household.id, day.isoformat()) not in self._started:
            # Called moments after the window opened, before the timer started the day.
            self._started.add((household.id, day.isoformat()))
            self.table.start(now, household.id, day, household.check_in)
        row = self.table.latest(household.id)
        state = row.state if row else None
        if state == "missed" and not self._incident_open(row.incident_id, now):
            state = "closed"  # its incident is over: the call is no answer to it
        if state == "due" and (day is None or row.day != day.isoformat()):
            state = None  # a day still ringing out past its window
        own = alarm.open_incident_of_caller(self.incidents.all("open"), household.id, now,
                                            self.settings.open_minutes)
        meaning = check_ins.call_counts(state, day is not None, own_alarm_open=own is not None)
        if meaning == "alarm":
            return False
        reject_call(self.store, self.calls, self.outbox, self.clock, call.modem)
        if meaning == "check_in":
            self.table.safe(now, row, "call", phone)
        else:
            self._close_missed(now, row, household, roster, phone)
        return True

    def _incident_open(self, incident_id: int | None, now: datetime) -> bool:
        incident = self.incidents.get(incident_id) if incident_id is not None else None
        return incident is not None and incident.is_open(now, self.settings.open_minutes)

    def _close_missed(self, now: datetime, row: CheckInRow, household: Household,
                      roster: Roster, phone: str) -> None:
        """平安 after all: the incident closes, and whoever was asked to look in hears it,
        all in one transaction."""
        lang = self.settings.language
        with self.store.transaction():
            self.incidents.close(now, row.incident_id, "checked_in", by=household.id,
                                 plan_for=lambda planned: check_ins.plan_late(
                                          planned, roster, household, lang))
            self.table.safe(now, row, "late_call", phone)
        self.outbox.wake()

    @staticmethod
    def _parse(text: str) -> datetime:
        from edgebox.store.times import parse_utc
        return parse_utc(text)
