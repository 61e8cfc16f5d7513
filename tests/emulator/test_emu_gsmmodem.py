"""python-gsmmodem-new, the library the box's modem adapter builds on, against the emulator's pty."""
import queue
import threading
import time

import pytest
import serial
from gsmmodem.modem import GsmModem

from edgebox.emulator import EmulatorServer

WAIT = 20.0  # generous: shared machines can be slow; nothing here is timed


@pytest.fixture
def emulator():
    with EmulatorServer() as emu:
        yield emu


@pytest.fixture
def events():
    return queue.Queue()


@pytest.fixture
def modem(emulator, events):
    def on_call(call):
        events.put(("call", call))

    def on_sms(sms):
        events.put(("sms", sms))

    # Reports not routed (<ds>=0): the library asks for them on every multipart SMS anyway, and it
    # reads a +CDSI-announced one on its own thread, which can type into the next part's "> "
    # prompt. test_library_waits_for_its_delivery_report covers reports.
    modem = GsmModem(emulator.port, 115200, incomingCallCallbackFunc=on_call, smsReceivedCallbackFunc=on_sms,
                     AT_CNMI="2,1,0,0,0")
    modem.connect()
    yield modem
    # The library answers each notification on a thread of its own (an SMS: AT+CMGR, the
    # callback, AT+CMGD). Closing the port while one still waits for its OK ends that thread
    # with a timeout ten seconds later, in whichever test is running by then.
    wait_until(library_notifications_done)
    modem.close()


def wait_until(condition, timeout=WAIT, interval=0.05):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{condition.__name__} did not come true in {timeout} s"
        time.sleep(interval)


def library_notifications_done():
    """python-gsmmodem-new handles each notification on a thread of its own, named after it."""
    return not any("HandleModemNotification" in thread.name for thread in threading.enumerate())


def sent_sms(entries):
    return [entry for entry in entries if entry["kind"] == "sms_sent"]


def test_plain_pyserial_session_and_stable_link(tmp_path):
    link = tmp_path / "modem"
    link.symlink_to("/nonexistent/stale-device")
    with EmulatorServer(link=str(link)) as emu:
        assert link.resolve() == type(link)(emu.port).resolve()
        with serial.Serial(str(link), 115200, timeout=WAIT) as port:
            port.write(b"AT+CGMM\r")
            assert port.read_until(b"OK\r\n") == b"AT+CGMM\r\r\nEMU-1\r\n\r\nOK\r\n"
        with serial.Serial(str(link), 115200, timeout=WAIT) as port:  # reopening works too
            port.write(b"AT\r")
            assert port.read_until(b"OK\r\n").endswith(b"OK\r\n")
    assert not link.exists() and not link.is_symlink()


def test_connect_identifies_a_generic_modem(modem):
    assert modem.manufacturer == "edgebox" and modem.model == "EMU-1"
    assert modem.imei == "866123045678901"


def test_send_chinese_sms_single_and_concatenated(emulator, modem):
    modem.sendSms("+8613800138000", "张三家着火了，请速来！")
    long_text = ("张三家着火了，请速来！村口集合。" * 10)[:150]
    modem.sendSms("+8613800138000", long_text)
    entries = emulator.wait_for(lambda e: len(sent_sms(e)) == 2, WAIT)
    first, second = sent_sms(entries)
    assert (first["number"], first["text"], first["parts"], first["encoding"]) == (
        "+8613800138000", "张三家着火了，请速来！", 1, "ucs2")
    assert (second["text"], second["parts"], second["encoding"]) == (long_text, 3, "ucs2")


def test_injected_sms_reaches_the_callback(emulator, modem, events):
    emulator.sms("+8613900000001", "李四：我家着火了！")
    kind, sms = events.get(timeout=WAIT)
    assert kind == "sms" and sms.text == "李四：我家着火了！" and sms.number == "+8613900000001"

    def library_deleted_it():  # it sends AT+CMGD after the callback
        return all(len(storage) == 0 for storage in emulator.engine.services["sms"].storages.values())
    wait_until(library_deleted_it)


def test_injected_call_reaches_the_callback_and_hangup_rejects_it(emulator, modem, events):
    call_id = emulator.call("+8613800138000", rings=30, ring_interval=1.0)
    kind, call = events.get(timeout=WAIT)
    assert kind == "call" and call.number == "+8613800138000"
    call.hangup()
    entry = emulator.wait_for_call(call_id, WAIT)
    assert entry["outcome"] == "rejected" and entry["rejected_after"] is not None


@pytest.mark.parametrize("outcome, expected", [("delivered", "DELIVERED"), ("failed", "FAILED")])
def test_library_waits_for_its_delivery_report(emulator, outcome, expected):
    from gsmmodem.modem import SentSms

    emulator.set_delivery("+8613800138000", outcome)
    modem = GsmModem(emulator.port, 115200, smsStatusReportCallback=lambda report: None)
    modem.connect()
    try:
        sms = modem.sendSms("13800138000", "report please", waitForDeliveryReport=True, deliveryTimeout=WAIT)
        assert sms.status == getattr(SentSms, expected)
        (report,) = [e for e in emulator.log() if e["kind"] == "delivery_report"]
        assert report["reference"] == sms.reference and report["routed"] == "cdsi"
        # The library reads and deletes the stored report on a thread of its own, which may
        # still be at its AT+CMGD when the waiter is released: closing the port under it would
        # end that thread with a timeout. Let it finish first.
        wait_until(library_notifications_done)
    finally:
        modem.close()
