"""A modem that restarts in place (a brown-out on a weak supply: the port stays, every setting
goes back to its power-up default), against the real daemon: seen by its boot lines, or by the
health check when the lines were lost, and in the middle of a fan-out."""
import json

import pytest

from edgebox.emulator import EmulatorServer, Latency
from tests.support import kinds, query, start_box, stop, wait_for
from tests.test_modem_faults import GROUP_ONE, all_sent, texts

pytestmark = pytest.mark.slow


def restarts(db):
    return [json.loads(data) for (data,) in query(
        db, "SELECT data FROM events WHERE kind = 'modem_restarted' ORDER BY seq")]


def booted(emulator):
    return sum(e["kind"] == "booted" for e in emulator.log())


@pytest.fixture
def sim800(tmp_path):
    emulator = EmulatorServer("sim800", Latency.realistic(scale=0.02, sms_submit=15, reboot=0.5),
                              link=str(tmp_path / "modem"))
    emulator.start()
    yield emulator
    emulator.stop()


def test_after_a_brown_out_a_member_who_calls_still_alerts_the_group(tmp_path, sim800):
    daemon, db, _, log_path = start_box(tmp_path, [sim800])
    try:
        wait_for(lambda: "modem_health" in kinds(db), 30, "the first health check", log_path)
        assert restarts(db) == []  # a modem that keeps its settings is left alone
        sim800.reboot_in_place()
        wait_for(lambda: restarts(db), 30, "the restart seen and answered", log_path)
        assert sim800.engine.settings.clip == 1  # caller id shown again
        sim800.call("18600138003")
        wait_for(lambda: all_sent(db), 30, "every text", log_path)
    finally:
        stop(daemon)
    assert set(texts(sim800)) == set(GROUP_ONE)
    assert query(db, "SELECT count(*) FROM incidents")[0][0] == 1
    assert restarts(db)[0]["detected"] in ("UNDER-VOLTAGE POWER DOWN", "RDY")


def test_a_restart_whose_lines_were_lost_is_found_by_the_health_check(tmp_path, sim800):
    daemon, db, _, log_path = start_box(tmp_path, [sim800],
                                        extra="[modem]\nhealth_minutes = 0.05\n")
    try:
        sim800.reboot_in_place(lines_lost=True)
        wait_for(lambda: restarts(db), 30, "the health check to notice", log_path)
        assert restarts(db)[0]["detected"] == "settings"
        assert {"clip", "cnmi", "echo"} <= set(restarts(db)[0]["settings_off"])
        sim800.call("18600138003")
        wait_for(lambda: all_sent(db), 30, "every text", log_path)
    finally:
        stop(daemon)
    assert set(texts(sim800)) == set(GROUP_ONE)


def test_brown_outs_in_the_middle_of_a_fan_out_still_text_every_member(tmp_path, sim800):
    # A submit lost to a restart must not count as a member's number failing (here one such
    # failure would take the modem out of service): the restart was the modem's fault.
    daemon, db, _, log_path = start_box(tmp_path, [sim800], extra="[modem]\nsms_timeout = 60\n"
                                                                 "out_of_service_after = 1\n")
    try:
        sim800.call("18600138003")
        for texted in (1, 3):
            wait_for(lambda: kinds(db).count("sms_sent") >= texted, 30, "texts", log_path)
            sim800.reboot_in_place()
            wait_for(lambda: len(restarts(db)) >= (texted + 1) // 2, 30, "the restart",
                     log_path)
        # Well inside the 60 s a submit lost in the restart would otherwise wait for.
        wait_for(lambda: all_sent(db), 30, "every text after the restarts", log_path)
    finally:
        stop(daemon)
    received = texts(sim800)
    assert set(received) == set(GROUP_ONE)
    assert sum(received.values()) - len(received) <= 2  # only the ones in flight may repeat
    assert booted(sim800) == 2
    assert query(db, "SELECT count(*) FROM deliveries WHERE state = 'failed'")[0][0] == 0
    assert "modem_reset" not in kinds(db) and "modem_out_of_service" not in kinds(db)
    retried = query(db, "SELECT count(*) FROM events WHERE kind = 'delivery_retry'")[0][0]
    assert retried >= 1  # a submit was lost to a restart and sent again


def test_random_restarts_in_place_never_lose_an_alarm(tmp_path, sim800):
    daemon, db, _, log_path = start_box(tmp_path, [sim800])
    try:
        sim800.random_reboots(1.5, seed=11)
        sim800.call("18600138003")
        wait_for(lambda: all_sent(db) and booted(sim800) >= 2, 60, "every text", log_path)
        sim800.random_reboots(None)
    finally:
        stop(daemon)
    assert set(texts(sim800)) == set(GROUP_ONE)


def test_late_call_ready_after_a_normal_start_is_not_a_restart(tmp_path, sim800):
    # A SIM900 prints "Call Ready"/"SMS Ready" on its own many seconds after it answers AT:
    # the settings are read, found kept, and the modem is not set up again.
    daemon, db, _, log_path = start_box(tmp_path, [sim800])
    try:
        sim800.garbage(b"\r\nCall Ready\r\n\r\nSMS Ready\r\n")
        wait_for(lambda: "kept its settings" in log_path.read_text(), 30, "the settings read",
                 log_path)
        sim800.call("18600138003")
        wait_for(lambda: all_sent(db), 30, "every text", log_path)
    finally:
        stop(daemon)
    assert restarts(db) == [] and kinds(db).count("modem_ready") == 1
    assert set(texts(sim800)) == set(GROUP_ONE)


def test_a_restart_that_shows_only_its_later_boot_lines_is_still_caught(tmp_path, sim800):
    # A SIM800 on autobaud prints no RDY: what it does print says "maybe", and the settings
    # read then show the restart.
    daemon, db, _, log_path = start_box(tmp_path, [sim800])
    try:
        sim800.reboot_in_place(lines_lost=True)
        wait_for(lambda: booted(sim800) == 1, 30, "the modem back up")
        sim800.garbage(b"\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n")
        wait_for(lambda: restarts(db), 30, "the restart caught", log_path)
        assert restarts(db)[0]["detected"] in ("+CFUN: 1", "+CPIN: READY", "Call Ready")
        assert "clip" in restarts(db)[0]["settings_off"]
        sim800.call("18600138003")
        wait_for(lambda: all_sent(db), 30, "every text", log_path)
    finally:
        stop(daemon)
    assert set(texts(sim800)) == set(GROUP_ONE)


def test_a_sim_slow_to_come_back_after_a_restart_is_waited_for(tmp_path, sim800):
    # The module answers AT at once, its SIM only 3 s later: the set-up waits for the SIM on
    # the open port instead of giving up and climbing the reopen ladder.
    daemon, db, _, log_path = start_box(tmp_path, [sim800])
    try:
        sim800.reboot_in_place(sim_seconds=3.0)
        wait_for(lambda: restarts(db), 60, "the restart answered", log_path)
        sim800.call("18600138003")
        wait_for(lambda: all_sent(db), 30, "every text", log_path)
    finally:
        stop(daemon)
    assert "modem_unavailable" not in kinds(db) and kinds(db).count("modem_ready") == 1
    assert set(texts(sim800)) == set(GROUP_ONE)
