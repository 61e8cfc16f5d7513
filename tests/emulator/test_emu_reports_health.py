"""Delivery reports and the health answers (signal, registration, operator, balance, clock)."""
from datetime import timedelta

import pytest
from emu_support import FIXED_TIME, Session
from gsmmodem.pdu import decodeSmsPdu, encodeSmsSubmitPdu

from edgebox.emulator.sms_codec import ucs2_hex


def submit(session, number, text, report=True, reference=0):
    (pdu,) = encodeSmsSubmitPdu(number, text, reference=reference, requestStatusReport=report)
    assert session.at(f"AT+CMGS={pdu.tpduLength}") == "\r\n> "
    answer = session.send(str(pdu) + "\x1a").decode()
    return int(answer.split("+CMGS: ")[1].split("\r\n")[0])


def report_pdu(output):
    header, pdu = output.strip("\r\n").split("\r\n")
    assert header == f"+CDS: {len(bytes.fromhex(pdu)) - 1 - bytes.fromhex(pdu)[0]}"
    return decodeSmsPdu(pdu)


def test_ds1_routes_the_report_as_cds_with_the_parts_reference():
    session = Session(delivery_report=3.0)
    session.at("ATE0;+CNMI=2,1,0,1,0")
    submit(session, "+8613800138000", "first", report=False)
    reference = submit(session, "+8613800138000", "second")
    assert reference == 2
    assert session.advance(2.9) == ""
    decoded = report_pdu(session.advance(0.2))
    assert decoded["type"] == "SMS-STATUS-REPORT"
    assert (decoded["reference"], decoded["number"], decoded["status"]) == (2, "+8613800138000", 0)
    assert decoded["discharge"] - decoded["time"] == timedelta(0)  # the fake wall clock stands still
    (entry,) = session.log("delivery_report")
    assert (entry["reference"], entry["status"], entry["routed"]) == (2, "delivered", "cds")


def test_failed_and_silent_recipients():
    session = Session()
    session.at("ATE0;+CNMI=2,1,0,1,0")
    session.sms.reports.set_delivery("13800138000", "failed")
    session.sms.reports.set_delivery("+8613900000000", "none")
    submit(session, "+8613800138000", "to a phone that is off")
    assert report_pdu(session.advance(0.1))["status"] == 68
    submit(session, "13900000000", "nobody reports this")
    assert session.advance(5.0) == ""
    with pytest.raises(ValueError):
        session.sms.reports.set_delivery("13800138000", "lost")


def test_ds2_stores_the_report_and_announces_it_with_cdsi():
    session = Session()
    session.at("ATE0;+CMEE=1;+CNMI=2,1,0,2,0")
    reference = submit(session, "13800138000", "hello")
    assert session.advance(0.1) == '\r\n+CDSI: "SR",1\r\n'
    assert session.at('AT+CPMS="SR"').startswith("\r\n+CPMS: 1,50,")
    lines = session.at("AT+CMGR=1").strip("\r\n").split("\r\n")
    decoded = decodeSmsPdu(lines[1])
    assert decoded["type"] == "SMS-STATUS-REPORT" and decoded["reference"] == reference
    assert session.at('AT+CPMS="SM","SR"') == "\r\n+CMS ERROR: 302\r\n"  # no writing into SR


def test_no_report_without_ds_or_without_the_request():
    session = Session()
    session.at("ATE0;+CNMI=2,1,0,0,0")
    submit(session, "13800138000", "ds is 0")
    assert session.advance(0.1) == ""  # <ds> counts when the report arrives
    session.at("AT+CNMI=2,1,0,1,0")
    submit(session, "13800138000", "no TP-SRR", report=False)
    assert session.advance(5.0) == ""
    assert [e["routed"] for e in session.log("delivery_report")] == ["dropped"]


def test_text_mode_report_request_from_csmp():
    session = Session()
    session.at("ATE0;+CMGF=1;+CSMP=49,167,0,0;+CNMI=2,1,0,1,0")
    session.at('AT+CMGS="13800138000"')
    session.send("hello\x1a")
    assert session.advance(0.1) == (
        '\r\n+CDS: 6,1,"13800138000",129,"24/11/23,08:33:00+32","24/11/23,08:33:00+32",0\r\n')


