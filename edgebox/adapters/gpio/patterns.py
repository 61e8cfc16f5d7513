"""Siren patterns: the rhythm the relay follows for each kind of sounding.

A pattern is a list of seconds, alternately on and off, starting with on, repeated for as long
as the siren sounds: ``[1]`` is continuous, ``[1, 1]`` pulses once a second, ``[0.25, 0.25,
0.25, 1.25]`` chirps twice and pauses (the drill/test rhythm, so nobody mistakes a test for a
fire). Pure functions of elapsed time: the panel's clock is injected and tests never sleep.
"""
from __future__ import annotations

from dataclasses import dataclass

from edgebox.i18n import Text

# The patterns an alarm type names (``edgebox.domain.escalation.ALARM_TYPES``): fire and most
# alarms continuous, thief and medical pulsed, drills (and the TEST button) their own rhythm.
CONTINUOUS, PULSED, DRILL = "continuous", "pulsed", "drill"
KINDS = (CONTINUOUS, PULSED, DRILL)

DEFAULTS = {CONTINUOUS: (1.0,), PULSED: (1.0, 1.0), DRILL: (0.25, 0.25, 0.25, 1.25)}


@dataclass(frozen=True)
class Pattern:
    kind: str
    steps: tuple[float, ...]

    @property
    def continuous(self) -> bool:
        return len(self.steps) == 1

    def level_at(self, elapsed: float) -> bool:
        """True when the relay is closed ``elapsed`` seconds after the pattern started."""
        if self.continuous:
            return True
        position = elapsed % sum(self.steps)
        for index, step in enumerate(self.steps):
            if position < step:
                return index % 2 == 0  # even steps are "on"
            position -= step
        return False  # float rounding at the very end of a cycle: the off step

    def next_change(self, elapsed: float) -> float | None:
        """The elapsed time of the relay's next change after ``elapsed``; None when
        continuous (it never changes). Whoever steps the relay sleeps until then."""
        if self.continuous:
            return None
        cycle = sum(self.steps)
        start = elapsed - elapsed % cycle
        boundary = start
        for step in self.steps:
            boundary += step
            if boundary > elapsed + 1e-9:
                return boundary
        return start + cycle + self.steps[0]  # float rounding at the very end of a cycle


def pattern_problem(value: list) -> Text | None:
    """What is wrong with a pattern from the config, or None (used by the config check)."""
    if not value or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                            for v in value):
        return Text("config.pattern_seconds", "must be a list of seconds such as [1, 1] "
                    "(on, off, …) or [1] for continuous")
    if len(value) > 1 and len(value) % 2:
        return Text("config.pattern_even", "must have an even number of steps (on, off, on, "
                    "off …), or one for continuous")
    if not all(0.05 <= v <= 60 for v in value):
        return Text("config.pattern_step", "every step must be between 0.05 and 60 seconds")
    return None


def kind_of(name: str) -> str:
    """A pattern's name as given; an unknown one sounds continuous (never silence)."""
    return name if name in KINDS else CONTINUOUS
