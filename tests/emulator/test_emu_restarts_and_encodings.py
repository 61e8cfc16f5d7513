"""The emulator's restarts in place, boot lines inside answers, errors in words, USSD in every
encoding and delivery reports announced at the wrong slot."""
import pytest
import serial

from edgebox.emulator import EmulatorServer, Latency
from edgebox.emulator.profiles import HUAWEI_E3531
from edgebox.emulator.sms_codec import packed_gsm7_hex, ucs2_hex
from tests.emulator.emu_support import Session

WAIT = 10.0


def test_a_brown_out_prints_the_power_down_and_boot_lines_and_resets_the_settings():
    session = Session("sim800", reboot=1.0)
    session.at("ATE0;+CLIP=1;+CNMI=2,1,0,1,0;+CMEE=2;+DDET=1;+CLTS=1")
    session.engine.reboot_in_place()
    assert session.engine.take_output() == b"\r\nUNDER-VOLTAGE POWER DOWN\r\n"
    assert session.at("AT") == ""  # nobody home while it restarts
    assert session.advance(5.0) == ("\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n"
                                    "\r\nCall Ready\r\n\r\nSMS Ready\r\n")
    settings = session.engine.settings
    assert (settings.echo, settings.clip, settings.cnmi, settings.cmee, settings.dtmf_detect,
            settings.clts) == (True, 0, (0, 0, 0, 0, 0), 0, 0, 0)
    assert session.at("AT+CLIP?") == "AT+CLIP?\r\r\n+CLIP: 0,1\r\n\r\nOK\r\n"
    assert [e["kind"] for e in session.log()][-1] == "booted"


def test_a_brown_out_with_a_slow_sim_answers_before_its_sim_is_ready():
    session = Session("sim800", reboot=1.0)
    session.engine.reboot_in_place(sim_seconds=4.0)
    session.engine.take_output()
    assert session.advance(1.0) == "\r\nRDY\r\n\r\n+CFUN: 1\r\n"
    assert session.at("AT+CPIN?") == "AT+CPIN?\r\r\n+CPIN: NOT READY\r\n\r\nOK\r\n"  # echo on
    assert session.at("AT+CSCA?") == "AT+CSCA?\r\r\nERROR\r\n"  # CMEE back at 0
    assert session.advance(4.0) == "\r\n+CPIN: READY\r\n\r\nCall Ready\r\n\r\nSMS Ready\r\n"
    assert session.at("AT+CPIN?") == "AT+CPIN?\r\r\n+CPIN: READY\r\n\r\nOK\r\n"


def test_a_brown_out_with_its_lines_lost_shows_only_in_the_settings():
    session = Session("ec25", reboot=1.0)
    session.at("ATE0;+CLIP=1")
    session.engine.reboot_in_place(lines_lost=True)
    assert session.advance(5.0) == ""
    assert session.at("AT+CLIP?") == "AT+CLIP?\r\r\n+CLIP: 0,1\r\n\r\nOK\r\n"


@pytest.mark.parametrize("profile, late", [
    ("ec25", ["+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"]),
    ("sim800", ["Call Ready", "SMS Ready"])])
def test_late_boot_lines_land_inside_the_identification_answers(profile, late):
    session = Session(profile, reboot=10.0)
    session.engine.power_on()
    session.engine.take_output()
    answers = session.at("ATE0") + session.at("AT+CSQ") + "".join(
        session.at(command) for command in ("AT+CGMI", "AT+CGMM", "AT+GMI"))
    seen = [e["line"] for e in session.log("boot_line_in_answer")]
    assert seen == late
    assert all(line in answers for line in late)
    assert session.advance(60.0) == ""  # each came once


def test_a_usb_profile_also_restarts_in_place_on_a_brown_out(tmp_path):
    emulator = EmulatorServer("sim7600", Latency.realistic(scale=0.02, reboot=0.2),
                              link=str(tmp_path / "modem"))
    with emulator, serial.Serial(emulator.port, 115200, timeout=WAIT) as port:
        emulator.reboot_in_place()
        assert port.read_until(b"PB DONE\r\n") == b"\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n"
        assert "unplugged" not in [e["kind"] for e in emulator.log()]


def test_random_restarts_in_place_are_repeatable_and_can_be_stopped(tmp_path):
    emulator = EmulatorServer("sim800", Latency.realistic(scale=0.02, reboot=0.05),
                              link=str(tmp_path / "modem"))
    with emulator:
        emulator.random_reboots(0.2, seed=3)
        emulator.wait_for(lambda log: sum(e["kind"] == "booted" for e in log) >= 3, WAIT)
        emulator.random_reboots(None)
        booted = sum(e["kind"] == "booted" for e in emulator.log())
        faults = [e for e in emulator.log() if e.get("fault") == "reboot_in_place"]
        assert faults and all(e["random"] for e in faults)
    with pytest.raises(ValueError):
        emulator.random_reboots(0)
    assert booted >= 3


@pytest.mark.parametrize("cmee, shown", [(0, "ERROR"), (1, "+CMS ERROR: 332"),
                                         (2, "+CMS ERROR: Network timeout")])
def test_submit_errors_in_numbers_or_words_as_cmee_asks(cmee, shown):
    session = Session("sim800")
    session.at(f"ATE0;+CMEE={cmee};+CMGF=1")
    session.engine.network.add_sms_error("13800138000", 332, None, "86")
    session.at('AT+CMGS="13800138000"')
    assert session.send("hello\x1a").decode() + session.advance(1.0) == f"\r\n{shown}\r\n"


BALANCE = "Balance 3.20 yuan"


@pytest.mark.parametrize("style, shown, dcs", [
    ("auto", BALANCE, 15), ("ucs2", ucs2_hex(BALANCE), 72), ("ucs2_dcs15", ucs2_hex(BALANCE), 15),
    ("text", BALANCE, 15), ("packed", packed_gsm7_hex(BALANCE), 15)])
def test_ussd_answers_in_each_encoding(style, shown, dcs):
    session = Session()
    session.at("ATE0")
    session.engine.network.balance_text = BALANCE
    session.engine.network.ussd_style = style
    code = packed_gsm7_hex("*100#") if style == "packed" else "*100#"
    assert session.at(f'AT+CUSD=1,"{code}",15') == f'\r\nOK\r\n\r\n+CUSD: 0,"{shown}",{dcs}\r\n'


def test_a_huawei_stick_wants_its_ussd_request_packed():
    session = Session(HUAWEI_E3531)
    session.at("ATE0")
    assert session.at('AT+CUSD=1,"*100#",15') == "\r\nOK\r\n\r\n+CUSD: 4\r\n"
    answer = session.at('AT+CUSD=1,"AA180C3602",15')  # *100#, packed
    assert answer.startswith('\r\nOK\r\n\r\n+CUSD: 0,"') and answer.endswith('",72\r\n')


@pytest.mark.parametrize("how", ["empty", "other_memory"])
def test_a_report_announced_at_the_wrong_slot_reads_as_nothing_there(how):
    session = Session("sim800")
    session.at("ATE0;+CMGF=1;+CNMI=2,1,0,1,0;+CSMP=49,167,0,0")
    session.engine.network.report_slot = how
    session.at('AT+CMGS="13800138000"')
    output = session.send("hello\x1a").decode() + session.advance(1.0)
    slot = output.split('+CDSI: "SM",')[1].split("\r\n")[0]
    assert session.at(f"AT+CMGR={slot}") == "\r\nOK\r\n"  # an empty +CMGR: only OK
    assert len(session.sms.storages["SR"]) == 1  # the report itself is in "SR"
