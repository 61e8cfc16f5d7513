"""The ring plan: the order an alarm's texts and rings go out in, over one or more modems.

The modems claim from one outbox, the most urgent first, whichever is free; ``claimed`` plays
that out with the plan's own reckoning of how long a submit and a ring take, so the tests see
what the modems would do with the sequence, not just the sequence."""
import math

import pytest

from edgebox.domain.alarm import (FLASH, SETUP_SECONDS, SMS_SECONDS, RingSettings,
                                      flash_limit, order_fan_out)

TEXTS = [f"sms{i}" for i in range(15)]  # 14 members and the caller's confirmation
RINGS = [f"ring{i}" for i in range(14)]


def claimed(steps, voice: int, sms_only: int = 0, call: float = 25.0):
    """Play the sequence out: each modem, when free, takes the first step it can carry.
    Returns {item: (modem, start)}."""
    free = [0.0] * (voice + sms_only)
    pending = list(steps)
    out = {}
    while pending:
        modem = min(range(len(free)), key=lambda m: (free[m], m))
        step = next((s for s in pending if not s.ring or modem < voice), None)
        if step is None:  # an SMS-only modem with only rings left: it idles
            free[modem] = math.inf
            continue
        pending.remove(step)
        out[step.item] = (modem, free[modem])
        free[modem] += call if step.ring else SMS_SECONDS
    return out


def ring_starts(out):
    return sorted(start for item, (_, start) in out.items() if item.startswith("ring"))


def text_ends(out):
    return sorted(start + SMS_SECONDS for item, (_, start) in out.items()
                  if item.startswith("sms"))


def test_one_modem_texts_the_first_member_rings_them_then_texts_the_rest():
    steps = order_fan_out(TEXTS, RINGS, RingSettings())
    assert [s.item for s in steps[:3]] == ["sms0", "ring0", "sms1"]
    assert [s.item for s in steps] == ["sms0", "ring0", *TEXTS[1:], *RINGS[1:]]
    # Everything up to the last SMS goes out with the alarm's urgency, the other rings after.
    assert [s.texting for s in steps] == [True] * 16 + [False] * 13
    out = claimed(steps, 1)
    # The first phone rings one submit and one call set-up after the alarm: within 10 s.
    assert ring_starts(out)[0] + SETUP_SECONDS == SMS_SECONDS + SETUP_SECONDS <= 10
    # The last SMS waits for one ring, no more.
    assert text_ends(out)[-1] == len(TEXTS) * SMS_SECONDS + 25


@pytest.mark.parametrize("modems", [2, 3, 4])
def test_several_modems_ring_at_once_spread_the_rings_and_finish_together(modems):
    steps = order_fan_out(TEXTS, RINGS, RingSettings(voice_modems=modems))
    out = claimed(steps, modems)
    assert sorted(out) == sorted(TEXTS + RINGS)  # everything, once
    # The first ring at once, while another modem texts the first member.
    assert out["ring0"][1] == 0 and out["sms0"][1] == 0 and out["ring0"][0] != out["sms0"][0]
    per_modem = [sum(1 for item, (m, _) in out.items() if m == modem and item.startswith("ring"))
                 for modem in range(modems)]
    assert max(per_modem) - min(per_modem) <= 1  # not all rings on one modem
    # Every member's phone has started ringing within ceil(members / modems) rings (and the
    # texts beside them: 5 %), and every SMS is out within its share of the submits plus one
    # ring.
    assert ring_starts(out)[-1] + SETUP_SECONDS <= 1.05 * math.ceil(len(RINGS) / modems) * 25
    assert text_ends(out)[-1] <= math.ceil(len(TEXTS) / modems) * SMS_SECONDS + 25
    # The lanes the plan reckoned are what the modems do with the sequence.
    assert {s.item: s.start for s in steps} == {item: start for item, (_, start) in out.items()}


def test_a_modem_that_only_texts_takes_texts_and_the_voice_modem_rings_at_once():
    steps = order_fan_out(TEXTS, RINGS, RingSettings(voice_modems=1, sms_modems=1))
    assert steps[0].item == "ring0" and steps[0].start == 0
    out = claimed(steps, voice=1, sms_only=1)
    assert sorted(out) == sorted(TEXTS + RINGS)
    assert all(modem == 0 for item, (modem, _) in out.items() if item.startswith("ring"))
    # The voice modem texts only while the texting modem would finish later than it.
    assert text_ends(out)[-1] <= math.ceil(len(TEXTS) / 2) * SMS_SECONDS + 25


def test_a_modem_down_leaves_its_steps_to_the_other():
    """Planned for two modems, carried by one: every step still goes out, the first ring
    first, and each SMS is held up by at most two rings."""
    steps = order_fan_out(TEXTS, RINGS, RingSettings(voice_modems=2))
    out = claimed(steps, 1)
    assert sorted(out) == sorted(TEXTS + RINGS)
    assert out["ring0"][1] == 0
    assert text_ends(out)[-1] <= len(TEXTS) * SMS_SECONDS + 2 * 25


def test_the_plan_counts_the_modems_up_at_planning_time():
    """Two voice modems configured, one up: planned as one modem (its SMS, then at once its
    ring), not with the first ring on a lane nobody drains; with none up, as configured."""
    configured = RingSettings(voice_modems=2, sms_modems=1)
    one_up = configured.with_modems_up(1, 0)
    assert (one_up.voice_modems, one_up.sms_modems) == (1, 0)
    assert order_fan_out(TEXTS, RINGS, one_up) == order_fan_out(TEXTS, RINGS, RingSettings())
    assert configured.with_modems_up(0, 0) == configured
    text_only = configured.with_modems_up(0, 1)  # the voice modems down: texts first
    assert [s.item for s in order_fan_out(TEXTS, RINGS, text_only)] == TEXTS + RINGS


def test_a_flash_is_reckoned_by_its_seconds_and_fits_more_texts_beside_it():
    settings = RingSettings(voice_modems=2, style=FLASH, flash_seconds=8)
    assert settings.call_seconds == SETUP_SECONDS + 8
    steps = order_fan_out(TEXTS, RINGS, settings)
    out = claimed(steps, 2, call=settings.call_seconds)
    # Short rings: the texts weigh more, and the work is shared evenly (within 5 %).
    work = len(TEXTS) * SMS_SECONDS + len(RINGS) * settings.call_seconds
    assert ring_starts(out)[-1] + SETUP_SECONDS <= 1.05 * work / 2
    # Never longer than a full ring call, and hung up at the latest a set-up's allowance
    # after the dial when the modem never says the phone rings.
    assert flash_limit(25, 8) == 18 and flash_limit(12, 8) == 12
    assert RingSettings(style=FLASH, ring_seconds=10, flash_seconds=8).call_seconds == 10


def test_without_rings_or_a_modem_that_rings_the_texts_go_first():
    assert [s.item for s in order_fan_out(TEXTS, [], RingSettings(voice_modems=2))] == TEXTS
    steps = order_fan_out(TEXTS, RINGS[:2], RingSettings(voice_modems=0, sms_modems=2))
    assert [s.item for s in steps] == TEXTS + RINGS[:2]
    assert [s.texting for s in steps] == [True] * 15 + [False] * 2


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="call, flash"):
        RingSettings(style="loud")
    with pytest.raises(ValueError, match="negative"):
        RingSettings(voice_modems=-1)
