"""Where the modem profiles differ, on a fake clock: identity, caller id, registration, DTMF, TTS, URCs."""
import pytest
from emu_support import Session

from edgebox.emulator import PROFILES
from edgebox.emulator.sms_codec import ucs2_hex

IDENTITY = {
    "generic": ("edgebox", "EMU-1"),
    "sim800": ("SIMCOM_Ltd", "SIM800L"),
    "sim7600": ("SIMCOM INCORPORATED", "SIMCOM_SIM7600G-H"),
    "ec25": ("Quectel", "EC25"),
}


def session_for(profile, **latency):
    session = Session(profile, **latency)
    session.at("ATE0;+CMEE=1;+CLIP=1")
    return session


@pytest.mark.parametrize("profile", sorted(IDENTITY))
def test_identity_strings_and_echo_at_power_up(profile):
    session = Session(profile)
    manufacturer, model = IDENTITY[profile]
    assert session.at("AT+CGMI") == f"AT+CGMI\r\r\n{manufacturer}\r\n\r\nOK\r\n"  # echo on at power-up
    session.at("ATE0")
    assert session.at("AT+CGMM") == f"\r\n{model}\r\n\r\nOK\r\n"
    assert session.at("AT+CGMR") == f"\r\n{PROFILES[profile].revision}\r\n\r\nOK\r\n"


def test_sim800_rings_then_shows_the_caller_in_national_form():
    session = session_for("sim800")
    session.calls.ring_box("+8613800138000")
    assert session.engine.take_output() == b'\r\nRING\r\n\r\n+CLIP: "13800138000",129,"",,"",0\r\n'


@pytest.mark.parametrize("profile", ["sim7600", "ec25"])
def test_lte_modules_show_the_caller_in_international_form(profile):
    session = session_for(profile)
    session.calls.ring_box("13800138000")
    assert '+CLIP: "+8613800138000",145,' in session.engine.take_output().decode()


def test_sim7600_sends_cring_after_crc():
    session = session_for("sim7600")
    session.at("AT+CRC=1")
    session.calls.ring_box("13800138000")
    assert session.engine.take_output() == (
        b'\r\n+CRING: VOICE\r\n\r\n+CLIP: "+8613800138000",145,"",,"",0\r\n')


def test_ec25_shows_the_caller_before_ring():
    session = session_for("ec25")
    session.calls.ring_box("13800138000")
    assert session.engine.take_output() == b'\r\n+CLIP: "+8613800138000",145,"",,"",0\r\n\r\nRING\r\n'


def test_clip_without_ring_variant():
    session = Session(PROFILES["sim800"].with_changes(clip_without_ring=True))
    session.at("ATE0;+CLIP=1")
    session.calls.ring_box("13800138000", rings=3, ring_interval=1.0)
    output = session.engine.take_output().decode() + session.advance(1.5)
    assert "RING" not in output and output.count('+CLIP: "13800138000",129') == 2


def test_registration_per_radio():
    generic, sim800, sim7600 = session_for("generic"), session_for("sim800"), session_for("sim7600")
    assert generic.at("AT+CREG?") == "\r\n+CREG: 0,1\r\n\r\nOK\r\n"
    assert generic.at("AT+CEREG?") == "\r\n+CEREG: 0,1\r\n\r\nOK\r\n"
    assert sim800.at("AT+CREG?") == "\r\n+CREG: 0,1\r\n\r\nOK\r\n"
    assert sim800.at("AT+CEREG?") == "\r\n+CME ERROR: 100\r\n"  # 2G only
    assert sim7600.at("AT+CREG?") == "\r\n+CREG: 0,0\r\n\r\nOK\r\n"  # camped on LTE
    assert sim7600.at("AT+CEREG?") == "\r\n+CEREG: 0,1\r\n\r\nOK\r\n"
    assert sim800.at("AT+COPS?") == '\r\n+COPS: 0,0,"CHINA MOBILE"\r\n\r\nOK\r\n'
    assert sim7600.at("AT+COPS?") == '\r\n+COPS: 0,0,"CHINA MOBILE",7\r\n\r\nOK\r\n'


def ring_member(session, press_after=2.0):
    session.calls.set_callee("13800138000", answer_after=1.0, press="1", press_after=press_after)
    assert session.at("ATD13800138000;") == "\r\nOK\r\n"


@pytest.mark.parametrize("profile, enable, report", [
    ("generic", "AT+DDET=1", "+DTMF: 1"), ("sim800", "AT+DDET=1", "+DTMF: 1"),
    ("sim7600", "AT+DDET=1", "+DTMF: 1"), ("ec25", "AT+QTONEDET=1", "+QTONEDET: 49")])
