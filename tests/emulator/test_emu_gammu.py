"""Debian's gammu, an independent AT client, against the emulator."""
import os
import shutil
import subprocess

import pytest

from edgebox.emulator import EmulatorServer

pytestmark = pytest.mark.slow

if shutil.which("gammu") is None and not os.environ.get("CI"):
    pytest.skip("gammu is not installed (apt-get install gammu); required when CI is set",
                allow_module_level=True)


@pytest.fixture(scope="module")
def emulator():
    with EmulatorServer() as emu:
        yield emu


@pytest.fixture(scope="module")
def gammurc(emulator, tmp_path_factory):
    path = tmp_path_factory.mktemp("gammu") / "gammurc"
    path.write_text(f"[gammu]\ndevice = {emulator.port}\nconnection = at115200\n")
    return path


def gammu(rc, *args):
    result = subprocess.run(["gammu", "-c", str(rc), *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"gammu {args} failed: {result.stdout}\n{result.stderr}"
    return result.stdout


def sent_to(emulator, number):
    return [e for e in emulator.log() if e["kind"] == "sms_sent" and e["number"] == number]


def test_identify(gammurc):
    output = gammu(gammurc, "identify")
    assert "edgebox" in output and "866123045678901" in output and "460001234567890" in output


def test_sendsms_plain_text(emulator, gammurc):
    gammu(gammurc, "sendsms", "TEXT", "+8613800138000", "-text", "hello from gammu")
    entry = sent_to(emulator, "+8613800138000")[-1]
    assert (entry["text"], entry["encoding"], entry["parts"]) == ("hello from gammu", "gsm7", 1)


def test_sendsms_unicode(emulator, gammurc):
    gammu(gammurc, "sendsms", "TEXT", "+8613800138000", "-unicode", "-text", "你好")
    entry = sent_to(emulator, "+8613800138000")[-1]
    assert (entry["text"], entry["encoding"]) == ("你好", "ucs2")
