"""Calls on the simulated network, on a fake clock: the box rung, the box ringing members."""
import pytest
from emu_support import Session


@pytest.fixture
def session():
    session = Session(call_setup=2.0, ring_timeout=30.0)
    session.at("ATE0;+CMEE=1;+CLIP=1")
    return session


def test_incoming_call_rings_every_interval_with_caller_id(session):
    session.calls.ring_box("+8613800138000", rings=10, ring_interval=1.0)
    first = session.engine.take_output().decode()
    assert first == '\r\nRING\r\n\r\n+CLIP: "+8613800138000",145,"",,"",0\r\n'
    assert session.at("AT+CLCC") == '\r\n+CLCC: 1,1,4,0,0,"+8613800138000",145\r\n\r\nOK\r\n'
    assert session.advance(2.0).count("RING") == 2


def test_national_numbers_are_shown_as_national(session):
    session.calls.ring_box("13800138000")
    assert '+CLIP: "13800138000",129,"",,"",0' in session.engine.take_output().decode()


def test_crc_turns_ring_into_cring(session):
    session.at("AT+CRC=1")
    session.calls.ring_box("+8613800138000")
    assert session.engine.take_output().startswith(b"\r\n+CRING: VOICE\r\n")


def test_box_rejects_with_ath_and_the_log_says_when(session):
    call_id = session.calls.ring_box("+8613800138000")
    session.advance(2.5)
    assert session.at("ATH") == "\r\nOK\r\n"
    (entry,) = session.log("call_received")
    assert entry["id"] == call_id and entry["outcome"] == "rejected"
    assert entry["rejected_after"] == pytest.approx(2.5)
    assert session.advance(3.0) == ""  # no more rings
    assert session.at("AT+CLCC") == "\r\nOK\r\n"


def test_chup_rejects_too(session):
    session.calls.ring_box("+8613800138000")
    session.engine.take_output()
    assert session.at("AT+CHUP") == "\r\nOK\r\n"
    assert session.log("call_received")[0]["outcome"] == "rejected"


def test_a_hang_up_the_modem_never_answers_leaves_the_call_ringing(session):
    session.engine.network.add_stuck("ATH")
    session.calls.ring_box("+8613800138000", rings=10, ring_interval=1.0)
    session.engine.take_output()
    assert session.at("ATH") == ""
    assert session.advance(2.0).count("RING") == 2
    assert session.log("call_received") == []  # still ringing
    assert session.at("ATH") == "\r\nOK\r\n"  # the next one takes effect
    assert session.log("call_received")[0]["outcome"] == "rejected"


def test_caller_gives_up_after_the_given_rings(session):
    session.calls.ring_box("+8613800138000", rings=3, ring_interval=1.0)
    output = session.engine.take_output().decode() + session.advance(3.5)
    assert output.count("RING") == 3 and output.endswith("\r\nNO CARRIER\r\n")
    (entry,) = session.log("call_received")
    assert entry["outcome"] == "missed" and entry["rejected_after"] is None


def test_a_second_caller_hears_busy(session):
    session.calls.ring_box("+8613800138000")
    session.calls.ring_box("+8613900000002")
    (entry,) = session.log("call_received")
    assert entry["number"] == "+8613900000002" and entry["outcome"] == "busy"


def test_outgoing_call_dials_then_alerts_then_nobody_answers(session):
    assert session.at("ATD13800138000;") == "\r\nOK\r\n"
    assert session.at("AT+CLCC") == '\r\n+CLCC: 1,0,2,0,0,"13800138000",129\r\n\r\nOK\r\n'
    session.advance(2.1)
    assert session.at("AT+CLCC") == '\r\n+CLCC: 1,0,3,0,0,"13800138000",129\r\n\r\nOK\r\n'
    assert session.advance(29.0) == ""
    assert session.advance(1.0) == "\r\nNO ANSWER\r\n"
    (entry,) = session.log("call_placed")
    assert entry["outcome"] == "no_answer" and entry["number"] == "13800138000"
    assert entry["alerting_seconds"] == pytest.approx(30.0, abs=0.1)
    assert entry["duration"] == pytest.approx(32.0, abs=0.1)


def test_box_hangs_up_while_alerting(session):
    session.at("ATD+8613800138000;")
    session.advance(5.0)
    assert session.at("ATH") == "\r\nOK\r\n"
    (entry,) = session.log("call_placed")
    assert entry["outcome"] == "hung_up_by_box"
    assert entry["alerting_seconds"] == pytest.approx(3.0, abs=0.1)


def test_only_one_call_at_a_time(session):
    session.at("ATD13800138000;")
    assert session.at("ATD13900000000;") == "\r\n+CME ERROR: 3\r\n"


def test_callee_answers_then_hangs_up(session):
    session.calls.set_callee("+8613800138000", answer_after=4.0, hangup_after=10.0)
    session.at("ATD13800138000;")  # national form of the same number
    session.advance(6.5)
    assert session.at("AT+CLCC") == '\r\n+CLCC: 1,0,0,0,0,"13800138000",129\r\n\r\nOK\r\n'
    assert session.advance(10.0) == "\r\nNO CARRIER\r\n"
    (entry,) = session.log("call_placed")
    assert entry["outcome"] == "answered"
    assert entry["alerting_seconds"] == pytest.approx(4.0, abs=0.1)
    assert entry["duration"] == pytest.approx(16.0, abs=0.1)