def test_signal_registration_and_operator_follow_the_network():
    session = Session("generic")
    session.at("ATE0;+CREG=1")
    assert session.at("AT+CSQ") == "\r\n+CSQ: 23,99\r\n\r\nOK\r\n"
    session.engine.network.set_signal(False, 99)
    assert session.at("AT+CSQ") == "\r\n+CSQ: 99,99\r\n\r\nOK\r\n"
    assert session.at("AT+CREG?") == "\r\n+CREG: 1,2\r\n\r\nOK\r\n"  # searching
    assert session.at("AT+COPS?") == "\r\n+COPS: 0\r\n\r\nOK\r\n"
    session.engine.network.set_signal(True, 12)
    session.engine.network.roaming = True
    assert session.at("AT+CEREG?") == "\r\n+CEREG: 0,5\r\n\r\nOK\r\n"
    assert session.at("AT+CPIN?") == "\r\n+CPIN: READY\r\n\r\nOK\r\n"
    with pytest.raises(ValueError):
        session.engine.network.set_signal(True, 40)


def test_balance_ussd_in_ucs2_with_dcs_72_for_chinese_text():
    session = Session()
    session.at("ATE0")
    output = session.at('AT+CUSD=1,"*125#",15')
    expected = ucs2_hex("尊敬的客户，您的账户余额为12.50元。")
    assert output == f'\r\nOK\r\n\r\n+CUSD: 0,"{expected}",72\r\n'


def test_ussd_request_in_ucs2_character_set():
    session = Session()
    session.at('ATE0;+CSCS="UCS2"')
    session.engine.network.balance_text = "Balance 3.00"
    output = session.at(f'AT+CUSD=1,"{ucs2_hex("*100#")}",15')
    assert output == f'\r\nOK\r\n\r\n+CUSD: 0,"{ucs2_hex("Balance 3.00")}",15\r\n'


def test_cclk_shows_the_rtc_from_its_epoch_until_network_time_is_switched_on():
    session = Session("sim800")
    session.at("ATE0")
    assert session.at("AT+CCLK?") == '\r\n+CCLK: "04/01/01,00:00:00+00"\r\n\r\nOK\r\n'
    session.advance(65)
    assert session.at("AT+CCLK?") == '\r\n+CCLK: "04/01/01,00:01:05+00"\r\n\r\nOK\r\n'
    assert session.at("AT+CLTS=1") == "\r\nOK\r\n"
    assert session.at("AT+CCLK?") == '\r\n+CCLK: "24/11/23,08:33:00+32"\r\n\r\nOK\r\n'
    session.engine.reboot_in_place()
    session.advance(5)
    # Back at power-up settings: echo on, network time off, the RTC from its epoch again.
    assert session.at("AT+CCLK?") == 'AT+CCLK?\r\r\n+CCLK: "04/01/01,00:00:04+00"\r\n\r\nOK\r\n'
    ec25 = Session("ec25")
    assert ec25.at("AT+CCLK?").startswith('AT+CCLK?\r\r\n+CCLK: "80/01/06,00:00:00+00"')


def test_cclk_shows_the_network_time_with_a_configurable_error():
    session = Session()
    session.at("ATE0;+CTZU=1")
    assert session.at("AT+CCLK?") == '\r\n+CCLK: "24/11/23,08:33:00+32"\r\n\r\nOK\r\n'
    session.engine.network.clock_offset = -3 * 86400 - 3600  # three days and an hour behind
    assert session.at("AT+CCLK?") == '\r\n+CCLK: "24/11/20,07:33:00+32"\r\n\r\nOK\r\n'
    assert session.at('AT+CCLK="24/11/23,09:00:00+32"') == "\r\nOK\r\n"
    assert session.at("AT+CCLK?") == '\r\n+CCLK: "24/11/23,09:00:00+32"\r\n\r\nOK\r\n'
    assert session.engine.network.clock_offset == (FIXED_TIME.replace(hour=9, minute=0) - FIXED_TIME).total_seconds()
    assert session.at('AT+CCLK="24/13/23,09:00:00+32"') == "\r\nERROR\r\n"


@pytest.mark.parametrize("profile, clts, ctzu", [
    ("generic", "OK", "OK"), ("sim800", "OK", "ERROR"), ("sim7600", "OK", "OK"), ("ec25", "ERROR", "OK")])
def test_network_time_switches_per_vendor(profile, clts, ctzu):
    session = Session(profile)
    session.at("ATE0")
    assert session.at("AT+CLTS=1") == f"\r\n{clts}\r\n"
    assert session.at("AT+CTZU=3") == f"\r\n{ctzu}\r\n"
