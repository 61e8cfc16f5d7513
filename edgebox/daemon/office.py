"""Where the office's actions enter the daemon (the actions themselves:
edgebox.domain.office_actions).

Both faces hand an OfficeAction to the daemon's ``OfficeDesk`` (``daemon.office.put(action)``),
which keeps it in the store's inbox and puts it on the event queue; the event loop carries it
out in order with everything else, so a button press and a neighbour's SMS never race, and
marks it handled in the same transaction as what it caused. A box that dies between the click
and its effect carries it out at the next start. Every action is an event in the log
(``office_action``) with where it came from.
"""
from __future__ import annotations

import queue
from dataclasses import replace
from datetime import datetime
from typing import Callable

from edgebox.domain.office_actions import OfficeAction


class OfficeDesk:
    """Where the office's actions enter the daemon: kept in the store (a disk sync, on the
    asking thread) before the event loop is told, so the answer the office sees ("done") is
    never for a click a crash could lose."""

    def __init__(self, store, events: queue.Queue, clock: Callable[[], datetime]):
        self.store, self.events, self.clock = store, events, clock

    def put(self, action: OfficeAction) -> None:
        action_id = self.store.inbox.keep_office_action(
            self.clock(), action.kind, action.source, action.user, action.incident_id,
            action.group_id, action.text)
        self.events.put(replace(action, action_id=action_id))
