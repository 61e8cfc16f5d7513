"""The Debian package, installed with apt into a fresh Debian 12 root, as on a Raspberry Pi.

scripts/build-deb builds edgebox_<version>_amd64.deb (this machine's architecture: no qemu);
mmdebstrap makes a minimal bookworm root (cached under build/deb by its inputs, as the image's
base is); `apt-get install ./edgebox_….deb` in a chroot pulls python3-venv and systemd from
Debian and the postinst builds /opt/edgebox/venv from the wheels the package carries. Then the
README's steps run there: the roster imported with sudo, the daemon's user runs the selftest
against the modem emulator, and it passes. Installed a second time over an edited config, the
edit stays; removed, the venv goes and the alarm log stays.
"""
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.progress import say

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "build/deb"
MIRROR = os.environ.get("EDGEBOX_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SECURITY = os.environ.get("EDGEBOX_DEBIAN_SECURITY", "http://deb.debian.org/debian-security")
# The root as a fresh Debian 12 has it: apt and nothing of what edgebox depends on, so apt must
# find python3-venv, systemd and udev from the package's Depends. The lists are kept so the
# install reads them instead of downloading them again.
MMDEBSTRAP = ["mmdebstrap", "--variant=apt", "--mode=root", "--format=tar",
              "--skip=cleanup/apt/lists", "--include=ca-certificates", "bookworm"]
SOURCES = [f"deb {MIRROR} bookworm main", f"deb {MIRROR} bookworm-updates main",
           f"deb {SECURITY} bookworm-security main"]
CONFIG = "/etc/edgebox/edgebox.toml"
# The modem: the emulator's pty, linked where the daemon's unit may write (its StateDirectory).
MODEM = "/var/lib/edgebox/modem"
CONTROL = "/var/lib/edgebox/emulator.sock"


def run(*args, timeout=900, check=True):
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, f"{args}: {result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result


def build_deb() -> Path:
    say("building the package (scripts/build-deb --arch amd64)")
    run(str(REPO / "scripts/build-deb"), "--arch", "amd64", "--out", str(OUT))
    version = next(line.split('"')[1] for line in
                   (REPO / "edgebox/__init__.py").read_text().splitlines()
                   if line.startswith("__version__"))
    return OUT / f"edgebox_{version}_amd64.deb"


def base_root() -> Path:
    """A minimal Debian 12 root as a tarball, bootstrapped once per set of inputs."""
    cache = OUT / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(" ".join(MMDEBSTRAP + SOURCES).encode()).hexdigest()[:16]
    tarball = cache / f"bookworm-amd64-{key}.tar"
    with open(cache / ".root.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs at once bootstrap it once
        if not tarball.exists():
            say("bootstrapping a minimal Debian 12 root with mmdebstrap (about a minute)")
            partial = tarball.with_suffix(".part")
            run(*MMDEBSTRAP, str(partial), *SOURCES)
            partial.rename(tarball)
            for old in cache.glob("bookworm-amd64-*.tar"):
                if old != tarball:
                    old.unlink()
    return tarball


class Chroot:
    """The unpacked root with /proc, /dev (and its ptys) and a kept apt cache mounted."""

    def __init__(self, path: Path, tarball: Path):
        self.path = path
        self.mounts: list[Path] = []
        path.mkdir()
        run("tar", "-C", str(path), "--numeric-owner", "-xpf", str(tarball))
        archives = OUT / "cache/apt-archives"  # the .debs apt fetched, kept between runs
        archives.mkdir(parents=True, exist_ok=True)
        self._mount(["-t", "proc", "proc"], "proc")
        # rslave: unmounting the chroot's /dev/pts later must not reach the host's.
        self._mount(["--rbind", "/dev"], "dev", then=["--make-rslave"])
        self._mount(["--bind", str(archives)], "var/cache/apt/archives")
        shutil.copy("/etc/resolv.conf", path / "etc/resolv.conf")

    def _mount(self, how, where, then=()):
        target = self.path / where
        run("mount", *how, str(target))
        self.mounts.append(target)
        if then:
            run("mount", *then, str(target))

    def sh(self, script: str, user: str = "root", check=True, timeout=900):
        """A shell in the root with a clean environment (nothing of this machine's pip or PATH)."""
        command = ["chroot", str(self.path), "/usr/bin/env", "-i",
                   "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8",
                   "DEBIAN_FRONTEND=noninteractive"]
        if user != "root":
            command += ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups"]
        return run(*command, "/bin/sh", "-ec", script, check=check, timeout=timeout)

    def close(self):
        for target in reversed(self.mounts):
            subprocess.run(["umount", "-R", "-l", str(target)], capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("installing into a Debian root needs root (mmdebstrap, chroot, mount)")
    if shutil.which("mmdebstrap") is None:
        pytest.skip("mmdebstrap missing: scripts/install-deps test installs it")
    deb = build_deb()
    root = Chroot(tmp_path_factory.mktemp("deb") / "root", base_root())
    try:
        shutil.copy(deb, root.path / "tmp" / deb.name)
        root.deb = f"/tmp/{deb.name}"
        yield root
    finally:
        root.close()


def wait_for(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def selftest(box):
    result = box.sh(f"edgebox selftest --json --siren-seconds 0 --config {CONFIG}",
                    user="edgebox", check=False, timeout=300)
    report = json.loads(result.stdout)
    return result.returncode, {check["name"]: check for check in report["checks"]}, report


def test_the_package_installs_configures_and_upgrades_on_debian_12(box):
    started = time.monotonic()
    say("apt-get install ./edgebox_…_amd64.deb in the Debian 12 root")
    installed = box.sh(f"apt-get install -y -q {box.deb}", timeout=1200)
    say(f"installed in {time.monotonic() - started:.0f} s")
    # The postinst tells what to do next, in three steps.
    assert "edgebox is installed. Next:" in installed.stdout
    assert all(f"  {n}. " in installed.stdout for n in (1, 2, 3)), installed.stdout[-2000:]

    # The daemon's user, in dialout for the modem's tty; its data directory, only its own.
    assert "dialout" in box.sh("id -nG edgebox").stdout.split()
    assert box.sh("stat -c '%U:%G %a' /var/lib/edgebox").stdout.split() == ["edgebox:edgebox",
                                                                            "750"]
    # The config from the example, a conffile; the units and udev rules where systemd and udev
    # look; `edgebox` on the PATH from /opt/edgebox/venv, and nothing in Debian's own Python.
    example = (REPO / "config/edgebox.example.toml").read_text(encoding="utf-8")
    assert (box.path / CONFIG.lstrip("/")).read_text(encoding="utf-8") == example
    assert CONFIG in box.sh("dpkg-query -W -f='${Conffiles}' edgebox").stdout
    # It may hold the SIM PIN and the uplink's key: the daemon's group reads it, nobody else.
    assert box.sh(f"stat -c '%U:%G %a' {CONFIG}").stdout.split() == ["root:edgebox", "640"]
    for unit in ("edgebox.service", "edgebox-upload.service", "edgebox-upload.timer"):
        assert (box.path / "lib/systemd/system" / unit).is_file(), unit
    assert (box.path / "lib/udev/rules.d/70-edgebox-modems.rules").is_file()
    assert box.sh("readlink -f $(command -v edgebox)").stdout.strip() == \
        "/opt/edgebox/venv/bin/edgebox"
    assert box.sh("python3 -c 'import edgebox'", check=False).returncode != 0
    # The Chinese words: the compiled catalogue came with the wheel.
    assert box.sh("ls /opt/edgebox/venv/lib/python3*/site-packages/edgebox/locale/zh/"
                  "LC_MESSAGES/edgebox.mo").returncode == 0

    # Before the roster: the selftest runs as the daemon's user, storage is writable, and it
    # says the roster is missing.
    code, checks, _ = selftest(box)
    assert code == 1 and checks["storage writable"]["status"] == "pass"
    assert checks["roster"]["status"] == "fail"

    # The README's steps: the modem (here the emulator, as the daemon's user so the pty is its),
    # the roster imported with sudo, then the selftest passes as a whole.
    config = box.path / CONFIG.lstrip("/")
    config.write_text(example.replace('port = "/dev/edgebox-modem"', f'port = "{MODEM}"', 1),
                      encoding="utf-8")
    box.sh(f"edgebox emulator serve --link {MODEM} --control {CONTROL} --time-scale 0.05 "
           ">/tmp/emulator.log 2>&1 & echo $! > /tmp/emulator.pid", user="edgebox")
    try:
        assert wait_for(lambda: (box.path / MODEM.lstrip("/")).exists()), \
            (box.path / "tmp/emulator.log").read_text()
        imported = box.sh(f"edgebox roster import /usr/share/doc/edgebox/roster.example.csv "
                          f"--config {CONFIG}")
        assert "已导入51户，4个联防组" in imported.stdout
        code, checks, report = selftest(box)
        assert code == 0 and report["passed"], report
        assert checks["modem main answering"]["status"] == "pass"
        assert checks["roster"]["detail"].startswith("51 households")
    finally:
        pid = (box.path / "tmp/emulator.pid").read_text().strip()
        box.sh(f"kill {pid}", check=False)

    # Installed again over an edited config: the edit stays, the venv is rebuilt, the roster
    # and the next steps' text are not repeated.
    edited = config.read_text(encoding="utf-8").replace('village = ""', 'village = "石桥村"', 1)
    config.write_text(edited, encoding="utf-8")
    say("installing the package a second time over the edited config")
    again = box.sh(f"apt-get install -y -q --reinstall {box.deb}", timeout=1200)
    assert "edgebox is installed. Next:" not in again.stdout
    assert config.read_text(encoding="utf-8") == edited
    assert box.sh(f"stat -c '%U:%G %a' {CONFIG}").stdout.split() == ["root:edgebox", "640"]
    assert box.sh(f"edgebox roster show --config {CONFIG}", user="edgebox").stdout.count("★") == 4

    # Removed: the venv goes, the village's alarm log stays.
    box.sh("apt-get remove -y -q edgebox")
    assert not (box.path / "opt/edgebox/venv").exists()
    assert (box.path / "var/lib/edgebox/edgebox.db").is_file()


def test_the_pi_package_holds_every_wheel_its_pythons_need(tmp_path):
    """The arm64 package cannot be installed here, so pip resolves `edgebox[pi]` for each Python
    its Depends allow, for aarch64, from the package's wheels alone (what the postinst does
    offline on the Pi)."""
    run(str(REPO / "scripts/build-deb"), "--arch", "arm64", "--out", str(OUT))
    deb = next(OUT.glob("edgebox_*_arm64.deb"))
    depends = run("dpkg-deb", "-f", str(deb), "Depends").stdout
    assert "python3 (>= 3.11), python3 (<< 3.13)" in depends and "python3-venv" in depends
    run("dpkg-deb", "-x", str(deb), str(tmp_path / "root"))
    wheels = tmp_path / "root/usr/share/edgebox/wheels"
    assert (wheels / "extras").read_text().strip() == "[pi]"
    platforms = [arg for tag in ("manylinux2014_aarch64", "manylinux_2_17_aarch64",
                                 "manylinux_2_28_aarch64", "manylinux_2_34_aarch64")
                 for arg in ("--platform", tag)]
    for version in ("3.11", "3.12"):
        resolved = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
             "--report", "-", "--no-index", "--find-links", str(wheels),
             "--only-binary=:all:", *platforms, "--python-version", version,
             "--implementation", "cp", "--abi", "cp" + version.replace(".", ""),
             "--target", str(tmp_path / "target"), "edgebox[pi]"],
            capture_output=True, text=True, timeout=300,
            # Only the package's wheels: no index or folder this machine's pip is set up with.
            env={**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_FIND_LINKS": ""})
        assert resolved.returncode == 0, resolved.stderr[-3000:]
        names = {item["metadata"]["name"].lower()
                 for item in json.loads(resolved.stdout)["install"]}
        assert {"edgebox", "rpi-lgpio", "lgpio", "markupsafe", "python-gsmmodem-new"} <= names
