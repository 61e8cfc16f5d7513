from tests.support import SHEET


def test_alarm_reaches_the_group(village):
    box = village()
    box.call("H03")
    box.wait_for(lambda: len(box.texts("H01")) == 1, "the leader's alarm SMS")
    box.wait_idle()
    print(box.texts("H01"), box.texts("H03"), box.calls_received(), box.clock.now())
