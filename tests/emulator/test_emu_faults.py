"""Faults inside the modem on a fake clock: stuck commands, SMS errors, SIM and network loss, resets."""
import pytest
from emu_support import Session
from gsmmodem.pdu import encodeSmsSubmitPdu


@pytest.fixture
def session():
    session = Session("sim800")
    session.at("ATE0;+CMEE=1;+CLIP=1")
    return session


def test_a_stuck_command_never_answers_but_the_next_one_does(session):
    session.engine.network.add_stuck("AT+CSQ", 2)
    assert session.at("AT+CSQ") == ""
    assert session.advance(60.0) == ""
    assert session.at("AT") == "\r\nOK\r\n"
    assert session.at("AT+CSQ=?") == ""  # a prefix match: the second use
    assert session.at("AT+CSQ") == "\r\n+CSQ: 23,99\r\n\r\nOK\r\n"
    assert [e["command"] for e in session.log("stuck_command")] == ["AT+CSQ", "AT+CSQ=?"]


def test_a_stuck_submit_shows_the_prompt_then_never_answers_and_sends_nothing(session):
    session.engine.network.add_stuck("AT+CMGS")
    (pdu,) = encodeSmsSubmitPdu("+8613800138000", "hi", reference=0)
    assert session.at(f"AT+CMGS={pdu.tpduLength}") == "\r\n> "
    assert session.send(str(pdu) + "\x1a") == b""
    assert session.advance(60.0) == ""
    assert session.log("sms_sent") == []
    assert session.at(f"AT+CMGS={pdu.tpduLength}") == "\r\n> "  # only once
    # The hung submit used up reference 1, as it would on a module that lost track of it.
    assert session.send(str(pdu) + "\x1a") == b"\r\n+CMGS: 2\r\n\r\nOK\r\n"


def test_a_reset_clears_stuck_commands(session):
    session.engine.network.add_stuck("AT+CSQ", 5)
    assert session.at("AT+CFUN=1,1") == "\r\nOK\r\n"
    assert session.advance(1.0) == "\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n"
    assert session.at("AT+CSQ") == "AT+CSQ\r\r\n+CSQ: 23,99\r\n\r\nOK\r\n"  # echo is back on too
    # A SIM800's late boot lines land inside the first identification answers...
    assert session.at("AT+CGMI") == "AT+CGMI\r\r\nCall Ready\r\nSIMCOM_Ltd\r\n\r\nOK\r\n"
    # ...or come on their own once it is done booting, when nobody asks.
    assert session.advance(30.0) == "\r\nSMS Ready\r\n"


def test_sms_error_for_one_number_a_given_number_of_times(session):
    session.engine.network.add_sms_error("+8613800138000", 38, 1, "86")
    session.at("AT+CMGF=1")
    for expected in ("+CMS ERROR: 38", "+CMGS: 1"):
        assert session.at('AT+CMGS="13800138000"') == "\r\n> "
        assert expected in session.send("help\x1a").decode()
    assert session.at('AT+CMGS="13900000000"') == "\r\n> "
    assert "+CMGS: 2" in session.send("other\x1a").decode()
    assert [e["code"] for e in session.log("sms_failed")] == [38]


def test_sim_not_ready_then_ready_again(session):
    session.engine.sim_not_ready(5.0)
    assert session.engine.take_output() == b"\r\n+CPIN: NOT READY\r\n"
    assert session.at("AT+CPIN?") == "\r\n+CPIN: NOT READY\r\n\r\nOK\r\n"
    assert session.at("AT+CMGL=4") == "\r\n+CME ERROR: 10\r\n"
    assert session.at("ATD13800138000;") == "\r\n+CME ERROR: 10\r\n"
    assert session.at("AT+CREG?") == "\r\n+CREG: 0,0\r\n\r\nOK\r\n"
    assert session.at("AT+CSQ") == "\r\n+CSQ: 23,99\r\n\r\nOK\r\n"  # the radio still hears
    session.calls.ring_box("+8613900000000")
    assert session.log("call_received")[0]["outcome"] == "unreachable"
    assert session.advance(5.0) == "\r\n+CPIN: READY\r\n\r\nCall Ready\r\n\r\nSMS Ready\r\n"
    assert session.at("AT+CMGL=4") == "\r\nOK\r\n"


def test_a_sim_held_not_ready_comes_up_only_when_released(session):
    session.engine.sim_not_ready(None)
    session.engine.take_output()
    assert session.advance(3600.0) == ""  # no timer frees it
    assert session.at("AT+CPIN?") == "\r\n+CPIN: NOT READY\r\n\r\nOK\r\n"
    session.engine.release_sim()
    assert session.engine.take_output() == b"\r\n+CPIN: READY\r\n\r\nCall Ready\r\n\r\nSMS Ready\r\n"
    assert session.at("AT+CMGL=4") == "\r\nOK\r\n"


def test_sms_to_an_unreachable_box_waits_at_the_service_centre(session):
    session.at("AT+CNMI=2,1")
    session.engine.network.set_signal(False, 99)
    assert session.sms.deliver("+8613900000000", "hello")["kind"] == "sms_waiting"
    assert session.engine.take_output() == b""
    session.engine.network.set_signal(True, 20)
    session.engine.check_reachable()
    assert session.engine.take_output() == b'\r\n+CMTI: "SM",1\r\n'
    assert session.log("sms_received")[0]["text"] == "hello"


def test_dialling_without_network_ends_with_no_carrier(session):
    session.engine.network.set_signal(False, 99)
    assert session.at("ATD13800138000;") == "\r\nOK\r\n"
    assert session.advance(0.1) == "\r\nNO CARRIER\r\n"
    assert session.log("call_placed")[0]["outcome"] == "no_network"


def test_reboot_mid_command_drops_its_answer_and_the_call():
    slow = Session("sim800", sms_submit=5.0, reboot=2.0)
    slow.at("ATE0;+CMGF=1;+CNMI=2,1")
    slow.calls.set_callee("13900000000", answer_after=0.0)
    slow.at("ATD13900000000;")
    slow.advance(0.1)
    slow.at('AT+CMGS="13800138000"')
    assert slow.send("hello\x1a") == b""
    slow.engine.reboot()
    assert slow.at("AT") == ""  # nobody home while it boots
    slow.sms.deliver("+8613700000000", "while rebooting")
    output = slow.advance(10.0)
    assert output.startswith("\r\nRDY\r\n") and "+CMGS" not in output
    assert slow.log("sms_sent") == []
    assert slow.log("call_placed")[0]["outcome"] == "dropped"
    assert slow.engine.settings.cmgf == 0 and slow.engine.settings.echo  # power-up settings
    assert [e["kind"] for e in slow.log() if e["kind"] in ("booted", "sms_received")] == [
        "booted", "sms_received"]  # the waiting SMS arrived after boot
