"""A caller while the box rings a member: announced as a waiting call (+CCWA), rejected with
AT+CHLD=0 (the member's call goes on), logged with its number and acted on at once."""
import threading

import pytest

from edgebox.adapters.modem import IncomingCall, SerialModem
from edgebox.emulator import EmulatorServer, Latency
from edgebox.emulator.profiles import PROFILES
from tests.support import kinds, query, start_box, stop, wait_for

ZHANG = "+8618600138003"  # H03, first group
YANG = "13500138006"  # H06, second group


def ringing_out(emulator) -> bool:
    call = emulator.engine.services["calls"].current
    return call is not None and call.direction == 0


def received(emulator) -> list[dict]:
    return [e for e in emulator.log() if e["kind"] == "call_received"]


@pytest.fixture
def long_rings(tmp_path):
    """The member's phone alerts for a minute unless the box hangs up first."""
    emulator = EmulatorServer(link=str(tmp_path / "modem"),
                              latency=Latency.realistic(scale=0.02, ring_timeout=3000))
    emulator.start()
    yield emulator
    emulator.stop()


def test_the_modem_reads_a_waiting_call_and_releases_only_it(long_rings):
    modem = SerialModem(long_rings.link, command_timeout=5)
    modem.start()
    try:
        outcome = {}
        ringing = threading.Thread(target=lambda: outcome.update(
            result=modem.ring("+8613800138000", 4.0)))
        ringing.start()
        wait_for(lambda: ringing_out(long_rings), 10, "the ring call")
        long_rings.call(ZHANG)
        assert modem.events.get(timeout=5) == IncomingCall(ZHANG, 145, modem="modem",
                                                           waiting=True)
        modem.reject_call()
        wait_for(lambda: received(long_rings), 5, "the waiting call released")
        assert received(long_rings)[0]["outcome"] == "rejected"
        assert received(long_rings)[0]["waiting"] is True
        assert ringing_out(long_rings)  # the member's phone still rings
        ringing.join(15)
        assert outcome["result"].result == "hung_up"
    finally:
        modem.stop()


def test_a_modem_or_network_without_call_waiting_still_starts(tmp_path):
    profile = PROFILES["sim800"].with_changes(
        unsupported=PROFILES["sim800"].unsupported | {"+CCWA"})
    with EmulatorServer(profile, Latency.realistic(scale=0.02), link=str(tmp_path / "m")) as emu:
        modem = SerialModem(emu.link, command_timeout=5)
        modem.start()
        modem.stop()


def test_an_alarm_while_the_box_rings_a_member_is_logged_and_raised_at_once(tmp_path,
                                                                            long_rings):
    daemon, db, _, log_path = start_box(tmp_path, [long_rings], extra=(
        "[alarm]\nring_members = true\nring_seconds = 6\n"))
    try:
        long_rings.call("13600138005")  # the second group's leader: its members are rung
        wait_for(lambda: ringing_out(long_rings), 30, "the box ringing a member", log_path)
        long_rings.call(ZHANG)
        wait_for(lambda: "call_waiting" in kinds(db), 15, "the waiting call logged", log_path)
        wait_for(lambda: len(received(long_rings)) == 2, 15, "the waiting call rejected",
                 log_path)
        (number,) = query(db, "SELECT json_extract(data, '$.number') FROM events"
                              " WHERE kind = 'call_waiting'")[0]
        assert number == ZHANG
        groups = query(db, "SELECT group_id FROM incidents ORDER BY id")
        assert len(groups) == 2 and groups[0] != groups[1]  # the first group's own alarm
        waiting = received(long_rings)[1]
        assert waiting["number"] == ZHANG and waiting["outcome"] == "rejected"
        assert waiting["waiting"] is True
        assert ringing_out(long_rings)  # releasing the waiting call kept the member's ring
    finally:
        stop(daemon)
