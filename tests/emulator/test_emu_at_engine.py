"""The AT engine on its own: framing, echo, errors, SMS commands and held-back URCs."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from emu_support import Session
from gsmmodem.pdu import decodeSmsPdu, encodeSmsSubmitPdu

from edgebox.emulator.at_parser import AtCommand, AtSyntaxError, split_args, split_command_line


def test_echo_is_on_by_default_and_repeats_the_command_line():
    session = Session()
    assert session.at("AT") == "AT\r\r\nOK\r\n"
    assert session.at("ATE0") == "ATE0\r\r\nOK\r\n"  # the line that turns echo off is still echoed
    assert session.at("AT") == "\r\nOK\r\n"


def test_answers_are_framed_like_a_real_modem():
    session = Session()
    session.at("ATE0")
    assert session.at("AT+CGMI") == "\r\nedgebox\r\n\r\nOK\r\n"
    assert session.at("AT+CSQ") == "\r\n+CSQ: 23,99\r\n\r\nOK\r\n"
    assert session.at("AT+CPIN?") == "\r\n+CPIN: READY\r\n\r\nOK\r\n"
    assert session.at("ATI") == "\r\nedgebox\r\nEMU-1\r\nRevision: EMU-1.0.0\r\n\r\nOK\r\n"


def test_what_comes_before_the_at_prefix_is_ignored_not_the_command():
    session = Session()
    session.at("ATE0")
    assert session.at("\x1bAT+CSQ") == "\r\n+CSQ: 23,99\r\n\r\nOK\r\n"  # a stray ESC
    assert session.at("\x00~at+csq") == "\r\n+CSQ: 23,99\r\n\r\nOK\r\n"  # line noise
    assert session.at("\x1b") == ""  # no command at all: no answer


def test_several_commands_on_one_line():
    session = Session()
    session.at("ATE0")
    assert session.at('AT+CGMI;+CGMM') == "\r\nedgebox\r\n\r\nEMU-1\r\n\r\nOK\r\n"
    assert session.at('ATE0V1;+CMGF=1;+CSCS="UCS2"') == "\r\nOK\r\n"
    assert session.engine.settings.cmgf == 1 and session.engine.settings.cscs == "UCS2"


def test_unknown_commands_error_plainly_until_cmee_is_set():
    session = Session()
    session.at("ATE0")
    assert session.at("AT+WIND?") == "\r\nERROR\r\n"
    assert session.at("AT+CMEE=1") == "\r\nOK\r\n"
    assert session.at("AT+ZPAS?") == "\r\n+CME ERROR: 100\r\n"
    assert session.at("AT+CMEE=2") == "\r\nOK\r\n"
    assert session.at("AT+QTONEDET=1") == "\r\n+CME ERROR: unknown\r\n"  # generic is SIMCom-like
    assert session.at("AT+CMGR=999") == "\r\n+CMS ERROR: invalid memory index\r\n"


def test_atz_restores_power_up_settings():
    session = Session()
    session.at('ATE0;+CMEE=1;+CMGF=1;+CSCS="UCS2"')
    session.at("ATZ")
    assert session.engine.settings.echo and session.engine.settings.cmee == 0
    assert session.engine.settings.cmgf == 0 and session.engine.settings.cscs == "IRA"


def test_cmgf_and_cscs_read_and_test_forms():
    session = Session()
    session.at("ATE0")
    assert session.at("AT+CMGF?") == "\r\n+CMGF: 0\r\n\r\nOK\r\n"
    assert session.at("AT+CMGF=?") == "\r\n+CMGF: (0,1)\r\n\r\nOK\r\n"
    assert '"UCS2"' in session.at("AT+CSCS=?")
    assert session.at('AT+CSCS="GSM"') == "\r\nOK\r\n"
    assert session.at("AT+CSCS?") == '\r\n+CSCS: "GSM"\r\n\r\nOK\r\n'
    assert session.at('AT+CSCS="KOI8"') == "\r\nERROR\r\n"


def test_clac_lists_commands_but_not_the_ones_of_other_vendors():
    session = Session()
    session.at("ATE0")
    listing = session.at("AT+CLAC")
    assert "\r\nAT+CMGS\r\n" in listing and listing.endswith("\r\n\r\nOK\r\n")
    assert "+WIND" not in listing and "+ZPAS" not in listing


def test_cusd_answers_ok_then_the_network_reply():
    session = Session()
    session.at("ATE0")
    session.engine.network.balance_text = "Balance: 35.20 CNY"
    output = session.at('AT+CUSD=1,"*100#",15')
    assert output == '\r\nOK\r\n\r\n+CUSD: 0,"Balance: 35.20 CNY",15\r\n'


def submit_pdus(number, text, reference=0):
    return encodeSmsSubmitPdu(number, text, reference=reference, requestStatusReport=False)


def type_pdu(session, pdu) -> str:
    assert session.at(f"AT+CMGS={pdu.tpduLength}") == "\r\n> "
    return session.send(str(pdu) + "\x1a").decode()


def test_cmgs_in_pdu_mode_with_chinese_text():
    session = Session()
    session.at("ATE0")
    (pdu,) = submit_pdus("+8613800138000", "张三家着火了，请速来！")
    assert type_pdu(session, pdu) == "\r\n+CMGS: 1\r\n\r\nOK\r\n"
    (sent,) = session.log("sms_sent")
    assert sent["number"] == "+8613800138000" and sent["text"] == "张三家着火了，请速来！"
    assert (sent["parts"], sent["encoding"], sent["reference"]) == (1, "ucs2", 1)


def test_cmgs_two_part_message_is_logged_once_reassembled():
    session = Session()
    session.at("ATE0")
    text = "Fire at the Zhang house, come quickly! " * 5  # 195 GSM-7 characters: two parts
    pdus = submit_pdus("13800138000", text, reference=9)
    assert len(pdus) == 2
    assert "+CMGS: 1" in type_pdu(session, pdus[0])
    assert session.log("sms_sent") == []
    assert "+CMGS: 2" in type_pdu(session, pdus[1])
    (sent,) = session.log("sms_sent")
    assert (sent["text"], sent["parts"], sent["encoding"], sent["reference"]) == (text, 2, "gsm7", 2)


def test_cmgs_wrong_length_or_garbage_is_a_cms_error_and_esc_cancels():
    session = Session()
    session.at("ATE0;+CMEE=1")
    (pdu,) = submit_pdus("+8613800138000", "hi")
    assert session.at(f"AT+CMGS={pdu.tpduLength + 1}") == "\r\n> "
    assert session.send(str(pdu) + "\x1a") == b"\r\n+CMS ERROR: 304\r\n"
    assert session.at("AT+CMGS=10") == "\r\n> "
    assert session.send(b"ZZ\x1b") == b"\r\nOK\r\n"
    assert session.log("sms_sent") == []


def test_cmgs_in_text_mode_with_ucs2_character_set():
    session = Session()
    session.at('ATE0;+CMGF=1;+CSCS="UCS2";+CSMP=17,167,0,8')
    number = "+8613800138000".encode("utf-16-be").hex().upper()
    assert session.at(f'AT+CMGS="{number}"') == "\r\n> "
    body = "你好，救火！".encode("utf-16-be").hex().upper()
    assert session.send(body + "\x1a") == b"\r\n+CMGS: 1\r\n\r\nOK\r\n"
    (sent,) = session.log("sms_sent")
    assert (sent["number"], sent["text"], sent["encoding"]) == ("+8613800138000", "你好，救火！", "ucs2")


def test_received_sms_is_stored_announced_read_and_deleted():
    session = Session()
    session.at("ATE0;+CNMI=2,1,0,0,0")
    session.sms.deliver("+8613800138000", "着火了")
    assert session.engine.take_output() == b'\r\n+CMTI: "SM",1\r\n'
    header, pdu, _, final = session.at("AT+CMGR=1").strip("\r\n").split("\r\n")
    assert header == f"+CMGR: 0,,{len(bytes.fromhex(pdu)) - 9}" and final == "OK"
    decoded = decodeSmsPdu(pdu)
    assert decoded["type"] == "SMS-DELIVER" and decoded["text"] == "着火了"
    assert session.at("AT+CMGR=1").startswith("\r\n+CMGR: 1,,")  # now read
    assert session.at("AT+CMGL=4").count("+CMGL: 1,1,,") == 1
    assert session.at("AT+CMGD=1") == "\r\nOK\r\n"
    assert session.at("AT+CMGR=1") == "\r\nOK\r\n"  # empty slot


def test_long_received_sms_arrives_as_concatenated_parts_at_their_own_indices():
    session = Session()
    session.at("ATE0;+CNMI=2,1")
    text = "请大家马上到村口集合，带上灭火器。" * 6  # 102 characters: two UCS2 parts
    session.sms.deliver("13800138000", text)
    assert session.engine.take_output() == b'\r\n+CMTI: "SM",1\r\n\r\n+CMTI: "SM",2\r\n'
    parts = [decodeSmsPdu(session.at(f"AT+CMGR={i}").split("\r\n")[2]) for i in (1, 2)]
    assert "".join(p["text"] for p in parts) == text
    assert [(ie.parts, ie.number) for p in parts for ie in p["udh"]] == [(2, 1), (2, 2)]
    assert session.log("sms_received")[0]["parts"] == 2


def test_cnmi_mt2_routes_sms_directly_with_cmt_in_both_modes():
    session = Session()
    session.at("ATE0;+CNMI=2,2,0,0,0")
    session.sms.deliver("+8613800138000", "hello")
    header, pdu = session.engine.take_output().decode().strip("\r\n").split("\r\n")
    assert header.startswith("+CMT: ,") and decodeSmsPdu(pdu)["text"] == "hello"
    session.at("AT+CMGF=1")
    session.sms.deliver("+8613800138000", "hello again")
    assert session.engine.take_output() == (
        b'\r\n+CMT: "+8613800138000","","24/11/23,08:33:00+32"\r\nhello again\r\n')
    assert session.at("AT+CPMS?").startswith('\r\n+CPMS: "SM",0,50')  # nothing was stored


def test_text_mode_read_and_list():
    session = Session()
    session.at("ATE0;+CMGF=1;+CNMI=2,1")
    session.sms.deliver("+8613800138000", "come now")
    session.engine.take_output()
    assert session.at("AT+CMGR=1") == (
        '\r\n+CMGR: "REC UNREAD","+8613800138000","","24/11/23,08:33:00+32"\r\ncome now\r\n\r\nOK\r\n')
    assert session.at('AT+CMGL="ALL"').startswith('\r\n+CMGL: 1,"REC READ","+8613800138000"')


def test_urcs_wait_while_an_sms_is_being_submitted():
    session = Session(sms_submit=2.0)
    session.at("ATE0;+CLIP=1")
    (pdu,) = submit_pdus("+8613800138000", "alarm")
    assert session.at(f"AT+CMGS={pdu.tpduLength}") == "\r\n> "
    session.calls.ring_box("+8613900000001", ring_interval=1.0)  # rings while the PDU is typed
    assert session.send(str(pdu) + "\x1a") == b""  # the network has not answered yet
    assert session.send("AT\r") == b""  # one command at a time: this waits too
    output = session.advance(2.1)
    # The answer first, then the command that waited in the buffer, then the held rings.
    assert output.startswith("\r\n+CMGS: 1\r\n\r\nOK\r\n\r\nOK\r\n\r\nRING\r\n\r\n+CLIP: ")
    assert output.count("RING") == 3  # rang at 0, 1 and 2 s, all held until the modem was free


def test_urcs_wait_for_a_partly_typed_command_line():
    session = Session()
    session.at("ATE0")
    session.send("AT+CS")
    session.calls.ring_box("+8613900000001")
    assert session.engine.take_output() == b""
    assert session.send("Q\r") == b"\r\n+CSQ: 23,99\r\n\r\nOK\r\n\r\nRING\r\n"


def test_command_line_parser():
    assert split_command_line('+CMGF=0;+CSCS="a;b";E0V1') == [
        AtCommand("+CMGF", "set", "0"), AtCommand("+CSCS", "set", '"a;b"'),
        AtCommand("E", "exec", "0"), AtCommand("V", "exec", "1")]
    assert split_command_line("D13800138000;") == [AtCommand("D", "exec", "13800138000;")]
    assert split_command_line("+CPMS=?") == [AtCommand("+CPMS", "test")]
    assert split_command_line("S7?") == [AtCommand("S7", "read")]
    assert split_args('1,"x,y",,3') == ["1", "x,y", "", "3"]
    with pytest.raises(AtSyntaxError):
        split_command_line('+CSCS="open')


COMMAND_WORDS = ["AT", "+CMGS=", "+CMGF=1", "+CMGR=", "+CMGL=", "+CMGD=", "+CPMS=", "+CNMI=", "+CSCS=",
                 '"UCS2"', "D", ";", "E", "H", "A", "S7=", "?", "=?", ",", "1", "99", '"', "\r", "\x1a",
                 "\x1b", "\x08", "+CUSD=1,", "+CLCC", "+CHUP", "Z", "&F", "I", "+CMEE=2", "\n"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(COMMAND_WORDS), st.binary(max_size=4)), max_size=40))
def test_no_input_crashes_the_engine(pieces):
    session = Session()
    session.calls.ring_box("+8613800138000", rings=2)
    session.sms.deliver("13800138000", "你好")
    for piece in pieces:
        session.send(piece)
    session.advance(5.0)
    # Whatever state that left, Esc (leaves a "> " prompt) and a fresh line get an answer.
    answer = session.send("\x1b\rAT\r").decode("latin-1") + session.advance(0.1)
    # (held URCs may follow it, released once the half-typed line was finished)
    assert answer.rfind("\r\nOK\r\n") > answer.rfind("ERROR")
