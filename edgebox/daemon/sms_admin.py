"""Broadcasts and leaders' administration by SMS, on the event loop.

A broadcast goes to every household of the village or of one group, once per phone, after every
alarm message (lowest priority), rate-limited per sender. A leader may add or remove a phone of a
household in their own group, or list the group, with the box's leader PIN; wrong PINs lock the
number out for a while, counted from the durable log so a restart does not reset the count. The
PIN itself never reaches the log or a reply. Admin SMS are answered at most
``admin.max_per_hour`` times an hour per number (each answer costs an SMS, and a number that
keeps texting must not spend the SIM's credit); the one past that is told so once, the rest are
only logged. The office's, the township's and the box's own numbers can never become a
household's: an alarm from them would go to a group instead of to the office.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass, replace
from datetime import timedelta

from edgebox.daemon.ports import (Clock, DeliveryTable, EventLog, LeaderPinTable, Outbox,
                                  RosterSource, RosterTable)
from edgebox.domain import alarm, notices
from edgebox.domain.messages import count_segments, render
from edgebox.domain.pin_lockout import locked_until
from edgebox.domain.phones import PhoneNumberError, display, normalise
from edgebox.domain.roster import Roster
from edgebox.domain.sms_commands import Rejected
from edgebox.domain.timeline import coded
from edgebox.errors import RosterError
from edgebox.i18n import N_, Text, say, table
from edgebox.store.times import parse_utc, utc_iso
from edgebox.web.passwords import password_matches

# What a leader's change did, in the answer "【联防】已{action}：{detail}".
ADMIN_DONE = table(
    "admin_done.",
    N_("admin_done.add", "added"),
    N_("admin_done.remove", "removed"),
    N_("admin_done.list", "group"),
)
# Events that say a number gave the right PIN: they end a run of wrong ones.
_RIGHT_PIN = ("admin_change", "admin_refused")
# One event per admin SMS answered (admin_rate_limited: the notice that the hour's are used).
_ANSWERED = ("admin_not_allowed", "admin_locked", "admin_pin_wrong", "admin_malformed",
             *_RIGHT_PIN)


@dataclass(frozen=True)
class AdminSettings:
    """The ``[admin]`` and ``[broadcast]`` sections, with the numbers they protect."""
    language: str
    region: str
    leader_pin: str
    max_per_hour: int
    max_wrong: int
    lockout_minutes: float
    broadcasters: frozenset[str]  # who may broadcast by SMS
    broadcasts_per_hour: int
    box_numbers: frozenset[str]  # never a household's: office, township, the modems' own
    # the township's numbers: a broadcast from one is signed by the township, not the village
    township: frozenset[str] = frozenset()


def admin_settings(config) -> AdminSettings:
    return AdminSettings(
        config.box_language, config.box_region, config.admin_leader_pin,
        config.admin_max_per_hour, config.admin_max_wrong, config.admin_lockout_minutes,
        frozenset(config.broadcast_allowed
                  or (config.numbers_office + config.numbers_township)),
        config.broadcast_max_per_hour,
        frozenset({*config.numbers_office, *config.numbers_township,
                   *(m.number for m in config.modems if m.number)}),
        frozenset(config.numbers_township))


class SmsAdministration:
    def __init__(self, store: EventLog, deliveries: DeliveryTable, roster_table: RosterTable,
                 leader_pins: LeaderPinTable, rosters: RosterSource, outbox: Outbox, clock: Clock,
                 settings: AdminSettings):
        """``roster_table``: where a changed roster is saved; ``rosters``: the one in force."""
        self.store, self.deliveries = store, deliveries
        self.roster_table, self.leader_pins = roster_table, leader_pins
        self.rosters, self.outbox, self.clock, self.settings = rosters, outbox, clock, settings

    @property
    def roster(self):
        return self.rosters.roster

    def _reply(self, phone: str, reason: str) -> None:
        self.outbox.add(None, notices.plan_reply(self.settings.language, phone, reason))

    # ---- broadcasts ------------------------------------------------------------------------

    def broadcast_sms(self, phone: str | None, command) -> None:
        """"广播 …" by SMS: only allow-listed numbers (office, township or broadcast.allowed),
        which need not be households; anyone else is told no and nothing is sent."""
        if not phone:
            return  # a withheld or garbled sender: nobody to answer, nothing to send
        if phone not in self.settings.broadcasters:
            self.store.append_event(self.clock(), "broadcast_refused", sender=phone,
                                    reason="not_allowed")
            self._reply(phone, Text("reply.may_not_broadcast", "this number may not broadcast"))
            return
        if isinstance(command, Rejected):
            self._reply(phone, command.reason)
            return
        self.broadcast(phone, command.group, command.text, reply_to=phone)

    def broadcast(self, sender: str, group_id: str | None, text: str,
                   reply_to: str | None = None) -> None:
        now = self.clock()
        lang = self.settings.language
        hour_ago = utc_iso(now - timedelta(hours=1))
        recent = [e for e in self.store.events_of_kinds(["broadcast_planned"])
                  if e.data.get("sender") == sender and e.at >= hour_ago]
        if len(recent) >= self.settings.broadcasts_per_hour:
            self.store.append_event(now, "broadcast_refused", sender=sender, reason="rate")
            if reply_to:
                self._reply(reply_to, Text("reply.broadcasts_used",
                                           "too many broadcasts this hour"))
            return
        if group_id is not None and group_id not in {g.id for g in self.roster.groups}:
            named = next((g.id for g in self.roster.groups if g.name == group_id), None)
            if named is None:  # never widen a group's notice to the whole village
                self.store.append_event(now, "broadcast_refused", sender=sender,
                                        reason="unknown_group", group=group_id)
                if reply_to:
                    self._reply(reply_to, Text("reply.no_group", "no group {group}",
                                               group=group_id))
                return
            group_id = named
        households = (self.roster.members(group_id) if group_id
                      else list(self.roster.households))
        signed = "broadcast_township" if sender in self.settings.township else "broadcast"
        message = render(lang, signed, text=text)
        phones = dict.fromkeys((p, h.id) for h in households for p in h.phones)
        plan = [alarm.PlannedDelivery(alarm.SMS, p, h, "broadcast", message,
                                      alarm.PRIORITY["broadcast"]) for p, h in phones]
        replies = []
        if reply_to:
            parts = count_segments(message).parts
            confirm = render(lang, "broadcast_confirm", households=len(households),
                             messages=len(plan) * parts)
            replies.append(alarm.PlannedDelivery(alarm.SMS, reply_to, None, "reply", confirm,
                                                 alarm.PRIORITY["reply"]))
        # The broadcast and the sender's confirmation commit together: a crash between the two
        # would leave the village texted and the sender never told.
        self.deliveries.add_broadcast(now, sender, group_id, text, plan, len(households),
                                      replies=replies)
        self.outbox.wake()

    # ---- leaders ---------------------------------------------------------------------------

    def _pin_right(self, pin: str, own_pin: str | None) -> bool:
        """A leader with a PIN of their own (set on the web page, kept hashed) must give it;
        the shared admin.leader_pin is accepted only from leaders without one. Both compared
        in constant time: the reply must not tell how many digits were right."""
        if own_pin is not None:
            return password_matches(pin, own_pin)
        return hmac.compare_digest(pin.encode(), self.settings.leader_pin.encode())

    def admin(self, household, phone: str, command) -> None:
        now = self.clock()
        if not self._admin_answer_allowed(household, phone, now):
            return
        if isinstance(command, Rejected):  # malformed or ambiguous: say how to write it
            self.store.append_event(now, "admin_malformed", household=household.id, phone=phone)
            self._reply(phone, command.reason)
            return
        led = [g for g in self.roster.groups if g.leader_id == household.id]
        own_pin = self.leader_pins.hash_of(household.id) if led else None
        if not (self.settings.leader_pin or own_pin) or not led:
            self.store.append_event(now, "admin_not_allowed", household=household.id,
                                    phone=phone, action=command.action)
            self._reply(phone, Text("reply.not_leader", "only a group leader may"))
            return
        until = self._locked_until(phone)
        if until is not None and now < until:
            self.store.append_event(now, "admin_locked", household=household.id, phone=phone,
                                    until=utc_iso(until))
            minutes = max(1, round((until - now).total_seconds() / 60))
            self._reply(phone, Text("reply.locked",
                                    "locked: too many wrong PINs, try again in {minutes} min",
                                    minutes=minutes))
            return
        if not self._pin_right(command.pin, own_pin):
            self.store.append_event(now, "admin_pin_wrong", household=household.id, phone=phone)
            self._reply(phone, Text("reply.wrong_pin", "wrong PIN"))
            return
        group = led[0]
        if command.action == "list":
            lines = [f"{h.name} {'、'.join(display(p) for p in h.phones)}"
                     for h in self.roster.members(group.id)]
            self._admin_done(phone, group, "list", "；".join(lines), changed=None)
            return
        try:
            number = normalise(command.phone, self.settings.region)
            roster, detail = self._edited(group, command, number)
            roster.validated()
        except (PhoneNumberError, LookupError, RosterError) as exc:
            # In the box's language (a Text says itself in it), also in the log: the panel and
            # the journal show it as it is.
            problems = getattr(exc, "problems", None) or [exc.args[0] if exc.args else str(exc)]
            reason = "；".join(say(problem, self.settings.language) for problem in problems)
            self.store.append_event(now, "admin_refused", household=household.id, phone=phone,
                                    group=group.id, action=command.action, reason=reason[:200])
            self._reply(phone, reason)
            return
        self._admin_done(phone, group, command.action, detail, changed=roster)

    def _admin_answer_allowed(self, household, phone: str, now) -> bool:
        """Whether this admin SMS may be answered (and carried out) within the hour's limit;
        past it, the first is answered that the hour's are used, the rest only logged."""
        hour_ago = utc_iso(now - timedelta(hours=1))
        recent = [e.kind for e in self.store.events_of_kinds([*_ANSWERED,
                                                                 "admin_rate_limited"])
                  if e.data.get("phone") == phone and e.at >= hour_ago]
        if len(recent) - recent.count("admin_rate_limited") < self.settings.max_per_hour:
            return True
        told = "admin_rate_limited" in recent
        self.store.append_event(now, "admin_rate_limited", household=household.id, phone=phone,
                                told=not told)
        if not told:
            self._reply(phone, Text("reply.admin_used",
                                    "too many admin messages this hour; try later"))
        return False

    def _edited(self, group, command, number: str) -> tuple[Roster, str]:
        members = self.roster.members(group.id)
        if command.action == "add":
            if number in self.settings.box_numbers:
                raise LookupError(Text(
                    "reply.admin_box_number", "{number} is the office's, the township's or "
                    "the alarm box's own number; it cannot be a household's",
                    number=display(number)))
            owner = self.roster.household_by_phone(number)
            if owner is not None:
                raise LookupError(Text("reply.admin_number_taken",
                                       "{number} already belongs to {owner}",
                                       number=display(number), owner=owner.name))
            target = next((h for h in members if h.name == command.name), None)
            if target is None:
                raise LookupError(Text("reply.admin_no_member", "nobody in your group is "
                                       "called {name}", name=command.name))
            changed = replace(target, phones=(*target.phones, number))
            detail = f"{target.name} {display(number)}"
        else:
            target = next((h for h in members if number in h.phones), None)
            if target is None:
                raise LookupError(Text("reply.admin_no_number", "nobody in your group has "
                                       "the number {number}", number=display(number)))
            if len(target.phones) == 1:
                raise LookupError(Text("reply.admin_last_number", "{name} has no other "
                                       "number; this one cannot be removed",
                                       name=target.name))
            changed = replace(target, phones=tuple(p for p in target.phones if p != number))
            detail = f"{target.name} {display(number)}"
        households = tuple(changed if h.id == changed.id else h for h in self.roster.households)
        return Roster(households, self.roster.groups), detail

    def _admin_done(self, phone: str, group, action: str, detail: str, changed) -> None:
        now = self.clock()
        if changed is not None:
            self.roster_table.replace(changed, now, source=f"SMS from {phone}")
            self.rosters.reload()
        self.store.append_event(now, "admin_change", None, group=group.id, phone=phone,
                                action=action, detail=detail[:300])
        text = render(self.settings.language, "admin_done",
                      action=coded(self.settings.language, "admin_done.", ADMIN_DONE, action),
                      detail=detail)
        self.outbox.add(None, [alarm.PlannedDelivery(alarm.SMS, phone, None, "reply", text,
                                                   alarm.PRIORITY["reply"])])

    def _locked_until(self, phone: str):
        """When this number's lockout ends, None if it never was locked (the rule:
        edgebox.domain.pin_lockout). Read from the log, so a restart changes nothing."""
        tries = [(parse_utc(event.at), event.kind != "admin_pin_wrong")
                 for event in self.store.events_of_kinds(["admin_pin_wrong", *_RIGHT_PIN])
                 if event.data.get("phone") == phone]
        return locked_until(tries, self.settings.max_wrong,
                            timedelta(minutes=self.settings.lockout_minutes))
