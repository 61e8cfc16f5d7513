"""The web panel's process, kept running by the daemon (``edgebox web serve``, see
``edgebox.web.process``): started with the daemon, started again with a growing pause (1 s up
to a minute) when it dies, stopped with it. Its output goes where the daemon's goes.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time

log = logging.getLogger("edgebox")

REFUSED = 3  # edgebox.web.process.REFUSED (not imported: the daemon loads no web code)
MAX_PAUSE = 60.0
STOP_SECONDS = 10


class WebPanelProcess:
    def __init__(self, config_path: str, store, clock):
        self.config_path, self.store, self.clock = config_path, store, clock
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._process: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._keep_running, name="web-process",
                                        daemon=True)
        self._thread.start()

    def _spawn(self) -> subprocess.Popen | None:
        with self._lock:  # never a new process once stop() has begun
            if self._stopping.is_set():
                return None
            # Fewer malloc arenas: the panel's memory cap is about what it uses, not reserves.
            env = {**os.environ, "MALLOC_ARENA_MAX": "2"}
            self._process = subprocess.Popen(
                [sys.executable, "-m", "edgebox", "web", "serve", "--config", self.config_path],
                env=env)
            return self._process

    def _keep_running(self) -> None:
        pause = 1.0
        while True:
            started = time.monotonic()
            process = self._spawn()
            if process is None:
                return
            code = process.wait()
            if self._stopping.is_set():
                return
            if code == REFUSED:
                log.error("web panel will not serve (see above); not restarting it")
                return
            log.error("web panel process ended with status %s; starting it again in %.0f s",
                      code, pause)
            self.store.append_event(self.clock(), "web_panel_exited", status=code)
            if time.monotonic() - started > MAX_PAUSE:
                pause = 1.0  # it ran a good while: this is a new failure, not a loop
            if self._stopping.wait(pause):
                return
            pause = min(MAX_PAUSE, pause * 2)

    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._thread is not None:
            self._thread.join(timeout=STOP_SECONDS)
