"""Faults over the real pty: the port vanishing and coming back, resets, line noise, and the fault CLI."""
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
import serial
from click.testing import CliRunner

from edgebox.emulator import EmulatorClient, EmulatorServer, Latency
from edgebox.emulator.cli import emulator as emulator_cli

WAIT = 20.0  # generous: nothing here is timed, these only bound a wait for a condition


@pytest.fixture
def short_dir():
    path = tempfile.mkdtemp(prefix="emu-")
    yield Path(path)
    shutil.rmtree(path, ignore_errors=True)


def kinds(entries):
    return [entry["kind"] for entry in entries]


def has(kind):
    def predicate(entries):
        return kind in kinds(entries)
    predicate.__name__ = f"log has {kind}"
    return predicate


def exchange(port, command: bytes, until: bytes = b"OK\r\n") -> bytes:
    port.write(command)
    return port.read_until(until)


def port_fails(port) -> bool:
    """True once reading or writing the port raises, as with a pulled USB modem."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            port.write(b"AT\r")
            port.read(1)
        except serial.SerialException:
            return True
    return False


def test_unplug_removes_the_port_and_a_new_one_appears(short_dir):
    link = short_dir / "modem"
    with EmulatorServer("sim7600", link=str(link)) as emu:
        old_port = emu.port
        with serial.Serial(str(link), 115200, timeout=WAIT) as port:
            assert exchange(port, b"ATE0;+CMGF=1\r").endswith(b"OK\r\n")
            emu.unplug(0.3)
            assert not link.is_symlink() and emu.port is None
            assert port_fails(port)
        entries = emu.wait_for(has("replugged"), WAIT)
        assert emu.port != old_port and link.resolve() == Path(emu.port).resolve()
        assert entries[-2]["kind"] == "replugged" and entries[-2]["port"] == emu.port
        assert [k for k in kinds(entries) if k in ("fault", "unplugged", "replugged", "booted")] == [
            "fault", "unplugged", "replugged", "booted"]
        with serial.Serial(str(link), 115200, timeout=WAIT) as port:
            # Boot lines (RDY ... PB DONE) may come first, if they were not flushed by the open.
            assert exchange(port, b"AT+CMGF?\r").endswith(b"AT+CMGF?\r\r\n+CMGF: 0\r\n\r\nOK\r\n")


def test_reset_on_a_usb_profile_reenumerates_the_port(short_dir):
    link = short_dir / "modem"
    with EmulatorServer("ec25", latency=Latency.realistic(scale=0.02, reboot=0.2),
                                                          link=str(link)) as emu:
        old_port = emu.port
        with serial.Serial(str(link), 115200, timeout=WAIT) as port:
            assert exchange(port, b"AT+CFUN=1,1\r") == b"AT+CFUN=1,1\r\r\nOK\r\n"  # OK comes first
            assert port_fails(port)
        emu.wait_for(has("booted"), WAIT)
        assert emu.port not in (None, old_port)
        emu.reboot()
        assert [e.get("fault") for e in emu.log() if e["kind"] == "fault"] == ["reboot"]
        emu.wait_for(lambda entries: kinds(entries).count("booted") == 2, WAIT)
        with serial.Serial(str(link), 115200, timeout=WAIT) as port:
            assert exchange(port, b"AT+CGMI\r").endswith(b"Quectel\r\n\r\nOK\r\n")


def test_reset_on_sim800_keeps_the_port_and_prints_boot_lines():
    with EmulatorServer("sim800", latency=Latency.realistic(scale=0.02, reboot=0.2)) as emu:
        old_port = emu.port
        with serial.Serial(emu.port, 115200, timeout=WAIT) as port:
            assert exchange(port, b"ATE0;+CFUN=1,1\r") == b"ATE0;+CFUN=1,1\r\r\nOK\r\n"
            assert port.read_until(b"SMS Ready\r\n") == (
                b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n\r\nSMS Ready\r\n")
            emu.reboot()
            assert port.read_until(b"SMS Ready\r\n").endswith(b"SMS Ready\r\n")
            assert exchange(port, b"AT\r") == b"AT\r\r\nOK\r\n"  # echo back on after boot
        assert emu.port == old_port and "unplugged" not in kinds(emu.log())


def test_garbage_reaches_the_host_byte_for_byte():
    with EmulatorServer() as emu:
        with serial.Serial(emu.port, 115200, timeout=WAIT) as port:
            noise = b"\x00\xff\xfe+CM\r\n\x80\x00half a li"
            emu.garbage(noise)
            assert port.read(len(noise)) == noise
            assert exchange(port, b"\rAT\r").endswith(b"OK\r\n")


def test_stuck_command_over_the_port_and_through_the_cli(short_dir):
    socket_path = str(short_dir / "control.sock")
    with EmulatorServer(control=socket_path) as emu:
        result = CliRunner().invoke(emulator_cli, ["fault", "--control", socket_path, "stuck",
                                                   "--prefix", "AT+CSQ"])
        assert result.exit_code == 0, result.output
        with serial.Serial(emu.port, 115200, timeout=WAIT) as port:
            port.write(b"AT+CSQ\r")  # echoed, never answered: the next command's answer comes first
            assert exchange(port, b"AT+CGMM\r") == b"AT+CSQ\rAT+CGMM\r\r\nEMU-1\r\n\r\nOK\r\n"
            assert exchange(port, b"AT+CSQ\r") == b"AT+CSQ\r\r\n+CSQ: 23,99\r\n\r\nOK\r\n"
        (fault,) = [e for e in emu.log() if e["kind"] == "fault"]
        assert (fault["fault"], fault["prefix"], fault["count"]) == ("stuck", "AT+CSQ", 1)


def test_every_fault_through_the_client(short_dir):
    socket_path = str(short_dir / "control.sock")
    with EmulatorServer("sim800", control=socket_path) as emu:
        client = EmulatorClient(socket_path)
        client.network(False, rssi=99)
        client.sms_error("+8613800138000", 500, count=2)
        client.sim_not_ready(0.2)
        client.garbage(b"\x00\xff")
        client.set_delivery("13800138000", "failed")
        client.set_balance("Balance 1.00")
        client.set_clock_offset(-60)
        client.set_callee("13800138000", answer_after=1.0, press="1", press_after=0.5)
        client.unplug(0.1)
        client.wait_for(has("replugged"), WAIT)
        client.reboot()
        faults = [e["fault"] for e in client.log() if e["kind"] == "fault"]
        assert faults == ["network", "sms_error", "sim_not_ready", "garbage", "unplug", "reboot"]
        with pytest.raises(RuntimeError, match="rssi"):
            client.network(True, rssi=50)
        with pytest.raises(RuntimeError, match="press"):  # keys in turn, but only DTMF keys
            client.set_callee("13800138000", press="1x")
        assert emu.engine.network.balance_text == "Balance 1.00"


@pytest.mark.parametrize("arguments, complaint", [
    (["unplug"], "unplug needs --seconds"), (["garbage", "--data-hex", "zz"], "not hex"),
    (["network"], "network needs --registered/--unregistered")])
def test_fault_cli_rejects_missing_options(short_dir, arguments, complaint):
    socket_path = str(short_dir / "control.sock")
    with EmulatorServer(control=socket_path):
        result = CliRunner().invoke(emulator_cli, ["fault", "--control", socket_path, *arguments])
        assert result.exit_code == 2 and complaint in result.output


def test_fault_help_has_an_example():
    result = CliRunner().invoke(emulator_cli, ["fault", "--help"])
    assert result.exit_code == 0 and "Example: edgebox emulator fault " in result.output


def test_several_emulators_in_one_process_are_independent():
    with EmulatorServer("sim800") as first, EmulatorServer("ec25") as second:
        first.stuck("AT+CGMI")
        second.sms("+8613800138000", "only for the second")
        with serial.Serial(first.port, 115200, timeout=WAIT) as one, \
                serial.Serial(second.port, 115200, timeout=WAIT) as two:
            one.write(b"AT+CGMI\r")
            assert exchange(one, b"AT\r") == b"AT+CGMI\rAT\r\r\nOK\r\n"  # the first one hangs
            assert exchange(two, b"AT+CGMI\r").endswith(b"Quectel\r\n\r\nOK\r\n")
        assert "sms_received" not in kinds(first.log()) and "fault" not in kinds(second.log())
        first.unplug(0.1)
        assert second.port is not None and os.path.exists(second.port)
        first.wait_for(has("replugged"), WAIT)
