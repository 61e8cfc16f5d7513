"""What an SMS or an office action means, on the event loop.

An incoming SMS, and an office action, is acted on in one transaction with its mark in the
store's inbox: a crash leaves it either wholly acted on, or still to do at the next start
(``kept_events``), never half done nor done twice. What it causes is the alarm policy's
(raise, join, acknowledge, cancel) or the administration's (broadcasts, leaders' changes).
"""
from __future__ import annotations

from datetime import timedelta

from edgebox.adapters.modem.events import IncomingSms
from edgebox.daemon.policy import AlarmPolicy, AlarmSettings
from edgebox.daemon.ports import (CallControl, Clock, DeliveryTable, EventLog, IncidentTable,
                                  InboxTable, RosterSource)
from edgebox.daemon.siren_control import SirenControl
from edgebox.daemon.sms_admin import SmsAdministration
from edgebox.daemon.worker_events import KeyAcknowledged
from edgebox.domain.office_actions import (ACKNOWLEDGE, BROADCAST, CANCEL, DRILL, SIREN_OFF,
                                           SIREN_ON, SPEAK, OfficeAction, kept_action)
from edgebox.domain.phones import normalise_caller
from edgebox.domain.sms_commands import (Acknowledge, Admin, Broadcast, Cancel, Rejected, Report,
                                         parse_sms, redact_pin)
from edgebox.store.times import parse_utc

OFFICE = "office"  # the acknowledging "household" when the office acknowledges
# A siren switched on by hand is not sounded by a start that comes later than this: after a
# long power cut it would wake the village for a moment long past.
STALE_SIREN = timedelta(minutes=2)


