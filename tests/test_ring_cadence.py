"""One ringing call is one alarm, however long the box takes to hang up on it.

Real networks repeat RING/+CLIP every 5-6 s while a call rings, and a submit can hold the
modem's port 14 s on a busy cell, so a caller may be shown three times before the box's ATH
goes out. Those are the same call: no second alarm, no step of the escalation ladder. A call
made after the box hung up is a real second call (a repeat call, as before)."""
import time

from edgebox.emulator import EmulatorServer, Latency
from tests.support import kinds, query, start_box, stop, wait_for

ZHANG = "+8618600138003"  # H03, first group
CHEN = "13600138005"  # H05, leader of the second group
# Time at 0.6: a RING every 3.3 s, and a submit held 7.2 s (12 s on the network, without
# jitter so the test knows where the ATH waits); the ATH of a call that comes during a
# submit goes out after it, while the call rings on.
SCALE, SUBMIT = 0.6, 12.0


def received(emulator, number):
    return [e for e in emulator.log() if e["kind"] == "call_received" and e["number"] == number]


def test_a_call_ringing_on_through_a_long_submit_is_one_alarm(tmp_path):
    emulator = EmulatorServer(link=str(tmp_path / "modem"), latency=Latency.realistic(
        scale=SCALE, sms_submit=SUBMIT, jitter=False))
    emulator.start()
    daemon, db, _, log_path = start_box(tmp_path, [emulator])
    try:
        emulator.call(CHEN)  # the second group's alarm: its SMS hold the port from now on
        wait_for(lambda: received(emulator, CHEN), 30, "the first alarm's call rejected",
                 log_path)
        time.sleep(1.0)  # into the first submit
        emulator.call(ZHANG, rings=10)
        wait_for(lambda: received(emulator, ZHANG), 30, "the call rejected", log_path)
        (call,) = received(emulator, ZHANG)
        assert call["outcome"] == "rejected" and call["rings"] >= 2  # it rang on before the ATH
        time.sleep(1.0)  # anything the rings on would have done is done now
        assert "repeat_call" not in kinds(db)
        steps = query(db, "SELECT escalation_step FROM incidents WHERE caller_phone = ?", ZHANG)
        assert steps == [(0,)]
        # The ATH went ahead of the SMS queued behind the submit in flight.
        order = [e["kind"] for e in emulator.log() if e["kind"] in ("sms_sent", "call_received")]
        assert order.index("call_received", 1) <= 2

        emulator.call(ZHANG)  # hung up on, and calling again: a second call
        wait_for(lambda: "repeat_call" in kinds(db), 30, "the repeat call", log_path)
        wait_for(lambda: query(db, "SELECT escalation_step FROM incidents WHERE"
                                   " caller_phone = ?", ZHANG) == [(1,)], 30,
                 "the ladder's next step", log_path)
    finally:
        stop(daemon)
        emulator.stop()
