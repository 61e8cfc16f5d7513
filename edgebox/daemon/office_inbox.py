"""Office actions made by another process (the web panel runs in its own): collected from the
store for the event loop.

The web panel keeps each action in the store's office_actions desk; this thread finds the
ones not carried out yet and queues them, as the start-up replay does. An action queued twice
(by the panel's buttons' desk and here, or by the replay and here) is carried out once: the
event loop marks it handled in the same transaction as its effect, and skips a handled one.
A roster saved by the panel needs nothing here: the event loop follows the roster's generation
in the store, whoever wrote it (Daemon.follow_roster).

How often it looks: every COLLECT_SECONDS while the office is at work (an action came within
BUSY_SECONDS: a clerk clicks several buttons in a row), every IDLE_COLLECT_SECONDS otherwise,
so an idle box wakes this thread once every two seconds, not three times a second. A poll and
not a signal: the actions are written by another process (the web panel's) whose only link to
this one is the database; a wake-up from it would need a channel of its own (a pipe or a signal
to this process) in the panel's process. Each look is one read of an index
(``office_actions_unhandled``), no write.
"""
from __future__ import annotations

import logging
import queue
import threading
import time

from edgebox.domain.office_actions import kept_action

log = logging.getLogger("edgebox")
COLLECT_SECONDS = 0.3  # while the office is at work, a click reaches the alarm loop within this
IDLE_COLLECT_SECONDS = 2.0  # and within this after a quiet spell
BUSY_SECONDS = 60.0  # "at work": an action came within this


class OfficeInbox:
    def __init__(self, events: queue.Queue, inbox):
        """``inbox``: the store's inbox table; ``events``: the event loop's queue, where
        actions go."""
        self.events, self.inbox = events, inbox
        self._queued: set[int] = set()
        self._last_action = float("-inf")  # monotonic time an action was last collected
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="office-inbox", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.next_look()):
            try:
                self.collect()
            except Exception:  # a locked or full disk: the next turn tries again
                log.exception("collecting the office's actions failed")

    def next_look(self, now: float | None = None) -> float:
        """Seconds until the next look: short while the office is at work, longer when idle."""
        now = time.monotonic() if now is None else now
        return COLLECT_SECONDS if now - self._last_action < BUSY_SECONDS \
            else IDLE_COLLECT_SECONDS

    def collect(self) -> None:
        waiting = self.inbox.unhandled_office_actions()
        for row in waiting:
            if row.id not in self._queued:
                self._queued.add(row.id)
                self._last_action = time.monotonic()
                self.events.put(kept_action(row))
        self._queued &= {row.id for row in waiting}  # handled ones are forgotten

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
