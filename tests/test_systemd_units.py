"""Every unit in systemd/ passes `systemd-analyze verify`, and says what the box relies on."""
import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
UNITS = sorted((REPO / "systemd").glob("*.service")) + sorted((REPO / "systemd").glob("*.timer"))
# The programs the units run on the box, and where they are in this checkout.
PROGRAMS = {
    "/opt/edgebox/venv/bin/edgebox": Path(sys.executable).with_name("edgebox"),
    "/usr/lib/edgebox/grow-data":
        REPO / "firmware/stage-edgebox/00-edgebox/files/usr/lib/edgebox/grow-data",
    "/usr/lib/edgebox/boot-partition":
        REPO / "firmware/stage-edgebox/00-edgebox/files/usr/lib/edgebox/boot-partition",
    # From Debian's ppp package (the stage's 00-packages), which this machine need not have:
    # verify only asks that the program exists and is executable, so a stand-in takes its place
    # here; the image test runs verify on the booted box, with the real one.
    "/usr/sbin/pppd": None,
}


def read_unit(path):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze missing: scripts/install-deps test installs it")
@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_analyze_verify_finds_nothing(unit, tmp_path):
    # verify also checks that ExecStart= programs exist: point them at this checkout's copies.
    text = unit.read_text(encoding="utf-8")
    for on_box, here in PROGRAMS.items():
        if here is None:
            here = tmp_path / Path(on_box).name
            here.write_text("#!/bin/sh\nexit 0\n")
            here.chmod(0o755)
        assert here.exists(), here
        text = text.replace(on_box, str(here))
    copy = tmp_path / unit.name
    copy.write_text(text, encoding="utf-8")
    for other in UNITS:  # the units they name (a timer's service) sit beside them
        if other != unit:
            (tmp_path / other.name).write_text(other.read_text(encoding="utf-8").replace(
                "/opt/edgebox/venv/bin/edgebox", str(PROGRAMS["/opt/edgebox/venv/bin/edgebox"])),
                encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", str(copy)],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    said = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and not said, said


def test_the_daemon_is_watched_and_reboots_the_box_when_it_keeps_failing():
    unit = read_unit(REPO / "systemd/edgebox.service")
    assert unit["Service"]["Type"] == "notify"
    assert int(unit["Service"]["WatchdogSec"]) > 0
    assert unit["Service"]["Restart"] == "always"
    assert unit["Unit"]["StartLimitAction"] == "reboot"
    assert "ModemManager.service" in unit["Unit"]["Conflicts"]
    assert "edgebox-provision.service" in unit["Unit"]["After"]


def test_the_upload_timer_runs_the_upload_command_that_exists():
    service = read_unit(REPO / "systemd/edgebox-upload.service")
    command = service["Service"]["ExecStart"].split()
    assert command[1:3] == ["upload", "now"]
    result = subprocess.run([str(PROGRAMS[command[0]]), "upload", "now", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_units_name_only_programs_the_image_installs():
    for unit in UNITS:
        for program in re.findall(r"^Exec\w+=[-@:+!]*(\S+)", unit.read_text(), re.M):
            assert program in PROGRAMS, f"{unit.name} runs {program}"


def test_mobile_data_dials_the_peer_provisioning_writes_when_a_data_port_appears():
    from edgebox.provision.apply import DATA_PORT, PPP_PEER, PPP_UP, ppp_files
    unit = read_unit(REPO / "systemd/edgebox-ppp.service")
    peer = f"/etc/edgebox/{PPP_PEER}"
    assert unit["Unit"]["ConditionPathExists"] == peer
    assert unit["Service"]["ExecStart"].split()[1:3] == ["file", peer]
    device = "dev-" + DATA_PORT.removeprefix("/dev/").replace("-", "\\x2d") + ".device"
    assert unit["Unit"]["BindsTo"] == device and device in unit["Unit"]["After"]
    assert "edgebox-provision.service" in unit["Unit"]["After"]
    files = REPO / "firmware/stage-edgebox/00-edgebox/files"
    rules = (files / "etc/udev/rules.d/70-edgebox-modems.rules").read_text()
    starters = [line for line in rules.splitlines()
                if "edgebox-ppp.service" in line and not line.startswith("#")]
    assert len(starters) == 2 and all(
        f'SYMLINK+="{DATA_PORT.removeprefix("/dev/")}"' in line for line in starters)
    assert os.access(files / PPP_UP.lstrip("/"), os.X_OK)
    assert f"ip-up-script {PPP_UP}" in ppp_files("cmnet", Path("/etc/edgebox"))[PPP_PEER]


# -- the notify protocol the daemon speaks to systemd ------------------------------------------

import socket  # noqa: E402
import time  # noqa: E402

from edgebox.daemon import systemd_notify  # noqa: E402
from edgebox.daemon.systemd_notify import SystemdNotifier  # noqa: E402


@pytest.fixture
def notify_socket(tmp_path, monkeypatch):
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    yield sock
    sock.close()


def messages(sock, count):
    return [sock.recv(4096).decode() for _ in range(count)]


def test_outside_systemd_nothing_is_sent(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert not SystemdNotifier.wanted()
    assert systemd_notify.notify("READY=1") is False


def test_ready_then_pings_only_while_every_loop_is_alive(notify_socket):
    stale: list[str] = []
    notifier = SystemdNotifier(lambda: list(stale))
    notifier.start()
    assert messages(notify_socket, 1)[0].startswith("READY=1")
    assert notifier.ping_once() is True
    assert messages(notify_socket, 1) == ["WATCHDOG=1"]
    stale.append("modem worker main")
    assert notifier.ping_once() is False
    assert messages(notify_socket, 1) == ["STATUS=stuck: modem worker main"]
    stale.clear()
    assert notifier.ping_once() is True
    assert messages(notify_socket, 2) == ["STATUS=alarm loops running", "WATCHDOG=1"]
    notifier.stop()
    assert messages(notify_socket, 1) == ["STOPPING=1"]


def test_the_watchdog_interval_applies_only_to_its_own_process(monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "60000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert systemd_notify.watchdog_seconds() == 60
    monkeypatch.setenv("WATCHDOG_PID", "1")
    assert systemd_notify.watchdog_seconds() is None


@pytest.mark.slow
def test_edgebox_run_says_ready_and_pings_the_watchdog(tmp_path, notify_socket, monkeypatch):
    from edgebox.emulator import EmulatorServer
    from tests.support import start_box, stop
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")  # pings every second
    emulator = EmulatorServer(link=str(tmp_path / "modem")).start()
    # WATCHDOG_PID is not set: systemd sets it only when the main process is not the one it
    # started, and here the process started is the daemon itself.
    daemon, _db, _config, _log = start_box(tmp_path, [emulator])
    try:
        seen = []
        deadline = time.monotonic() + 30
        while "WATCHDOG=1" not in seen and time.monotonic() < deadline:
            seen.append(notify_socket.recv(4096).decode().split("\n")[0])
        assert seen[0] == "READY=1" and "WATCHDOG=1" in seen, seen
    finally:
        stop(daemon)
        emulator.stop()


def test_a_stuck_worker_is_named_by_the_daemon(tmp_path):
    from edgebox.config_file import parse_config
    from edgebox.daemon.app import build_daemon
    config = parse_config(f'[box]\ndatabase = "{tmp_path / "box.db"}"\n'
                          f'[[modems]]\nname = "main"\nport = "{tmp_path / "none"}"\n')
    daemon = build_daemon(config)
    assert daemon.stale_loops() == []  # not started: nothing can be stale yet
    daemon.workers["main"].heartbeat -= 3600
    assert daemon.stale_loops() == ["modem worker main"]
