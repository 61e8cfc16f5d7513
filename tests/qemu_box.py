"""The SD card image under QEMU: built once, provisioned, booted, reached over SSH, powered off.

Shared by the image test (one boot, every promise of the image) and the power-cut test (many
boots of one card, each ended by pulling the power). The guest is `qemu-system-aarch64 -M virt
-cpu cortex-a72` with the image's own kernel and initrd; its modem is a USB serial adapter wired
to the host-side emulator's pty.
"""
from __future__ import annotations

import collections
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from edgebox.emulator.control import EmulatorClient
from tests.progress import say
from tests.support import SHEET

REPO = Path(__file__).resolve().parents[1]
# Where the image is built and its slow stages cached (git-ignored).
OUT = Path(os.environ.get("EDGEBOX_FIRMWARE_OUT", REPO / "build" / "firmware"))
BOOT_OFFSET = "4M"  # the FAT partition's start (firmware/tools/assemble-image.sh)
GROWN_BY_MIB = 256
# Booting under TCG on a shared machine is slow; generous, as every wait here.
BOOT_TIMEOUT = 900


def wait_for(condition, timeout, what, log=None, interval=1.0):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-4000:] if log and log.exists() else ""
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{tail}")
        time.sleep(interval)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_built: list[Path] = []  # once per test session: the image tests boot the same build
_release: list[threading.Thread] = []  # the build finishing its release files (see below)
_release_failures: list[str] = []


