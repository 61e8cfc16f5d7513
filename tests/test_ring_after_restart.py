"""A RING without caller id right after the modem restarted in place is not a withheld caller.

After a restart (RDY, a power-down line, a late "Call Ready") the modem is back at its power-up
settings, +CLIP off, until the box sets it up again. A member who calls in that gap rings
without +CLIP; rejecting those rings as a withheld number would give the member a busy tone
and lose the alarm (seen when the box was slow to set the modem up again after a SIM800's
UNDER-VOLTAGE POWER DOWN: tests/transcripts/sim800_undervoltage_restart.txt). The call must
keep ringing until +CLIP is on again and a ring names the caller.
"""
from __future__ import annotations

import queue

from edgebox.adapters.modem.events import IncomingCall
from edgebox.adapters.modem.notifications import Notifications
from tests.reliability.test_fuzz_parsers import _FakeModem


def calls(modem) -> list[IncomingCall]:
    found = []
    while not modem.events.empty():
        event = modem.events.get()
        if isinstance(event, IncomingCall):
            found.append(event)
    return found


def fresh() -> tuple[_FakeModem, Notifications]:
    """Notifications with no reader thread: each line is put and handled here, in order."""
    modem = _FakeModem()
    notes = Notifications(modem)
    notes._lines = queue.Queue()
    return modem, notes


def feed(notes: Notifications, *lines: str) -> None:
    for line in lines:
        notes.put(line)
        notes._handle(notes._lines.get())


def test_bare_rings_after_a_restart_line_wait_for_the_caller_id():
    modem, notes = fresh()
    feed(notes, "UNDER-VOLTAGE POWER DOWN", "RDY", "Call Ready", "RING", "RING", "RING")
    assert calls(modem) == []  # not taken for a withheld caller
    notes.forget_restart()  # the worker set the modem up again: +CLIP is on
    feed(notes, "RING", '+CLIP: "18600138003",129,"",0,"",0')
    assert [c.digits for c in calls(modem)] == ["18600138003"]


def test_a_late_call_ready_waits_until_the_settings_are_read_and_found_kept():
    modem, notes = fresh()
    feed(notes, "Call Ready", "RING", "RING")
    assert calls(modem) == []
    assert notes.take_maybe_restart() == "Call Ready"
    notes.settings_kept()  # AT+CLIP? says 1: caller ids are shown, a bare RING is withheld
    feed(notes, "RING", "RING")
    withheld = calls(modem)
    assert len(withheld) == 1 and withheld[0].digits is None


def test_without_a_boot_line_two_bare_rings_are_a_withheld_caller():
    modem, notes = fresh()
    feed(notes, "RING", "RING")
    withheld = calls(modem)
    assert len(withheld) == 1 and withheld[0].digits is None
