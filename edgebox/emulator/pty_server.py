"""The emulator on a pseudo-terminal: what the box's code opens instead of /dev/ttyUSB2.

One thread owns the pty master. It feeds the host's bytes to the AT engine, runs the engine's
timers when they fall due and writes the answers back. Control calls (ring the box, deliver an
SMS, ...) take the same lock and wake the thread through a pipe.
"""
from __future__ import annotations

import errno
import os
import select
import threading
import time
import tty
from typing import Callable

from edgebox.emulator.at_engine import AtEngine
from edgebox.emulator.event_log import Entries
from edgebox.emulator.profiles import Profile
from edgebox.emulator.timing import Latency

OUTPUT_LIMIT = 64 * 1024  # bytes kept for a host that is not reading; older ones are dropped


class EmulatorServer:
    """A GSM modem on a pty, plus the control operations of the simulated network."""

    def __init__(self, profile: Profile | str = "generic", latency: Latency | None = None,
                 link: str | None = None, control: str | None = None):
        self.engine = AtEngine(profile, latency=latency or Latency())
        self.link = link
        self.control = control
        self.port: str | None = None  # the slave device path, set by start()
        self._lock = threading.RLock()
        self._master = self._slave = None
        self._wake_read = self._wake_write = None
        self._thread: threading.Thread | None = None
        self._running = False
        self._pending_output = bytearray()
        self._control_server = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "EmulatorServer":
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        # The slave stays open here too, so the master never sees EIO when a host closes the port.
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)
        if self.link:
            _replace_symlink(self.port, self.link)
        self._running = True
        self._thread = threading.Thread(target=self._serve, name="gsm-emulator", daemon=True)
        self._thread.start()
        if self.control:
            from edgebox.emulator.control import ControlServer

            self._control_server = ControlServer(self, self.control)
            self._control_server.start()
        return self

    def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        if self._control_server is not None:
            self._control_server.stop()
            self._control_server = None
        self._wake()
        self._thread.join(timeout=10)
        for fd in (self._master, self._slave, self._wake_read, self._wake_write):
            os.close(fd)
        if self.link and os.path.islink(self.link) and os.readlink(self.link) == self.port:
            os.unlink(self.link)

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- control operations -------------------------------------------------------------------

    def call(self, number: str, rings: int = 10, ring_interval: float = 1.0) -> int:
        """Ring the box from ``number``; returns the id of the future ``call_received`` entry."""
        return self._control(lambda: self.engine.services["calls"].ring_box(number, rings, ring_interval))

    def sms(self, number: str, text: str) -> dict:
        """Deliver an SMS from ``number`` to the box; returns its ``sms_received`` entry."""
        return self._control(lambda: self.engine.services["sms"].deliver(number, text))

    def set_latency(self, **changes: float) -> dict:
        def change():
            self.engine.latency.update(**changes)
            return self.latency()
        return self._control(change)

    def latency(self) -> dict:
        with self._lock:
            latency = self.engine.latency
            return {"sms_submit": latency.sms_submit, "call_setup": latency.call_setup,
                    "ring_timeout": latency.ring_timeout}

    def set_callee(self, number: str, answer_after: float | None = None, busy: bool = False,
                   hangup_after: float | None = None) -> None:
        self._control(lambda: self.engine.services["calls"].set_callee(
            number, answer_after=answer_after, busy=busy, hangup_after=hangup_after))

    def log(self) -> Entries:
        return self.engine.log.entries()

    def wait_for(self, predicate: Callable[[Entries], object], timeout: float = 10.0) -> Entries:
        return self.engine.log.wait_for(predicate, timeout)

    def wait_for_call(self, call_id: int, timeout: float) -> dict:
        """The ``call_received`` entry of the call ``call()`` returned ``call_id`` for, once it ended."""
        def ended(entries):
            return any(e["kind"] == "call_received" and e.get("id") == call_id for e in entries)
        ended.__name__ = f"call {call_id} ended"
        entries = self.wait_for(ended, timeout)
        return next(e for e in entries if e["kind"] == "call_received" and e.get("id") == call_id)

    def _control(self, operation: Callable):
        with self._lock:
            # Take in what the host already sent first: a modem that has the host's command in
            # hand answers it before reporting a new event, rather than in the middle of it.
            if self._running:
                self._read_host()
            result = operation()
        self._wake()
        return result

    def _wake(self) -> None:
        try:
            os.write(self._wake_write, b"!")
        except BlockingIOError:
            pass  # the pipe is full, so the thread is awake anyway

    # -- the pty thread ---------------------------------------------------------------------------

    def _serve(self) -> None:
        while self._running:
            with self._lock:
                deadline = self.engine.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            writers = [self._master] if self._pending_output else []
            readable, writable, _ = select.select([self._master, self._wake_read], writers, [], timeout)
            if self._wake_read in readable:
                os.read(self._wake_read, 4096)
            if self._master in readable:
                self._read_host()
            with self._lock:
                self.engine.run_due_timers()
                self._pending_output += self.engine.take_output()
            self._write_host()

    def _read_host(self) -> None:
        # Reading and feeding happen under one lock so two threads never reorder the host's bytes.
        with self._lock:
            while True:
                try:
                    data = os.read(self._master, 4096)
                except BlockingIOError:
                    return
                except OSError as exc:
                    if exc.errno == errno.EIO:  # nothing holds the slave open; not while we do
                        return
                    raise
                if not data:
                    return
                self.engine.feed(data)

    def _write_host(self) -> None:
        if len(self._pending_output) > OUTPUT_LIMIT:
            del self._pending_output[:len(self._pending_output) - OUTPUT_LIMIT]
        while self._pending_output:
            try:
                written = os.write(self._master, self._pending_output)
            except BlockingIOError:
                return
            del self._pending_output[:written]


def _replace_symlink(target: str, link: str) -> None:
    """Point ``link`` at ``target``, replacing a stale link atomically; never replace a real file."""
    if os.path.exists(link) and not os.path.islink(link):
        raise FileExistsError(f"{link} exists and is not a symlink; refusing to replace it")
    temporary = f"{link}.{os.getpid()}.tmp"
    os.symlink(target, temporary)
    os.replace(temporary, link)
