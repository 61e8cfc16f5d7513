"""Time inside the emulator: the latency model and a timer queue driven by an injectable clock.

The AT engine never sleeps. Everything that takes time on a real network (submitting an SMS,
setting up a call, the next ring) is a timer here; whoever drives the engine asks when the next
timer is due and calls ``run_due`` then. Tests drive it with a fake clock, the pty server with
``time.monotonic``.
"""
from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Latency:
    """How slow the simulated network is: typical real-world seconds, times ``scale``.

    The defaults are what real modems on real networks do (see DESIGN.md section 3): an SMS
    submit takes 2.5-3 s per part, with a long tail up to 15 s on a busy cell (SIM800 allows
    60 s, Quectel 120 s); call setup to alerting 3.5-7 s; a delivery report comes seconds
    after the submit. With ``jitter`` each draw varies around its typical value like that,
    from a seeded random source, so a run is reproducible. Tests compress time with one
    factor (``Latency.realistic(scale=0.02)``) and never set it to zero. The gap between
    RINGs is the modem's own (``Profile.ring_interval``), scaled the same way.
    """

    sms_submit: float = 2.75  # per SMS part, between the Ctrl-Z and the +CMGS answer
    call_setup: float = 5.0  # ATD until the callee's phone starts alerting
    ring_timeout: float = 30.0  # alerting until the network gives up with NO ANSWER
    tts_per_char: float = 0.25  # TTS playback time per character of text
    delivery_report: float = 4.0  # from the +CMGS answer until the status report arrives
    # AT+CFUN=1,1 / reboot(): power-off until the modem answers again, in emulator seconds
    # (not scaled: tests choose it for what they check)
    reboot: float = 0.5
    scale: float = 1.0  # every duration above but reboot (and the ring interval) times this
    jitter: bool = True  # draw each duration around its typical value (see the class doc)
    seed: int = 0
    _random: random.Random = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.scale <= 0:
            raise ValueError("latency scale must be positive: time may be compressed, not removed")
        self._random = random.Random(self.seed)

    @classmethod
    def realistic(cls, scale: float = 1.0, seed: int = 0, **typical: float) -> "Latency":
        """The real networks' shape, time compressed by ``scale``; ``typical`` overrides a
        typical value in real-world seconds (a test that needs a 14 s submit, say)."""
        return cls(scale=scale, seed=seed, **typical)

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in SECONDS_FIELDS + ("scale",)}

    def update(self, **changes: float) -> None:
        for name, value in changes.items():
            if name not in SECONDS_FIELDS + ("scale",):
                raise ValueError(f"unknown latency setting {name!r}")
            value = float(value)
            if value < 0 or (name == "scale" and value == 0):
                raise ValueError(f"latency {name} must be positive")
            setattr(self, name, value)

    # -- draws, in emulator seconds ------------------------------------------------------------

    def submit_seconds(self) -> float:
        """One part's submit: mostly 2.5-3 s (typical 2.75 s -9 %..+9 %); one in twelve in
        the long tail, up to 15/2.75 times the typical value."""
        typical = self.sms_submit
        if not self.jitter:
            return typical * self.scale
        if self._random.random() < SUBMIT_TAIL_SHARE:
            return self._random.uniform(1.1, SUBMIT_TAIL_FACTOR) * typical * self.scale
        return self._random.uniform(2.5 / 2.75, 3.0 / 2.75) * typical * self.scale

    def setup_seconds(self) -> float:
        """ATD to alerting: 3.5-7 s around the typical 5 s (0.7-1.4 times the typical)."""
        return self._spread(self.call_setup, 0.7, 1.4)

    def report_seconds(self) -> float:
        return self._spread(self.delivery_report, 0.5, 2.0)

    def ring_seconds(self, interval: float) -> float:
        """The gap to the next RING/+CLIP for a modem that repeats them every ``interval``
        real seconds (the network's cadence wanders a little)."""
        return self._spread(interval, 0.95, 1.05)

    def seconds(self, value: float) -> float:
        """A fixed real-world duration in emulator seconds."""
        return value * self.scale

    def _spread(self, typical: float, low: float, high: float) -> float:
        factor = self._random.uniform(low, high) if self.jitter else 1.0
        return typical * factor * self.scale


SECONDS_FIELDS = ("sms_submit", "call_setup", "ring_timeout", "tts_per_char",
                  "delivery_report", "reboot")
SUBMIT_TAIL_SHARE = 1 / 12
SUBMIT_TAIL_FACTOR = 15.0 / 2.75


class Timer:
    """A scheduled action; cancelling it is idempotent."""

    __slots__ = ("due", "action", "cancelled")

    def __init__(self, due: float, action: Callable[[], None]):
        self.due = due
        self.action = action
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Timers:
    """A queue of actions ordered by due time on the given clock."""

    def __init__(self, clock: Callable[[], float]):
        self._clock = clock
        self._heap: list[tuple[float, int, Timer]] = []
        self._order = itertools.count()  # keeps equal due times in scheduling order

    def now(self) -> float:
        return self._clock()

    def schedule(self, delay: float, action: Callable[[], None]) -> Timer:
        timer = Timer(self._clock() + max(0.0, delay), action)
        heapq.heappush(self._heap, (timer.due, next(self._order), timer))
        return timer

    def clear(self) -> None:
        """Forget every scheduled action (the modem lost power: nothing it was doing happens)."""
        for _, _, timer in self._heap:
            timer.cancel()
        self._heap.clear()

    def next_due(self) -> float | None:
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def run_due(self) -> int:
        """Run every action that is due now (including ones they schedule for now); return how many."""
        ran = 0
        while True:
            due = self.next_due()
            if due is None or due > self._clock():
                return ran
            _, _, timer = heapq.heappop(self._heap)
            timer.cancelled = True
            timer.action()
            ran += 1
