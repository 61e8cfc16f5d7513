"""python-gsmmodem-new's connect() on every profile, over the pty, and with a SIM that is not ready."""
import queue

import pytest
from gsmmodem.exceptions import PinRequiredError
from gsmmodem.modem import GsmModem

from edgebox.emulator import PROFILES, EmulatorServer

WAIT = 20.0
# The caller as the library reports it. It prefixes "+" to whatever digits +CLIP has, so national
# numbers (generic as given, SIM800) arrive as "+138…"; it only reads a +CLIP that follows RING,
# so with EC25's +CLIP-before-RING it reports no number at all: the adapter must parse +CLIP itself.
LIBRARY_SEES = {"generic": "+13800138000", "sim800": "+13800138000", "sim7600": "+8613800138000",
                "ec25": None, "a7670": "+8613800138000"}


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_connect_succeeds_and_sees_calls_and_sms(profile):
    events = queue.Queue()
    with EmulatorServer(profile) as emu:
        modem = GsmModem(emu.port, 115200, incomingCallCallbackFunc=lambda call: events.put(call),
                         smsReceivedCallbackFunc=lambda sms: events.put(sms))
        modem.connect()
        try:
            assert modem.manufacturer == PROFILES[profile].manufacturer
            assert modem.model == PROFILES[profile].model
            emu.sms("+8613900000001", "着火了")
            assert events.get(timeout=WAIT).text == "着火了"
            emu.call("13800138000", rings=30)
            call = events.get(timeout=WAIT)
            assert call.number == LIBRARY_SEES[profile]
            call.hangup()
            emu.wait_for(lambda entries: any(e["kind"] == "call_received" for e in entries), WAIT)
        finally:
            modem.close()


def test_connect_fails_while_the_sim_is_not_ready_at_boot():
    with EmulatorServer("sim7600", sim_not_ready=60.0) as emu:
        modem = GsmModem(emu.port, 115200)
        try:
            with pytest.raises(PinRequiredError):
                modem.connect()
        finally:
            modem.close()
