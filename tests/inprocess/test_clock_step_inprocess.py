"""A wall-clock step that lands between the event loop's look for steps and its timers' tick:
the tick measures with the time of that look, so the alarm's timers are moved before anything
counts with the stepped clock. Before, the tick read the clock afresh and an alarm expired two
hours early (seen once in the reliability suite's clock-jump test under load)."""
from datetime import timedelta

from edgebox.adapters.modem.fake_network import FakeNetwork

STEP = timedelta(hours=2)  # more than the alarm's open time: a tick measuring with it expires it


def test_a_step_right_before_the_tick_never_expires_an_open_alarm(village):
    box = village(settings={"siren": {"on_seconds": 30}})
    box.call("H06")
    box.wait_idle()
    [incident] = box.incidents()
    daemon, stepped = box.daemon, []
    plain = daemon.clock

    def stepping_clock():  # the first reading of the daemon's own clock finds it stepped
        if not stepped:
            stepped.append(True)
            box.clock._start += STEP
        return plain()

    daemon.clock = stepping_clock
    try:
        for _ in range(5):
            box.advance(1.5)
            box.wait_idle()
        if not stepped:  # nothing read the daemon's clock: step it for the watch to see
            stepping_clock()
            box.advance(1.5)
            box.wait_idle()
        [incident] = box.incidents()
        assert (incident["state"], incident["closed_reason"]) == ("open", None), \
            "the alarm expired on the stepped clock"
        [jump] = box.events("clock_jumped")
        assert abs(jump["data"]["seconds"] - STEP.total_seconds()) < 5
    finally:
        # The village's own stop insists that virtual time never looked like a step; this
        # test made one on purpose.
        daemon.clock = plain
        box.daemon.stop()
        FakeNetwork.unregister(box.name)
        box.stop = lambda: None
