"""The daemon with a misbehaving modem: unplugged mid-fan-out, garbage on the line, a stuck
command, a modem that keeps failing, a SIM not ready at boot. Checked from the emulator's side:
everything still goes out, nothing already sent is sent again wholesale."""
import collections

import pytest

from edgebox.emulator import EmulatorServer, Latency
from tests.support import kinds, query, start_box, stop, wait_for

pytestmark = pytest.mark.slow

GROUP_ONE = ["+8613800138001", "+8613900138002", "+8615013800022", "+8613700138004",
             "+8618600138003"]  # four members' phones and the caller's confirmation


def all_sent(db):
    return query(db, "SELECT count(*) FROM deliveries WHERE state != 'sent'")[0][0] == 0 and \
        query(db, "SELECT count(*) FROM deliveries")[0][0] > 0


def texts(emulator):
    return collections.Counter(e["number"] for e in emulator.log() if e["kind"] == "sms_sent")


@pytest.mark.parametrize("profile", ["sim7600", "sim800"])  # USB re-enumerates; UART stays
def test_unplug_mid_fan_out_then_every_remaining_sms_goes_out_once(tmp_path, profile):
    emulator = EmulatorServer(profile, Latency.realistic(scale=0.02, sms_submit=20),
                                                         link=str(tmp_path / "modem"))
    emulator.start()
    daemon, db, _, log_path = start_box(tmp_path, [emulator])
    try:
        emulator.call("18600138003")
        wait_for(lambda: kinds(db).count("sms_sent") >= 2, 30, "two texts", log_path)
        emulator.unplug(1.5)
        wait_for(lambda: all_sent(db), 60, "every text after the modem came back", log_path)
    finally:
        stop(daemon)
        emulator.stop()
    received = texts(emulator)
    assert set(received) == set(GROUP_ONE)
    assert sum(received.values()) - len(received) <= 1  # only the one in flight may repeat
    log = kinds(db)
    assert "modem_lost" in log and log.count("modem_ready") >= 2
    assert query(db, "SELECT max(attempts) FROM deliveries")[0][0] <= 2


def test_garbage_on_the_line_changes_nothing(tmp_path):
    emulator = EmulatorServer("generic", Latency.realistic(scale=0.02, sms_submit=10),
                                                           link=str(tmp_path / "modem"))
    emulator.start()
    daemon, db, _, log_path = start_box(tmp_path, [emulator])
    try:
        emulator.garbage(b"\xff\xfe\x00\x80garbage\r\n+CMTI: \"ZZ\r\n\r\n\xc3")
        emulator.call("18600138003")
        wait_for(lambda: kinds(db).count("sms_sent") >= 1, 30, "the first text", log_path)
        emulator.garbage(bytes(range(256)) + b"\r\n")
        wait_for(lambda: all_sent(db), 60, "every text", log_path)
        assert daemon.poll() is None  # still running
    finally:
        stop(daemon)
        emulator.stop()
    assert set(texts(emulator)) == set(GROUP_ONE)


def test_stuck_command_climbs_the_ladder_and_recovers(tmp_path):
    emulator = EmulatorServer("sim7600", Latency.realistic(scale=0.02, sms_submit=5),
                                                           link=str(tmp_path / "modem"))
    emulator.start()
    daemon, db, _, log_path = start_box(
        tmp_path, [emulator], extra="[modem]\ncommand_timeout = 2\nsms_timeout = 5\n")
    try:
        emulator.stuck("AT+CMGS", count=10)  # until the reset clears it
        emulator.call("18600138003")
        wait_for(lambda: "modem_reset" in kinds(db), 60, "the reset", log_path)
        wait_for(lambda: all_sent(db), 90, "every text after the reset", log_path)
    finally:
        stop(daemon)
        emulator.stop()
    assert set(texts(emulator)) == set(GROUP_ONE)
    assert "fault" in [e["kind"] for e in emulator.log()]
    assert query(db, "SELECT count(*) FROM deliveries WHERE state = 'failed'")[0][0] == 0


def test_a_modem_that_keeps_failing_is_taken_out_of_service_and_comes_back(tmp_path):
    emulator = EmulatorServer("generic", Latency.realistic(scale=0.02),
                                                           link=str(tmp_path / "modem"))
    emulator.start()
    for phone in GROUP_ONE[:4]:
        emulator.sms_error(phone, 500, count=2)  # the third try of each gets through
    daemon, db, _, log_path = start_box(
        tmp_path, [emulator], extra="[modem]\nout_of_service_after = 3\n"
                                    "out_of_service_minutes = 0.02\nretry_seconds = 0.5\n")
    try:
        emulator.call("18600138003")
        wait_for(lambda: "modem_out_of_service" in kinds(db), 30, "out of service", log_path)
        wait_for(lambda: all_sent(db), 60, "every text after it came back", log_path)
    finally:
        stop(daemon)
        emulator.stop()
    assert "modem_back_in_service" in kinds(db)
    assert set(texts(emulator)) == set(GROUP_ONE)


def test_sim_not_ready_at_boot_then_the_box_starts_working(tmp_path):
    emulator = EmulatorServer("sim800", Latency.realistic(scale=0.02), link=str(tmp_path / "modem"))
    emulator.start()
    emulator.sim_not_ready(None)  # held until the daemon has met it, however slow the machine
    daemon, db, _, log_path = start_box(tmp_path, [emulator], wait_ready=False)
    try:
        wait_for(lambda: "modem_unavailable" in kinds(db), 60, "the start-up to meet the SIM",
                 log_path)
        assert "modem_ready" not in kinds(db)
        emulator.release_sim()
        wait_for(lambda: "modem_ready" in kinds(db), 60, "the modem once the SIM is ready",
                 log_path)
        emulator.call("18600138003")
        wait_for(lambda: all_sent(db), 60, "every text", log_path)
    finally:
        stop(daemon)
        emulator.stop()
    assert set(texts(emulator)) == set(GROUP_ONE)
