"""The world an in-process FakeModem lives in: virtual time, the members' phones, the network's
faults. It is what the pty emulator models behind its AT engine, without the AT: the daemon's
policy is tested against it in milliseconds (see ``fake``).

Time is virtual (``VirtualClock``): the test moves it forward to let the ladder climb, and a
fake modem moves it forward by as long as its work takes on a real network (a submit, a ring
call), so every timestamp the daemon stores is what the field would show, and nobody sleeps.
Whatever is due at a virtual time (a delivery report, a USSD answer, the next RING of a caller
nobody hung up on, an action a test scheduled) runs on the thread that moved the clock past it.

The pure parts are the emulator's: its latency model (DESIGN.md section 3), its callee
behaviour, its network state (submit errors, stuck commands, signal) and its PDU codec.
"""
from __future__ import annotations

import heapq
import itertools
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from edgebox.emulator.calls import Callee, canonical_number
from edgebox.emulator.network_state import NetworkState
from edgebox.emulator.sms_codec import SubmittedPart
from edgebox.emulator.timing import Latency, Timer

# A weekday morning in the village (10:00 in China): drills and the siren's quiet hours are
# local-time rules, so virtual time starts where a real alarm would.
DEFAULT_START = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
COUNTRY_CODE = "86"
HOLD_LIMIT_SECONDS = 60  # real seconds a held cell keeps a submit at most


class VirtualClock:
    """Virtual wall-clock time: ``now()`` is what the daemon is given as its clock."""

    def __init__(self, start: datetime = DEFAULT_START):
        self._start = start
        self._seconds = 0.0
        self._lock = threading.Lock()
        self._due: list[tuple[float, int, Timer]] = []
        self._order = itertools.count()  # equal due times run in the order they were scheduled

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._seconds)

    def seconds(self) -> float:
        """Virtual seconds since the start."""
        return self._seconds

    def schedule(self, delay: float, action: Callable[[], None]) -> Timer:
        """Run ``action`` once virtual time has moved ``delay`` seconds on."""
        with self._lock:
            timer = Timer(self._seconds + max(0.0, delay), action)
            heapq.heappush(self._due, (timer.due, next(self._order), timer))
            return timer

    def advance(self, seconds: float) -> None:
        """Move time on by ``seconds``, running what falls due on the way, each at its own
        time and outside the clock's lock: an action may take a store's lock, and the thread
        holding that may be about to move the clock itself."""
        if seconds < 0:
            raise ValueError("virtual time only goes forward")
        with self._lock:
            target = self._seconds + seconds
        while True:
            with self._lock:
                while self._due and self._due[0][2].cancelled:
                    heapq.heappop(self._due)
                if not self._due or self._due[0][0] > target:
                    self._seconds = max(self._seconds, target)
                    return
                due, _, timer = heapq.heappop(self._due)
                self._seconds = max(self._seconds, due)
                timer.cancelled = True
            timer.action()


@dataclass
class RingRecord:
    """One call the box placed to a phone, as the phone's owner lived it."""
    at: datetime
    outcome: str  # as RingOutcome.result
    spoken: str | None  # what they heard, when they answered
    modem: str


@dataclass
class Phone:
    """A member's (or an office's) handset on the network."""
    number: str
    callee: Callee = field(default_factory=Callee)  # how it answers a call from the box
    delivery: str = "delivered"  # what delivery reports say: "delivered", "failed", "none"
    texts: list[str] = field(default_factory=list)  # whole SMS received, in order
    rings: list[RingRecord] = field(default_factory=list)
    _parts: dict = field(default_factory=dict, repr=False)

    def receive(self, part: SubmittedPart) -> None:
        """One submitted part; a concatenated message shows once all its parts are in."""
        if part.concat_reference is None:
            self.texts.append(part.text)
            return
        parts = self._parts.setdefault(part.concat_reference, {})
        parts[part.part_number] = part.text
        if len(parts) == part.part_count:
            del self._parts[part.concat_reference]
            self.texts.append("".join(parts[n] for n in sorted(parts)))


