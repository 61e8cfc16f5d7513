"""The image's own boot-time files, run or read here: what a power cut at the wrong moment
leaves behind must not cost a box its SSH or its clock."""
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FILES = REPO / "firmware/stage-edgebox/00-edgebox/files"
SSH_HOST_KEY = FILES / "usr/lib/edgebox/ssh-host-key"


def host_key(directory: Path) -> subprocess.CompletedProcess:
    # stdin closed, as under systemd: a question (ssh-keygen's "Overwrite (y/n)?") would fail
    return subprocess.run(["sh", str(SSH_HOST_KEY), str(directory)], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)


def valid(key: Path) -> bool:
    return subprocess.run(["ssh-keygen", "-y", "-P", "", "-f", str(key)],
                          stdin=subprocess.DEVNULL, capture_output=True).returncode == 0


def test_a_box_makes_its_host_key_once(tmp_path):
    directory = tmp_path / "ssh"
    assert host_key(directory).returncode == 0
    key = directory / "ssh_host_ed25519_key"
    made = key.read_bytes()
    assert valid(key) and (directory / "ssh_host_ed25519_key.pub").is_file()
    assert host_key(directory).returncode == 0
    assert key.read_bytes() == made  # the next boot keeps it: clients know the box by it
    assert not list(directory.glob(".new_host_key*"))


@pytest.mark.parametrize("left", ["empty", "half"])
def test_a_host_key_a_power_cut_left_unwritten_is_made_again(tmp_path, left):
    """Seen in the power-cut test: the first boot made the key, the power went before ext4
    wrote its data, and every later boot's ssh-keygen asked "Overwrite (y/n)?" and failed."""
    directory = tmp_path / "ssh"
    assert host_key(directory).returncode == 0
    key = directory / "ssh_host_ed25519_key"
    whole = key.read_bytes()
    key.write_bytes(b"" if left == "empty" else whole[:len(whole) // 2])
    result = host_key(directory)
    assert result.returncode == 0, result.stdout + result.stderr
    assert valid(key) and key.read_bytes() != whole
    assert "made a new SSH host key" in result.stdout


def test_every_save_of_the_clock_goes_to_the_data_partition():
    """fake-hwclock reads its FILE from /etc/default/fake-hwclock only when its unit hands it
    over; without it the hourly save writes to the read-only root and fails."""
    default = (FILES / "etc/default/fake-hwclock").read_text(encoding="utf-8")
    assert "FILE=/data/fake-hwclock.data" in default.splitlines()
    units = [p for p in (FILES / "etc/systemd/system").rglob("*")
             if p.is_file() and "/sbin/fake-hwclock" in p.read_text(encoding="utf-8")]
    assert units
    for unit in units:
        assert "EnvironmentFile=-/etc/default/fake-hwclock" in \
            unit.read_text(encoding="utf-8").splitlines(), unit.name
