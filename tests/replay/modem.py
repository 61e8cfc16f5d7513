"""The replay modem: a pty that answers like the modem a transcript was taken from.

It shares nothing with edgebox's emulator on purpose: the emulator is our own idea of a modem,
this plays back what real modems were seen to send. It opens a pty (with a symlink, as the
daemon's config names a stable path), answers each command from the transcript's rules (the
transcript's default for the rest), sends the transcript's unsolicited blocks when their
trigger comes, and records every line the host wrote, with the PDUs it typed at SMS prompts.
"""
from __future__ import annotations

import heapq
import itertools
import os
import select
import threading
import time
import tty
from dataclasses import dataclass

from tests.replay.transcript import PDU, Block, Echo, Pause, Step, Transcript, matches

# Real modems take seconds for a submit and ring every 5 s; the transcripts keep real pauses and
# the replay runs them at this fraction, so a case takes seconds (never zero: order must hold).
TIME_SCALE = 0.1
CTRL_Z, ESC = b"\x1a", b"\x1b"
# After these the host types a PDU, ended by Ctrl-Z (or ESC to abandon it): 3GPP TS 27.005 3.5.1.
PROMPTING = ("AT+CMGS=", "AT+CMGW=")


@dataclass
class Received:
    at: float  # monotonic
    text: str  # a command without its <CR>, or a PDU without its Ctrl-Z
    is_pdu: bool = False
    length: int | None = None  # for a PDU: the n of the AT+CMGS=n that opened its prompt


@dataclass
class Sent:
    at: float
    data: bytes


