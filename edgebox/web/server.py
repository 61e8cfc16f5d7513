"""WebPanel: the web panel as a daemon companion, uvicorn serving in its own thread.

Without a password hash the panel refuses to serve and the log says how to set one; a port
that cannot be bound is logged too. Neither stops the alarm service: the box keeps answering
calls with or without its web page.
"""
from __future__ import annotations

import logging
import socket
import threading

from edgebox.web.app import WebContext, create_app

log = logging.getLogger("edgebox")

HOW_TO_SET = "set one with: edgebox web password --config /etc/edgebox/edgebox.toml"


class WebPanel:
    def __init__(self, settings, store, daemon, clock, uplink_configured: bool = False):
        self.settings = settings
        self.store = store
        self.clock = clock
        self.ctx = WebContext(settings, store, daemon.office, daemon, clock, uplink_configured)
        self.url: str | None = None
        self._server = None
        self._thread: threading.Thread | None = None
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
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}/"
        self.store.append_event(self.clock(), "web_panel_started", url=self.url)

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

    def stop(self) -> None:
        self.ctx.live.close()  # ends the open event streams, so shutdown need not wait
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
