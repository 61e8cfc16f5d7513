"""The escalation ladder: what happens when nobody acknowledges an alarm.

Steps are (minutes after the alarm, actions). The times are scaled by how urgent the alarm is:
the alarm type's factor (a fire climbs faster than a lost cow) times the vulnerable-household
factor (an old man living alone, children left behind). Due steps are computed from the
incident's opening time and the number of steps already done, both stored, so after a restart
the ladder resumes at the right step with the right remaining time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

ACTIONS = ("ring_leader", "sms_leader", "sms_office", "ring_office", "siren", "sms_township",
           "ring_township")
VULNERABLE_FLAGS = frozenset({"elderly_alone", "left_behind_children", "disabled"})


@dataclass(frozen=True)
class Step:
    after_minutes: float
    actions: tuple[str, ...]


DEFAULT_LADDER = (
    Step(2, ("ring_leader", "sms_office")),
    Step(5, ("siren", "ring_office")),
    Step(10, ("sms_township", "ring_township")),
)

# Per alarm type: the siren pattern and how much faster the ladder climbs (its words:
# alarm.ALARM_LABELS).
ALARM_TYPES = {
    "call": {"siren": "continuous", "factor": 1.0},
    "other": {"siren": "continuous", "factor": 1.0},
    "fire": {"siren": "continuous", "factor": 0.5},
    "thief": {"siren": "pulsed", "factor": 1.0},
    "medical": {"siren": "pulsed", "factor": 0.5},
    "flood": {"siren": "continuous", "factor": 1.0},
    "drill": {"siren": "drill", "factor": 1.0},
    # A daily check-in nobody answered (domain/check_ins.py): neighbours are asked to look in.
    "check_in": {"siren": "continuous", "factor": 1.0},
}
# Incidents that neither sound the siren nor climb the ladder: a missed check-in is a knock on
# the door, not an emergency; the office sees it on its panel and in `edgebox incidents`.
QUIET_TYPES = frozenset({"check_in"})


def speed(alarm_type: str, caller_flags: frozenset[str], vulnerable_factor: float) -> float:
    """Multiplier on every step's time: below 1 climbs faster."""
    factor = ALARM_TYPES.get(alarm_type, ALARM_TYPES["other"])["factor"]
    if caller_flags & VULNERABLE_FLAGS:
        factor *= vulnerable_factor
    return factor


def step_time(opened_at: datetime, step: Step, factor: float) -> datetime:
    return opened_at + timedelta(minutes=step.after_minutes * factor)


def due_steps(ladder: tuple[Step, ...], opened_at: datetime, done: int, now: datetime,
              factor: float) -> list[tuple[int, Step]]:
    """Steps not yet done whose time has come, in order (several after a long outage)."""
    return [(i, s) for i, s in enumerate(ladder)
            if i >= done and step_time(opened_at, s, factor) <= now]


def next_step_at(ladder: tuple[Step, ...], opened_at: datetime, done: int,
                 factor: float) -> datetime | None:
    return step_time(opened_at, ladder[done], factor) if done < len(ladder) else None
