"""What the benchmarks read from the emulator (exact clocks, the network's waits, the tracing
entries) and the generic commands SMS daemons send at start-up (AT+CGATT, AT+CMMS)."""
import pytest
from emu_support import Session
from gsmmodem.pdu import encodeSmsSubmitPdu


def traced(**latency) -> Session:
    session = Session(**latency)
    session.engine.trace = True
    session.at("ATE0;+CMEE=1;+CLIP=1")
    return session


def type_pdu(session, pdu) -> str:
    assert session.at(f"AT+CMGS={pdu.tpduLength}") == "\r\n> "
    return session.send(str(pdu) + "\x1a").decode()


def pdus(number, text):
    return encodeSmsSubmitPdu(number, text, reference=3, requestStatusReport=False)


def test_every_entry_has_the_exact_engine_clock_beside_its_rounded_time():
    session = Session()
    session.clock.now = 1000.0004321
    session.sms.deliver("+8613800138000", "1")
    (entry,) = session.log("sms_received")
    assert entry["clock"] == 1000.0004321
    assert entry["at"] == round(1000.0004321 - 1000.0, 3)


def test_tracing_logs_the_caller_id_going_out_and_the_cmgs_coming_in():
    session = traced(sms_submit=3.0)
    call_id = session.calls.ring_box("+8613800138000", rings=3, ring_interval=1.0)
    (shown,) = session.log("clip_emitted")
    assert (shown["call"], shown["number"], shown["type"], shown["clock"]) == (
        call_id, "+8613800138000", 145, 1000.0)
    assert "+CLIP:" in session.engine.take_output().decode()
    session.clock.now += 0.25
    assert session.at("ATH") == "\r\nOK\r\n"
    (pdu,) = pdus("+8613900139000", "张三家着火了，请速来！")
    assert type_pdu(session, pdu) == ""  # the network keeps the modem busy for the submit
    (typed,) = session.log("cmgs_command")
    assert (typed["mode"], typed["length"], typed["clock"]) == ("pdu", pdu.tpduLength, 1000.25)
    assert session.advance(3.0) == "\r\n+CMGS: 1\r\n\r\nOK\r\n"
    (sent,) = session.log("sms_sent")
    assert sent["submit_seconds"] == pytest.approx(3.0)
    assert sent["clock"] == pytest.approx(1003.25)


def test_a_caller_id_held_back_by_a_command_is_logged_when_it_goes_out():
    session = traced(sms_submit=2.0)
    (pdu,) = pdus("+8613900139000", "hi")
    type_pdu(session, pdu)
    session.clock.now += 0.5
    session.calls.ring_box("+8613800138000", ring_interval=10.0)
    assert session.log("clip_emitted") == []  # held: the submit is still in progress
    output = session.advance(1.5)
    assert output.index("+CMGS: 1") < output.index("+CLIP:")
    (shown,) = session.log("clip_emitted")
    assert shown["clock"] == pytest.approx(1002.0)


def test_text_mode_cmgs_is_traced_with_its_number():
    session = traced()
    session.at("AT+CMGF=1")
    assert session.at('AT+CMGS="+8613900139000"') == "\r\n> "
    assert session.send("hello\x1a") == b"\r\n+CMGS: 1\r\n\r\nOK\r\n"
    (typed,) = session.log("cmgs_command")
    assert (typed["mode"], typed["number"]) == ("text", "+8613900139000")
    assert session.log("sms_sent")[0]["submit_seconds"] == 0.0


def test_without_tracing_the_log_has_only_what_the_network_saw():
    session = Session()
    session.at("ATE0;+CLIP=1")
    session.calls.ring_box("+8613800138000")
    session.at("ATH")
    (pdu,) = pdus("+8613900139000", "hi")
    type_pdu(session, pdu)
    assert [e["kind"] for e in session.log()] == ["call_received", "sms_sent"]


def test_a_long_message_sums_the_wait_of_every_part():
    session = traced(sms_submit=1.5)
    parts = pdus("+8613900139000", "Fire at the Zhang house, come quickly! " * 5)
    assert len(parts) == 2
    for part in parts:
        type_pdu(session, part)
        session.advance(1.5)
    (sent,) = session.log("sms_sent")
    assert sent["parts"] == 2 and sent["submit_seconds"] == pytest.approx(3.0)
    assert len(session.log("cmgs_command")) == 2


def test_a_placed_call_says_how_long_setup_and_alerting_took():
    session = traced(call_setup=2.0, ring_timeout=5.0)
    assert session.at("ATD+8613900139000;") == "\r\nOK\r\n"
    assert "NO ANSWER" in session.advance(7.5)
    (placed,) = session.log("call_placed")
    assert (placed["outcome"], placed["setup_seconds"], placed["alerting_seconds"],
            placed["duration"]) == ("no_answer", 2.0, 5.0, 7.0)


def test_a_call_refused_before_alerting_counts_its_setup_only():
    session = traced(call_setup=2.0)
    session.calls.set_callee("+8613900139000", busy=True)
    session.at("ATD+8613900139000;")
    assert "BUSY" in session.advance(2.0)
    (placed,) = session.log("call_placed")
    assert (placed["setup_seconds"], placed["alerting_seconds"]) == (2.0, 0.0)


def test_cgatt_shows_packet_attach_and_follows_detach_and_coverage():
    session = Session()
    session.at("ATE0;+CMEE=1")
    assert session.at("AT+CGATT=?") == "\r\n+CGATT: (0,1)\r\n\r\nOK\r\n"
    assert session.at("AT+CGATT?") == "\r\n+CGATT: 1\r\n\r\nOK\r\n"
    assert session.at("AT+CGATT=0") == "\r\nOK\r\n"
    assert session.at("AT+CGATT?") == "\r\n+CGATT: 0\r\n\r\nOK\r\n"
    assert session.at("AT+CGATT=1") == "\r\nOK\r\n"
    assert session.at("AT+CGATT=2") == "\r\n+CME ERROR: 50\r\n"
    session.engine.network.set_signal(False, 99)
    assert session.at("AT+CGATT?") == "\r\n+CGATT: 0\r\n\r\nOK\r\n"
    assert session.at("AT+CGATT=1") == "\r\n+CME ERROR: 30\r\n"


def test_cgatt_on_an_lte_module_follows_its_lte_registration():
    session = Session("ec25")
    session.at("ATE0")
    assert session.at("AT+CGATT?") == "\r\n+CGATT: 1\r\n\r\nOK\r\n"


def test_cmms_is_remembered_until_reset():
    session = Session()
    session.at("ATE0;+CMEE=1")
    assert session.at("AT+CMMS=?") == "\r\n+CMMS: (0-2)\r\n\r\nOK\r\n"
    assert session.at("AT+CMMS?") == "\r\n+CMMS: 0\r\n\r\nOK\r\n"
    assert session.at("AT+CMMS=2") == "\r\nOK\r\n"
    assert session.at("AT+CMMS?") == "\r\n+CMMS: 2\r\n\r\nOK\r\n"
    assert session.at("AT+CMMS=3") == "\r\n+CMS ERROR: 302\r\n"
    session.at("ATZ")
    session.at("ATE0")
    assert session.at("AT+CMMS?") == "\r\n+CMMS: 0\r\n\r\nOK\r\n"
