"""WebPanel: uvicorn serving the web panel in its own thread, of the process that runs it
(``edgebox web serve``, which ``edgebox run`` starts as a process of its own; tests may run it
in theirs).

Without a password hash the panel refuses to serve and the log says how to set one; a port
that cannot be bound is logged too. Neither stops the alarm service: the box keeps answering
calls with or without its web page.
"""
from __future__ import annotations

import logging
import os
import socket
import threading

from edgebox.web.app import create_app
from edgebox.web.box_view import LogFollower
from edgebox.web.pages import WebContext

log = logging.getLogger("edgebox")

HOW_TO_SET = "set one with: edgebox web password --config /etc/edgebox/edgebox.toml"


class WebPanel:
    def __init__(self, settings, store, box, actions, clock, uplink_configured: bool = False,
                 follow_log: bool = False):
        """``box``: a BoxView; ``actions``: where office actions go; ``follow_log``: the live
        stream reads the log other processes write (else it hears this process's store)."""
        self.settings = settings
        self.store = store
        self.clock = clock
        self.ctx = WebContext(settings, store, actions, box, clock, uplink_configured)
        self.url: str | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self._follower = LogFollower(store, self.ctx.live.publish) if follow_log else None
        if not follow_log:
            store.subscribe(self.ctx.live.publish)

    def start(self) -> None:
        if not self.settings.password_hash:
            log.error("web panel not started: no password is set (web.password_hash); %s",
                      HOW_TO_SET)
            self.store.append_event(self.clock(), "web_panel_refused",
                                    reason="no password set", how=HOW_TO_SET)
            return
        try:
            sock = self._bind()
        except OSError as exc:
            log.error("web panel not started: cannot listen on %s:%s: %s", self.settings.host,
                      self.settings.port, exc)
            self.store.append_event(self.clock(), "web_panel_failed", error=str(exc))
            return
        import uvicorn
        config = uvicorn.Config(create_app(self.ctx), log_level="warning", lifespan="off",
                                timeout_graceful_shutdown=2, access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="web", daemon=True)
        self._thread.start()
        if self._follower is not None:
            self._follower.start()
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}/"
        self.store.append_event(self.clock(), "web_panel_started", url=self.url,
                                pid=os.getpid())

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.settings.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.settings.host, self.settings.port))
            sock.listen(64)
        except OSError:
            sock.close()
            raise
        sock.set_inheritable(True)
        return sock

    def serving(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        if self._follower is not None:
            self._follower.stop()
        self.ctx.live.close()  # ends the open event streams, so shutdown need not wait
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
