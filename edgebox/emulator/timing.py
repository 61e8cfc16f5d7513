"""Time inside the emulator: the latency model and a timer queue driven by an injectable clock.

The AT engine never sleeps. Everything that takes time on a real network (submitting an SMS,
setting up a call, the next ring) is a timer here; whoever drives the engine asks when the next
timer is due and calls ``run_due`` then. Tests drive it with a fake clock, the pty server with
``time.monotonic``.
"""
from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from typing import Callable


@dataclass
class Latency:
    """How slow the simulated network is, in seconds."""

    sms_submit: float = 0.0  # per SMS part, between the Ctrl-Z and the +CMGS answer
    call_setup: float = 0.0  # ATD until the callee's phone starts alerting
    ring_timeout: float = 30.0  # alerting until the network gives up with NO ANSWER
    tts_per_char: float = 0.0  # TTS playback time per character of text
    delivery_report: float = 0.0  # from the +CMGS answer until the status report arrives
    reboot: float = 0.5  # AT+CFUN=1,1 / reboot(): power-off until the modem answers again

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def update(self, **changes: float) -> None:
        for name, value in changes.items():
            if name not in self.__dataclass_fields__:
                raise ValueError(f"unknown latency setting {name!r}")
            value = float(value)
            if value < 0:
                raise ValueError(f"latency {name} must not be negative")
            setattr(self, name, value)


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
