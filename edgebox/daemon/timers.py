"""What the clock makes happen to alarms (mixed into Daemon with AlarmPolicy): the escalation
ladder, incidents expiring, drills reporting, broadcast progress, and members whose alarm SMS
failed being rung instead. Everything is derived from the store, so it resumes after a restart
at the right step with the right remaining time."""
from __future__ import annotations

import statistics
from datetime import timedelta

from edgebox.domain import alarm, escalation
from edgebox.domain.messages import render


class AlarmTimers:
    def _policy_tick(self, now) -> None:
        for incident in self.store.incidents("open"):
            if incident.drill and now - incident.opened_at >= timedelta(
                    minutes=self.config.drill_report_minutes):
                self._drill_report(incident, now)
            elif not incident.is_open(now, self.config.alarm_open_minutes):
                self.store.close_incident(now, incident.id, "expired")
            elif incident.acked_at is None:
                for index, step in escalation.due_steps(self.config.escalation,
                                                        incident.opened_at,
                                                        incident.escalation_step, now,
                                                        self._speed(incident)):
                    self._escalate(incident, index, step)
            self._failures(incident)
        self.store.broadcast_progress(now)

    def _speed(self, incident) -> float:
        caller = self.roster.household(incident.caller_household_id)
        return escalation.speed(incident.alarm_type, caller.flags,
                                self.config.alarm_vulnerable_factor)

    def _hasten(self, incident, now) -> None:
        """A repeat call while nobody has acknowledged: take the next step now."""
        if incident.acked_at is None and incident.escalation_step < len(self.config.escalation):
            self._escalate(incident, incident.escalation_step,
                           self.config.escalation[incident.escalation_step])

    def _escalate(self, incident, index: int, step: escalation.Step) -> None:
        now = self.clock()
        lang = self.config.box_language
        group = self.roster.group(incident.group_id)
        caller = self.roster.household(incident.caller_household_id)
        leader = self.roster.household(group.leader_id)
        minutes = max(1, round((now - incident.opened_at).total_seconds() / 60))
        text = render(lang, "escalation", drill=incident.drill, group=group.name,
                      caller=caller.name, address=caller.address, minutes=minutes,
                      label=alarm.alarm_label(incident.alarm_type, lang))
        speech = render(lang, "ring_speech", drill=incident.drill, group=group.name,
                        caller=caller.name, address=caller.address)
        targets = {"leader": [(leader.primary_phone, leader.id)],
                   "office": [(n, None) for n in self.config.numbers_office],
                   "township": [(n, None) for n in self.config.numbers_township]}
        plan = []
        for action in step.actions:
            if action == "siren":
                self._siren_on(incident.id, "continuous")
                continue
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
        self.store.update_incident(now, incident.id, "escalated", escalation_step=index + 1)
        self._enqueue(incident.id, plan)

    def _failures(self, incident) -> None:
        """An alarm SMS that failed for good: ring that member instead, and once the texting
        is over tell the office who could not be reached by SMS."""
        deliveries = self.store.deliveries(incident.id)
        failed = [d for d in deliveries if d["purpose"] == "alarm" and d["state"] == "failed"]
        if not failed:
            return
        now = self.clock()
        handled = {e["data"].get("household") for e in self.store.events_of_kinds(
            ["ring_instead"]) if e["incident_id"] == incident.id}
        group = self.roster.group(incident.group_id)
        caller = self.roster.household(incident.caller_household_id)
        speech = render(self.config.box_language, "ring_speech", drill=incident.drill,
                        group=group.name, caller=caller.name, address=caller.address)
        for d in failed:
            if d["household_id"] not in handled:
                handled.add(d["household_id"])
                member = self.roster.household(d["household_id"])
                self.store.hurry_ring(now, incident.id, member.id, member.primary_phone, speech,
                                      alarm.PRIORITY["escalation_ring"])
                self._wake_workers()
        texting = any(d["purpose"] == "alarm" and d["state"] in ("pending", "sending")
                      for d in deliveries)
        summarised = any(e["incident_id"] == incident.id
                         for e in self.store.events_of_kinds(["failure_summary"]))
        if texting or summarised or not self.config.alarm_failure_summary:
            return
        names = "、".join(dict.fromkeys(self.roster.household(d["household_id"]).name
                                        for d in failed))
        text = render(self.config.box_language, "failures", drill=incident.drill,
                      group=group.name, count=len({d["household_id"] for d in failed}),
                      names=names[:30])
        self.store.append_event(now, "failure_summary", incident.id, names=names,
                                count=len(failed))
        self._enqueue(incident.id, [alarm.PlannedDelivery(alarm.SMS, n, None, "office_notice",
                                                          text, alarm.PRIORITY["office_notice"])
                                    for n in self.config.numbers_office])

    def _drill_report(self, incident, now) -> None:
        """Who acknowledged the drill and how fast, to the office; then the drill is over."""
        group = self.roster.group(incident.group_id)
        acks = [a for a in self.store.acks(incident.id) if a["household_id"] != "office"]
        seconds = sorted(
            (alarm_time - incident.opened_at).total_seconds()
            for alarm_time in (self._parse(a["at"]) for a in acks))
        total = len(alarm.members_to_alert(self.roster,
                                           self.roster.household(incident.caller_household_id)))
        figures = {"acked": len(acks), "total": total,
                   "fastest": round(seconds[0]) if seconds else "-",
                   "mean": round(statistics.mean(seconds)) if seconds else "-"}
        self.store.append_event(now, "drill_report", incident.id, **figures,
                                households=[a["household_id"] for a in acks])
        text = render(self.config.box_language, "drill_report", group=group.name, **figures)
        self.store.close_incident(now, incident.id, "drill_over")
        self._enqueue(incident.id, [alarm.PlannedDelivery(alarm.SMS, n, None, "office_notice",
                                                          text, alarm.PRIORITY["office_notice"])
                                    for n in self.config.numbers_office])

    @staticmethod
    def _parse(text: str):
        from edgebox.store.times import parse_utc
        return parse_utc(text)
