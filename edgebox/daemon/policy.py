"""The alarm policy on the event loop: what a call, an SMS or an office action means, and what
the clock makes happen (escalation, drills, broadcast progress, delivery failures).

Mixed into Daemon: it uses the daemon's store, roster, config, clock, siren and its helpers
``_reject``, ``_enqueue``, ``_siren_on``/``_siren_off`` and ``_wake_workers``. Every decision is
committed to the store in one transaction with everything it plans to send, before anything is
sent, so a crash at any instant loses nothing and a restart resumes it. An incoming SMS, and an
office action, is acted on in one transaction with its mark in the store's inbox.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from edgebox.adapters.modem.events import IncomingSms
from edgebox.daemon.told_neighbours import ToldNeighbours
from edgebox.domain import alarm, escalation
from edgebox.domain.messages import fit_one_sms, render, risk_note
from edgebox.domain.office_actions import (ACKNOWLEDGE, BROADCAST, CANCEL, DRILL, SIREN_OFF,
                                           SIREN_ON, OfficeAction, kept_action)
from edgebox.domain.phones import normalise_caller
from edgebox.domain.sms_commands import (Acknowledge, Admin, Broadcast, Cancel, Rejected, Report,
                                         parse_sms, redact_pin)
from edgebox.store.times import parse_utc

OFFICE = "office"  # the acknowledging "household" when the office acknowledges
# A siren switched on by hand is not sounded by a start that comes later than this: after a
# long power cut it would wake the village for a moment long past.
STALE_SIREN = timedelta(minutes=2)


class AlarmPolicy(ToldNeighbours):
    _holding_store = False  # inside an inbox row's transaction (see _act_once)

    # ---- calls -------------------------------------------------------------------------------

    def on_call(self, call) -> None:
        if self.check_ins.took_call(call):  # a household's daily 平安 (daemon/check_ins.py)
            return
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
            with self.store.transaction():  # the repeat call and the step it hastens, together
                self.store.append_event(now, "repeat_call", own.id, household=household.id,
                                        phone=phone)
                self._hasten(own, now)
            return
        notified = self._incident_notifying(household, now, told_only=True)
        if notified is not None:  # "I am coming", or its own emergency (told_neighbours.py)
            self._told_member_called(call, household, phone, notified, now)
            return
        # Not told of any alarm yet: a neighbour calling moments after another household of
        # the group is the same emergency seen from next door.
        joined = self._recent_alarm_of_group(household, now)
        if joined is not None:
            self._reject(call.modem, joined.id)
            self._join(joined, household, phone, now)
            return
        self._raise(household, phone, "call", None, modem=call.modem)

    def _unknown_caller(self, now, phone, call) -> None:
        plan, notice = [], "quiet"
        withheld = call.digits is None
        # A withheld caller is told to the office like any unregistered one, under the same
        # hourly limit (all withheld calls count as one number: "" in the log).
        key = "" if withheld else phone
        if (withheld or phone) and self.config.alarm_forward_unknown_callers \
                and self.config.numbers_office:
            told = self.store.unknown_caller_notices(now - timedelta(hours=1))
            forwarded = [number for number, said in told if said == "forward"]
            notice = alarm.unknown_caller_notice(key, forwarded, "flood" in
                                                 (said for _, said in told),
                                                 self.config.alarm_unknown_notices_per_hour)
            if notice == "forward":
                local = now.astimezone().strftime("%H:%M")  # the box's own time zone
                plan = alarm.plan_unknown_caller(None if withheld else phone,
                                                 self.config.numbers_office, local,
                                                 self.config.box_language)
            elif notice == "flood":
                plan = alarm.plan_unknown_flood(len(forwarded) + 1, self.config.numbers_office,
                                                self.config.box_language)
        # Logged and forwarded in one transaction: never logged with the office never told.
        self.store.plan_with_event(now, None, "unknown_caller", {
            "number": phone or call.digits or "", "withheld": call.digits is None,
            "modem": call.modem, "notice": notice}, plan)
        self._wake_workers()

    def _raise(self, household, phone: str, alarm_type: str, text: str | None,
               modem: str | None = None, drill: bool = False,
               told_of: int | None = None) -> alarm.Incident:
        """Open an alarm and plan its fan-out. ``told_of``: the household had been told of
        that open incident, and this is its own emergency, a second alarm: its confirmation
        says so (and how to call it off if it was not meant)."""
        group = self.roster.groups_of(household.id)[0]
        plan = self._alarm_plan(group, household, phone, alarm_type, text, drill,
                                confirm="confirm" if told_of is None else "confirm_own")
        incident = self.store.open_incident(self.clock(), group.id, household.id, phone,
                                            kind="call" if modem else "sms",
                                            alarm_type=alarm_type, text=text, drill=drill,
                                            plan=plan, told_of=told_of)
        if modem:
            # The call is rejected before the workers wake: the modem's port is then free for
            # the ATH, instead of it waiting behind the first SMS's submit.
            self._reject(modem, incident.id, wake=True)
        else:
            self._wake_workers()
        pattern = escalation.ALARM_TYPES.get(alarm_type, escalation.ALARM_TYPES["other"])
        self._siren_on(incident.id, pattern["siren"])
        self._recheck_rings()  # a daily check-in ringing now gives the line to the alarm
        return incident

    def _plan_incident(self, incident: alarm.Incident) -> None:
        """Plan an incident opened without its fan-out (by a version that committed the two
        apart, and died between them)."""
        plan = self._alarm_plan(self.roster.group(incident.group_id),
                                self.roster.household(incident.caller_household_id),
                                incident.caller_phone, incident.alarm_type, incident.text,
                                incident.drill)
        self.store.add_deliveries(self.clock(), incident.id, plan)
        self._wake_workers()

    def _alarm_plan(self, group, caller, phone: str, alarm_type: str, text: str | None,
                    drill: bool, confirm: str = "confirm") -> list:
        return alarm.plan_alarm(self.roster, group, caller, phone, self.config.box_language,
                                self.config.alarm_ring_members, alarm_type, text, drill,
                                self.config.alarm_ring_order, confirm)

    def _incident_notifying(self, household, now, told_only: bool = False
                            ) -> alarm.Incident | None:
        """The newest open incident that alerts this household (it may acknowledge it).
        ``told_only``: only one whose alarm SMS or ring has actually gone out to it; a
        neighbour who has not been told yet cannot be calling back about it."""
        candidates = [i for i in self.store.incidents_notifying(household.id)
                      if household.id not in (i.caller_household_id, *i.co_callers)
                      and i.is_open(now, self.config.alarm_open_minutes)]
        if told_only:
            candidates = [i for i in candidates if any(
                d["household_id"] == household.id and d["purpose"] in ("alarm", "ring")
                and d["state"] in ("sent", "sending") for d in self.store.deliveries(i.id))]
        return candidates[-1] if candidates else None

    def _incident_groups(self, incident) -> set[str]:
        """The groups an incident alerts: every group of its caller."""
        caller = self.roster.household(incident.caller_household_id)
        return {g.id for g in alarm.caller_groups(self.roster, caller,
                                                  self.roster.group(incident.group_id))}

    def _recent_alarm_of_group(self, household, now) -> alarm.Incident | None:
        """An alarm another household of the same group raised moments ago: the second call is
        the same emergency seen from next door, not a second flood of messages."""
        window = timedelta(seconds=self.config.alarm_merge_seconds)
        groups = {g.id for g in self.roster.groups_of(household.id)}
        recent = [i for i in self.store.incidents("open") if self._incident_groups(i) & groups
                  and not i.drill and i.alarm_type not in escalation.QUIET_TYPES
                  and now - i.opened_at <= window]
        return recent[-1] if recent else None

    def _join(self, incident, household, phone: str, now) -> None:
        callers = [self.roster.household(h)
                   for h in (incident.caller_household_id, *incident.co_callers)] + [household]
        group = self.roster.group(incident.group_id)
        lang = self.config.box_language
        # Members not texted yet get one notice naming both households; those already texted
        # (or being texted right now, with the first words) get one short addendum.
        both = alarm.joint_caller(callers)
        addendum = render(lang, "joined", drill=incident.drill, group=group.name,
                          caller=household.name, address=household.address,
                          risk=risk_note(lang, household.flags))
        notified = {h.id for h in alarm.members_to_alert(self.roster, callers[0])} - {
            h.id for h in callers}
        confirm = alarm.PlannedDelivery(
            alarm.SMS, phone, household.id, "confirm",
            render(lang, "confirm", drill=incident.drill, group=group.name,
                   notified=len(notified)),
            alarm.PRIORITY["confirm"])
        # The joining household's relatives hear of it as they would of its own alarm.
        relatives = alarm.plan_guardians(lang, group, household, incident.alarm_type, already={
            d["phone"] for d in self.store.deliveries(incident.id)} | {phone})

        def plan_for(out: list[dict]) -> list:
            return [alarm.PlannedDelivery(alarm.SMS, p, d_household, "update", addendum,
                                          alarm.PRIORITY["update"])
                    for p, d_household in dict.fromkeys((d["phone"], d["household_id"])
                                                        for d in out)
                    if d_household != household.id] + [confirm, *relatives]
        # One transaction: the household joining is a caller now (not sent its own alarm nor
        # rung), the words change, and the addenda and its confirmation are planned.
        self.store.amend_incident(now, incident.id, "incident_joined",
                                  {"co_callers": [*incident.co_callers, household.id]},
                                  alarm.alarm_text(lang, group, both, incident.alarm_type,
                                                   incident.text, incident.drill),
                                  plan_for, stop_to=household.id)
        self._recheck_rings()  # it may be being rung right now
        self._wake_workers()

    # ---- SMS ---------------------------------------------------------------------------------

    def on_sms(self, sms) -> None:
        """An SMS the modem worker kept in the inbox. Acted on in one transaction with its
        inbox mark: a crash leaves it either wholly acted on, or still to do at the next start
        (``_resume_unhandled``), never half done nor done twice."""
        self._act_once(self.store.handling_sms(self.clock(), sms.inbox_id, redact_pin(sms.text)),
                       lambda: self._act_on_sms(sms))

    def _act_once(self, handling, act) -> None:
        """``act`` inside ``handling`` (an inbox row's transaction with its mark), if the row
        is still to be acted on."""
        self._holding_store = True
        try:
            with handling as todo:
                if todo:
                    act()
        finally:
            self._holding_store = False
        self._recheck_rings()  # now that it has committed (see _recheck_rings)

    def _resume_unhandled(self) -> None:
        """At start, before the modems: what reached the box before a crash and was not acted
        on yet is acted on now, in the order it came: SMS kept in the inbox and office actions
        kept from the panels. And keys pressed in ring calls that the worker logged but the
        event loop never recorded."""
        now = self.clock()
        kept = [(row["received_at"],
                 IncomingSms(row["number"], row["text"], row["modem"], inbox_id=row["id"]))
                for row in self.store.unhandled_sms()]
        for row in self.store.unhandled_office_actions():
            if row["kind"] == SIREN_ON and now - parse_utc(row["asked_at"]) > STALE_SIREN:
                with self.store.handling_office_action(now, row["id"]):
                    self.store.append_event(now, "office_action_expired", action=row["kind"],
                                            source=row["source"], asked_at=row["asked_at"])
                continue
            kept.append((row["asked_at"], kept_action(row)))
        # Each list is in the order it came; one sort by time interleaves the two.
        for _, event in sorted(kept, key=lambda item: item[0]):
            self.events.put(event)
        for delivery_id in self.store.unrecorded_key_acks():
            self._post_key_ack(delivery_id)

    def _act_on_sms(self, sms) -> None:
        now = self.clock()
        phone = normalise_caller(sms.number.lstrip("+"), 145 if sms.number.startswith("+")
                                 else 129, self.config.box_region)
        household = self.roster.household_by_phone(phone)
        self.store.append_event(now, "sms_received", number=phone or sms.number,
                                household=household.id if household else None,
                                text=redact_pin(sms.text)[:500], length=len(sms.text),
                                modem=sms.modem)
        command = parse_sms(sms.text, tuple(g.name for g in self.roster.groups))
        if isinstance(command, Broadcast) or getattr(command, "about", "") == "broadcast":
            self._broadcast_sms(phone, command)  # office numbers need not be households
        elif household is None:
            # Strangers cannot raise alarms or give orders by SMS; it is logged above. One who
            # tries to call an alarm off is told why nothing happened (a sender that is no
            # phone number, such as an operator's name, is not answered).
            if isinstance(command, Cancel) and phone:
                self._reply(phone, "本号码未登记，不能取消报警" if self.config.box_language == "zh"
                            else "this number is not registered and cannot cancel alarms")
            return
        elif isinstance(command, Acknowledge):
            incident = self._incident_notifying(household, now)
            if incident is None:
                self.store.append_event(now, "ack_without_incident", household=household.id)
            else:
                self._acknowledge(incident, household, phone, "sms")
        elif isinstance(command, Cancel):
            self._cancel_by_sms(household, phone, now)
        elif isinstance(command, Admin) or getattr(command, "about", "") == "admin":
            self._admin(household, phone, command)
        elif isinstance(command, Rejected):
            self._reply(phone, command.reason)
        elif isinstance(command, Report):
            self._report(household, phone, command, now)

    def _report(self, household, phone: str, report: Report, now) -> None:
        own = alarm.open_incident_of_caller(self.store.incidents("open"), household.id, now,
                                            self.config.alarm_open_minutes)
        if own is not None:
            fresh = now - own.opened_at <= timedelta(seconds=self.config.alarm_enrich_seconds)
            # A drill is not re-worded by its caller's texts: every message stays marked.
            if fresh and own.text is None and not own.drill:
                self._enrich(own, household, report, now)
            else:
                self.store.append_event(now, "incident_message", own.id, household=household.id,
                                        text=report.text[:500])
            return
        notified = self._incident_notifying(household, now, told_only=True)
        if notified is not None and notified.drill and report.alarm_type == "other":
            # Chatter about a drill ("演练收到了") is logged; a type word raises a real alarm.
            self.store.append_event(now, "incident_message", notified.id,
                                    household=household.id, text=report.text[:500])
            return
        if notified is not None:
            # Told of a neighbour's alarm and writing words that are no acknowledgement nor
            # cancel ("火 厨房着火"): its own emergency, at its own address, a second alarm.
            # Words about the first one raise one too: a needless alarm is called off with
            # "0", an emergency only logged would be lost.
            self._raise(household, phone, report.alarm_type, report.text, told_of=notified.id)
            return
        joined = self._recent_alarm_of_group(household, now)
        if joined is not None:  # not told yet: the same emergency seen from next door
            self.store.append_event(now, "incident_message", joined.id,
                                    household=household.id, text=report.text[:500])
            self._join(joined, household, phone, now)
            return
        self._raise(household, phone, report.alarm_type, report.text)

    def _enrich(self, incident, household, report: Report, now) -> None:
        """A call followed within a minute by an SMS: the SMS says what is happening."""
        alarm_type = report.alarm_type if report.alarm_type != "other" else incident.alarm_type
        lang = self.config.box_language
        text = fit_one_sms(lang, "update", "text", report.text,
                           label=alarm.alarm_label(alarm_type, lang), caller=household.name,
                           address=household.address)
        # Texts not sent yet say it all; those already out (or going out now) get the update,
        # planned in the same transaction as the change.
        self.store.amend_incident(
            now, incident.id, "incident_enriched", {"alarm_type": alarm_type, "text": report.text},
            alarm.alarm_text(lang, self.roster.group(incident.group_id), household, alarm_type,
                             report.text),
            lambda out: [alarm.PlannedDelivery(alarm.SMS, p, h, "update", text,
                                               alarm.PRIORITY["update"])
                         for p, h in dict.fromkeys((d["phone"], d["household_id"]) for d in out)])
        self._wake_workers()
        if alarm_type != incident.alarm_type and self.siren.is_on:
            # The siren says what kind of alarm it is (a thief: pulsed, not continuous).
            self._siren_on(incident.id, escalation.ALARM_TYPES.get(
                alarm_type, escalation.ALARM_TYPES["other"])["siren"])

    def _reply(self, phone: str, reason: str) -> None:
        text = render(self.config.box_language, "refused", reason=reason)
        self._enqueue(None, [alarm.PlannedDelivery(alarm.SMS, phone, None, "reply", text,
                                                   alarm.PRIORITY["reply"])])

    # ---- acknowledgement, cancel ---------------------------------------------------------------

    def _acknowledge(self, incident, household, phone: str, channel: str,
                     also: list = ()) -> None:
        """Record the acknowledgement and relay it; ``also``: more to send with it (the note
        to a member whose call back counted as "coming")."""
        relay = alarm.plan_ack_relay(incident, household, self.config.box_language)
        # Households that joined the alarm by calling too want to know who is coming.
        co_callers = [replace(relay, phone=self.roster.household(h).primary_phone,
                              household_id=h) for h in incident.co_callers]
        # Recorded with its relays in one transaction: a crash between the two would leave the
        # caller never told who is coming.
        if self.store.record_ack(self.clock(), incident.id, household.id, phone, channel,
                                 relays=[relay, *co_callers, *also]):
            self._recheck_rings()  # their phone may be ringing right now
            self._wake_workers()

    def _ring_still_wanted(self, delivery: dict) -> bool:
        """Whether a ring call is still worth making; the modem workers ask just before they
        dial and again whenever ``_recheck_rings`` says something changed. Not once its alarm
        is over, not to a household that acknowledged or is itself one of the callers, and no
        escalation call once anybody acknowledged."""
        if delivery["purpose"] == "check_in":  # not while an alarm needs the line
            return not self.check_ins.alarm_waiting()
        if delivery["incident_id"] is None:
            return True
        incident = self.store.incident(delivery["incident_id"])
        if incident is None or incident.state != "open":
            return False
        if delivery["purpose"].startswith("escalation"):
            return incident.acked_at is None
        household = delivery["household_id"]
        if household is None:
            return True
        if household in (incident.caller_household_id, *incident.co_callers):
            return False
        return household not in {a["household_id"] for a in self.store.acks(incident.id)}

    def _recheck_rings(self) -> None:
        if self._holding_store:
            # Inside an inbox row's transaction: a worker asking whether its call is still
            # wanted holds its ring lock while it waits for the store, which this thread holds;
            # asking it now would deadlock. ``_act_once`` asks once the transaction committed.
            return
        for worker in self.workers.values():
            worker.recheck_ring()

    def _cancel_by_sms(self, household, phone: str, now) -> None:
        """The caller (or a household that joined by calling too) or a leader of a group the
        alarm alerts may call it off; anyone else is told why nothing happened."""
        zh = self.config.box_language == "zh"
        leader_of = {g.id for g in self.roster.groups if g.leader_id == household.id}
        mine = [i for i in self.store.incidents("open")
                if household.id in (i.caller_household_id, *i.co_callers)
                or self._incident_groups(i) & leader_of]
        if mine:
            for incident in mine:
                self._cancel(incident, by=household.id)
            return
        groups = {g.id for g in self.roster.groups_of(household.id)}
        if any(self._incident_groups(i) & groups for i in self.store.incidents("open")):
            self._reply(phone, "只有报警人或中心户长可以取消报警" if zh
                        else "only the caller or the group leader may cancel this alarm")
        else:
            self._reply(phone, "没有可以取消的报警" if zh else "there is no alarm you can cancel")

    def _cancel(self, incident, by: str) -> None:
        """All clear: the ladder stops, whoever was told hears it is over, the siren stops."""
        group = self.roster.group(incident.group_id)
        caller = self.roster.household(incident.caller_household_id)
        text = render(self.config.box_language, "all_clear", drill=incident.drill,
                      group=group.name, caller=caller.name)

        def all_clear(went_out: list[dict]) -> list:
            # Everyone anything may have reached (a text, a ring; even one a modem is sending
            # right now) has heard of the alarm and must hear it is over; and the caller.
            told = {d["phone"]: d["household_id"] for d in went_out}
            told.setdefault(incident.caller_phone, incident.caller_household_id)
            return [alarm.PlannedDelivery(alarm.SMS, p, h, "all_clear", text,
                                          alarm.PRIORITY["all_clear"]) for p, h in told.items()]
        # Closed and the all-clear planned in one transaction: a crash between the two would
        # leave an alarm over that nobody is told is over.
        if self.store.close_incident(self.clock(), incident.id, "cancelled", by=by,
                                     plan_for=all_clear) < 0:
            return
        self._recheck_rings()
        self._wake_workers()
        if not self.store.incidents("open"):
            self._siren_off()

    # ---- the office ----------------------------------------------------------------------------

    def on_office(self, action: OfficeAction) -> None:
        """An office action; one the desk kept is carried out in one transaction with its
        mark, like an SMS (see on_sms)."""
        if action.action_id is None:  # the drill schedule's: nothing to mark
            self._act_for_office(action)
        else:
            self._act_once(self.store.handling_office_action(self.clock(), action.action_id),
                           lambda: self._act_for_office(action))

    def _act_for_office(self, action: OfficeAction) -> None:
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
            else:
                text = render(self.config.box_language, "office_ack", drill=incident.drill)
                relay = alarm.PlannedDelivery(alarm.SMS, incident.caller_phone,
                                              incident.caller_household_id, "ack_relay", text,
                                              alarm.PRIORITY["ack_relay"])
                if self.store.record_ack(now, incident.id, OFFICE, "", action.source,
                                         relays=[relay]):
                    self._recheck_rings()  # an escalation call in progress is not needed now
                    self._wake_workers()
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
