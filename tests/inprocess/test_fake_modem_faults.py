"""The FakeModem's scripted failures reach the daemon as the real modem's do: a modem that goes
away and comes back, a restart in place, submits that hang, a caller that rings on; and a
fake:// port is checked like any other config key. (The serial side of the same:
tests/test_modem_faults.py, tests/test_modem_restarts.py.)"""
import pytest

from edgebox.config_file import parse_config
from edgebox.daemon.app import build_modems
from edgebox.domain.messages import render
from edgebox.errors import ConfigError
from tests.support import LI, LIU, WANG, ZHANG

ALARM = render("zh", "alarm", group="第一组", caller="张伟", address="石桥村一组3号")


def test_an_unplugged_modem_is_reopened_and_the_alarm_still_goes_out(village):
    box = village()
    box.modem().unplug()
    box.wait_for(lambda: box.events("modem_unavailable"), "a reopen to fail")
    box.call("H03")  # nobody can reach an unplugged box
    assert box.calls_received() == [(ZHANG, "unreachable")]
    box.modem().plug_in()
    box.wait_for(lambda: len(box.events("modem_ready")) == 2, "the modem to be reopened")
    box.call("H03")
    box.wait_idle()

    assert [e["data"]["reason"] for e in box.events("modem_lost")] == ["port gone"]
    assert box.texts(WANG) == [ALARM] and box.texts(LIU) == [ALARM]
    assert box.calls_received()[-1] == (ZHANG, "rejected")


def test_a_restart_in_place_is_seen_and_the_modem_initialised_again(village):
    box = village()
    box.modem().restart_in_place()
    box.wait_for(lambda: box.events("modem_restarted"), "the restart to be handled")
    box.call("H03")
    box.wait_idle()
    [restarted] = box.events("modem_restarted")
    assert restarted["data"]["detected"] == "RDY"
    assert box.texts(LI) == [ALARM]


def test_a_restart_nobody_saw_shows_callers_without_their_number(village):
    box = village(settings={"numbers": {"office": ["+8613300138099"]}})
    box.modem().restart_in_place(seen=False)  # +CLIP is off until the modem is set up again
    box.call("H03")
    box.wait_idle()
    assert not box.incidents()  # no number, no household: no alarm, but not unseen either
    assert box.calls_received() == [(ZHANG, "rejected")]
    [unknown] = box.events("unknown_caller")
    assert unknown["data"]["withheld"] is True


def test_submits_that_hang_reset_the_modem_and_the_alarm_still_reaches_everyone(village):
    box = village()
    box.network.state.add_stuck("AT+CMGS", 2)  # two submits get no answer at all
    box.call("H03")
    box.run(5 * 60, step=30)
    assert len(box.events("modem_reset")) == 1
    assert box.texts(WANG) == [ALARM] and box.texts(LI) == [ALARM] and box.texts(LIU) == [ALARM]
    # The modem's fault, not the member's: no attempt of theirs was used up by it.
    assert not box.deliveries(state="failed")


def test_a_caller_left_ringing_while_the_port_is_busy_is_one_call_back(village):
    box = village()
    box.call("H03")
    box.wait_idle()
    box.network.hold_submits()
    box.sms(WANG, "1")  # the relay to 张伟 holds the port
    box.wait_for(lambda: box.network.held_submits == 1, "the relay in the modem's hands")
    box.call(LI, rings=5)
    box.wait_for(lambda: box.modem().hang_ups_waiting == 1, "the hang-up to wait")
    box.advance(12)  # her call rings on, RING after RING (same_call), until the hang-up
    box.network.release_submits()
    box.wait_idle()
    assert [a[0] for a in box.acks()] == ["H01", "H02"]  # one call back, not three
    assert len(box.incidents()) == 1
    assert [n for n, _ in box.calls_received()] == [ZHANG, LI]


@pytest.mark.parametrize("port", ["fake:", "fake://", "fake://two words", "fake:/x"])
def test_a_malformed_fake_port_names_the_key(port):
    with pytest.raises(ConfigError) as caught:
        parse_config(f'[[modems]]\nport = "{port}"\n')
    assert "modems[1].port" in str(caught.value) and "fake://<network name>" in str(caught.value)


def test_a_fake_port_naming_no_network_is_refused_at_build():
    config = parse_config('[[modems]]\nport = "/dev/ttyUSB0"\n'
                          '[[modems]]\nport = "fake://nowhere"\n')
    with pytest.raises(ConfigError) as caught:
        build_modems(config, None)
    assert "modems[2].port" in str(caught.value) and "nowhere" in str(caught.value)
