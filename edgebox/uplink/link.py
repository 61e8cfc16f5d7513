"""Is there a link to the hub, and can one be brought up?

The check is a configured command (exit status 0: up) or, by default, a TCP connection to the
hub's host and port. The up/down commands (e.g. ``pon edgebox`` / ``poff edgebox`` for PPP on
the modem's *data* port) are run without a shell; the AT port the alarm path uses is never
touched here, and the config refuses commands that name it.
"""
from __future__ import annotations

import logging
import shlex
import socket
import subprocess
import time
from urllib.parse import urlsplit

from edgebox.uplink.errors import LinkDown

log = logging.getLogger("edgebox.uplink")
COMMAND_SECONDS = 60


def run_command(command: str, timeout: float = COMMAND_SECONDS) -> tuple[bool, str]:
    """Run ``command`` (no shell); (succeeded, what it said or why it failed)."""
    try:
        result = subprocess.run(shlex.split(command), capture_output=True, text=True,
                                timeout=timeout, check=False)
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        return False, str(exc)
    said = (result.stderr or result.stdout).strip()[-300:]
    return result.returncode == 0, said or f"exit status {result.returncode}"


def hub_address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


class LinkManager:
    def __init__(self, url: str, check: str = "", up: str = "", down: str = "",
                 up_seconds: float = 60, probe_seconds: float = 5):
        self.host, self.port = hub_address(url)
        self.check_command = check
        self.up_command = up
        self.down_command = down
        self.up_seconds = up_seconds
        self.probe_seconds = probe_seconds

    def is_up(self) -> bool:
        if self.check_command:
            return run_command(self.check_command, self.probe_seconds + 10)[0]
        try:
            with socket.create_connection((self.host, self.port), timeout=self.probe_seconds):
                return True
        except OSError:
            return False

    def ensure_up(self, stopping=lambda: False) -> bool:
        """Make sure the link is up. True when this call brought it up (so it should be taken
        down after the upload), False when it was up already; LinkDown when it stays down."""
        if self.is_up():
            return False
        if not self.up_command:
            raise LinkDown(f"no link to {self.host}:{self.port}")
        ok, said = run_command(self.up_command)
        if not ok:
            raise LinkDown(f"link-up command failed: {said}")
        deadline = time.monotonic() + self.up_seconds
        while not stopping():
            if self.is_up():
                return True
            if time.monotonic() > deadline:
                break
            time.sleep(1)
        self.take_down()
        raise LinkDown(f"link still down {self.up_seconds:g} s after the link-up command")

    def take_down(self) -> None:
        if self.down_command:
            ok, said = run_command(self.down_command)
            if not ok:
                log.warning("link-down command failed: %s", said)
