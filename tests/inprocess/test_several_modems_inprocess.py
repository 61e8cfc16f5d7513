"""Several modems, in process: an alarm's texts spread over them and each delivery records the
modem that carried it; a modem that goes away mid fan-out leaves its work to the other, and no
member is missed. (Power cycles and `edgebox modem status`: tests/test_several_modems.py.)"""
from tests.support import LI, LI_2, LIU, WANG, ZHANG

EVERYONE = (WANG, LI, LI_2, LIU, ZHANG)  # 第一组 and 张伟's confirmation


def both_submitting(box) -> None:
    """张伟 calls with the cell held; wait until each modem has an SMS in its hands."""
    box.network.hold_submits()
    box.call("H03")
    box.wait_for(lambda: box.network.held_submits == 2, "both modems to be submitting")


def test_sms_spread_over_both_modems_and_each_records_its_modem(village):
    box = village(modems=2)
    both_submitting(box)
    box.network.release_submits()
    box.wait_idle()

    carried = dict(box.query("SELECT modem, count(*) FROM deliveries GROUP BY modem"))
    assert set(carried) == {"m1", "m2"} and sum(carried.values()) == 5
    by_modem = {name: sum(e["modem"] == name for e in box.network.entries("sms_sent"))
                for name in ("m1", "m2")}
    assert by_modem == carried
    assert all(len(box.texts(phone)) == 1 for phone in EVERYONE)


def test_work_of_a_dead_modem_moves_to_the_other(village):
    box = village(modems=2)
    both_submitting(box)
    box.modem("m2").unplug()  # gone for good, with an SMS in its hands
    box.network.release_submits()
    box.wait_idle()

    assert all(len(box.texts(phone)) == 1 for phone in EVERYONE)
    assert not box.deliveries(state="failed")
    assert [e["data"]["modem"] for e in box.events("modem_lost")] == ["m2"]
    assert {e["modem"] for e in box.network.entries("sms_sent")} == {"m1"}
    # The SMS m2 was submitting went back to the queue without using up an attempt.
    [retry] = box.events("delivery_retry")
    assert "m2" in retry["data"]["error"]
    assert {d["attempts"] for d in box.deliveries()} == {1}


def test_an_alarm_is_planned_over_the_modems_up_not_those_configured(village):
    """Two modems configured, one gone: the fan-out is planned for the one that works (the
    leader's SMS, then at once their ring), not with the first ring reckoned on a second lane
    that nobody drains."""
    box = village(modems=2, settings={"alarm": {"ring_members": True}})
    box.modem("m2").unplug()
    box.wait_for(lambda: box.events("modem_lost"), "the box to see m2 gone")
    box.network.hold_submits()  # the plan as committed, before anything goes out
    box.call("H03")
    box.wait_for(lambda: box.deliveries(), "the alarm to be planned")
    in_order = box.query("SELECT kind, phone FROM deliveries ORDER BY priority, id LIMIT 2")
    box.network.release_submits()
    assert in_order == [("sms", WANG), ("call", WANG)]
