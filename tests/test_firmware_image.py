"""The SD card image, built and booted under QEMU with the modem emulator on a USB serial port.

One boot checks, from the console and over SSH (enabled by the provisioned key): edgebox.txt and
roster.csv were applied, the daemon reached ready (Type=notify) and pings its watchdog, the modem
got its stable name, the root is read-only and the data partition grew, the image's units pass
`systemd-analyze verify`, config.txt holds the provisioned siren pin off from power-on, the APN
became a PPP peer pppd accepts, the selftest passes, and a call from a provisioned household
produces the group's SMS through the emulator. The card's copy of edgebox.txt has its secrets
masked. The guest's network is QEMU's, restricted: it reaches only the test's stand-in hub.

The build's slowest stage, the base, is cached for every checkout on the machine
(firmware/tools/cached-base.sh), so a run after the first takes minutes.
"""
import json
import shutil
import socket
import sys
import threading

import pytest

from tests.progress import say
from tests.qemu_box import GROWN_BY_MIB, Card, Emulator, Qemu, build_image, new_ssh_key, wait_for

# One image build and one QEMU at a time: with pytest-xdist the image's files run on one worker,
# which builds the image once (tests/qemu_box.py) and starts first (tests/conftest.py).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("image")]

CALLER = "13800138001"  # H01, leader of 第一组 in SHEET
GROUP_PHONES = {"+8613900138002", "+8615013800022", "+8618600138003", "+8613700138004"}
TOKEN = "t0k3n-of-the-county-hub"
# The guest's view of the hub: QEMU's user network forwards this address to RELAY, which joins
# each connection to the Hub on the host's loopback. The guest reaches nothing else (restrict=on).
HUB_IN_GUEST = ("10.0.2.100", 8080)
RELAY = """import os, select, socket, sys
hub = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
while True:
    ready = select.select([0, hub], [], [])[0]
    if 0 in ready:
        data = os.read(0, 65536)
        if not data:
            break
        hub.sendall(data)
    if hub in ready:
        data = hub.recv(65536)
        if not data:
            break
        os.write(1, data)
"""
# In the guest: has the modem become ready since the daemon last started? (its event log)
MODEM_READY_SINCE_START = (
    "/opt/edgebox/venv/bin/python -c \"import sqlite3; db = sqlite3.connect("
    "'file:/var/lib/edgebox/edgebox.db?mode=ro', uri=True); kinds = [k for (k,) in db.execute("
    "'SELECT kind FROM events ORDER BY seq DESC')]; print('modem_ready' in kinds and "
    "kinds.index('modem_ready') < kinds.index('daemon_started'))\"")


@pytest.fixture(scope="module")
def image():
    return build_image()


