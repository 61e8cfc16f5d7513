"""``edgebox web serve``: the web panel as a process of its own, started (and restarted) by
``edgebox run``.

Uploads, sessions and page rendering live in this process, never in the alarm daemon's: what
an office PC sends can at worst take this process down, and the daemon starts it again. Its
own memory is capped (``web.memory_mb``, as the kernel's data limit) and it offers itself to the
kernel's out-of-memory killer before anything else on the box. It reads what it shows from
the store and keeps office actions there for the daemon (``edgebox.web.box_view``).
"""
from __future__ import annotations

import logging
import os
import resource
import signal
import threading

from edgebox.store import SqliteStore
from edgebox.store.times import utc_now
from edgebox.uplink.settings import uplink_settings
from edgebox.web.box_view import BoxView, StoreOfficeDesk
from edgebox.web.server import WebPanel
from edgebox.web.settings import web_settings

log = logging.getLogger("edgebox")

# Exit status when serving cannot help (the panel is off or has no password): the daemon
# does not start it again until it is itself restarted.
REFUSED = 3
THREAD_STACK = 1024 * 1024  # the request threads' stacks count against the memory cap
OOM_SCORE_ADJ = "500"  # out of memory: this process goes first, the alarm daemon stays


def limit_own_memory(megabytes: int) -> None:
    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    threading.stack_size(THREAD_STACK)
    try:
        with open("/proc/self/oom_score_adj", "w") as adj:
            adj.write(OOM_SCORE_ADJ)
    except OSError as exc:  # not Linux, or a sandbox without /proc: the cap still holds
        log.warning("web panel: cannot set its out-of-memory score: %s", exc)


def serve(config) -> int:
    """Serve until SIGTERM; the process's exit status."""
    settings = web_settings(config)
    if settings is None:
        log.error("web panel not started: web.listen is not set")
        return REFUSED
    # Every check of the config before the cap: a refusal leaves the process as it was (a
    # command run in-process, as by a test runner, keeps its own memory limit).
    uplink_configured = uplink_settings(config) is not None
    limit_own_memory(config.web_memory_mb)
    parent = os.getppid()
    store = SqliteStore(config.box_database)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    panel = WebPanel(settings, store, BoxView(store, config, utc_now),
                     StoreOfficeDesk(store, utc_now), utc_now,
                     uplink_configured=uplink_configured, follow_log=True)
    try:
        panel.start()
        if not panel.serving():
            return REFUSED if not settings.password_hash else 1
        while not stop.wait(1):
            if not panel.serving():
                log.error("web panel: its server stopped")
                return 1
            if os.getppid() != parent:  # the daemon was killed: its successor starts a panel
                log.error("web panel: the process that started it is gone; stopping")
                return 0
        return 0
    finally:
        panel.stop()
        store.close()
