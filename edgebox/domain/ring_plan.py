"""The order an alarm's texts and rings go out in, over the modems the box has.

A modem does one thing at a time: an SMS submit (about 3 s on a real network) or a ring call
(its set-up and ringing, up to ``alarm.ring_seconds``). SMS may arrive late on a busy network;
a ringing phone is what wakes a neighbour at night. Texting the whole group first and ringing
after put the first ring about 45 s after the call on one modem, so the plan interleaves:

- one modem: the first rung member's SMS, that member's ring (ringing about 9 s after the
  call), then the other SMS, then the other rings. The last SMS waits for one ring, no more.
- several modems: each modem is a lane. The rings are dealt round the modems that can ring,
  one each in turn (the first ring at once on one modem while another texts); the SMS go to
  the lane with the least work so far, so every lane is done at about the same time and
  ringing the whole group takes about ceil(members / modems) rings. A lane texts first and
  rings after, except the first lane, which starts with the first ring.

The lanes are only reckoned: the modem workers claim from one outbox, the most urgent first,
and whichever modem is free takes the next step. So the plan is given as one sequence, the
lanes' steps by when each would start; a modem that is down leaves its steps to the others.
``texting`` marks the steps up to the last SMS: they go out with the alarm's own urgency, the
rings after them behind the replies and relays, as before.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Generic, Sequence, TypeVar

T = TypeVar("T")

CALL, FLASH = "call", "flash"
RING_STYLES = (CALL, FLASH)
# What a real network takes (DESIGN.md section 3): one SMS submit 2.5-3 s, call set-up
# 3.5-7 s before the member's phone rings.
SMS_SECONDS = 3.0
SETUP_SECONDS = 6.0
# A flash is hung up its seconds after the phone starts ringing, as the modem reports it; one
# that never reports it (or a slow cell) is hung up this long after the dial at the latest.
FLASH_SETUP_ALLOWANCE = 10.0


def flash_limit(ring_seconds: float, flash_seconds: float) -> float:
    """The longest a flash lasts from the dial: never longer than a full ring call."""
    return min(ring_seconds, flash_seconds + FLASH_SETUP_ALLOWANCE)


@dataclass(frozen=True)
class RingSettings:
    """The modems and the ring settings (``[alarm]``) the plan reckons with."""
    voice_modems: int = 1  # modems that may ring (``[[modems]] voice = true``)
    sms_modems: int = 0  # modems that only text
    style: str = CALL  # CALL: ring, speak the alarm if answered; FLASH: 响一声, no words
    ring_seconds: float = 25.0  # a ring call's longest, from the dial
    flash_seconds: float = 8.0  # how long a flash rings the member's phone

    def __post_init__(self):
        if self.style not in RING_STYLES:
            raise ValueError(f"ring style must be one of {', '.join(RING_STYLES)}")
        if self.voice_modems < 0 or self.sms_modems < 0:
            raise ValueError("modem counts cannot be negative")

    def with_modems_up(self, voice: int, sms: int) -> RingSettings:
        """The lanes the modems up at planning time give (``voice`` that may ring, ``sms``
        that only text): a modem that is down takes no step of the plan, so the first ring
        is not reckoned onto a lane nobody drains. With none up, the configured ones: the
        plan is for when they come back."""
        if voice + sms == 0:
            return self
        return replace(self, voice_modems=voice, sms_modems=sms)

    @property
    def call_seconds(self) -> float:
        """How long one ring holds its modem, as the plan reckons it."""
        if self.style == FLASH:
            return min(flash_limit(self.ring_seconds, self.flash_seconds),
                       SETUP_SECONDS + self.flash_seconds)
        return self.ring_seconds


@dataclass(frozen=True)
class Step(Generic[T]):
    item: T
    ring: bool
    lane: int
    start: float  # seconds after the alarm, as reckoned
    texting: bool = False  # goes out before (or while) the last SMS does


def order_fan_out(texts: Sequence[T], rings: Sequence[T], settings: RingSettings
                  ) -> list[Step[T]]:
    """Every text and ring in the order the modems should take them (see the module's
    docstring). ``texts`` in the order wanted, the first rung member's first; ``rings`` in
    ring order."""
    lanes = max(1, settings.voice_modems + settings.sms_modems)
    voice = settings.voice_modems
    if not rings or voice == 0:  # nothing to interleave: text, then ring (if ever)
        steps = [Step(t, False, 0, i * SMS_SECONDS) for i, t in enumerate(texts)]
        steps += [Step(r, True, 0, len(texts) * SMS_SECONDS) for r in rings]
        return _mark_texting(steps)
    call, sms = settings.call_seconds, SMS_SECONDS
    # Rings round the voice lanes (the lanes 0 .. voice - 1), the first on lane 0.
    rung: list[list[T]] = [list(rings[lane::voice]) if lane < voice else []
                           for lane in range(lanes)]
    work = [len(r) * call for r in rung]
    texted: list[list[T]] = [[] for _ in range(lanes)]
    for text in texts:
        # The least loaded lane; on a tie not lane 0, which rings first.
        lane = min(range(lanes), key=lambda n: (work[n], n == 0 and lanes > 1, n))
        texted[lane].append(text)
        work[lane] += sms
    steps: list[Step[T]] = []
    for lane in range(lanes):
        jobs = [(t, False) for t in texted[lane]] + [(r, True) for r in rung[lane]]
        if lane == 0:
            first = jobs.pop(len(texted[0]))  # the first ring of all
            # Alone, the modem texts that member first (the SMS is there when the phone
            # rings); with others, one of them texts while this one rings at once.
            jobs.insert(1 if lanes == 1 and texted[0] else 0, first)
        at = 0.0
        for item, ring in jobs:
            steps.append(Step(item, ring, lane, at))
            at += call if ring else sms
    steps.sort(key=lambda s: (s.start, s.lane))
    return _mark_texting(steps)


def _mark_texting(steps: list[Step[T]]) -> list[Step[T]]:
    last = max((i for i, s in enumerate(steps) if not s.ring), default=-1)
    return [Step(s.item, s.ring, s.lane, s.start, i <= last) for i, s in enumerate(steps)]

