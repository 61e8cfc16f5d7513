"""A call from a member who was told of an open alarm: "I am coming", or its own emergency.

A call carries no words, so the rule is one a villager can keep in mind (README, "Closing the
loop"; edgebox.domain.acks.told_member_call): the first call back is "coming", and the member is
texted how to raise an alarm of its own instead; a call again soon after, or once it said it is
coming, is its own emergency, a second alarm at its own address. Repeats of one call ringing on
(``IncomingCall.same_call``) are answered before this and never count as "again".

Mixed into AlarmPolicy: uses the daemon's store, config, ``_reject``, ``_acknowledge`` and
``_raise``.
"""
from __future__ import annotations

from edgebox.domain import alarm
from edgebox.domain.acks import COMING, told_member_call
from edgebox.domain.messages import render
from edgebox.store.times import parse_utc


class ToldNeighbours:
    def _told_member_called(self, call, household, phone: str, notified, now) -> None:
        """``household`` was told of ``notified`` (the newest open alarm it was told of) and
        calls the box."""
        if self._told_member_call(notified, household, now) == COMING:
            self._reject(call.modem, notified.id)
            # Committed with the acknowledgement and its relays: one decision, whole.
            note = alarm.PlannedDelivery(
                alarm.SMS, phone, household.id, "reply",
                render(self.config.box_language, "callback_noted", drill=notified.drill),
                alarm.PRIORITY["reply"])
            self._acknowledge(notified, household, phone, "callback", also=[note])
        else:
            self._raise(household, phone, "call", None, modem=call.modem, told_of=notified.id)

    def _told_member_call(self, notified, household, now) -> str:
        """COMING or OWN_ALARM, from the acknowledgements in the store: the same answer after
        a restart."""
        acknowledged = household.id in {a["household_id"] for a in self.store.acks(notified.id)}
        callbacks = [parse_utc(a["at"]) for i in self.store.incidents_notifying(household.id)
                     for a in self.store.acks(i.id)
                     if a["household_id"] == household.id and a["channel"] == "callback"]
        return told_member_call(acknowledged, max(callbacks, default=None), now,
                                self.config.alarm_own_call_seconds)