def build_image() -> Path:
    """Build the image (its slow stages are cached) and return the uncompressed card image.
    EDGEBOX_IMAGE=<card image> boots one built before instead (replaying a long run's seed
    against the image it ran on).

    The card image is whole once the build starts compressing it for release: it is returned
    then, and the compression (a minute, on two cores) goes on beside the first boot;
    ``check_release`` waits for it and checks the release files."""
    if os.environ.get("EDGEBOX_IMAGE"):
        return Path(os.environ["EDGEBOX_IMAGE"])
    if os.geteuid() != 0:
        pytest.skip("building the image needs root (mmdebstrap, chroot)")
    if _built:
        return _built[0]
    started = time.monotonic()
    say("building the firmware image (firmware/build-image; about 15 minutes without its cache)")
    # Its own stage lines ("build-image: HH:MM:SS …") are passed on as they come; the rest is kept
    # for the failure report. stderr joins stdout so the tail shows both in order.
    # Niced: under pytest-xdist the rest of the suite runs beside the build, and its daemons
    # keep their timing while the build takes the CPU they leave.
    build = subprocess.Popen(["nice", "-n", "10", str(REPO / "firmware/build-image"),
                              "--out", str(OUT)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail: collections.deque[str] = collections.deque(maxlen=200)
    watchdog = threading.Timer(3600, build.kill)  # a hung build fails the test, not the run
    watchdog.start()
    compressing = False
    for line in build.stdout:
        tail.append(line)
        if line.startswith("build-image:"):
            say(line.rstrip())
            if line.rstrip().endswith(" compressing"):
                compressing = True
                break
    version = next(line.split('"')[1] for line in
                   (REPO / "edgebox/__init__.py").read_text().splitlines()
                   if line.startswith("__version__"))
    finish = threading.Thread(target=_finish_build, name="image-release",
                              args=(build, tail, watchdog, started, version), daemon=True)
    finish.start()
    _release.append(finish)
    if not compressing:  # it failed before the image was whole
        check_release()
    say(f"image whole after {time.monotonic() - started:.0f} s; compressing it beside the boot")
    _built.append(OUT / f"edgebox-{version}-arm64.img")
    return _built[0]


def _finish_build(build: subprocess.Popen, tail: collections.deque, watchdog: threading.Timer,
                  started: float, version: str) -> None:
    """The rest of the build's output, its exit, and its release files' checksum."""
    try:
        for line in build.stdout:
            tail.append(line)
            if line.startswith("build-image:"):
                say(line.rstrip())
        build.stdout.close()  # left open, it is a ResourceWarning whenever the GC finds it
        returncode = build.wait()
        watchdog.cancel()
        if returncode != 0:
            _release_failures.append("".join(tail)[-6000:])
            return
        say(f"image built, with its release files, in {time.monotonic() - started:.0f} s")
        compressed = OUT / f"edgebox-{version}-arm64.img.xz"
        digest = (OUT / f"{compressed.name}.sha256").read_text().split()
        check = subprocess.run(["sha256sum", "-c", f"{compressed.name}.sha256"], cwd=OUT,
                               capture_output=True, text=True, timeout=300)
        if check.returncode != 0 or digest[1] != compressed.name:
            _release_failures.append(check.stdout + check.stderr)
    except Exception as exc:  # reported by check_release, on the test's thread
        _release_failures.append(repr(exc))


def check_release() -> None:
    """Wait for the build to end and fail with its output if it, or its release files'
    checksum, failed."""
    for finish in _release:
        finish.join(1800)
        assert not finish.is_alive(), "the image build did not end"
    assert not _release_failures, _release_failures[0]


def mtools(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, timeout=60, **kw)


class Card:
    """A copy of the image on a bigger SD card, with edgebox.txt and roster.csv written to its
    boot partition as a technician would, and the kernel and initrd QEMU boots taken from it."""

    def __init__(self, image: Path, work: Path, settings: str, ssh_key: Path):
        self.work = work
        self.path = work / "card.img"
        subprocess.run(["cp", "--sparse=always", str(image), str(self.path)], check=True,
                       timeout=300)
        self.original_bytes = self.path.stat().st_size
        with open(self.path, "r+b") as handle:  # a bigger SD card than the image
            handle.truncate(self.original_bytes + GROWN_BY_MIB * 1024 * 1024)
        self.fat = f"{self.path}@@{BOOT_OFFSET}"
        names = mtools("mdir", "-b", "-i", self.fat, "::/").stdout.decode().split()
        self.kernel, self.initrd = work / "vmlinuz", work / "initrd.img"
        mtools("mcopy", "-i", self.fat, next(n for n in names if n.startswith("::/vmlinuz")),
               str(self.kernel))
        mtools("mcopy", "-i", self.fat, next(n for n in names if n.startswith("::/initrd.img")),
               str(self.initrd))
        self.config_txt = mtools("mtype", "-i", self.fat, "::/config.txt").stdout.decode()
        self.ssh_key = ssh_key
        settings += f"SSH_KEY={Path(str(ssh_key) + '.pub').read_text().strip()}\n"
        (work / "edgebox.txt").write_bytes(
            b"\xef\xbb\xbf" + settings.replace("\n", "\r\n").encode())
        (work / "roster.csv").write_bytes(("\ufeff" + SHEET).encode("utf-8"))
        for name in ("edgebox.txt", "roster.csv"):
            mtools("mcopy", "-o", "-i", self.fat, str(work / name), f"::/{name}")


def new_ssh_key(work: Path) -> Path:
    key = work / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True,
                   timeout=60)
    return key


class Emulator:
    """The host-side modem emulator (`edgebox emulator serve`), driven through its CLI or its
    control socket's client."""

    def __init__(self, work: Path, *options: str):
        self.work = work
        self.link, self.socket = work / "modem", work / "emu.sock"
        self.log_file = open(work / "emulator.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "edgebox", "emulator", "serve", "--link", str(self.link),
             "--control", str(self.socket), "--profile", "sim7600", *options],
            stdout=self.log_file, stderr=subprocess.STDOUT)
        wait_for(lambda: self.link.exists() and self.socket.exists(), 60, "the emulator",
                 work / "emulator.log")
        self.client = EmulatorClient(str(self.socket))

    def command(self, *args):
        result = subprocess.run([sys.executable, "-m", "edgebox", "emulator", *args,
                                 "--control", str(self.socket)], capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(30)
        self.log_file.close()


class Qemu:
    """One power-on of the board: the card as `drive`, the emulator's pty as its USB modem.

    ``drive`` is QEMU's -drive option without ``id``/``if``; ``netdev_extra`` adds to the user
    network (which only forwards SSH from the host's loopback, and reaches nothing else).

    ``evidence`` keeps what a power cut would otherwise take: the guest's journal (in RAM on the
    box) copied to the console file, and every packet of the LAN in ``lan-<label>.pcap``; and
    when SSH does not answer, the user network's connections (``info usernet``) go into the
    failure. (Off for the image test, which checks what the box itself writes to its console.)"""

    def __init__(self, card: Card, drive: str, modem: Path, label: str,
                 netdev_extra: str = "", monitor: Path | None = None, evidence: bool = False):
        self.card, self.label = card, label
        self.ssh_port = free_port()
        # a short path: a unix socket's name may not be longer than 107 bytes
        self._ssh_control = Path(tempfile.mkdtemp(prefix="edgebox-ssh-")) / "control"
        self.console = card.work / f"console-{label}.log"
        self.qemu_log = open(card.work / f"qemu-{label}.log", "w")
        self.monitor = monitor
        extra = f",{netdev_extra}" if netdev_extra else ""
        monitor_option = f"unix:{monitor},server=on,wait=off" if monitor else "none"
        append = "root=LABEL=EDGEROOT ro rootwait console=ttyAMA0 fsck.repair=yes"
        capture = []
        if evidence:
            append += " systemd.journald.forward_to_console=1"
            capture = ["-object", f"filter-dump,id=lancap,netdev=lan,"
                                  f"file={card.work / f'lan-{label}.pcap'}"]
        self.process = subprocess.Popen(
            ["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a72", "-smp", "2", "-m", "1024",
             "-kernel", str(card.kernel), "-initrd", str(card.initrd),
             "-append", append,
             "-drive", f"{drive},if=none,id=card", "-device", "virtio-blk-pci,drive=card",
             "-netdev", f"user,id=lan,restrict=on,"
                        f"hostfwd=tcp:127.0.0.1:{self.ssh_port}-:22{extra}",
             # No option ROM: the kernel is booted directly (and ipxe-qemu need not be installed).
             "-device", "virtio-net-pci,netdev=lan,romfile=", *capture,
             # The modem: a USB serial adapter in the guest, the emulator's pty on the host.
             "-chardev", f"serial,id=modem,path={modem}",
             "-device", "qemu-xhci", "-device", "usb-serial,chardev=modem",
             "-device", "i6300esb",
             "-display", "none", "-monitor", monitor_option, "-serial", f"file:{self.console}"],
            stdout=subprocess.DEVNULL, stderr=self.qemu_log)
        self.started = time.monotonic()

    def ssh(self, command, timeout=120, check=True, stdin=None):
        result = subprocess.run(
            ["ssh", *self._ssh_options(), "root@127.0.0.1", command],
            capture_output=True, text=True, timeout=timeout, input=stdin)
        if check:
            assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
        return result

    def _ssh_options(self) -> list[str]:
        # One connection carries every command (ControlMaster): under QEMU's emulation of
        # the board each new one costs the guest a key exchange of a second or more, and the
        # tests ask hundreds of questions. It ends with the power (the guest's side closes)
        # or after half a minute unused.
        return ["-i", str(self.card.ssh_key), "-p", str(self.ssh_port),
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10", "-o", "BatchMode=yes",
                "-o", "ControlMaster=auto", "-o", f"ControlPath={self._ssh_control}",
                "-o", "ControlPersist=30"]

    def _close_ssh(self) -> None:
        """End the shared SSH connection (if one is up) now, not half a minute later, and
        remove its socket's directory (the board is off: nothing opens it again)."""
        subprocess.run(["ssh", *self._ssh_options(), "-O", "exit", "root@127.0.0.1"],
                       capture_output=True, timeout=30)
        shutil.rmtree(self._ssh_control.parent, ignore_errors=True)

    def wait_for_ssh(self) -> float:
        """Seconds from power-on until SSH answered."""
        def up():
            assert self.process.poll() is None, self.qemu_log.name
            return self.ssh("true", timeout=30, check=False).returncode == 0
        try:
            wait_for(up, BOOT_TIMEOUT, "SSH on the booted box", self.console)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nthe user network (info usernet):\n"
                                 f"{self.usernet()}") from None
        return time.monotonic() - self.started

    def monitor_command(self, command: str, timeout: float = 30) -> str:
        """One command to the QEMU monitor; its answer (``quit`` answers by closing)."""
        answer = b""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as mon:
            mon.settimeout(timeout)
            mon.connect(str(self.monitor))
            mon.sendall(command.encode() + b"\n")
            try:
                while chunk := mon.recv(4096):
                    answer += chunk
                    if command != "quit" and answer.rstrip().endswith(b"(qemu)") \
                            and answer.count(b"(qemu)") >= 2:
                        break
            except (TimeoutError, ConnectionResetError):
                pass
        return answer.decode(errors="replace")

    def usernet(self) -> str:
        """The user network's sockets: a connection to the guest left in SYN_SENT means the guest
        never answered its SYN (no address, or nothing taking connections)."""
        if self.monitor is None or self.process.poll() is not None:
            return "(no monitor)"
        try:
            answer = self.monitor_command("info usernet")
        except OSError as exc:
            return f"(monitor: {exc})"
        # Banner, the prompt with the command's echo (line editing), the table, the next prompt.
        return "\n".join(answer.splitlines()[2:-1])

    def pull_the_plug(self, how: str) -> None:
        """Power gone: nothing the guest still held in RAM reaches the card.

        ``quit`` (the monitor's): QEMU stops between two instructions; writes the virtual disk
        had completed stay, the guest's page cache and unwritten journal do not.
        ``kill`` (SIGKILL to QEMU): also what QEMU itself had not flushed to the host file —
        with a qcow2 overlay, the cluster mappings of writes the guest never flushed, which
        then read back as they were before (a card losing its volatile write cache)."""
        if how == "quit":
            self.monitor_command("quit")
        else:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(60)
        self._close_ssh()
        self.qemu_log.close()

    def power_off(self) -> None:
        """A clean shutdown (or, failing that, the plug)."""
        if self.process.poll() is None:
            self.ssh("systemctl poweroff", timeout=60, check=False)
            try:
                self.process.wait(180)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
        self._close_ssh()
        self.qemu_log.close()
