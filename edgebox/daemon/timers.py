"""What the clock makes happen to alarms, on the event loop: the escalation ladder, incidents
expiring, scheduled drills falling due and drills reporting, broadcast progress, and members
whose alarm SMS failed being rung instead. Everything is derived from the store, so it resumes
after a restart at the right step with the right remaining time."""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import timedelta

from edgebox.daemon.check_ins import CheckIns
from edgebox.daemon.ports import (Clock, DeliveryTable, EventLog, IncidentTable, Outbox,
                                  RosterSource)
from edgebox.daemon.siren_control import SirenControl
from edgebox.domain import alarm, drills, escalation, notices
from edgebox.domain.messages import render
from edgebox.domain.office_actions import DRILL, OfficeAction


@dataclass(frozen=True)
class LadderSettings:
    """The ladder (``[[escalation]]``), ``[drill]``, and what of ``[alarm]`` the clock needs."""
    language: str
    village: str
    escalation: tuple  # edgebox.domain.escalation.Step, in order
    open_minutes: float
    vulnerable_factor: float
    failure_summary: bool
    drill_schedule: tuple
    drill_report_minutes: float
    office: tuple[str, ...]
    township: tuple[str, ...]


def ladder_settings(config) -> LadderSettings:
    return LadderSettings(
        config.box_language, config.box_village, tuple(config.escalation),
        config.alarm_open_minutes, config.alarm_vulnerable_factor, config.alarm_failure_summary,
        tuple(config.drill_schedule), config.drill_report_minutes,
        tuple(config.numbers_office), tuple(config.numbers_township))


