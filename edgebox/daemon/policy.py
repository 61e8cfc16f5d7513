"""The alarm policy on the event loop: what a call means, and how an alarm is raised, joined,
enriched, acknowledged and called off.

Every decision is committed to the store in one transaction with everything it plans to send,
before anything is sent, so a crash at any instant loses nothing and a restart resumes it.
The policy reaches the world only through the ports it is built with (edgebox.daemon.ports).

A call from a member who was told of an open alarm is "I am coming" or its own emergency. A
call carries no words, so the rule is one a villager can keep in mind (README, "Closing the
loop"; edgebox.domain.acks.told_member_call): the first call back is "coming", and the member is
texted how to raise an alarm of its own instead; a call again soon after, or once it said it is
coming, is its own emergency, a second alarm at its own address. Repeats of one call ringing on
(``IncomingCall.same_call``) are answered before this and never count as "again".
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from edgebox.daemon.call_rejection import reject_call
from edgebox.daemon.check_ins import CheckIns
from edgebox.daemon.ports import (CallControl, Clock, DeliveryTable, EventLog, IncidentTable,
                                  Outbox, RosterSource)
from edgebox.daemon.siren_control import SirenControl
from edgebox.daemon.timers import AlarmTimers
from edgebox.domain import alarm, escalation, notices
from edgebox.domain.acks import COMING, told_member_call
from edgebox.domain.alarm import RingSettings
from edgebox.domain.messages import fit_one_sms, render, risk_note
from edgebox.domain.phones import normalise_caller
from edgebox.domain.sms_commands import Report
from edgebox.i18n import Text


@dataclass(frozen=True)
class AlarmSettings:
    """The ``[alarm]`` section, with the box's language and region and the office's numbers."""
    language: str
    region: str
    open_minutes: float
    merge_seconds: float
    enrich_seconds: float
    own_call_seconds: float
    ring_members: bool
    ring_order: str
    forward_unknown_callers: bool
    unknown_notices_per_hour: int
    office: tuple[str, ...]
    # The ring settings and the configured modems; an alarm is planned over those up then.
    rings: RingSettings = RingSettings()


def alarm_settings(config) -> AlarmSettings:
    voice = sum(m.voice for m in config.modems)
    return AlarmSettings(
        config.box_language, config.box_region, config.alarm_open_minutes,
        config.alarm_merge_seconds, config.alarm_enrich_seconds, config.alarm_own_call_seconds,
        config.alarm_ring_members, config.alarm_ring_order,
        config.alarm_forward_unknown_callers, config.alarm_unknown_notices_per_hour,
        tuple(config.numbers_office),
        RingSettings(voice, len(config.modems) - voice, config.alarm_ring_style,
                     config.alarm_ring_seconds, config.alarm_flash_seconds))


class AlarmPolicy:
    def __init__(self, store: EventLog, incidents: IncidentTable, deliveries: DeliveryTable,
                 rosters: RosterSource, outbox: Outbox, calls: CallControl,
                 siren: SirenControl, clock: Clock, settings: AlarmSettings,
                 ladder: AlarmTimers, check_ins: CheckIns):
        self.store, self.incidents, self.deliveries = store, incidents, deliveries
        self.rosters, self.outbox, self.calls = rosters, outbox, calls
        self.siren, self.clock, self.settings, self.ladder = siren, clock, settings, ladder
        self.check_ins = check_ins
        # Companions that answer some calls themselves (the loudspeaker's live voice from an
        # authorised number): each says whether it took the call; none is an alarm's.
        self.call_takers: list = []

    @property
    def roster(self):
        return self.rosters.roster

    # ---- calls -------------------------------------------------------------------------------

    def on_call(self, call) -> None:
        """What a call means (see the module's docstring), from the first +CLIP of a caller
        to the alarm raised and the call rejected."""
        if call.waiting and not call.same_call:
            # A call that came while the box was in a call of its own (ringing a member) is
            # seen only as a waiting call: logged with its number first, so a call that found
            # the line busy is never invisible, then handled (and rejected) like any other.
            self.store.append_event(self.clock(), "call_waiting", modem=call.modem,
                                    number=call.digits or "", withheld=call.digits is None)
        if any(take(call) for take in self.call_takers):
            return
        if self.check_ins.took_call(call):  # a household's daily 平安 (daemon/check_ins.py)
            return
        if call.same_call:
            self.reject(call.modem)
            return
        now = self.clock()
        phone = normalise_caller(call.digits, call.ton, self.settings.region)
        household = self.roster.household_by_phone(phone)
        if household is None:
            self.reject(call.modem)
            self._unknown_caller(now, phone, call)
            return
        own = alarm.open_incident_of_caller(self.incidents.all("open"), household.id, now,
                                            self.settings.open_minutes)
        if own is not None:
            self.reject(call.modem)
            with self.store.transaction():  # the repeat call and the step it hastens, together
                self.store.append_event(now, "repeat_call", own.id, household=household.id,
                                        phone=phone)
                self.ladder.hasten(own)
            return
        notified = self.incident_notifying(household, now, told_only=True)
        if notified is not None:  # "I am coming", or its own emergency
            self._told_member_called(call, household, phone, notified, now)
            return
        # Not told of any alarm yet: a neighbour calling moments after another household of
        # the group is the same emergency seen from next door.
        joined = self.recent_alarm_of_group(household, now)
        if joined is not None:
            self.reject(call.modem, joined.id)
            self.join(joined, household, phone, now)
            return
        self.raise_alarm(household, phone, "call", None, modem=call.modem)

    def reject(self, modem: str, incident_id: int | None = None, wake: bool = False) -> None:
        reject_call(self.store, self.calls, self.outbox, self.clock, modem, incident_id, wake)

    def _unknown_caller(self, now, phone, call) -> None:
        plan, notice = [], "quiet"
        withheld = call.digits is None
        s = self.settings
        # A withheld caller is told to the office like any unregistered one, under the same
        # hourly limit (all withheld calls count as one number: "" in the log).
        key = "" if withheld else phone
        if (withheld or phone) and s.forward_unknown_callers and s.office:
            told = self.store.unknown_caller_notices(now - timedelta(hours=1))
            forwarded = [number for number, said in told if said == "forward"]
            notice = notices.unknown_caller_notice(key, forwarded, "flood" in
                                                   (said for _, said in told),
                                                   s.unknown_notices_per_hour)
            if notice == "forward":
                local = now.astimezone().strftime("%H:%M")  # the box's own time zone
                plan = notices.plan_unknown_caller(None if withheld else phone,
                                                   list(s.office), local, s.language)
            elif notice == "flood":
                plan = notices.plan_unknown_flood(len(forwarded) + 1, list(s.office),
                                                  s.language)
        # Logged and forwarded in one transaction: never logged with the office never told.
        self.deliveries.plan_with_event(now, None, "unknown_caller", {
            "number": phone or call.digits or "", "withheld": call.digits is None,
            "modem": call.modem, "notice": notice}, plan)
        self.outbox.wake()

    def _told_member_called(self, call, household, phone: str, notified, now) -> None:
        """``household`` was told of ``notified`` (the newest open alarm it was told of) and
        calls the box: COMING or OWN_ALARM, from the acknowledgements in the store, so the
        same answer after a restart."""
        acknowledged = household.id in {a.household_id for a in self.incidents.acks(notified.id)}
        callbacks = [a.at for i in self.incidents.notifying(household.id)
                     for a in self.incidents.acks(i.id)
                     if a.household_id == household.id and a.channel == "callback"]
        meaning = told_member_call(acknowledged, max(callbacks, default=None), now,
                                   self.settings.own_call_seconds)
        if meaning == COMING:
            self.reject(call.modem, notified.id)
            # Committed with the acknowledgement and its relays: one decision, whole.
            note = alarm.PlannedDelivery(
                alarm.SMS, phone, household.id, "reply",
                render(self.settings.language, "callback_noted", drill=notified.drill),
                alarm.PRIORITY["reply"])
            self.acknowledge(notified, household, phone, "callback", also=[note])
        else:
            self.raise_alarm(household, phone, "call", None, modem=call.modem,
                             told_of=notified.id)

    # ---- raising and planning -----------------------------------------------------------------

    def raise_alarm(self, household, phone: str, alarm_type: str, text: str | None,
                    modem: str | None = None, drill: bool = False,
                    told_of: int | None = None) -> alarm.Incident:
        """Open an alarm and plan its fan-out. ``told_of``: the household had been told of
        that open incident, and this is its own emergency, a second alarm: its confirmation
        says so (and how to call it off if it was not meant)."""
        group = self.roster.groups_of(household.id)[0]
        plan = self._alarm_plan(group, household, phone, alarm_type, text, drill,
                                confirm="confirm" if told_of is None else "confirm_own")
        incident = self.incidents.open(self.clock(), group.id, household.id, phone,
                                       kind="call" if modem else "sms",
                                       alarm_type=alarm_type, text=text, drill=drill,
                                       plan=plan, told_of=told_of)
        # The ring calls' sentence is rendered from now on, on the speech thread (asking is a
        # queue's put), while the call is rejected and the first SMS goes out: the first ring
        # finds it ready, even when the hang-up has to wait for a submit on the port.
        self.calls.prepare_speech(plan)
        if modem:
            # The call is rejected before the workers wake: the modem's port is then free for
            # the ATH, instead of it waiting behind the first SMS's submit.
            self.reject(modem, incident.id, wake=True)
        else:
            self.outbox.wake()
        pattern = escalation.ALARM_TYPES.get(alarm_type, escalation.ALARM_TYPES["other"])
        self.siren.on(incident.id, pattern["siren"])
        self.calls.recheck_rings()  # a daily check-in ringing now gives the line to the alarm
        return incident

    def plan_incident(self, incident: alarm.Incident) -> None:
        """Plan an incident opened without its fan-out (by a version that committed the two
        apart, and died between them)."""
        plan = self._alarm_plan(self.roster.group(incident.group_id),
                                self.roster.household(incident.caller_household_id),
                                incident.caller_phone, incident.alarm_type, incident.text,
                                incident.drill)
        # Even an empty plan marks the incident planned, so it is not planned again.
        self.deliveries.add(self.clock(), incident.id, plan)
        self.outbox.wake()
        self.calls.prepare_speech(plan)

    def _alarm_plan(self, group, caller, phone: str, alarm_type: str, text: str | None,
                    drill: bool, confirm: str = "confirm") -> list:
        s = self.settings
        rings = s.rings.with_modems_up(*self.outbox.modems_up())  # the lanes there are now
        return alarm.plan_alarm(self.roster, group, caller, phone, s.language, s.ring_members,
                                alarm_type, text, drill, s.ring_order, confirm, rings)

    def incident_notifying(self, household, now, told_only: bool = False
                           ) -> alarm.Incident | None:
        """The newest open incident that alerts this household (it may acknowledge it).
        ``told_only``: only one whose alarm SMS or ring has actually gone out to it; a
        neighbour who has not been told yet cannot be calling back about it."""
        candidates = [i for i in self.incidents.notifying(household.id)
                      if household.id not in (i.caller_household_id, *i.co_callers)
                      and i.is_open(now, self.settings.open_minutes)]
        if told_only:
            candidates = [i for i in candidates if any(
                d.household_id == household.id and d.purpose in ("alarm", "ring", "flash") and d.out
                for d in self.deliveries.of_incident(i.id))]
        return candidates[-1] if candidates else None

    def own_open_incident(self, household, now) -> alarm.Incident | None:
        return alarm.open_incident_of_caller(self.incidents.all("open"), household.id, now,
                                             self.settings.open_minutes)

    def incident_groups(self, incident) -> set[str]:
        """The groups an incident alerts: every group of its caller."""
        caller = self.roster.household(incident.caller_household_id)
        return {g.id for g in alarm.caller_groups(self.roster, caller,
                                                  self.roster.group(incident.group_id))}

    def recent_alarm_of_group(self, household, now) -> alarm.Incident | None:
        """An alarm another household of the same group raised moments ago: the second call is
        the same emergency seen from next door, not a second flood of messages."""
        window = timedelta(seconds=self.settings.merge_seconds)
        groups = {g.id for g in self.roster.groups_of(household.id)}
        recent = [i for i in self.incidents.all("open") if self.incident_groups(i) & groups
                  and not i.drill and i.alarm_type not in escalation.QUIET_TYPES
                  and now - i.opened_at <= window]
        return recent[-1] if recent else None

    # ---- an alarm learns more -----------------------------------------------------------------

    def join(self, incident, household, phone: str, now) -> None:
        callers = [self.roster.household(h)
                   for h in (incident.caller_household_id, *incident.co_callers)] + [household]
        group = self.roster.group(incident.group_id)
        lang = self.settings.language
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
            d.phone for d in self.deliveries.of_incident(incident.id)} | {phone})

        def plan_for(planned: list[alarm.Delivery]) -> list:
            return [alarm.PlannedDelivery(alarm.SMS, p, d_household, "update", addendum,
                                          alarm.PRIORITY["update"])
                    for p, d_household in _alarm_sms_out(planned)
                    if d_household != household.id] + [confirm, *relatives]
        # One transaction: the household joining is a caller now (not sent its own alarm nor
        # rung), the words change, and the addenda and its confirmation are planned.
        self.incidents.amend(now, incident.id, "incident_joined",
                             {"co_callers": [*incident.co_callers, household.id]},
                             alarm.alarm_text(lang, group, both, incident.alarm_type,
                                                   incident.text, incident.drill),
                             plan_for, stop_to=household.id)
        self.calls.recheck_rings()  # it may be being rung right now
        self.outbox.wake()

    def enrich(self, incident, household, report: Report, now) -> None:
        """A call followed within a minute by an SMS: the SMS says what is happening."""
        alarm_type = report.alarm_type if report.alarm_type != "other" else incident.alarm_type
        lang = self.settings.language
        text = fit_one_sms(lang, "update", "text", report.text,
                           label=alarm.alarm_label(alarm_type, lang), caller=household.name,
                           address=household.address)
        # Texts not sent yet say it all; those already out (or going out now) get the update,
        # planned in the same transaction as the change.
        self.incidents.amend(
            now, incident.id, "incident_enriched", {"alarm_type": alarm_type, "text": report.text},
            alarm.alarm_text(lang, self.roster.group(incident.group_id), household, alarm_type,
                             report.text),
            lambda planned: [alarm.PlannedDelivery(alarm.SMS, p, h, "update", text,
                                                   alarm.PRIORITY["update"])
                             for p, h in _alarm_sms_out(planned)])
        self.outbox.wake()
        if alarm_type != incident.alarm_type and self.siren.is_on:
            # The siren says what kind of alarm it is (a thief: pulsed, not continuous).
            self.siren.on(incident.id, escalation.ALARM_TYPES.get(
                alarm_type, escalation.ALARM_TYPES["other"])["siren"])

    # ---- acknowledgement, cancel ---------------------------------------------------------------

    def acknowledge(self, incident, household, phone: str, channel: str,
                    also: list = ()) -> None:
        """Record the acknowledgement and relay it; ``also``: more to send with it (the note
        to a member whose call back counted as "coming")."""
        relay = notices.plan_ack_relay(incident, household, self.settings.language)
        # Households that joined the alarm by calling too want to know who is coming.
        co_callers = [replace(relay, phone=self.roster.household(h).primary_phone,
                              household_id=h) for h in incident.co_callers]
        # Recorded with its relays in one transaction: a crash between the two would leave the
        # caller never told who is coming.
        if self.incidents.record_ack(self.clock(), incident.id, household.id, phone, channel,
                                     relays=[relay, *co_callers, *also]):
            self.calls.recheck_rings()  # their phone may be ringing right now
            self.outbox.wake()

    def office_acknowledge(self, incident, who: str, source: str) -> None:
        """The office acknowledges: the caller is told, the ladder stops."""
        text = render(self.settings.language, "office_ack", drill=incident.drill)
        relay = alarm.PlannedDelivery(alarm.SMS, incident.caller_phone,
                                      incident.caller_household_id, "ack_relay", text,
                                      alarm.PRIORITY["ack_relay"])
        if self.incidents.record_ack(self.clock(), incident.id, who, "", source, relays=[relay]):
            self.calls.recheck_rings()  # an escalation call in progress is not needed now
            self.outbox.wake()

    def cancel_by_sms(self, household, phone: str) -> None:
        """The caller (or a household that joined by calling too) or a leader of a group the
        alarm alerts may call it off; anyone else is told why nothing happened."""
        leader_of = {g.id for g in self.roster.groups if g.leader_id == household.id}
        mine = [i for i in self.incidents.all("open")
                if household.id in (i.caller_household_id, *i.co_callers)
                or self.incident_groups(i) & leader_of]
        if mine:
            for incident in mine:
                self.cancel(incident, by=household.id)
            return
        groups = {g.id for g in self.roster.groups_of(household.id)}
        if any(self.incident_groups(i) & groups for i in self.incidents.all("open")):
            self.reply(phone, Text("reply.may_not_cancel",
                                   "only the caller or the group leader may cancel this alarm"))
        else:
            self.reply(phone, Text("reply.nothing_to_cancel", "there is no alarm you can cancel"))

    def cancel(self, incident, by: str) -> None:
        """All clear: the ladder stops, whoever was told hears it is over, the siren stops."""
        group = self.roster.group(incident.group_id)
        caller = self.roster.household(incident.caller_household_id)
        text = render(self.settings.language, "all_clear", drill=incident.drill,
                      group=group.name, caller=caller.name)

        def all_clear(planned: list[alarm.Delivery]) -> list:
            # Everyone anything may have reached (a text, a ring; even one a modem is sending
            # right now, or one tried before whose failure may hide that it arrived) has heard
            # of the alarm and must hear it is over; and the caller.
            told = {d.phone: d.household_id for d in planned if d.may_have_reached}
            told.setdefault(incident.caller_phone, incident.caller_household_id)
            return [alarm.PlannedDelivery(alarm.SMS, p, h, "all_clear", text,
                                          alarm.PRIORITY["all_clear"]) for p, h in told.items()]
        # Closed and the all-clear planned in one transaction: a crash between the two would
        # leave an alarm over that nobody is told is over.
        if self.incidents.close(self.clock(), incident.id, "cancelled", by=by,
                                plan_for=all_clear) < 0:
            return
        self.calls.recheck_rings()
        self.outbox.wake()
        if not self.incidents.all("open"):
            self.siren.off()

    def reply(self, phone: str, reason: str) -> None:
        self.outbox.add(None, notices.plan_reply(self.settings.language, phone, reason))


def _alarm_sms_out(planned: list[alarm.Delivery]) -> list[tuple[str, str | None]]:
    """(phone, household) of every alarm SMS sent or in a modem's hands, once each: those
    already have the alarm's first words and get an addendum when it learns more."""
    return list(dict.fromkeys((d.phone, d.household_id) for d in planned
                              if d.purpose == "alarm" and d.out))
