"""One contract, every modem: the adapter against each emulated dialect (gpiozero-style), the
in-process FakeModem on its FakeNetwork (so the fake the policy tests run on answers as the real
adapter does), and a real modem when EDGEBOX_TEST_MODEM_PORT names its port."""
import os
import queue
import time

import pytest

from edgebox.adapters.modem import (DeliveryReport, IncomingCall, IncomingSms, SerialModem,
                                    UssdReply)
from edgebox.adapters.modem.fake import FakeModem
from edgebox.adapters.modem.fake_network import FakeNetwork
from edgebox.domain.phones import normalise_caller
from edgebox.emulator import PROFILES, EmulatorServer, Latency

FAMILY = {"generic": "generic", "sim800": "simcom", "sim7600": "simcom", "ec25": "quectel",
          "a7670": "simcom", "fake": "fake"}
# The A7670 reports its ring-back as connected: the box cannot tell when to speak, so it does
# not (the member's key still acknowledges).
SPEAKS = {"generic": False, "sim800": False, "sim7600": True, "ec25": True, "a7670": False,
          "fake": True}
CALLER = "+8613800138000"


@pytest.fixture(params=sorted(PROFILES) + ["fake"])
def pair(request, tmp_path):
    if request.param == "fake":
        network = FakeNetwork()
        modem = FakeModem(network, name="fake", delivery_reports=True)
        modem.start()
        yield "fake", network, modem
        modem.stop()
        return
    emulator = EmulatorServer(request.param, Latency.realistic(scale=0.02, call_setup=5,
                                                               ring_timeout=150),
                              link=str(tmp_path / "modem")).start()
    modem = SerialModem(emulator.link, command_timeout=5, name=request.param,
                        delivery_reports=True)
    modem.start()
    yield request.param, emulator, modem
    modem.stop()
    emulator.stop()


