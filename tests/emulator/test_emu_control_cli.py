"""Driving an emulator from outside: the control socket, EmulatorClient and the CLI."""
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import serial
from click.testing import CliRunner

from edgebox.emulator import EmulatorClient, EmulatorServer
from edgebox.emulator.cli import emulator as emulator_cli

WAIT = 20.0
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def short_dir():
    """Unix socket paths are limited to ~108 bytes, so keep them out of deep pytest tmp dirs."""
    path = tempfile.mkdtemp(prefix="emu-")
    yield Path(path)
    shutil.rmtree(path, ignore_errors=True)


def test_client_round_trip(short_dir):
    socket_path = str(short_dir / "control.sock")
    with EmulatorServer(control=socket_path) as emu:
        client = EmulatorClient(socket_path)
        assert client.ping()["port"] == emu.port
        assert client.set_latency(sms_submit=0.5)["sms_submit"] == 0.5
        with pytest.raises(RuntimeError, match="unknown latency"):
            client.set_latency(warp=1)
        client.set_callee("+8613800138000", answer_after=1.0, hangup_after=2.0)
        received = client.sms("+8613900000001", "王五：着火了")
        assert received["kind"] == "sms_received" and received["parts"] == 1
        call = client.call("+8613900000001", rings=2, ring_interval=0.1)
        entries = client.wait_for(
            lambda log: any(e["kind"] == "call_received" and e["id"] == call["id"] for e in log), WAIT)
        assert [e["kind"] for e in entries] == ["sms_received", "call_received"]
        assert entries[1]["outcome"] == "missed"
        assert all(isinstance(e["at"], float) for e in entries)
        with pytest.raises(TimeoutError, match="never_true"):
            def never_true(log):
                return False
            client.wait_for(never_true, timeout=0.2)
        assert emu.engine.latency.sms_submit == 0.5
    assert not os.path.exists(socket_path)


def start_serve(short_dir):
    link, socket_path = short_dir / "modem", short_dir / "control.sock"
    command = [sys.executable, "-c", "from edgebox.emulator.cli import emulator; emulator()", "serve",
               "--link", str(link), "--control", str(socket_path), "--ring-timeout", "5"]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    ready, _, _ = select.select([process.stdout], [], [], WAIT)
    if not ready:
        process.kill()
        pytest.fail(f"serve did not become ready: {process.stderr.read()}")
    return process, process.stdout.readline().strip(), link, socket_path


@pytest.mark.slow
def test_cli_serve_sms_call_and_log(short_dir):
    process, ready_line, link, socket_path = start_serve(short_dir)
    try:
        assert ready_line.startswith("emulator ready: port=/dev/")
        assert ready_line.endswith(f" link={link} control={socket_path}")
        runner = CliRunner()

        result = runner.invoke(emulator_cli, ["sms", "--control", str(socket_path), "+8613800138000", "着火了"])
        assert result.exit_code == 0, result.output
        assert "着火了" in result.output

        result = runner.invoke(emulator_cli, ["call", "--control", str(socket_path), "13800138000",
                                              "--rings", "2", "--ring-interval", "0.1"])
        assert result.exit_code == 0, result.output
        assert "missed" in result.output

        # The box rejects the next call over the real port, like the daemon will.
        with serial.Serial(str(link), 115200, timeout=WAIT) as port:
            port.write(b"ATE0;+CLIP=1\r")
            assert port.read_until(b"OK\r\n").endswith(b"OK\r\n")
            EmulatorClient(str(socket_path)).call("+8613900000002", rings=50)
            assert b'+CLIP: "+8613900000002",145' in port.read_until(b',0\r\n')
            port.write(b"ATH\r")
            assert port.read_until(b"OK\r\n").endswith(b"OK\r\n")

        result = runner.invoke(emulator_cli, ["log", "--control", str(socket_path), "--json"])
        assert result.exit_code == 0, result.output
        entries = json.loads(result.output)
        assert result.output.count("\n") == 1 and "着火了" in result.output  # ensure_ascii=False
        assert [(e["kind"], e.get("outcome")) for e in entries] == [
            ("sms_received", None), ("call_received", "missed"), ("call_received", "rejected")]

        result = runner.invoke(emulator_cli, ["log", "--control", str(socket_path)])
        assert result.exit_code == 0 and len(result.output.splitlines()) == 3
        assert "rejected after" in result.output
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=WAIT)
        process.stdout.close()
        process.stderr.close()
    assert process.returncode == 0
    assert not link.is_symlink() and not socket_path.exists()


@pytest.mark.parametrize("command", ["serve", "call", "sms", "log"])
def test_every_command_has_an_example_in_its_help(command):
    result = CliRunner().invoke(emulator_cli, [command, "--help"])
    assert result.exit_code == 0 and f"Example: edgebox emulator {command} " in result.output


def test_cli_faults_for_restarts_reports_and_ussd(short_dir):
    socket_path = short_dir / "emu.sock"
    with EmulatorServer("sim800", link=str(short_dir / "modem"), control=str(socket_path)) as emu:
        runner = CliRunner()

        def fault(*arguments):
            result = runner.invoke(emulator_cli, ["fault", "--control", str(socket_path),
                                                  *arguments])
            assert result.exit_code == 0, result.output
            return result.output

        with serial.Serial(emu.port, 115200, timeout=WAIT) as port:
            port.write(b"ATE0;+CLIP=1\r")
            port.read_until(b"OK\r\n")
            assert "injected" in fault("reboot-in-place")
            assert port.read_until(b"+CPIN: READY\r\n").startswith(b"\r\nUNDER-VOLTAGE POWER DOWN")
        fault("reboot-in-place", "--lines-lost")
        fault("random-reboots", "--mean-seconds", "30", "--seed", "1")
        fault("random-reboots", "--mean-seconds", "0")
        fault("report-slot", "--how", "other_memory")
        fault("ussd-style", "--style", "packed")
        assert emu.engine.network.report_slot == "other_memory"
        assert emu.engine.network.ussd_style == "packed"
        fault("report-slot", "--how", "off")
        assert emu.engine.network.report_slot is None
        logged = [(e["fault"], e.get("lines_lost")) for e in emu.log() if e["kind"] == "fault"]
        assert logged == [("reboot_in_place", False), ("reboot_in_place", True),
                          ("random_reboots", None), ("random_reboots", None),
                          ("report_slot", None), ("report_slot", None)]
        result = runner.invoke(emulator_cli, ["fault", "--control", str(socket_path),
                                              "random-reboots"])
        assert result.exit_code != 0 and "--mean-seconds" in result.output
