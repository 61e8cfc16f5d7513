"""The alarm policy on the event loop: what a call, an SMS or an office action means, and what
the clock makes happen (escalation, drills, broadcast progress, delivery failures).

Mixed into Daemon: it uses the daemon's store, roster, config, clock, siren and its helpers
``_reject``, ``_enqueue``, ``_siren_on``/``_siren_off`` and ``_wake_workers``. Every decision is
committed to the store before anything is sent, so a restart resumes it.
"""
from __future__ import annotations

from datetime import timedelta

from edgebox.daemon.office import (ACKNOWLEDGE, BROADCAST, CANCEL, DRILL, SIREN_OFF, SIREN_ON,
                                   OfficeAction)
from edgebox.domain import alarm, escalation
from edgebox.domain.messages import render
from edgebox.domain.phones import normalise_caller
from edgebox.domain.sms_commands import (Acknowledge, Admin, Broadcast, Cancel, Rejected, Report,
                                         parse_sms)

OFFICE = "office"  # the acknowledging "household" when the office acknowledges


class AlarmPolicy:
    # ---- calls -------------------------------------------------------------------------------

    def on_call(self, call) -> None:
        if call.same_call:
            self._reject(call.modem)
            return
        now = self.clock()
        phone = normalise_caller(call.digits, call.ton, self.config.box_region)
        household = self.roster.household_by_phone(phone)
        if household is None:
            self._reject(call.modem)
            self._unknown_caller(now, phone, call)
            return
        own = alarm.open_incident_of_caller(self.store.incidents("open"), household.id, now,
                                            self.config.alarm_open_minutes)
        if own is not None:
            self._reject(call.modem)
            self.store.append_event(now, "repeat_call", own.id, household=household.id,
                                    phone=phone)
            self._hasten(own, now)
            return
        notified = self._incident_notifying(household, now)
        if notified is not None:  # a neighbour calling back: "I am coming"
            self._reject(call.modem, notified.id)
            self._acknowledge(notified, household, phone, "callback")
            return
        joined = self._recent_alarm_of_group(household, now)
        if joined is not None:
            self._reject(call.modem, joined.id)
            self._join(joined, household, phone, now)
            return
        self._raise(household, phone, "call", None, modem=call.modem)

    def _unknown_caller(self, now, phone, call) -> None:
        self.store.append_event(now, "unknown_caller", number=phone or call.digits or "",
                                withheld=call.digits is None, modem=call.modem)
        if phone and self.config.alarm_forward_unknown_callers and self.config.numbers_office:
            local = now.astimezone().strftime("%H:%M")  # the box's own time zone
            self._enqueue(None, alarm.plan_unknown_caller(
                phone, self.config.numbers_office, local, self.config.box_language))

    def _raise(self, household, phone: str, alarm_type: str, text: str | None,
               modem: str | None = None, drill: bool = False) -> alarm.Incident:
        group = self.roster.groups_of(household.id)[0]
        incident = self.store.open_incident(self.clock(), group.id, household.id, phone,
                                            kind="call" if modem else "sms",
                                            alarm_type=alarm_type, text=text, drill=drill)
        if modem:
            self._reject(modem, incident.id)
        self._plan_incident(incident)
        pattern = escalation.ALARM_TYPES.get(alarm_type, escalation.ALARM_TYPES["other"])
        self._siren_on(incident.id, pattern["siren"])
        return incident

    def _plan_incident(self, incident: alarm.Incident) -> None:
        group = self.roster.group(incident.group_id)
        caller = self.roster.household(incident.caller_household_id)
        plan = alarm.plan_alarm(self.roster, group, caller, incident.caller_phone,
                                self.config.box_language, self.config.alarm_ring_members,
                                incident.alarm_type, incident.text, incident.drill,
                                self.config.alarm_ring_order)
        self.store.add_deliveries(self.clock(), incident.id, plan)
        self._wake_workers()

    def _incident_notifying(self, household, now) -> alarm.Incident | None:
        candidates = [i for i in self.store.incidents_notifying(household.id)
                      if i.caller_household_id != household.id
                      and i.is_open(now, self.config.alarm_open_minutes)]
        return candidates[-1] if candidates else None

    def _recent_alarm_of_group(self, household, now) -> alarm.Incident | None:
        """An alarm another household of the same group raised moments ago: the second call is
        the same emergency seen from next door, not a second flood of messages."""
        window = timedelta(seconds=self.config.alarm_merge_seconds)
        groups = {g.id for g in self.roster.groups_of(household.id)}
        recent = [i for i in self.store.incidents("open") if i.group_id in groups
                  and not i.drill and now - i.opened_at <= window]
        return recent[-1] if recent else None

    def _join(self, incident, household, phone: str, now) -> None:
        callers = [self.roster.household(incident.caller_household_id), household]
        self.store.update_incident(now, incident.id, "incident_joined",
                                   co_callers=[*incident.co_callers, household.id])
        group = self.roster.group(incident.group_id)
        lang = self.config.box_language
        # Members not texted yet get one notice naming both households; those already texted
        # get one short addendum.
        both = alarm.Household("+", "、".join(h.name for h in callers),
                               "、".join(h.address for h in callers), ())
        self.store.reword_pending(now, incident.id, "alarm",
                                  alarm.alarm_text(lang, group, both))
        already = {d["phone"] for d in self.store.sent_to(incident.id) if d["purpose"] == "alarm"}
        addendum = render(lang, "joined", group=group.name, caller=household.name,
                          address=household.address)
        plan = [alarm.PlannedDelivery(alarm.SMS, p, d_household, "update", addendum,
                                      alarm.PRIORITY["update"])
                for p, d_household in self._phones_of_alarm(incident.id) if p in already]
        plan.append(alarm.PlannedDelivery(
            alarm.SMS, phone, household.id, "confirm",
            render(lang, "confirm", group=group.name,
                   notified=len(alarm.members_to_alert(self.roster, callers[0])) - 1),
            alarm.PRIORITY["confirm"]))
        self._enqueue(incident.id, plan)

    def _phones_of_alarm(self, incident_id: int) -> list[tuple[str, str | None]]:
        return list(dict.fromkeys((d["phone"], d["household_id"])
                                  for d in self.store.deliveries(incident_id)
                                  if d["purpose"] == "alarm"))

    # ---- SMS ---------------------------------------------------------------------------------

    def on_sms(self, sms) -> None:
        now = self.clock()
        phone = normalise_caller(sms.number.lstrip("+"), 145 if sms.number.startswith("+")
                                 else 129, self.config.box_region)
        household = self.roster.household_by_phone(phone)
        self.store.append_event(now, "sms_received", number=phone or sms.number,
                                household=household.id if household else None,
                                text=sms.text[:500], length=len(sms.text), modem=sms.modem)
        command = parse_sms(sms.text, tuple(g.name for g in self.roster.groups))
        if isinstance(command, Broadcast) and phone in self._broadcasters():
            self._broadcast(phone, command.group, command.text, reply_to=phone)
        elif household is None:
            return  # strangers cannot raise alarms or give orders by SMS; it is logged above
        elif isinstance(command, Acknowledge):
            incident = self._incident_notifying(household, now)
            if incident is None:
                self.store.append_event(now, "ack_without_incident", household=household.id)
            else:
                self._acknowledge(incident, household, phone, "sms")
        elif isinstance(command, Cancel):
            self._cancel_by_sms(household, phone, now)
        elif isinstance(command, Admin):
            self._admin(household, phone, command)
        elif isinstance(command, Broadcast):
            self._reply(phone, "没有广播权限" if self.config.box_language == "zh"
                        else "this number may not broadcast")
        elif isinstance(command, Rejected):
            self._reply(phone, command.reason)
        elif isinstance(command, Report):
            self._report(household, phone, command, now)

    def _report(self, household, phone: str, report: Report, now) -> None:
        own = alarm.open_incident_of_caller(self.store.incidents("open"), household.id, now,
                                            self.config.alarm_open_minutes)
        if own is not None:
            fresh = now - own.opened_at <= timedelta(seconds=self.config.alarm_enrich_seconds)
            if fresh and own.text is None:
                self._enrich(own, household, report, now)
            else:
                self.store.append_event(now, "incident_message", own.id, household=household.id,
                                        text=report.text[:500])
            return
        notified = self._incident_notifying(household, now)
        if notified is not None:  # a neighbour writing about the alarm they were told of
            self.store.append_event(now, "incident_message", notified.id,
                                    household=household.id, text=report.text[:500])
            return
        self._raise(household, phone, report.alarm_type, report.text)

    def _enrich(self, incident, household, report: Report, now) -> None:
        """A call followed within a minute by an SMS: the SMS says what is happening."""
        alarm_type = report.alarm_type if report.alarm_type != "other" else incident.alarm_type
        self.store.update_incident(now, incident.id, "incident_enriched", alarm_type=alarm_type,
                                   text=report.text)
        lang = self.config.box_language
        from edgebox.domain.messages import fit_one_sms
        text = fit_one_sms(lang, "update", "text", report.text,
                           label=alarm.alarm_label(alarm_type, lang), caller=household.name,
                           address=household.address)
        self.store.reword_pending(now, incident.id, "alarm", alarm.alarm_text(
            lang, self.roster.group(incident.group_id), household, alarm_type, report.text))
        already = {d["phone"] for d in self.store.sent_to(incident.id) if d["purpose"] == "alarm"}
        self._enqueue(incident.id, [
            alarm.PlannedDelivery(alarm.SMS, p, h, "update", text, alarm.PRIORITY["update"])
            for p, h in self._phones_of_alarm(incident.id) if p in already])

    def _reply(self, phone: str, reason: str) -> None:
        text = render(self.config.box_language, "refused", reason=reason)
        self._enqueue(None, [alarm.PlannedDelivery(alarm.SMS, phone, None, "reply", text,
                                                   alarm.PRIORITY["reply"])])

    # ---- acknowledgement, cancel ---------------------------------------------------------------

    def _acknowledge(self, incident, household, phone: str, channel: str) -> None:
        if self.store.record_ack(self.clock(), incident.id, household.id, phone, channel):
            self._enqueue(incident.id, [
                alarm.plan_ack_relay(incident, household, self.config.box_language)])

    def _cancel_by_sms(self, household, phone: str, now) -> None:
        leader_of = {g.id for g in self.roster.groups if g.leader_id == household.id}
        mine = [i for i in self.store.incidents("open")
                if i.caller_household_id == household.id or i.group_id in leader_of]
        if not mine:
            self._reply(phone, "没有可以取消的报警" if self.config.box_language == "zh"
                        else "there is no alarm you can cancel")
            return
        for incident in mine:
            self._cancel(incident, by=household.id)

    def _cancel(self, incident, by: str) -> None:
        """All clear: the ladder stops, whoever was told hears it is over, the siren stops."""
        now = self.clock()
        told = {d["phone"]: d["household_id"] for d in self.store.sent_to(incident.id)
                if d["kind"] == alarm.SMS}
        told.setdefault(incident.caller_phone, incident.caller_household_id)
        if self.store.close_incident(now, incident.id, "cancelled", by=by) < 0:
            return
        group = self.roster.group(incident.group_id)
        caller = self.roster.household(incident.caller_household_id)
        text = render(self.config.box_language, "all_clear", drill=incident.drill,
                      group=group.name, caller=caller.name)
        self._enqueue(incident.id, [
            alarm.PlannedDelivery(alarm.SMS, p, h, "all_clear", text, alarm.PRIORITY["all_clear"])
            for p, h in told.items()])
        if not self.store.incidents("open"):
            self._siren_off()

    # ---- the office ----------------------------------------------------------------------------

    def on_office(self, action: OfficeAction) -> None:
        now = self.clock()
        self.store.append_event(now, "office_action", action.incident_id, action=action.kind,
                                source=action.source, user=action.user,
                                **({"group": action.group_id} if action.group_id else {}))
        if action.kind in (ACKNOWLEDGE, CANCEL):
            incident = (self.store.incident(action.incident_id) if action.incident_id
                        else next(iter(reversed(self.store.incidents("open"))), None))
            if incident is None or incident.state != "open":
                return
            if action.kind == CANCEL:
                self._cancel(incident, by=OFFICE)
            elif self.store.record_ack(now, incident.id, OFFICE, "", action.source):
                text = render(self.config.box_language, "office_ack", drill=incident.drill)
                self._enqueue(incident.id, [alarm.PlannedDelivery(
                    alarm.SMS, incident.caller_phone, incident.caller_household_id,
                    "ack_relay", text, alarm.PRIORITY["ack_relay"])])
        elif action.kind == SIREN_ON:
            self._siren_on(None, "continuous")
        elif action.kind == SIREN_OFF:
            self._siren_off()
        elif action.kind == BROADCAST:
            self._broadcast(OFFICE, action.group_id, action.text)
        elif action.kind == DRILL:
            group = (self.roster.group(action.group_id) if action.group_id
                     else self.roster.groups[0])
            leader = self.roster.household(group.leader_id)
            self._raise(leader, leader.primary_phone, "drill", None, drill=True)

    def _broadcasters(self) -> set[str]:
        return set(self.config.broadcast_allowed or
                   (self.config.numbers_office + self.config.numbers_township))