class InboxPolicy:
    def __init__(self, store: EventLog, incidents: IncidentTable, deliveries: DeliveryTable,
                 inbox: InboxTable, rosters: RosterSource, alarms: AlarmPolicy,
                 admin: SmsAdministration, calls: CallControl, siren: SirenControl, clock: Clock,
                 settings: AlarmSettings):
        self.store, self.incidents, self.deliveries = store, incidents, deliveries
        self.inbox, self.rosters, self.alarms, self.admin = inbox, rosters, alarms, admin
        self.calls, self.siren, self.clock, self.settings = calls, siren, clock, settings

    @property
    def roster(self):
        return self.rosters.roster

    # ---- kept before it is acted on ----------------------------------------------------------

    def on_sms(self, sms) -> None:
        """An SMS the modem worker kept in the inbox."""
        self._act_once(self.inbox.handling_sms(self.clock(), sms.inbox_id, redact_pin(sms.text)),
                       lambda: self._act_on_sms(sms))

    def on_office(self, action: OfficeAction) -> None:
        """An office action; one the desk kept is carried out in one transaction with its
        mark, like an SMS."""
        if action.action_id is None:  # the drill schedule's: nothing to mark
            self._act_for_office(action)
        else:
            self._act_once(self.inbox.handling_office_action(self.clock(), action.action_id),
                           lambda: self._act_for_office(action))

    def on_key_ack(self, event: KeyAcknowledged) -> None:
        delivery = self.deliveries.get(event.delivery_id)
        incident = self.incidents.get(delivery.incident_id) \
            if delivery.incident_id is not None else None
        if incident is None or delivery.household_id is None:
            return
        self.alarms.acknowledge(incident, self.roster.household(delivery.household_id),
                                delivery.phone, "dtmf")

    def _act_once(self, handling, act) -> None:
        """``act`` inside ``handling`` (an inbox row's transaction with its mark), if the row
        is still to be acted on; ring calls are re-checked once it has committed."""
        with self.calls.rechecks_held(), handling as todo:
            if todo:
                act()

    def kept_events(self) -> list:
        """At start, before the modems: what reached the box before a crash and was not acted
        on yet, in the order it came: SMS kept in the inbox and office actions kept from the
        panels; then keys pressed in ring calls that a worker logged but the event loop never
        recorded. The event loop queues them."""
        now = self.clock()
        kept = [(row.received_at, IncomingSms(row.number, row.text, row.modem, inbox_id=row.id))
                for row in self.inbox.unhandled_sms()]
        for row in self.inbox.unhandled_office_actions():
            if row.kind == SIREN_ON and now - parse_utc(row.asked_at) > STALE_SIREN:
                with self.inbox.handling_office_action(now, row.id):
                    self.store.append_event(now, "office_action_expired", action=row.kind,
                                            source=row.source, asked_at=row.asked_at)
                continue
            kept.append((row.asked_at, kept_action(row)))
        # Each list is in the order it came; one sort by time interleaves the two.
        return [event for _, event in sorted(kept, key=lambda item: item[0])] + [
            KeyAcknowledged(delivery_id) for delivery_id in self.incidents.unrecorded_key_acks()]

    # ---- SMS ---------------------------------------------------------------------------------

    def _act_on_sms(self, sms) -> None:
        now = self.clock()
        phone = normalise_caller(sms.number.lstrip("+"), 145 if sms.number.startswith("+")
                                 else 129, self.settings.region)
        household = self.roster.household_by_phone(phone)
        self.store.append_event(now, "sms_received", number=phone or sms.number,
                                household=household.id if household else None,
                                text=redact_pin(sms.text)[:500], length=len(sms.text),
                                modem=sms.modem)
        command = parse_sms(sms.text, tuple(g.name for g in self.roster.groups))
        if isinstance(command, Broadcast) or getattr(command, "about", "") == "broadcast":
            self.admin.broadcast_sms(phone, command)  # office numbers need not be households
        elif household is None:
            # Strangers cannot raise alarms or give orders by SMS; it is logged above. One who
            # tries to call an alarm off is told why nothing happened (a sender that is no
            # phone number, such as an operator's name, is not answered).
            if isinstance(command, Cancel) and phone:
                self.alarms.reply(phone, "本号码未登记，不能取消报警"
                                  if self.settings.language == "zh"
                                  else "this number is not registered and cannot cancel alarms")
            return
        elif isinstance(command, Acknowledge):
            incident = self.alarms.incident_notifying(household, now)
            if incident is None:
                self.store.append_event(now, "ack_without_incident", household=household.id)
            else:
                self.alarms.acknowledge(incident, household, phone, "sms")
        elif isinstance(command, Cancel):
            self.alarms.cancel_by_sms(household, phone)
        elif isinstance(command, Admin) or getattr(command, "about", "") == "admin":
            self.admin.admin(household, phone, command)
        elif isinstance(command, Rejected):
            self.alarms.reply(phone, command.reason)
        elif isinstance(command, Report):
            self._report(household, phone, command, now)

    def _report(self, household, phone: str, report: Report, now) -> None:
        own = self.alarms.own_open_incident(household, now)
        if own is not None:
            fresh = now - own.opened_at <= timedelta(seconds=self.settings.enrich_seconds)
            # A drill is not re-worded by its caller's texts: every message stays marked.
            if fresh and own.text is None and not own.drill:
                self.alarms.enrich(own, household, report, now)
            else:
                self.store.append_event(now, "incident_message", own.id, household=household.id,
                                        text=report.text[:500])
            return
        notified = self.alarms.incident_notifying(household, now, told_only=True)
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
            self.alarms.raise_alarm(household, phone, report.alarm_type, report.text,
                                    told_of=notified.id)
            return
        joined = self.alarms.recent_alarm_of_group(household, now)
        if joined is not None:  # not told yet: the same emergency seen from next door
            self.store.append_event(now, "incident_message", joined.id,
                                    household=household.id, text=report.text[:500])
            self.alarms.join(joined, household, phone, now)
            return
        self.alarms.raise_alarm(household, phone, report.alarm_type, report.text)

    # ---- the office ----------------------------------------------------------------------------

    def _act_for_office(self, action: OfficeAction) -> None:
        now = self.clock()
        self.store.append_event(now, "office_action", action.incident_id, action=action.kind,
                                source=action.source, user=action.user,
                                **({"group": action.group_id} if action.group_id else {}),
                                # SPEAK: the loudspeaker hears this event and reads it out
                                **({"text": action.text[:500]} if action.kind == SPEAK else {}))
        if action.kind in (ACKNOWLEDGE, CANCEL):
            incident = (self.incidents.get(action.incident_id) if action.incident_id
                        else next(iter(reversed(self.incidents.all("open"))), None))
            if incident is None or incident.state != "open":
                return
            if action.kind == CANCEL:
                self.alarms.cancel(incident, by=OFFICE)
            else:
                self.alarms.office_acknowledge(incident, OFFICE, action.source)
        elif action.kind == SIREN_ON:
            self.siren.on(None, "continuous")
        elif action.kind == SIREN_OFF:
            self.siren.off()
        elif action.kind == BROADCAST:
            self.admin.broadcast(OFFICE, action.group_id, action.text)
        elif action.kind == DRILL:
            group = (self.roster.group(action.group_id) if action.group_id
                     else self.roster.groups[0])
            leader = self.roster.household(group.leader_id)
            self.alarms.raise_alarm(leader, leader.primary_phone, "drill", None, drill=True)
