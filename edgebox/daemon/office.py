"""What the village office asks of the box, from the siren panel's buttons or the web panel.

Both faces hand an OfficeAction to the daemon's ``OfficeDesk`` (``daemon.office.put(action)``),
which keeps it in the store's inbox and puts it on the event queue; the event loop carries it
out in order with everything else, so a button press and a neighbour's SMS never race, and
marks it handled in the same transaction as what it caused. A box that dies between the click
and its effect carries it out at the next start. Every action is an event in the log
(``office_action``) with where it came from.
"""
from __future__ import annotations

import queue
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Callable

ACKNOWLEDGE = "acknowledge"  # the office acknowledges an open incident (stops its escalation)
CANCEL = "cancel"            # close an incident: all-clear to everyone notified, siren off
SIREN_ON = "siren_on"        # sound the siren by hand (its maximum on-time still applies)
SIREN_OFF = "siren_off"      # silence the siren
BROADCAST = "broadcast"      # text the whole village, or one group
DRILL = "drill"              # start a drill: a marked test alarm for one group
KINDS = (ACKNOWLEDGE, CANCEL, SIREN_ON, SIREN_OFF, BROADCAST, DRILL)


@dataclass(frozen=True)
class OfficeAction:
    kind: str                      # one of KINDS
    source: str                    # "button", "web", "cli" … for the log
    incident_id: int | None = None  # ACKNOWLEDGE, CANCEL (None: the newest open incident)
    text: str = ""                 # BROADCAST
    group_id: str | None = None    # BROADCAST (None: the whole village), DRILL
    user: str = ""                 # who, when known (the web panel's login)
    action_id: int | None = None   # its row in the store's inbox (None: not kept, a timer's)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown office action {self.kind!r}")


class OfficeDesk:
    """Where the office's actions enter the daemon: kept in the store (a disk sync, on the
    asking thread) before the event loop is told, so the answer the office sees ("done") is
    never for a click a crash could lose."""

    def __init__(self, store, events: queue.Queue, clock: Callable[[], datetime]):
        self.store, self.events, self.clock = store, events, clock

    def put(self, action: OfficeAction) -> None:
        action_id = self.store.keep_office_action(
            self.clock(), action.kind, action.source, action.user, action.incident_id,
            action.group_id, action.text)
        self.events.put(replace(action, action_id=action_id))


def kept_action(row: dict) -> OfficeAction:
    """An office action as the store kept it (``unhandled_office_actions``)."""
    return OfficeAction(row["kind"], row["source"], row["incident_id"], row["text"],
                        row["group_id"], row["user"], row["id"])