class AlarmTimers:
    def __init__(self, store: EventLog, incidents: IncidentTable, deliveries: DeliveryTable,
                 rosters: RosterSource, outbox: Outbox, siren: SirenControl, clock: Clock,
                 settings: LadderSettings, check_ins: CheckIns):
        self.store, self.incidents, self.deliveries = store, incidents, deliveries
        self.rosters, self.outbox = rosters, outbox
        self.siren, self.clock, self.settings = siren, clock, settings
        self.check_ins = check_ins  # daily check-ins run on the same tick
        self._ringing_on: set[int] = set()  # incidents whose call may ring on across a restart
        self._drill_slots_fired: set[str] | None = None

    @property
    def roster(self):
        return self.rosters.roster

    def resume(self) -> None:
        """At start: the call that raised one of these may still be ringing; when it shows up
        again it is that same call, not a repeat call that hastens the ladder."""
        self._ringing_on = set(self.incidents.unrejected_calls())

    def tick(self, now) -> list[OfficeAction]:
        """One turn of the clock; what falls due for the office to carry out (a scheduled
        drill) is returned, for the event loop to handle like any office action."""
        due = []
        if self.settings.drill_schedule:
            due += self._scheduled_drill(now)
        for incident in self.incidents.all("open"):
            if incident.drill and now - incident.opened_at >= timedelta(
                    minutes=self.settings.drill_report_minutes):
                self._drill_report(incident, now)
            elif not incident.is_open(now, self.settings.open_minutes):
                self.incidents.close(now, incident.id, "expired")
            elif incident.acked_at is None and incident.alarm_type not in escalation.QUIET_TYPES:
                for index, step in escalation.due_steps(self.settings.escalation,
                                                        incident.opened_at,
                                                        incident.escalation_step, now,
                                                        self._speed(incident)):
                    self._escalate(incident, index, step)
            self._failures(incident)
        self.deliveries.broadcast_progress(now)
        self.check_ins.tick(now)
        return due

    def _speed(self, incident) -> float:
        caller = self.roster.household(incident.caller_household_id)
        return escalation.speed(incident.alarm_type, caller.flags,
                                self.settings.vulnerable_factor)

    def hasten(self, incident) -> None:
        """A repeat call while nobody has acknowledged: take the next step now."""
        if incident.id in self._ringing_on:
            # The call that raised it, still ringing after a restart (the box died before
            # rejecting it): the same call, not a second one. Rejected now, so later calls count.
            self._ringing_on.discard(incident.id)
            self.store.append_event(self.clock(), "call_rang_on", incident.id)
            return
        ladder = self.settings.escalation
        if incident.acked_at is None and incident.escalation_step < len(ladder):
            self._escalate(incident, incident.escalation_step, ladder[incident.escalation_step])

    def _escalate(self, incident, index: int, step: escalation.Step) -> None:
        now = self.clock()
        lang = self.settings.language
        group = self.roster.group(incident.group_id)
        caller = self.roster.household(incident.caller_household_id)
        minutes = max(1, round((now - incident.opened_at).total_seconds() / 60))
        text = notices.escalation_text(lang, group, caller, incident.caller_phone,
                                       self.settings.village, incident.alarm_type, minutes,
                                       incident.drill)
        speech = alarm.ring_speech(lang, group, caller, incident.alarm_type, incident.drill)
        targets = {"leader": [(leader.primary_phone, leader.id) for leader in
                              notices.leaders_to_alert(self.roster, caller, group)],
                   "office": [(n, None) for n in self.settings.office],
                   "township": [(n, None) for n in self.settings.township]}
        plan = []
        for action in step.actions:
            if action == "siren":
                continue  # sounded once the step is recorded, below
            how, who = action.split("_", 1)
            for phone, household_id in targets[who]:
                if how == "sms":
                    plan.append(alarm.PlannedDelivery(alarm.SMS, phone, household_id,
                                                      "escalation_sms", text,
                                                      alarm.PRIORITY["escalation_sms"]))
                else:
                    plan.append(alarm.PlannedDelivery(alarm.CALL, phone, household_id,
                                                      "escalation_ring", speech,
                                                      alarm.PRIORITY["escalation_ring"]))
        # The step and its messages commit together, before anything is sent or sounded: a
        # crash in between must not leave the step counted as done with nothing planned.
        self.incidents.escalate(now, incident.id, index + 1, plan, township=any(
            action.endswith("_township") for action in step.actions))
        self.outbox.wake()
        if "siren" in step.actions:
            self.siren.on(incident.id, "continuous")

    def _failures(self, incident) -> None:
        """An alarm SMS that failed for good: ring that member instead, and once the texting
        is over tell the office who could not be reached by SMS."""
        deliveries = self.deliveries.of_incident(incident.id)
        failed = [d for d in deliveries if d.purpose == "alarm" and d.state == "failed"]
        if not failed:
            return
        now = self.clock()
        handled = {e.data.get("household") for e in self.store.events_of_kinds(
            ["ring_instead"]) if e.incident_id == incident.id}
        group = self.roster.group(incident.group_id)
        caller = self.roster.household(incident.caller_household_id)
        speech = alarm.ring_speech(self.settings.language, group, caller, incident.alarm_type,
                                   incident.drill)
        for d in failed:
            if d.household_id not in handled:
                handled.add(d.household_id)
                # The number the SMS could not reach: a phone that takes no SMS (an old handset,
                # a full inbox, a landline) usually still rings.
                self.deliveries.hurry_ring(now, incident.id, d.household_id, d.phone, speech,
                                           alarm.PRIORITY["escalation_ring"])
                self.outbox.wake()
        texting = any(d.purpose == "alarm" and d.state in ("pending", "sending")
                      for d in deliveries)
        summarised = any(e.incident_id == incident.id
                         for e in self.store.events_of_kinds(["failure_summary"]))
        if texting or summarised or not self.settings.failure_summary:
            return
        names = "、".join(dict.fromkeys(self.roster.household(d.household_id).name
                                        for d in failed))
        text = render(self.settings.language, "failures", drill=incident.drill,
                      group=group.name, count=len({d.household_id for d in failed}),
                      names=names[:30])
        # Logged (so never summarised again) and planned in one transaction.
        self.deliveries.plan_with_event(now, incident.id, "failure_summary",
                                        {"names": names, "count": len(failed)},
                                        alarm.to_offices(list(self.settings.office), text))
        self.outbox.wake()

    def _scheduled_drill(self, now) -> list[OfficeAction]:
        """A ``[drill] schedule`` slot has come: drill the next group in turn, once per slot
        (the slot is in the log before the drill starts, so a restart never repeats it)."""
        slot = drills.due_slot(self.settings.drill_schedule, now.astimezone())
        if slot is None:
            return []
        key = slot.isoformat()
        fired = self._drill_slots_fired
        if fired is None:  # once per run from the log, then kept here
            fired = self._drill_slots_fired = {
                e.data.get("slot") for e in self.store.events_of_kinds(["drill_scheduled"])}
        if key in fired:
            return []
        fired.add(key)
        previous = [e.data.get("group") for e in
                    self.store.events_of_kinds(["drill_scheduled"])]
        ids = [g.id for g in self.roster.groups]
        if not ids:
            return []
        turn = (ids.index(previous[-1]) + 1) % len(ids) if previous and previous[-1] in ids \
            else 0
        self.store.append_event(now, "drill_scheduled", slot=key, group=ids[turn])
        return [OfficeAction(DRILL, "schedule", group_id=ids[turn])]

    def _drill_report(self, incident, now) -> None:
        """Who acknowledged the drill and how fast, to the office; then the drill is over."""
        group = self.roster.group(incident.group_id)
        lang = self.settings.language
        acks = [a for a in self.incidents.acks(incident.id) if a.household_id != "office"]
        after = {a.household_id: round((a.at - incident.opened_at).total_seconds())
                 for a in acks}
        seconds = sorted(after.values())
        total = len(alarm.members_to_alert(self.roster,
                                           self.roster.household(incident.caller_household_id)))
        figures = {"acked": len(acks), "total": total,
                   "fastest": seconds[0] if seconds else "-",
                   "mean": round(statistics.mean(seconds)) if seconds else "-"}
        names = "、".join(render(lang, "drill_ack", who=self._name(h), seconds=s)
                         for h, s in after.items()) or render(lang, "drill_nobody")
        # The office needs every name, so this report may take more than one SMS.
        text = render(lang, "drill_report_names", group=group.name, names=names, **figures)
        report = alarm.to_offices(list(self.settings.office), text)
        # Reported, closed and the report planned in one transaction: a crash cannot leave the
        # drill over with the office never told how it went.
        self.incidents.close(now, incident.id, "drill_over", report=("drill_report", {
            **figures, "households": [a.household_id for a in acks], "seconds": after}),
            plan_for=lambda told: report)
        self.outbox.wake()

    def _name(self, household_id: str) -> str:
        try:
            return self.roster.household(household_id).name
        except KeyError:  # removed from the roster since
            return household_id
