"""One daemon per database and per modem port: a second `edgebox run` refuses at once, naming
the process that holds them, and the first goes on alerting groups as if nothing happened."""
import subprocess
import sys

import pytest

from tests.support import import_sheet, kinds, query, start_box, stop, wait_for

pytestmark = pytest.mark.slow

ALARM_PHONES = {"+8613800138001", "+8613900138002", "+8615013800022", "+8613700138004"}


def edgebox(*args):
    return subprocess.run([sys.executable, "-m", "edgebox", *args], capture_output=True,
                          text=True, timeout=60)


def assert_refused(result, what, pid):
    assert result.returncode == 75, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert what in lines[0] and f"in use by process {pid}" in lines[0], lines[0]


def assert_call_alerts_group(emulator, db, log_path):
    emulator.call("18600138003")
    wait_for(lambda: {e["number"] for e in emulator.log() if e["kind"] == "sms_sent"}
             >= ALARM_PHONES, 60, "the group to be texted", log_path)
    assert query(db, "SELECT caller_household_id FROM incidents") == [("H03",)]


@pytest.fixture
def box_a(tmp_path, emulator):
    daemon, db, config, log_path = start_box(tmp_path, [emulator])
    yield daemon, db, config, log_path
    stop(daemon)


def test_a_second_daemon_on_the_same_database_refuses(box_a, emulator):
    daemon, db, config, log_path = box_a
    refused = edgebox("run", "--config", str(config))
    assert_refused(refused, "database", daemon.pid)
    assert daemon.poll() is None
    assert kinds(db).count("daemon_started") == 1  # it wrote nothing, not even its start
    assert_call_alerts_group(emulator, db, log_path)


def test_a_second_daemon_on_another_database_but_the_same_port_refuses(box_a, emulator,
                                                                        tmp_path):
    daemon, db, config, log_path = box_a
    other = tmp_path / "other"
    other.mkdir()
    other_config = other / "edgebox.toml"
    other_config.write_text(config.read_text().replace(str(db), str(other / "box.db")))
    import_sheet(other, other_config)
    refused = edgebox("run", "--config", str(other_config))
    assert_refused(refused, f"modem port {emulator.link}", daemon.pid)
    assert daemon.poll() is None
    assert "daemon_started" not in kinds(other / "box.db")
    assert_call_alerts_group(emulator, db, log_path)


def test_the_siren_test_refuses_beside_a_running_daemon(box_a):
    daemon, db, config, _ = box_a
    refused = edgebox("siren", "test", "--config", str(config), "--seconds", "0.2")
    assert_refused(refused, "database", daemon.pid)
    assert "edgebox run" in refused.stderr