class ReplayModem:
    def __init__(self, transcript: Transcript, link: str, time_scale: float = TIME_SCALE):
        self.transcript = transcript
        self.link = link
        self._scale = time_scale
        self.received: list[Received] = []
        self.sent: list[Sent] = []
        self.echo = transcript.first("echo", "on") == "on"  # a modem powers up with ATE1
        self._turns = {}  # pattern -> how many times it was answered
        self._reference = itertools.count(1)
        self._prompt_length: int | None = None
        self._lock = threading.Condition()
        self._queue: list = []  # heap of (due, order, block id, bytes)
        self._order = itertools.count()
        self._running_blocks: dict[int, Block] = {}
        self._block_ids = itertools.count(1)
        self._seen: dict[int, int] = {}  # after-block -> how often its command came
        self._running = False

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> "ReplayModem":
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # a serial port: no line editing, no echo by the kernel
        port = os.ttyname(self._slave)
        if os.path.lexists(self.link):
            os.unlink(self.link)
        os.symlink(port, self.link)
        self._wake_read, self._wake_write = os.pipe()
        self._running = True
        self._threads = [threading.Thread(target=self._read_loop, daemon=True, name="replay-in"),
                         threading.Thread(target=self._write_loop, daemon=True,
                                          name="replay-out")]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._running = False
        os.write(self._wake_write, b"x")
        with self._lock:
            self._lock.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)
        for fd in (self._master, self._slave, self._wake_read, self._wake_write):
            os.close(fd)
        if os.path.lexists(self.link):
            os.unlink(self.link)

    # -- what the test drives and reads ------------------------------------------------------

    def fire(self, trigger: str = "ready") -> None:
        """Start the blocks waiting for ``trigger`` ("ready": the daemon has started)."""
        for block in self.transcript.blocks:
            if block.trigger == trigger:
                self._start_block(block)

    @property
    def busy(self) -> bool:
        """Something is still to be sent: a block in progress, or an answer."""
        with self._lock:
            return bool(self._queue)

    def commands(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if not r.is_pdu]

    def pdus(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.is_pdu]

    def quiet_for(self) -> float:
        """Seconds since anything crossed the line; 0 while something is still to be sent."""
        with self._lock:
            if self._queue:
                return 0.0
            last = max([r.at for r in self.received[-1:]] + [s.at for s in self.sent[-1:]],
                       default=0.0)
            return time.monotonic() - last

    def first_sent(self, prefix: bytes) -> float | None:
        """When a line starting with ``prefix`` first went to the host (monotonic)."""
        with self._lock:
            return next((s.at for s in self.sent if s.data.lstrip(b"\r\n").startswith(prefix)),
                        None)

    # -- answering -------------------------------------------------------------------------

    def _read_loop(self) -> None:
        buffer = b""
        while self._running:
            ready, _, _ = select.select([self._master, self._wake_read], [], [], 0.5)
            if self._master not in ready:
                continue
            try:
                data = os.read(self._master, 4096)
            except OSError:  # the host closed its end for a moment (a reopen): keep serving
                time.sleep(0.05)
                continue
            buffer += data
            buffer = self._take(buffer)

    def _take(self, buffer: bytes) -> bytes:
        """Handle every whole command (or PDU) in ``buffer``; return what is left."""
        while True:
            if self._prompt_length is not None:
                end = min((i for i in (buffer.find(CTRL_Z), buffer.find(ESC)) if i >= 0),
                          default=-1)
                if end < 0:
                    return buffer
                pdu, abandoned, buffer = buffer[:end], buffer[end:end + 1] == ESC, buffer[end + 1:]
                length, self._prompt_length = self._prompt_length, None
                self._record(Received(time.monotonic(), pdu.decode("ascii", "replace").strip(),
                                      True, length))
                if not abandoned:
                    self._answer(PDU)
                continue
            end = buffer.find(b"\r")
            if end < 0:
                return buffer
            line, buffer = buffer[:end], buffer[end + 1:]
            command = line.replace(ESC, b"").strip(b"\n ").decode("ascii", "replace")
            if not command:
                continue  # an empty line (or the ESC a host sends to leave a prompt): ignored
            if self.echo:
                self._send_now(command.encode() + b"\r")
            self._record(Received(time.monotonic(), command))
            self._command(command)

    def _command(self, command: str) -> None:
        upper = command.upper()
        if upper in ("ATE0", "ATE1"):
            self.echo = upper == "ATE1"
        self._cancel_blocks(command)
        if upper.startswith(PROMPTING):
            try:
                self._prompt_length = int(command.split("=", 1)[1])
            except ValueError:
                self._prompt_length = 0
        self._answer(command)
        for block in self.transcript.blocks:
            if block.trigger == "after" and matches(block.pattern, command):
                self._seen[id(block)] = self._seen.get(id(block), 0) + 1
                if self._seen[id(block)] == block.nth:
                    self._start_block(block)

    def _answer(self, command: str) -> None:
        answers = [steps for pattern, steps in self.transcript.rules if matches(pattern, command)]
        if not answers:
            steps = self.transcript.default_answer if command != PDU else []
            self._schedule(steps, block_id=0)
            return
        # A pattern given again answers the next time the command comes; the last one repeats.
        key = next(p for p, _ in self.transcript.rules if matches(p, command))
        turn = self._turns.get(key, 0)
        self._turns[key] = turn + 1
        self._schedule(answers[min(turn, len(answers) - 1)], block_id=0)

    # -- sending ---------------------------------------------------------------------------

    def _start_block(self, block: Block) -> None:
        block_id = next(self._block_ids)
        with self._lock:
            self._running_blocks[block_id] = block
        self._schedule(block.steps, block_id)

    def _cancel_blocks(self, command: str) -> None:
        """A hang-up ends the ringing: the network stops sending RING for that call."""
        with self._lock:
            for block_id, block in list(self._running_blocks.items()):
                if any(matches(p, command) for p in block.until):
                    del self._running_blocks[block_id]
            self._queue = [item for item in self._queue
                           if item[2] == 0 or item[2] in self._running_blocks]
            heapq.heapify(self._queue)

    def _schedule(self, steps: list[Step], block_id: int) -> None:
        with self._lock:
            # Answers follow whatever is already due, so lines never overtake each other.
            due = max([time.monotonic()] + [item[0] for item in self._queue if item[2] == block_id])
            for step in steps:
                if isinstance(step, Pause):
                    due += step.seconds * self._scale
                    continue
                data = step.replace(b"{ref}", str(next(self._reference) % 256).encode()) \
                    if isinstance(step, bytes) and b"{ref}" in step else step
                heapq.heappush(self._queue, (due, next(self._order), block_id, data))
            self._lock.notify_all()

    def _write_loop(self) -> None:
        with self._lock:
            while self._running:
                if not self._queue:
                    self._lock.wait(0.5)
                    continue
                due, _, block_id, data = self._queue[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._lock.wait(wait)
                    continue
                heapq.heappop(self._queue)
                if block_id and not any(item[2] == block_id for item in self._queue):
                    self._running_blocks.pop(block_id, None)
                self._write(data)

    def _send_now(self, data: bytes) -> None:
        with self._lock:
            self._write(data)

    def _write(self, data: bytes | Echo) -> None:
        if isinstance(data, Echo):
            self.echo = data.on
            return
        self.sent.append(Sent(time.monotonic(), data))
        try:
            os.write(self._master, data)
        except OSError:
            pass  # nobody has the port open: a real modem's output is lost the same way

    def _record(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)
