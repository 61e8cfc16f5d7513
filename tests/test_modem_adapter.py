"""The modem adapter: python-gsmmodem-new over a real pty, with the library's traps fixed."""
import os
import queue
import threading
import time
import tty

import pytest

from edgebox.adapters.modem import IncomingCall, IncomingSms, SerialModem
from edgebox.adapters.modem.gsm_patched import PatchedGsmModem
from edgebox.emulator import EmulatorServer, Latency
from edgebox.errors import ModemError, ModemRestarted


class BarePty:
    """The far end of a pty that the test writes raw bytes into: what no polite modem sends."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self.lines: queue.Queue = queue.Queue()
        self.lost: queue.Queue = queue.Queue()
        self.modem = PatchedGsmModem(self.port, 115200, "none", on_line=self.lines.put,
                                     on_lost=self.lost.put, on_sms=lambda sms: None)
        self.modem.connect_port()

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def read_command(self, timeout=5.0) -> bytes:
        deadline, data = time.monotonic() + timeout, b""
        while not data.endswith(b"\r") and time.monotonic() < deadline:
            data += os.read(self.master, 1024)
        return data

    def close(self):
        self.modem.close()
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


@pytest.fixture
def bare():
    peer = BarePty()
    yield peer
    peer.close()


def test_reader_survives_bytes_that_are_not_utf8(bare):
    bare.send(b"\xff\xfe\x80junk\r\n\x00\r\n")
    bare.send(b'+CLIP: "13800138000",129,"",,"",0\r\n')
    assert bare.lines.get(timeout=5) == "\ufffd\ufffd\ufffdjunk"
    assert bare.lines.get(timeout=5) == '+CLIP: "13800138000",129,"",,"",0'
    assert bare.modem.alive


def test_unsolicited_line_inside_a_response_is_not_swallowed(bare):
    result = {}
    writer = threading.Thread(target=lambda: result.update(lines=bare.modem.write("AT+CSQ")))
    writer.start()
    assert bare.read_command() == b"AT+CSQ\r"
    bare.send(b'\r\nRING\r\n\r\n+CLIP: "13800138000",129\r\n+CSQ: 20,99\r\n\r\nOK\r\n')
    writer.join(10)
    assert result["lines"] == ["+CSQ: 20,99", "OK"]
    assert [bare.lines.get(timeout=5), bare.lines.get(timeout=5)] == [
        "RING", '+CLIP: "13800138000",129']


def test_a_port_that_vanishes_is_reported_not_silent(bare):
    os.close(bare.master)
    assert "Error" in bare.lost.get(timeout=5) or bare.lost.qsize() == 0
    assert not bare.modem.alive


def test_device_busy_retries_are_bounded(bare):
    errors = []

    def answer_busy():
        try:
            for _ in range(10):
                if not bare.read_command(timeout=4):
                    return
                bare.send(b"\r\n+CME ERROR: 515\r\n")
        except OSError:
            return  # the fixture closed the pty: the test is over

    peer = threading.Thread(target=answer_busy, daemon=True)
    peer.start()
    try:
        bare.modem.write("AT+CSQ", timeout=2)
    except ModemError as exc:
        errors.append(str(exc))
    assert errors and "busy" in errors[0]


@pytest.fixture
def emulator(tmp_path):
    emu = EmulatorServer(link=str(tmp_path / "modem"),
                         latency=Latency.realistic(scale=0.02, call_setup=5, ring_timeout=25))
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def modem(emulator):
    m = SerialModem(emulator.link, command_timeout=5)
    m.start()
    yield m
    m.stop()


def test_sms_in_chinese_and_in_parts(modem, emulator):
    assert len(modem.send_sms("+8613800138000", "张三家着火了，请速来！")) == 1
    assert len(modem.send_sms("13800138000", "长" * 150)) == 3
    assert len(modem.send_sms("13800138000", "救命🔥")) == 1
    sent = [e for e in emulator.log() if e["kind"] == "sms_sent"]
    assert [(e["text"], e["parts"]) for e in sent] == [
        ("张三家着火了，请速来！", 1), ("长" * 150, 3), ("救命?", 1)]


def test_incoming_call_with_national_and_international_numbers(modem, emulator):
    emulator.call("13800138000")
    assert modem.events.get(timeout=5) == IncomingCall("13800138000", 129, modem="modem")
    modem.reject_call()
    emulator.call("+8613900139000")
    assert modem.events.get(timeout=5) == IncomingCall("+8613900139000", 145, modem="modem")
    modem.reject_call()
    emulator.wait_for(lambda log: sum(e["kind"] == "call_received" for e in log) == 2, 5)
    assert [e["outcome"] for e in emulator.log() if e["kind"] == "call_received"] == [
        "rejected", "rejected"]


def test_a_call_ringing_on_is_the_same_call_however_long_until_the_hang_up(modem, emulator):
    # The network repeats +CLIP every 5-6 s; a submit may hold the port that long and more.
    emulator.call("13800138000", rings=3, ring_interval=3.5)
    assert modem.events.get(timeout=5) == IncomingCall("13800138000", 129, modem="modem")
    assert modem.events.get(timeout=10) == IncomingCall("13800138000", 129, True, "modem")
    modem.reject_call()
    emulator.call("13800138000")  # called again once hung up on: a call of its own
    assert modem.events.get(timeout=5) == IncomingCall("13800138000", 129, modem="modem")
    modem.reject_call()


def test_a_caller_who_gave_up_and_calls_again_is_a_new_call(modem, emulator):
    emulator.call("13800138000", rings=1, ring_interval=0.2)
    assert modem.events.get(timeout=5) == IncomingCall("13800138000", 129, modem="modem")
    emulator.wait_for(lambda log: any(e["kind"] == "call_received" for e in log), 5)
    emulator.call("13800138000")
    assert modem.events.get(timeout=5) == IncomingCall("13800138000", 129, modem="modem")
    modem.reject_call()


def test_incoming_sms_and_sms_waiting_on_the_sim_at_start(emulator):
    emulator.sms("+8613800138000", "火")  # arrives while nothing is connected
    modem = SerialModem(emulator.link)
    modem.start()
    try:
        assert modem.events.get(timeout=5) == IncomingSms("+8613800138000", "火", "modem")
        emulator.sms("13800138001", "收到")
        assert modem.events.get(timeout=5) == IncomingSms("13800138001", "收到", "modem")
    finally:
        modem.stop()


def test_ring_outcomes(modem, emulator):
    assert modem.ring("+8613800138000", 5).result == "no_answer"  # the network gave up
    emulator.set_callee("+8613800138001", busy=True)
    assert modem.ring("+8613800138001", 5).result == "busy"
    emulator.set_callee("+8613800138002", answer_after=0.2)
    assert modem.ring("+8613800138002", 5).result == "answered"
    emulator.set_latency(ring_timeout=3000)  # real seconds: 60 s on this scale
    outcome = modem.ring("+8613800138003", 1.0)  # our own limit ends it
    assert outcome.result == "hung_up" and outcome.alerting_seconds > 0
    outcomes = [e["outcome"] for e in emulator.log() if e["kind"] == "call_placed"]
    assert outcomes == ["no_answer", "busy", "answered", "hung_up_by_box"]


def test_missing_port_is_a_modem_error(tmp_path):
    with pytest.raises(ModemError, match="cannot open modem port"):
        SerialModem(str(tmp_path / "nothing-here")).start()


def _answer_in_thread(bare, command, **options):
    result = {}

    def run():
        try:
            result["lines"] = bare.modem.write(command, **options)
        except Exception as exc:  # the test looks at what was raised
            result["error"] = exc
    writer = threading.Thread(target=run)
    writer.start()
    return writer, result


def test_an_error_in_words_ends_the_command_at_once(bare):
    writer, result = _answer_in_thread(bare, "AT+CMGS=23", timeout=30)
    assert bare.read_command() == b"AT+CMGS=23\r"
    bare.send(b"\r\n+CMS ERROR: Network timeout\r\n")
    writer.join(5)  # far inside the command's own 30 s
    assert not writer.is_alive()
    assert "CommandError" in type(result["error"]).__name__ or "CMS" in str(result["error"])
    assert bare.modem.last_error == "+CMS ERROR: Network timeout"


def test_sim_busy_in_words_is_retried_like_its_number(bare):
    writer, result = _answer_in_thread(bare, "AT+CPMS?", timeout=5)
    assert bare.read_command() == b"AT+CPMS?\r"
    bare.send(b"\r\n+CME ERROR: SIM busy\r\n")
    assert bare.read_command() == b"AT+CPMS?\r"  # asked again, not given up
    bare.send(b'\r\n+CPMS: "SM",0,50\r\n\r\nOK\r\n')
    writer.join(5)
    assert result["lines"] == ['+CPMS: "SM",0,50', "OK"]


def test_boot_lines_inside_an_answer_are_notifications_and_end_a_waiting_command(bare):
    writer, result = _answer_in_thread(bare, "AT+CGMI", timeout=5)
    bare.read_command()
    bare.send(b"\r\n+QIND: SMS DONE\r\nQuectel\r\n\r\nOK\r\n")  # while starting: just moved aside
    writer.join(5)
    assert result["lines"] == ["Quectel", "OK"]
    assert bare.lines.get(timeout=5) == "+QIND: SMS DONE"
    bare.modem.watch_restarts = True
    writer, result = _answer_in_thread(bare, "AT+CMGS=23", timeout=30)
    bare.read_command()
    bare.send(b"\r\nRDY\r\n")
    writer.join(5)
    assert isinstance(result["error"], ModemRestarted)
    assert bare.lines.get(timeout=5) == "RDY"


def test_a_setting_read_back_is_an_answer_not_a_caller(bare):
    writer, result = _answer_in_thread(bare, "AT+CLIP?", timeout=5)
    bare.read_command()
    bare.send(b"\r\n+CLIP: 1,1\r\n\r\nOK\r\n")
    writer.join(5)
    assert result["lines"] == ["+CLIP: 1,1", "OK"]
    writer, result = _answer_in_thread(bare, "AT+CPIN?", timeout=5)
    bare.read_command()
    bare.send(b"\r\n+CPIN: READY\r\n\r\nOK\r\n")  # the answer, though also a boot line
    writer.join(5)
    assert result["lines"] == ["+CPIN: READY", "OK"]


def read_commands(bare, last: bytes, react) -> list[bytes]:
    """The commands the host types, split at CR, until ``last`` has come; ``react`` sees
    them all each time new ones come (and answers, as the modem would)."""
    buffer, commands = b"", []
    while last not in commands:
        buffer += os.read(bare.master, 1024)
        *whole, buffer = buffer.split(b"\r")
        if whole:
            commands += whole
            react(commands)
    return commands


def the_init_reads_its_own_answer(bare, react) -> list[bytes]:
    """The wait for a booting modem, the modem answering as ``react`` says, then the init's
    AT+CFUN?, which must read its own answer; the commands the modem saw."""
    seen: list[bytes] = []

    def peer():
        seen.extend(read_commands(bare, b"AT+CFUN?", react))
        bare.send(b"\r\n+CFUN: 1\r\n\r\nOK\r\n")

    answering = threading.Thread(target=peer, daemon=True)
    answering.start()
    bare.modem.wait_until_answering(5)
    assert bare.modem.write("AT+CFUN?") == ["+CFUN: 1", "OK"]
    answering.join(5)
    return seen


def test_a_modem_that_answers_its_first_at_late_leaves_no_answer_shifted(bare):
    """Booting (or on a loaded box), the modem answers the first "AT" after the half second
    the wait gives each: a second "AT" has been written by then. Both answers come; the
    command after the wait must read its own answer, not the second "AT"'s (the library's
    loop read the answer of the command before from then on, and its init died at
    AT+CFUN? with a TypeError)."""
    def react(commands):
        if commands == [b"AT"]:
            time.sleep(0.8)  # the first AT is answered late: a second is written meanwhile
        elif commands == [b"AT", b"AT"]:
            bare.send(b"\r\nOK\r\n")
            time.sleep(0.2)
            bare.send(b"\r\nOK\r\n")

    assert the_init_reads_its_own_answer(bare, react) == [b"AT", b"AT", b"AT+CFUN?"]
