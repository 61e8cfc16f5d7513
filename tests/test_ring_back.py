"""A ring-back reported as connected (SIMCom A76xx) is not an answer; elsewhere it is."""
import pytest

from edgebox.adapters.modem import SerialModem
from edgebox.adapters.modem.ring_back import EARLY_CONNECT_SECONDS, AnswerRule, connects_early
from edgebox.emulator import EmulatorServer, Latency


def test_only_a76xx_modules_connect_early():
    assert connects_early("SIMCOM INCORPORATED A7670E-FASE")
    assert connects_early("SIMCOM INCORPORATED A7608SA-H")
    assert not connects_early("SIMCOM INCORPORATED SIMCOM_SIM7600G-H")
    assert not connects_early("Quectel EC25")


def test_on_most_modems_colp_or_an_active_call_is_an_answer():
    rule = AnswerRule(early_connect=False)
    assert not rule.answered(active=False, connected=False, alerting=True, now=10.0)
    assert rule.answered(active=False, connected=True, alerting=False, now=10.5)
    assert AnswerRule(early_connect=False).answered(True, False, False, now=1.0)


def test_an_early_connect_at_ring_back_is_never_taken_for_an_answer():
    rule = AnswerRule(early_connect=True)
    rule.answered(active=False, connected=False, alerting=True, now=10.0)
    assert not rule.answered(active=True, connected=True, alerting=False, now=10.3)
    assert rule.ring_back
    # Nothing on the line changes when the member picks up: still not an answer.
    assert not rule.answered(active=True, connected=True, alerting=False, now=40.0)


def test_an_early_connect_module_that_alerted_for_a_while_was_answered():
    rule = AnswerRule(early_connect=True)
    rule.answered(active=False, connected=False, alerting=True, now=10.0)
    assert not rule.answered(False, False, True, now=10.0 + EARLY_CONNECT_SECONDS)
    assert rule.answered(True, True, False, now=10.5 + EARLY_CONNECT_SECONDS)


@pytest.fixture
def a7670(tmp_path):
    emulator = EmulatorServer("a7670", Latency.realistic(scale=0.02, ring_timeout=500),
                              link=str(tmp_path / "modem"))
    emulator.start()
    modem = SerialModem(emulator.link, command_timeout=5)
    modem.start()
    yield modem, emulator
    modem.stop()
    emulator.stop()


def test_the_box_does_not_speak_into_a_ring_back_nor_call_it_answered(a7670):
    modem, emulator = a7670
    outcome = modem.ring("+8613800138000", 2.0, speech="张伟家着火了，请按1确认")
    assert outcome.result == "hung_up" and not outcome.spoken and outcome.alerting_seconds > 0
    assert [e for e in emulator.log() if e["kind"] in ("tts", "audio")] == []
    (placed,) = [e for e in emulator.log() if e["kind"] == "call_placed"]
    assert placed["outcome"] == "hung_up_by_box"  # the member never picked up


def test_a_member_who_picks_up_a_ring_back_call_and_presses_1_acknowledges(a7670):
    modem, emulator = a7670
    emulator.set_callee("+8613800138001", answer_after=0.5, press="1", press_after=0.3)
    outcome = modem.ring("+8613800138001", 5.0, speech="请按1确认")
    assert outcome.result == "acknowledged"