class Hub:
    """A TCP listener standing in for the county platform: the selftest only connects."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.close()

    def close(self):
        self.sock.close()


@pytest.fixture(scope="module")
def box(image, tmp_path_factory):
    for tool in ("qemu-system-aarch64", "ssh", "mcopy"):
        assert shutil.which(tool), f"{tool} missing: scripts/install-deps test installs it"
    work = tmp_path_factory.mktemp("box")
    hub = Hub()
    settings = (
        "# written by the image test, as a technician would in Notepad\n"
        "BOX_ID=qemu-box-1\nLANGUAGE=en\nOFFICE_NUMBERS=0571-8888 6666\n"
        "MODEM_PORT=/dev/edgebox-modem\nSIREN_PIN=22\nSIREN_ACTIVE=low\nAPN=cmnet\n"
        f"UPLOAD_URL=http://{HUB_IN_GUEST[0]}:{HUB_IN_GUEST[1]}\nUPLOAD_TOKEN={TOKEN}\n"
        "TIMEZONE=Asia/Shanghai\n")
    card = Card(image, work, settings, new_ssh_key(work))
    # The blank card holds the default siren pin (17, active high) low from power-on.
    assert card.config_txt.rstrip().endswith("gpio=17=op,dl"), card.config_txt

    emulator = Emulator(work, "--sms-latency", "0.2", "--call-setup", "1", "--ring-timeout", "5")
    (work / "relay.py").write_text(RELAY)
    hub_forward = (f"guestfwd=tcp:{HUB_IN_GUEST[0]}:{HUB_IN_GUEST[1]}-cmd:{sys.executable} "
                   f"{work / 'relay.py'} {hub.port}")
    qemu = Qemu(card, f"file={card.path},format=raw", emulator.link, "box",
                netdev_extra=hub_forward)
    state = {"work": work, "card": card.path, "fat": card.fat, "console": qemu.console,
             "ssh": qemu.ssh, "emulator": emulator.command,
             "original_bytes": card.original_bytes}
    try:
        say("booting the image under QEMU (one to three minutes)")
        say(f"booted to SSH in {qemu.wait_for_ssh():.0f} s")
        yield state
    finally:
        qemu.power_off()
        emulator.stop()
        hub.close()


def test_the_box_applies_its_card_and_runs_the_alarm(box):
    ssh, console = box["ssh"], box["console"]
    # The provisioning oneshot reports on the console.
    wait_for(lambda: "edgebox.txt: applied" in console.read_text(errors="replace"), 120,
             "the provisioning report on the console", console)
    config = ssh("cat /etc/edgebox/edgebox.toml").stdout
    assert 'id = "qemu-box-1"' in config and '"+8657188886666"' in config
    assert 'backend = "simulated"' in config  # QEMU's virt board is not a Raspberry Pi
    status = ssh("cat /boot/firmware/edgebox-status.txt").stdout
    assert "edgebox.txt: 已生效 / applied" in status and "roster.csv: 已生效 / applied" in status
    assert "6 households in 2 groups" in status

    # The daemon said READY=1 (Type=notify) and its watchdog is being pinged.
    wait_for(lambda: ssh("systemctl is-active edgebox", check=False).stdout.strip() == "active",
             300, "edgebox.service to be active", console)
    shown = ssh("systemctl show edgebox -p Type -p WatchdogUSec -p StartLimitAction").stdout
    assert "Type=notify" in shown and "WatchdogUSec=1min" in shown
    assert "StartLimitAction=reboot" in shown
    wait_for(lambda: ssh("systemctl show edgebox -p WatchdogTimestampMonotonic").stdout.strip()
             not in ("WatchdogTimestampMonotonic=0", ""), 180, "a watchdog ping")

    # The image's promises.
    assert ssh("readlink -f /dev/edgebox-modem").stdout.strip() == "/dev/ttyUSB0"
    assert "ro" in ssh("findmnt -n -o OPTIONS /").stdout.split(",")
    data_mib = int(ssh("df -B1M --output=size /data | tail -n 1").stdout)
    assert data_mib > 128 + GROWN_BY_MIB // 2, data_mib
    assert ssh("systemctl is-enabled ModemManager.service", check=False).stdout.strip() in (
        "masked", "")
    assert "RuntimeWatchdogUSec=14s" in ssh("systemctl show -p RuntimeWatchdogUSec").stdout
    assert ssh("systemctl is-active ssh").stdout.strip() == "active"
    # The daemon's units come with the package (/lib), the card's own with the stage (/etc).
    verify = ssh("systemd-analyze verify /lib/systemd/system/edgebox*.service "
                 "/lib/systemd/system/edgebox*.timer /etc/systemd/system/edgebox*.service "
                 "/etc/systemd/system/fake-hwclock-save.* 2>&1", check=False)
    assert verify.returncode == 0 and not verify.stdout.strip(), verify.stdout
    # The hourly save of the clock lands on the data partition (the root is read-only): a
    # save that failed would leave the file as dated here, and systemctl would say it failed.
    ssh("touch -d 2000-01-01 /data/fake-hwclock.data && systemctl start fake-hwclock-save")
    assert ssh("date -u -r /data/fake-hwclock.data +%Y").stdout.strip() != "2000"
    assert ssh("readlink -f /etc/localtime").stdout.strip() == "/usr/share/zoneinfo/Asia/Shanghai"
    # The provisioned siren pin (22, active low: off is high) is held off from the next power-on.
    config_txt = ssh("cat /boot/firmware/config.txt").stdout
    assert config_txt.rstrip().endswith("gpio=22=op,dh") and "gpio=17=" not in config_txt
    # The APN became the PPP peer for mobile data. QEMU's USB serial adapter has no data port,
    # so the link is not started; pppd checks every option of the peer against the adapter's
    # port instead (dryrun: it parses, then stops before opening the port).
    peer = ssh("cat /etc/ppp/peers/edgebox /etc/edgebox/ppp/edgebox.chat").stdout
    assert "/dev/edgebox-modem-data" in peer and '"cmnet"' in peer
    dryrun = ssh("sed 's|^/dev/edgebox-modem-data$|/dev/ttyUSB0|' /etc/ppp/peers/edgebox "
                 "> /tmp/peer && pppd file /tmp/peer dryrun 2>&1", check=False)
    assert dryrun.returncode == 0 and "ip-up-script" in dryrun.stdout, dryrun.stdout
    assert ssh("systemctl is-active edgebox-ppp", check=False).stdout.strip() == "inactive"

    # The technician's selftest, with the daemon stopped as it asks.
    held = ssh("/opt/edgebox/venv/bin/edgebox selftest --siren-seconds 0", check=False)
    assert held.returncode == 1 and "the daemon holds the modem" in held.stdout
    ssh("systemctl stop edgebox")
    selftest = ssh("/opt/edgebox/venv/bin/edgebox selftest --json --siren-seconds 0",
                   check=False)
    ssh("systemctl start edgebox")
    report = json.loads(selftest.stdout)
    assert report["passed"], json.dumps(report, indent=1)
    passed = {check["name"] for check in report["checks"] if check["status"] == "pass"}
    assert {"modem main answering", "modem main SIM ready", "modem main registered",
            "storage writable", "clock", "uplink"} <= passed
    wait_for(lambda: ssh("systemctl is-active edgebox", check=False).stdout.strip() == "active",
             300, "edgebox.service to be active again")
    wait_for(lambda: ssh(MODEM_READY_SINCE_START).stdout.strip() == "True", 300,
             "the restarted daemon's modem to be ready")

    # A provisioned household calls: its group is texted through the emulated modem.
    box["emulator"]("call", CALLER)

    def group_texted():
        entries = json.loads(box["emulator"]("log", "--json"))
        entries = entries if isinstance(entries, list) else entries.get("entries", [])
        return GROUP_PHONES <= {e.get("number") for e in entries if e["kind"] == "sms_sent"}
    wait_for(group_texted, 300, "the group's SMS through the emulator", console)


def test_the_card_has_its_secrets_masked_after_use(box):
    box["ssh"]("sync")
    text = box["ssh"]("cat /boot/firmware/edgebox.txt").stdout
    assert TOKEN not in text and "UPLOAD_TOKEN=********" in text
    assert "BOX_ID=qemu-box-1" in text