def test_dtmf_report_format_per_profile(profile, enable, report):
    session = session_for(profile)
    assert session.at(enable) == "\r\nOK\r\n"
    ring_member(session)
    assert session.advance(2.9) == ""
    assert session.advance(0.2) == f"\r\n{report}\r\n"
    (entry,) = session.log("dtmf")
    assert (entry["number"], entry["digit"], entry["reported"]) == ("13800138000", "1", True)


@pytest.mark.parametrize("profile, foreign", [("sim800", "AT+QTONEDET=1"), ("ec25", "AT+DDET=1")])
def test_the_other_vendors_dtmf_command_is_unknown(profile, foreign):
    assert session_for(profile).at(foreign) == "\r\n+CME ERROR: 100\r\n"


def test_a_key_pressed_without_detection_is_logged_but_not_reported():
    session = session_for("sim800")
    ring_member(session, press_after=0.5)
    assert session.advance(5.0) == ""
    assert session.log("dtmf")[0]["reported"] is False


def test_colp_on_answer_only_when_enabled():
    session = session_for("sim800")
    session.calls.set_callee("+8613800138000", answer_after=1.0)
    session.at("ATD+8613800138000;")
    assert session.advance(2.0) == ""
    session.at("ATH")
    session.at("AT+COLP=1")
    session.at("ATD+8613800138000;")
    assert session.advance(2.0) == '\r\n+COLP: "13800138000",129\r\n'
    session.at("ATH")
    assert [e["outcome"] for e in session.log("call_placed")] == ["answered", "answered"]


@pytest.mark.parametrize("profile, command", [("sim7600", "+CTTS"), ("ec25", "+QTTS")])
def test_tts_plays_for_its_length_then_reports_the_end(profile, command):
    session = session_for(profile, tts_per_char=0.5)
    text = "张三家着火了"
    assert session.at(f'AT{command}=1,"{ucs2_hex(text)}"') == "\r\n+CME ERROR: 3\r\n"  # no call yet
    ring_member(session, press_after=60.0)
    session.advance(1.5)
    assert session.at(f'AT{command}=1,"{ucs2_hex(text)}"') == "\r\nOK\r\n"
    assert session.at(f'AT{command}=2,"again"') == "\r\n+CME ERROR: 3\r\n"  # still playing
    assert session.advance(2.9) == ""
    assert session.advance(0.2) == f"\r\n{command}: 0\r\n"
    assert session.at(f'AT{command}=2,"come now"') == "\r\nOK\r\n"
    session.advance(5.0)
    assert [(e["number"], e["text"]) for e in session.log("tts")] == [
        ("13800138000", text), ("13800138000", "come now")]


def test_sim800_has_no_tts():
    session = session_for("sim800")
    ring_member(session)
    session.advance(1.5)
    assert session.at('AT+CTTS=2,"hello"') == "\r\n+CME ERROR: 100\r\n"
    assert session.at('AT+QTTS=2,"hello"') == "\r\n+CME ERROR: 100\r\n"
    assert session.log("tts") == []


def test_tts_stops_when_the_callee_hangs_up():
    session = session_for("sim7600", tts_per_char=1.0)
    session.calls.set_callee("13800138000", answer_after=1.0, hangup_after=2.0)
    session.at("ATD13800138000;")
    session.advance(1.5)
    session.at('AT+CTTS=2,"a long message"')
    assert session.advance(20.0) == "\r\nNO CARRIER\r\n"


@pytest.mark.parametrize("profile, code", [("generic", 331), ("sim800", 500), ("sim7600", 331), ("ec25", 331)])
def test_submit_without_network_fails_with_the_profiles_code(profile, code):
    session = session_for(profile)
    session.engine.network.set_signal(False, 99)
    assert session.at("AT+CMGF=1") == "\r\nOK\r\n"
    assert session.at('AT+CMGS="13800138000"') == "\r\n> "
    assert session.send("hi\x1a") == f"\r\n+CMS ERROR: {code}\r\n".encode()
    assert session.log("sms_sent") == [] and session.log("sms_failed")[0]["code"] == code


def test_interleaving_profile_writes_urcs_in_the_middle_of_an_answer():
    quirky = PROFILES["sim800"].with_changes(interleave_urcs=True)
    for profile, expected in (("sim800", "\r\n+CMGS: 1\r\n\r\nOK\r\n\r\nRING\r\n"),
                              (quirky, "\r\n+CMGS: 1\r\n\r\nRING\r\n\r\nOK\r\n")):
        session = Session(profile, sms_submit=1.0)
        session.at("ATE0;+CMGF=1")
        session.at('AT+CMGS="13800138000"')
        session.send("hello\x1a")
        session.calls.ring_box("13900000000", ring_interval=5.0)
        assert session.engine.take_output().decode() + session.advance(1.0) == expected
