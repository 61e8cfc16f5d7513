"""systemd's notify protocol (sd_notify), spoken directly: one datagram per message.

Under a ``Type=notify`` unit systemd sets NOTIFY_SOCKET (and WATCHDOG_USEC with WatchdogSec=).
``SystemdNotifier`` is a daemon companion: started after the alarm loops it says READY=1, then
pings WATCHDOG=1 at half the watchdog interval, but only while every loop of the daemon has
shown a recent heartbeat. A hung event loop or modem worker stops the pings and systemd restarts
the daemon. Outside systemd (no NOTIFY_SOCKET) nothing is sent and no thread is started.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Callable

log = logging.getLogger("edgebox")


def notify_socket() -> str | None:
    path = os.environ.get("NOTIFY_SOCKET")
    if not path or path[0] not in "/@":
        return None
    return "\0" + path[1:] if path[0] == "@" else path  # '@' is Linux's abstract namespace


def notify(message: str) -> bool:
    """Send one notify message; False when not under systemd or the socket is gone."""
    address = notify_socket()
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(message.encode("utf-8"), address)
    except OSError as exc:
        log.warning("could not notify systemd (%s): %s", message.split("=")[0], exc)
        return False
    return True


def watchdog_seconds() -> float | None:
    """The unit's WatchdogSec in seconds when it applies to this process, else None."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 1_000_000


class SystemdNotifier:
    """READY=1 once the daemon runs; WATCHDOG=1 while ``stale()`` names no stuck loop."""

    def __init__(self, stale: Callable[[], list[str]]):
        self._stale = stale
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reported: list[str] = []

    @staticmethod
    def wanted() -> bool:
        return notify_socket() is not None

    def start(self) -> None:
        notify("READY=1\nSTATUS=alarm loops running")
        interval = watchdog_seconds()
        if interval:
            self._thread = threading.Thread(target=self._ping, args=(interval / 2,),
                                            name="watchdog", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        notify("STOPPING=1")
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def ping_once(self) -> bool:
        """One watchdog round: ping if all loops are alive; True if it pinged."""
        stale = self._stale()
        if stale:
            if stale != self._reported:
                log.error("not pinging the watchdog: %s stopped making progress",
                          ", ".join(stale))
                notify(f"STATUS=stuck: {', '.join(stale)}")
            self._reported = stale
            return False
        if self._reported:
            notify("STATUS=alarm loops running")
            self._reported = []
        return notify("WATCHDOG=1")

    def _ping(self, every: float) -> None:
        while not self._stop.wait(every):
            self.ping_once()
