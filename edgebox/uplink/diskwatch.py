"""The disk watch: when the disk holding the box's database nears full, say so in the log and
text the office, once a day, long before anything is lost.

Every box has it. With an uplink the uploader checks before each upload (a low disk also makes
it prune harder); a box with no uplink runs it on its own thread (``DiskWatchService``), since
its log only grows and nobody at the county would otherwise notice.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Callable

from edgebox.store.times import utc_now
from edgebox.uplink import ledger as notes
from edgebox.uplink import retention, summary
from edgebox.uplink.ledger import UplinkLedger

log = logging.getLogger("edgebox.uplink")
# A box with no uplink looks this often; the warning itself goes out at most once a day.
CHECK_SECONDS = 3600


class DiskWatch:
    def __init__(self, store, box_id: str, warn_percent: float, *, language: str = "zh",
                 office: list[str] = (),
                 disk_usage: Callable[[str], retention.DiskUsage] = retention.disk_usage_of):
        self.store = store
        self.ledger = UplinkLedger(store)
        self.box_id = box_id
        self.warn_percent = warn_percent
        self.language = language
        self.office = list(office)
        self.disk_usage = disk_usage

    def check(self, now: datetime) -> bool:
        """True while the disk is at or above the warning level; the first time each (local)
        day, a ``disk_low`` event and a text to every office number."""
        usage = self.disk_usage(self.store.path)
        if usage.used_percent < self.warn_percent:
            return False
        today = now.astimezone().date().isoformat()
        if self.ledger.get(notes.DISK_WARNED_ON) != today:
            self.ledger.put(notes.DISK_WARNED_ON, today)
            percent, free_mb = round(usage.used_percent), usage.free // (1024 * 1024)
            self.store.append_event(now, "disk_low", used_percent=percent, free_mb=free_mb,
                                    database_mb=retention.database_bytes(self.store.path)
                                    // (1024 * 1024))
            summary.queue_notice(self.store, now, self.office, "office_notice", summary.text(
                self.language, "disk_low", box=self.box_id, percent=percent, free=free_mb))
        return True


class DiskWatchService:
    """The disk watch on its own thread: at start, then every ``period`` seconds."""

    def __init__(self, watch: DiskWatch, clock: Callable[[], datetime] = utc_now,
                 period: float = CHECK_SECONDS):
        self.watch = watch
        self.clock = clock
        self.period = period
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"DiskWatchService(warn_percent={self.watch.warn_percent!r})"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="diskwatch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.watch.check(self.clock())
            except Exception:  # a failed look at the disk must not end the watch
                log.exception("disk check failed")
            self._stop.wait(self.period)


def disk_watch_service(config, store) -> DiskWatchService:
    """The watch for a box with no uplink, from its config."""
    return DiskWatchService(DiskWatch(store, config.box_id,
                                      config.get("uplink.disk_warn_percent"),
                                      language=config.box_language,
                                      office=config.numbers_office))