class FakeNetwork:
    """The phones, the network's state and the fake modems on it, keyed by a name a config's
    ``port = "fake://<name>"`` refers to (see ``register``)."""

    _registry: dict[str, "FakeNetwork"] = {}
    _registry_lock = threading.Lock()

    def __init__(self, clock: VirtualClock | None = None, latency: Latency | None = None,
                 country_code: str = COUNTRY_CODE):
        self.clock = clock or VirtualClock()
        # Real networks' durations in virtual seconds: no scale, the clock is not real time.
        self.latency = latency or Latency.realistic()
        self.country_code = country_code
        self.state = NetworkState()
        self.phones: dict[str, Phone] = {}
        self.modems: dict = {}  # name -> FakeModem, added as the composition root builds them
        self.log_entries: list[dict] = []  # what happened on the network, as the emulator logs
        self._lock = threading.Lock()
        self._call_ids = itertools.count(1)
        # A busy cell holding submits (DESIGN.md section 5: 14 s seen): while held, a submit
        # waits at cell_busy() in real time until let through, so a test can act while an SMS
        # is in the modem's hands. Bounded, so a test that forgets to release still ends.
        self._cell = threading.Condition()
        self._passes: int | None = None  # submits let through while held; None: not held
        self.held_submits = 0  # submits waiting at the held cell right now

    # -- the registry a config's fake:// port names ------------------------------------------

    def register(self, name: str) -> "FakeNetwork":
        with self._registry_lock:
            if name in self._registry:
                raise ValueError(f"a fake network called {name!r} exists already")
            self._registry[name] = self
        return self

    @classmethod
    def unregister(cls, name: str) -> None:
        with cls._registry_lock:
            cls._registry.pop(name, None)

    @classmethod
    def named(cls, name: str) -> "FakeNetwork | None":
        with cls._registry_lock:
            return cls._registry.get(name)

    # -- phones and the log ------------------------------------------------------------------

    def phone(self, number: str) -> Phone:
        """The phone with this number (any written form), made on first use."""
        key = canonical_number(number, self.country_code)
        with self._lock:
            if key not in self.phones:
                self.phones[key] = Phone(number)
            return self.phones[key]

    def record(self, kind: str, **data) -> None:
        with self._lock:
            self.log_entries.append({"kind": kind, "at": self.clock.now(), **data})

    def entries(self, kind: str) -> list[dict]:
        with self._lock:
            return [e for e in self.log_entries if e["kind"] == kind]

    def next_call_id(self) -> int:
        return next(self._call_ids)

    def refuse_sms(self, number: str, code: int = 500, count: int | None = None) -> None:
        """Submits to ``number`` fail with +CMS ERROR ``code`` (``count`` times, or always)."""
        self.state.add_sms_error(number, code, count, self.country_code)

    # -- a busy cell ---------------------------------------------------------------------------

    def hold_submits(self) -> None:
        with self._cell:
            self._passes = 0

    def release_submits(self, count: int | None = None) -> None:
        """Let ``count`` submits through and hold the next again; None: the cell is free."""
        with self._cell:
            self._passes = None if count is None else self._passes + count
            self._cell.notify_all()

    def cell_busy(self) -> None:
        with self._cell:
            if self._passes is None:
                return
            self.held_submits += 1
            try:
                self._cell.wait_for(lambda: self._passes is None or self._passes > 0,
                                    HOLD_LIMIT_SECONDS)
                if self._passes:
                    self._passes -= 1
            finally:
                self.held_submits -= 1

    # -- what members do (the emulator's control methods, so one contract test drives both) --

    def call(self, number: str, rings: int = 10, modem: str | None = None) -> int:
        """``number`` dials the box (its first modem, or the one named); returns the call's id.
        The call rings on (RING/+CLIP every few seconds of virtual time) until the box hangs
        up or the caller gives up after ``rings`` rings."""
        return self._modem(modem).incoming_call(number, rings)

    def sms(self, number: str, text: str, modem: str | None = None) -> None:
        """``number`` sends the box an SMS."""
        self._modem(modem).incoming_sms(number, text)

    def set_callee(self, number: str, **behaviour) -> None:
        """How ``number`` answers the box's calls (Callee's fields)."""
        self.phone(number).callee = Callee(**behaviour)

    def set_delivery(self, number: str, status: str = "delivered") -> None:
        """What the delivery reports on SMS to ``number`` say: "delivered", "failed", "none"."""
        if status not in ("delivered", "failed", "none"):
            raise ValueError("delivery status must be delivered, failed or none")
        self.phone(number).delivery = status

    def log(self) -> list[dict]:
        with self._lock:
            return list(self.log_entries)

    def wait_for(self, predicate: Callable[[list[dict]], object],
                 timeout: float = 10.0) -> list[dict]:
        """The log once ``predicate`` holds for it (real seconds: other threads act)."""
        deadline = time.monotonic() + timeout
        while not predicate(self.log()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"fake network log: condition not met in {timeout} s")
            time.sleep(0.005)
        return self.log()

    def _modem(self, name: str | None):
        if name is None:
            return next(iter(self.modems.values()))
        return self.modems[name]