def next_event(modem, kind, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            event = modem.events.get(timeout=0.2)
        except queue.Empty:
            if isinstance(modem, FakeModem):  # its network's time passes only when moved
                modem.network.clock.advance(1.0)
            continue
        if isinstance(event, kind):
            return event
    raise AssertionError(f"no {kind.__name__} within {timeout} s")


def test_identifies_its_dialect(pair):
    profile, emulator, modem = pair
    assert modem.dialect.family == FAMILY[profile]


def test_sends_chinese_sms_in_one_and_in_several_parts(pair):
    profile, emulator, modem = pair
    assert len(modem.send_sms(CALLER, "张三家着火了，请速来！")) == 1
    assert len(modem.send_sms(CALLER, "长" * 150)) == 3
    texts = [(e["text"], e["parts"]) for e in emulator.log() if e["kind"] == "sms_sent"]
    assert texts == [("张三家着火了，请速来！", 1), ("长" * 150, 3)]


@pytest.mark.parametrize("variant", ["as_the_profile_rings", "clip_without_ring"])
def test_sees_the_caller_and_rejects_the_call(pair, variant, tmp_path):
    profile, emulator, modem = pair
    if variant == "clip_without_ring":
        if profile == "fake":
            pytest.skip("the fake has no +CLIP lines to send without RING")
        modem.stop()
        emulator.stop()
        emulator = EmulatorServer(PROFILES[profile].with_changes(clip_without_ring=True),
                                  link=str(tmp_path / "modem2")).start()
        modem = SerialModem(emulator.link, name=profile)
        modem.start()
    try:
        emulator.call("13800138000")
        call = next_event(modem, IncomingCall)
        assert normalise_caller(call.digits, call.ton) == CALLER
        modem.reject_call()
        entry = emulator.wait_for(lambda log: [e for e in log if e["kind"] == "call_received"],
                                  10)
        assert [e["outcome"] for e in entry if e["kind"] == "call_received"] == ["rejected"]
    finally:
        if variant == "clip_without_ring":
            modem.stop()
            emulator.stop()


def test_receives_sms_and_reassembles_long_ones(pair):
    profile, emulator, modem = pair
    emulator.sms(CALLER, "收到")
    assert next_event(modem, IncomingSms).text == "收到"
    long_text = "村东头王大爷家的牛跑丢了，" * 15
    emulator.sms(CALLER, long_text)
    assert next_event(modem, IncomingSms).text == long_text


def test_ring_call_speaks_and_takes_key_one_as_acknowledgement(pair):
    profile, emulator, modem = pair
    emulator.set_callee(CALLER, answer_after=0.2, press="1", press_after=0.3)
    outcome = modem.ring(CALLER, 10, speech="紧急求助，确认前往请按1")
    assert outcome.result == "acknowledged"
    assert outcome.spoken == SPEAKS[profile]
    spoken = [e["text"] for e in emulator.log() if e["kind"] == "tts"]
    assert spoken[:1] == (["紧急求助，确认前往请按1"] if SPEAKS[profile] else [])


def test_ring_call_outcomes_without_a_key(pair):
    profile, emulator, modem = pair
    emulator.set_callee("+8613800138001", answer_after=0.2, hangup_after=0.5)
    assert modem.ring("+8613800138001", 10).result in ("answered", "no_answer")
    emulator.set_callee("+8613800138002", busy=True)
    assert modem.ring("+8613800138002", 10).result == "busy"
    assert modem.ring("+8613800138003", 1.0).result == "hung_up"  # our own limit


def test_delivery_reports_carry_the_reference_of_their_part(pair):
    profile, emulator, modem = pair
    emulator.set_delivery("+8613800138009", status="failed")
    [good] = modem.send_sms(CALLER, "到了吗")
    [bad] = modem.send_sms("+8613800138009", "到了吗")
    reports = {r.reference: r for r in (next_event(modem, DeliveryReport),
                                        next_event(modem, DeliveryReport))}
    assert reports[good].delivered and reports[good].final
    assert not reports[bad].delivered and reports[bad].final


def test_health_and_balance(pair):
    profile, emulator, modem = pair
    reading = modem.health()
    assert reading.registered and reading.sim == "READY"
    assert reading.signal is not None and reading.operator
    assert reading.technology == ("2G" if profile == "sim800" else
                                  "4G" if profile in ("sim7600", "ec25") else reading.technology)
    assert reading.network_time is not None
    modem.request_balance("*100#")
    assert "余额" in next_event(modem, UssdReply).text


def test_unsolicited_lines_inside_a_response_do_not_break_anything(tmp_path):
    emulator = EmulatorServer(PROFILES["sim7600"].with_changes(interleave_urcs=True),
                              Latency.realistic(scale=0.02, sms_submit=15),
                                                link=str(tmp_path / "modem")).start()
    modem = SerialModem(emulator.link, name="sloppy")
    modem.start()
    try:
        emulator.call("13800138000")
        emulator.sms(CALLER, "收到")
        modem.send_sms(CALLER, "测试")
        assert next_event(modem, IncomingCall).digits.endswith("13800138000")
        modem.reject_call()
        assert next_event(modem, IncomingSms).text == "收到"
        assert [e["text"] for e in emulator.log() if e["kind"] == "sms_sent"] == ["测试"]
    finally:
        modem.stop()
        emulator.stop()


@pytest.mark.skipif(not os.environ.get("EDGEBOX_TEST_MODEM_PORT"),
                    reason="set EDGEBOX_TEST_MODEM_PORT to a real modem's AT port to run this")
def test_real_modem_contract():
    """The part of the contract a real modem can show without a second phone: it starts, is
    registered with a SIM and signal, and (if EDGEBOX_TEST_SMS_TO is set) sends an SMS."""
    modem = SerialModem(os.environ["EDGEBOX_TEST_MODEM_PORT"], name="hardware",
                        delivery_reports=True)
    modem.start()
    try:
        reading = modem.health()
        assert reading.sim == "READY" and reading.registered and reading.signal is not None
        if os.environ.get("EDGEBOX_TEST_SMS_TO"):
            assert modem.send_sms(os.environ["EDGEBOX_TEST_SMS_TO"], "edgebox 测试短信")
    finally:
        modem.stop()
