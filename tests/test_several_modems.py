"""Several modems: a failed modem's work moves to the others, a modem gone for long is power
cycled and reported, and `edgebox modem status` shows what the daemon last read. (Work spread
over the modems, each delivery recording its modem:
tests/inprocess/test_several_modems_inprocess.py.)"""
import json
import subprocess
import sys

import pytest

from edgebox.emulator import EmulatorServer, Latency
from tests.support import kinds, query, start_box, stop, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def two_emulators(tmp_path):
    emus = [EmulatorServer(link=str(tmp_path / f"modem{i}"),
                           latency=Latency.realistic(scale=0.02,
                                                     sms_submit=15)).start() for i in (1, 2)]
    yield emus
    for emu in emus:
        emu.stop()


def test_work_of_a_dead_modem_moves_to_the_other(tmp_path, two_emulators):
    daemon, db, config, log_path = start_box(tmp_path, two_emulators)
    try:
        two_emulators[0].call("18600138003")
        wait_for(lambda: query(db, "SELECT count(*) FROM deliveries WHERE state = 'sent'")[0][0]
                 >= 1, 30, "the first text", log_path)
        two_emulators[1].stop()  # modem 2 is gone for good, mid fan-out
        wait_for(lambda: query(db, "SELECT count(*) FROM deliveries WHERE state = 'sent'")[0][0]
                 == 5, 60, "every text through the remaining modem", log_path)
    finally:
        stop(daemon)
    numbers = [e["number"] for emu in two_emulators for e in emu.log()
               if e["kind"] == "sms_sent"]
    for phone in ("+8613800138001", "+8613900138002", "+8615013800022", "+8613700138004",
                  "+8618600138003"):
        assert phone in numbers
    assert "modem_lost" in kinds(db) or "modem_unavailable" in kinds(db)


def test_modem_status_shows_the_last_health_reading(tmp_path, two_emulators):
    daemon, db, config, log_path = start_box(tmp_path, two_emulators[:1],
                                             extra="[modem]\nhealth_minutes = 0.01\n")
    try:
        wait_for(lambda: "modem_health" in kinds(db), 30, "a health check", log_path)
    finally:
        stop(daemon)
    result = subprocess.run([sys.executable, "-m", "edgebox", "modem", "status", "--config",
                             str(config), "--json"], capture_output=True, text=True, timeout=60)
    status = json.loads(result.stdout)
    assert status["m1"]["state"] == "ready"
    assert status["m1"]["registration"] in ("home", "roaming")
    assert 0 <= status["m1"]["signal"] <= 31 and status["m1"]["sim"] == "READY"
    text = subprocess.run([sys.executable, "-m", "edgebox", "modem", "status", "--config",
                           str(config)], capture_output=True, text=True, timeout=60).stdout
    assert text.startswith("m1: 就绪") and "信号: " in text  # the box speaks Chinese


def test_a_modem_gone_for_long_is_power_cycled_and_reported_to_the_office(tmp_path,
                                                                           two_emulators):
    marker = tmp_path / "power-cycled"
    first, second = two_emulators
    daemon, db, config, log_path = start_box(
        tmp_path, two_emulators, extra='[numbers]\noffice = ["+8613300138099"]\n')
    # The same box, now with a power-cycle command for m1 (restart to pick it up).
    stop(daemon)
    config.write_text(config.read_text().replace(
        f'name = "m1"\nport = "{first.link}"\n',
        f'name = "m1"\nport = "{first.link}"\npower_cycle = "touch {marker}"\n'))
    with open(log_path, "a") as log_file:
        daemon = subprocess.Popen([sys.executable, "-m", "edgebox", "run", "--config",
                                   str(config)], stdout=log_file, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: kinds(db).count("modem_ready") >= 4, 30, "both modems again", log_path)
        first.unplug(60)  # gone far longer than the reopen back-off
        wait_for(marker.exists, 60, "the power-cycle command", log_path)
        wait_for(lambda: any(e["kind"] == "sms_sent" and e["number"] == "+8613300138099"
                             for e in second.log()), 60, "the office report", log_path)
    finally:
        stop(daemon)
    [report] = [e for e in second.log()
                if e["kind"] == "sms_sent" and e["number"] == "+8613300138099"]
    assert "m1" in report["text"] and "无法工作" in report["text"]
    assert "modem_power_cycled" in kinds(db)
