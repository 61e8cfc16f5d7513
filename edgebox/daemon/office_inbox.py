"""Office actions made by another process (the web panel runs in its own): collected from the
store for the event loop.

The web panel keeps each action in the store's office_actions desk; this thread finds the
ones not carried out yet and queues them, as the start-up replay does. An action queued twice
(by the panel's buttons' desk and here, or by the replay and here) is carried out once: the
event loop marks it handled in the same transaction as its effect, and skips a handled one.
A roster saved by the panel needs nothing here: the event loop follows the roster's generation
in the store, whoever wrote it (Daemon.follow_roster).
"""
from __future__ import annotations

import logging
import threading

from edgebox.domain.office_actions import kept_action

log = logging.getLogger("edgebox")
COLLECT_SECONDS = 0.3  # an office click reaches the alarm loop within this


class OfficeInbox:
    def __init__(self, daemon, store):
        self.daemon, self.store = daemon, store
        self._queued: set[int] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="office-inbox", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(COLLECT_SECONDS):
            try:
                self.collect()
            except Exception:  # a locked or full disk: the next turn tries again
                log.exception("collecting the office's actions failed")

    def collect(self) -> None:
        waiting = self.store.unhandled_office_actions()
        for row in waiting:
            if row["id"] not in self._queued:
                self._queued.add(row["id"])
                self.daemon.events.put(kept_action(row))
        self._queued &= {row["id"] for row in waiting}  # handled ones are forgotten

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
