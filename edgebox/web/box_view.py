"""What the web panel shows of the box and how it hands the office's actions over, through
the store alone: the panel runs in its own process (``edgebox web serve``, started by
``edgebox run``), so whatever is uploaded to it cannot take the alarm loop's memory.

- ``BoxView`` reads the siren and the modems from the log and the health readings, the same
  read models ``edgebox modem status`` uses.
- ``StoreOfficeDesk`` keeps an office action in the store's office_actions desk; the daemon
  collects it from there (``edgebox.daemon.office_inbox``) and carries it out once.
- ``LogFollower`` follows the log the daemon writes, for the dashboard's live stream.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Callable

from edgebox.readmodels.modem_status import modem_status
from edgebox.store.times import parse_utc

log = logging.getLogger("edgebox")

# Events that switch the siren, and the one after which it is certainly off (a fresh start).
SIREN_EVENTS = ("siren_on", "siren_test", "siren_off", "daemon_started")
FOLLOW_SECONDS = 0.5  # how often the log is read for new events: the dashboard's latency


class BoxView:
    def __init__(self, store, config, clock: Callable[[], datetime]):
        self.store, self.config, self.clock = store, config, clock

    def siren_is_on(self) -> bool:
        """On after a siren_on (or a panel test) whose time has not run out, until a
        siren_off or a restart of the daemon."""
        events = self.store.events_of_kinds(list(SIREN_EVENTS))
        if not events or events[-1].kind not in ("siren_on", "siren_test"):
            return False
        last = events[-1]
        seconds = last.data.get("seconds") or 0
        return self.clock() < parse_utc(last.at) + timedelta(seconds=seconds)

    def modems(self) -> dict[str, dict]:
        """Every configured modem's last reading and state; ``alive``: its worker said ready."""
        status = modem_status(self.store, [m.name for m in self.config.modems])
        for entry in status.values():
            entry["alive"] = entry.get("state") == "ready"
        return status


class StoreOfficeDesk:
    """The web panel's way in: keep the action; the daemon collects and carries it out."""

    def __init__(self, store, clock: Callable[[], datetime]):
        self.store, self.clock = store, clock

    def put(self, action) -> None:
        self.store.inbox.keep_office_action(self.clock(), action.kind, action.source,
                                            action.user, action.incident_id, action.group_id,
                                            action.text)


class LogFollower:
    """A thread reading the events other processes commit and handing each to ``publish``."""

    def __init__(self, store, publish: Callable[[dict], None]):
        self.store, self.publish = store, publish
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._follow, name="log-follower", daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        seen = self.store.last_event_seq()
        while not self._stop.wait(FOLLOW_SECONDS):
            try:
                for event in self.store.events_after(seen, 200):
                    seen = event.seq
                    self.publish(event)  # as this process's listeners get it
            except Exception:  # a busy or full disk: the next turn tries again
                log.exception("reading the log for the live page failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
