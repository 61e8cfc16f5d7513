"""The emulator on a pseudo-terminal: what the box's code opens instead of /dev/ttyUSB2.

One thread owns the pty master. It feeds the host's bytes to the AT engine, runs the engine's
timers when they fall due and writes the answers back. Control calls (ring the box, deliver an
SMS, ...) take the same lock and wake the thread through a pipe.

The port can go away like a pulled USB plug (``unplug``, and ``reboot`` on USB profiles): that
thread closes both ends of the pty, so a host's reads and writes fail, removes the link, and
later opens a new pty under a different /dev/pts name and points the link there. Only that
thread opens or closes the pty, so ``select`` never watches a closed descriptor.
"""
from __future__ import annotations

import errno
import fcntl
import os
import select
import struct
import termios
import threading
import time
import tty
from typing import Callable

from edgebox.emulator.at_engine import AtEngine
from edgebox.emulator.event_log import Entries
from edgebox.emulator.fault_controls import FaultControls
from edgebox.emulator.profiles import Profile
from edgebox.emulator.timing import Latency, Timer, Timers

OUTPUT_LIMIT = 64 * 1024  # bytes kept for a host that is not reading; older ones are dropped
# Closing a pty discards what the host has not read yet, so a reset waits (this long at most)
# for the host to take its OK, as a real module's OK reaches the host before the USB link drops.
# The kernel moves written bytes to the host's side a little later, hence a minimum wait too.
RESET_DRAIN_LIMIT = 2.0
RESET_MINIMUM_WAIT = 0.1


