"""Helpers shared by the emulator tests: a fake clock and a scripted engine session."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from edgebox.emulator.at_engine import AtEngine
from edgebox.emulator.timing import Latency

FIXED_TIME = datetime(2024, 11, 23, 8, 33, 0, tzinfo=timezone(timedelta(hours=8)))


INSTANT = {"sms_submit": 0.0, "call_setup": 0.0, "tts_per_char": 0.0, "delivery_report": 0.0}


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Session:
    """An AT engine on a fake clock, with helpers to type commands and let time pass. Its
    latencies are exact (no jitter) and, unless a test gives them, immediate on the fake
    clock: these tests check the engine's answers; the network's timing is checked where a
    test names the durations."""

    def __init__(self, profile: str = "generic", **latency: float):
        self.clock = FakeClock()
        self.engine = AtEngine(profile, clock=self.clock, wallclock=lambda: FIXED_TIME,
                               latency=Latency(jitter=False, **{**INSTANT, **latency}))

    def send(self, data: str | bytes) -> bytes:
        self.engine.feed(data.encode("latin-1") if isinstance(data, str) else data)
        return self.engine.take_output()

    def at(self, command: str) -> str:
        """Type one command line; return what the modem answered, decoded."""
        return self.send(command + "\r").decode("latin-1")

    def advance(self, seconds: float) -> str:
        """Let time pass, stopping at each timer's due time so it fires exactly then; return the output."""
        output = bytearray(self.engine.take_output())
        target = self.clock.now + seconds
        while True:
            due = self.engine.next_deadline()
            if due is None or due > target:
                break
            self.clock.now = max(self.clock.now, due)
            self.engine.run_due_timers()
            output += self.engine.take_output()
        self.clock.now = target
        return output.decode("latin-1")

    @property
    def sms(self):
        return self.engine.services["sms"]

    @property
    def calls(self):
        return self.engine.services["calls"]

    def log(self, kind: str | None = None) -> list[dict]:
        return [entry for entry in self.engine.log.entries() if kind is None or entry["kind"] == kind]