def test_answered_call_stays_up_until_the_box_hangs_up(session):
    session.calls.set_callee("13800138000", answer_after=1.0)
    session.at("ATD13800138000;")
    assert session.advance(60.0) == ""
    session.at("ATH")
    assert session.log("call_placed")[0]["outcome"] == "answered"


def test_busy_callee(session):
    session.calls.set_callee("13800138000", busy=True)
    session.at("ATD13800138000;")
    assert session.advance(2.1) == "\r\nBUSY\r\n"
    assert session.log("call_placed")[0]["outcome"] == "busy"


def test_ring_timeout_changes_at_runtime(session):
    session.engine.latency.update(ring_timeout=5.0, call_setup=0.0)
    session.at("ATD13800138000;")
    assert session.advance(5.1) == "\r\nNO ANSWER\r\n"


def test_data_calls_are_refused(session):
    assert session.at("ATD13800138000") == "\r\nNO CARRIER\r\n"


def test_the_box_is_rung_at_the_modems_own_cadence():
    # Networks repeat RING/+CLIP every 5-6 s (EC25 6 s, u-blox 5 s), on the emulator's scale.
    session = Session("ec25", call_setup=2.0, ring_timeout=30.0, scale=0.5)
    session.at("ATE0;+CLIP=1")
    session.calls.ring_box("+8613800138000")
    session.engine.take_output()
    assert session.advance(2.9).count("RING") == 0  # ec25: every 6 s, here every 3 s
    assert session.advance(0.2).count("RING") == 1


def test_realistic_timing_is_reproducible_and_never_zero():
    from edgebox.emulator.timing import Latency
    draws = [Latency.realistic(scale=0.1, seed=7).submit_seconds() for _ in range(2)]
    assert draws[0] == draws[1]
    latency = Latency.realistic(scale=0.1, seed=7)
    submits = [latency.submit_seconds() for _ in range(600)]
    assert 0.25 <= min(submits) and max(submits) <= 1.5  # 2.5 s .. 15 s, times 0.1
    assert max(submits) > 0.5  # the long tail shows up
    setups = [latency.setup_seconds() for _ in range(200)]
    assert 0.35 <= min(setups) and max(setups) <= 0.7
    with pytest.raises(ValueError):
        Latency.realistic(scale=0)


def test_a_caller_during_our_call_is_busy_without_call_waiting(session):
    session.at("ATD13800138000;")
    session.calls.ring_box("+8613900000002", ring_interval=1.0)
    assert "+CCWA" not in session.advance(2.0)
    (entry,) = session.log("call_received")
    assert entry["number"] == "+8613900000002" and entry["outcome"] == "busy"


def test_call_waiting_announces_the_caller_and_chld0_releases_only_that_call(session):
    assert session.at("AT+CCWA=1,1") == "\r\nOK\r\n"
    session.at("ATD13800138000;")
    session.advance(2.1)  # alerting
    session.calls.ring_box("+8613900000002", ring_interval=1.0)
    output = session.engine.take_output().decode() + session.advance(1.0)
    # 3GPP TS 27.007 7.12: +CCWA: <number>,<type>,<class>; no RING, no +CLIP.
    assert output.count('+CCWA: "+8613900000002",145,1') == 2 and "RING" not in output
    assert session.at("AT+CLCC") == ('\r\n+CLCC: 1,0,3,0,0,"13800138000",129\r\n'
                                     '+CLCC: 2,1,5,0,0,"+8613900000002",145\r\n\r\nOK\r\n')
    assert session.at("AT+CHLD=0") == "\r\nOK\r\n"
    (entry,) = session.log("call_received")
    assert entry["outcome"] == "rejected" and entry["waiting"] is True
    assert session.at("AT+CLCC") == '\r\n+CLCC: 1,0,3,0,0,"13800138000",129\r\n\r\nOK\r\n'
    assert "+CCWA" not in session.advance(3.0)


def test_a_waiting_caller_rings_as_usual_once_our_call_is_over(session):
    session.at("AT+CCWA=1")
    session.at("ATD13800138000;")
    session.calls.ring_box("13900000002", ring_interval=1.0)
    session.engine.take_output()
    output = session.at("ATH") + session.advance(0.5)
    assert output.startswith("\r\nOK\r\n") and 'RING' in output
    assert '+CLIP: "13900000002",129' in output


def test_an_early_connect_modem_reports_the_ring_back_as_connected():
    from edgebox.emulator.profiles import PROFILES
    session = Session(PROFILES["a7670"], call_setup=2.0, ring_timeout=30.0)
    session.at("ATE0;+CMEE=1;+COLP=1")
    session.calls.set_callee("13800138000", answer_after=10.0)
    session.at("ATD13800138000;")
    output = session.advance(2.1)
    assert "VOICE CALL: BEGIN" in output and '+COLP: "+8613800138000",145' in output
    assert session.at("AT+CLCC").startswith('\r\n+CLCC: 1,0,0,')  # "active" while it rings
    assert session.advance(10.0) == ""  # the real answer shows nothing new
    session.at("ATH")
    (placed,) = session.log("call_placed")
    assert placed["outcome"] == "answered"