class EmulatorServer(FaultControls):
    """A GSM modem on a pty, plus the control operations of the simulated network.

    ``sim_not_ready``: seconds after start during which the SIM is not ready (a slow SIM at boot).
    ``trace``: also log when each +CLIP goes out and each AT+CMGS comes in (for benchmarks).
    ``boot``: the modem powers up as the emulator starts, printing its boot lines (on SIM800 and
    EC25 the late ones inside the first identification answers), as when the box and its modem
    are switched on together; otherwise it has long been on.
    ``audio_link``: where a profile with a voice port (a Huawei stick) links it (voice_port).
    ``audio_dir``: where every sound played into a call is also written, as
    ``call-<call id>-<n>.wav`` (call_audio); it is kept in memory either way.
    """

    def __init__(self, profile: Profile | str = "generic", latency: Latency | None = None,
                 link: str | None = None, control: str | None = None,
                 sim_not_ready: float | None = None, trace: bool = False, boot: bool = False,
                 audio_link: str | None = None, audio_dir: str | None = None):
        self.engine = AtEngine(profile, latency=latency or Latency(), trace=trace)
        self.engine.reboot_handler = self._reboot_requested
        if boot:
            self.engine.power_on()
        if sim_not_ready:
            self.engine.sim_not_ready(sim_not_ready)
        self.link = link
        self.control = control
        self.port: str | None = None  # the slave device path; None while unplugged
        self._lock = threading.RLock()
        self._port_timers = Timers(time.monotonic)  # replugging; survives the engine's power loss
        self._replug: Timer | None = None
        self._last_port: str | None = None  # the name a replugged modem must not reuse
        self._port_actions: list[tuple[Callable[[], None], threading.Event]] = []
        self._master = self._slave = None
        self._wake_read = self._wake_write = None
        self._thread: threading.Thread | None = None
        self._running = False
        self._pending_output = bytearray()
        self._control_server = None
        self.audio_link = audio_link if self.engine.profile.audio == "pcm_port" else None
        if audio_dir and "call_audio" in self.engine.services:
            from pathlib import Path
            self.engine.services["call_audio"].audio_dir = Path(audio_dir)
        self._voice_port = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "EmulatorServer":
        self._open_pty(avoid=None)
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)
        self._running = True
        self._thread = threading.Thread(target=self._serve, name="gsm-emulator", daemon=True)
        self._thread.start()
        if self.audio_link:
            from edgebox.emulator.voice_port import VoicePort
            self._voice_port = VoicePort(lambda data: self._control(
                lambda: self.engine.services["call_audio"].receive(data))).start()
            _replace_symlink(self._voice_port.port, self.audio_link)
            if (caller := self.engine.services.get("caller_audio")) is not None:
                caller.use_voice_port(self._voice_port, self.audio_link)  # one port both ways
        if self.control:
            from edgebox.emulator.control import ControlServer

            self._control_server = ControlServer(self, self.control)
            self._control_server.start()
        return self

    def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        if self._voice_port is not None:
            self._voice_port.stop()
            if os.path.islink(self.audio_link):
                os.unlink(self.audio_link)
            self._voice_port = None
        if self._control_server is not None:
            self._control_server.stop()
            self._control_server = None
        self._wake()
        self._thread.join(timeout=10)
        self._close_pty()
        for fd in (self._wake_read, self._wake_write):
            os.close(fd)

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- control operations -------------------------------------------------------------------

    def call(self, number: str, rings: int = 10, ring_interval: float | None = None) -> int:
        """Ring the box from ``number``; returns the id of the future ``call_received`` entry."""
        return self._control(lambda: self.engine.services["calls"].ring_box(number, rings, ring_interval))

    def sms(self, number: str, text: str) -> dict:
        """Deliver an SMS from ``number`` to the box; returns its ``sms_received`` entry."""
        return self._control(lambda: self.engine.services["sms"].deliver(number, text))

    def link_sms(self, number: str, other: "EmulatorServer", sender: str) -> None:
        """Two modems on one network: an SMS this modem sends to ``number`` reaches ``other``
        as an SMS from ``sender`` (this modem's own number), whole, as a phone shows it."""
        self._control(lambda: self.engine.services["sms"].peers.__setitem__(
            number, lambda text: other.sms(sender, text)))

    def set_latency(self, **changes: float) -> dict:
        def change():
            self.engine.latency.update(**changes)
            return self.latency()
        return self._control(change)

    def latency(self) -> dict:
        with self._lock:
            return self.engine.latency.as_dict()

    def set_callee(self, number: str, answer_after: float | None = None, busy: bool = False,
                   hangup_after: float | None = None, press: str | None = None,
                   press_after: float = 0.0) -> None:
        """How ``number`` behaves when the box rings it; ``press`` is the key pressed after answering."""
        self._control(lambda: self.engine.services["calls"].set_callee(
            number, answer_after=answer_after, busy=busy, hangup_after=hangup_after,
            press=press, press_after=press_after))

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
            if self._running and self._master is not None:
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
                self._run_port_actions()
                deadlines = [d for d in (self.engine.next_deadline(), self._port_timers.next_due())
                             if d is not None]
            timeout = None if not deadlines else max(0.0, min(deadlines) - time.monotonic())
            readers = [self._wake_read] + ([self._master] if self._master is not None else [])
            writers = [self._master] if self._pending_output and self._master is not None else []
            readable, writable, _ = select.select(readers, writers, [], timeout)
            if self._wake_read in readable:
                os.read(self._wake_read, 4096)
            if self._master is not None and self._master in readable:
                self._read_host()
            with self._lock:
                self.engine.run_due_timers()
                self._pending_output += self.engine.take_output()
            self._write_host()

    # -- the port coming and going (only ever on the pty thread) -------------------------------

    def _on_pty_thread(self, action: Callable[[], None]) -> None:
        """Run ``action`` on the pty thread; wait for it unless this is that thread."""
        if not self._running:
            raise RuntimeError("the emulator is not running")
        done = threading.Event()
        with self._lock:
            self._port_actions.append((action, done))
        self._wake()
        if threading.current_thread() is not self._thread:
            done.wait(timeout=10)

    def _run_port_actions(self) -> None:
        self._port_timers.run_due()
        actions, self._port_actions = self._port_actions, []
        for action, done in actions:
            action()
            done.set()

    def _open_pty(self, avoid: str | None) -> None:
        master, slave = os.openpty()
        if os.ttyname(slave) == avoid:
            # The kernel reuses the lowest free number; a replugged modem must look new.
            spare = (master, slave)
            master, slave = os.openpty()
            for fd in spare:
                os.close(fd)
        tty.setraw(slave)
        # The slave stays open here too, so the master never sees EIO when a host closes the port.
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.port = os.ttyname(slave)
        if self.link:
            _replace_symlink(self.port, self.link)

    def _close_pty(self) -> None:
        if self._master is None:
            return
        for fd in (self._master, self._slave):
            os.close(fd)
        self._master = self._slave = None
        self._pending_output.clear()
        if self.link and os.path.islink(self.link) and os.readlink(self.link) == self.port:
            os.unlink(self.link)

    def _pull_out(self, seconds: float) -> None:
        """The USB device vanishes (the modem loses power with it) and re-enumerates later."""
        if self._replug is not None:
            self._replug.cancel()
        if self._master is not None:
            self._last_port = self.port
            self.engine.power_off()
            self.engine.take_output()  # what it had not yet written is lost with the device
            self._close_pty()
            self.port = None
            self.engine.log.record("unplugged")
        self._replug = self._port_timers.schedule(seconds, self._plug_in)

    def _pull_out_once_read(self, deadline: float) -> None:
        unread = self._unread_by_host()
        if (unread or self._pending_output) and time.monotonic() < deadline:
            self._port_timers.schedule(0.01, lambda: self._pull_out_once_read(deadline))
        else:
            self._pull_out(self.engine.latency.reboot)

    def _unread_by_host(self) -> int:
        if self._slave is None:
            return 0
        return struct.unpack("i", fcntl.ioctl(self._slave, termios.TIOCINQ, b"\0\0\0\0"))[0]

    def _plug_in(self) -> None:
        self._replug = None
        self._open_pty(avoid=self._last_port)
        self.engine.log.record("replugged", port=self.port)
        self.engine.power_on()
        self.engine.check_reachable()

    def _reboot_requested(self) -> None:
        """AT+CFUN=1,1 (its OK is already in the output): a USB module re-enumerates."""
        if self.engine.profile.usb:
            # The module stops listening at once; the port closes later, on the pty thread, once
            # the OK has been written (and read).
            self.engine.power_off()
            deadline = time.monotonic() + RESET_DRAIN_LIMIT
            self._port_timers.schedule(RESET_MINIMUM_WAIT, lambda: self._pull_out_once_read(deadline))
            self._wake()
        else:
            self.engine.timers.schedule(0.0, self.engine.reboot)

    def _read_host(self) -> None:
        # Reading and feeding happen under one lock so two threads never reorder the host's bytes.
        with self._lock:
            while self._master is not None:
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
        if self._master is None:
            self._pending_output.clear()  # nobody is there to hear it
            return
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
