"""The ring plan through the real daemon on the emulator, at real networks' timing scaled: the
first member is rung before the group is all texted, two modems both ring, and a flash (响一声)
hangs up its seconds after the phone starts ringing, with no words. (The order itself,
edgebox.domain.alarm.order_fan_out, and its timing on 1-4 modems: tests/test_ring_plan.py; the
figures: ``python -m bench fanout``.)"""
import pytest

from edgebox.emulator import EmulatorServer, Latency
from tests.conftest import TIME_SCALE
from tests.support import LI, LI_2, LIU, WANG, ZHANG, query, start_box, stop, wait_for

pytestmark = pytest.mark.slow

MEMBERS = {WANG, LI, LI_2, LIU}  # 张伟 (H03) calls: every phone of the other members of 第一组


def emulators(tmp_path, count: int, scale: float = TIME_SCALE, **typical: float
              ) -> list[EmulatorServer]:
    return [EmulatorServer(link=str(tmp_path / f"modem{i}"),
                           latency=Latency.realistic(scale=scale, **typical)).start()
            for i in range(1, count + 1)]


def alarm_and_fan_out(tmp_path, modems, extra: str):
    """ZHANG calls the box; wait for every delivery to be done. Returns (entries, db): every
    modem's log, each entry marked with its modem's index."""
    daemon, db, _, log_path = start_box(tmp_path, modems, extra=extra)
    try:
        modems[0].call("18600138003")
        wait_for(lambda: query(db, "SELECT count(*) FROM deliveries")[0][0] > 0
                 and query(db, "SELECT count(*) FROM deliveries WHERE state IN"
                               " ('pending', 'sending')")[0][0] == 0,
                 60, "every delivery to finish", log_path)
    finally:
        stop(daemon)
        for modem in modems:
            modem.stop()
    entries = sorted((dict(e, modem=i) for i, m in enumerate(modems) for e in m.log()),
                     key=lambda e: e["clock"])
    return entries, db


def dialled_at(call: dict) -> float:
    """When the box dialled (the emulator logs a call when it ends, with its duration)."""
    return call["clock"] - call["duration"]


def test_one_modem_rings_the_leader_after_his_sms_before_texting_the_rest(tmp_path):
    modems = emulators(tmp_path, 1)
    entries, db = alarm_and_fan_out(tmp_path, modems,
                                    "[alarm]\nring_members = true\nring_seconds = 5\n")
    sent = [e for e in entries if e["kind"] == "sms_sent"]
    calls = [e for e in entries if e["kind"] == "call_placed"]
    assert {e["number"] for e in sent} == MEMBERS | {ZHANG}
    assert [e["number"] for e in calls] == [WANG, LIU, LI]  # leader, 应急骨干, the rest
    # The leader's SMS, then his phone rings, and only then are the others texted.
    assert sent[0]["number"] == WANG
    last_sms = max(e["clock"] for e in sent if e["number"] in MEMBERS)
    assert sent[0]["clock"] < dialled_at(calls[0]) < last_sms
    assert all(dialled_at(c) > last_sms for c in calls[1:])
    assert query(db, "SELECT purpose FROM deliveries WHERE kind = 'call'") == [("ring",)] * 3


def test_two_modems_both_ring_and_the_first_ring_starts_at_once(tmp_path):
    # A slow cell (10 s submits): the first ring goes meanwhile. At a tenth of real time, not
    # the usual fiftieth: the network's time is scaled, the box's own work before the ring (the
    # plan, the sentence it will speak) is not, and on a loaded machine it took longer than a
    # fiftieth of a submit (0.24 s after the plan against a 0.2 s submit).
    modems = emulators(tmp_path, 2, scale=0.1, sms_submit=10)
    entries, db = alarm_and_fan_out(tmp_path, modems,
                                    "[alarm]\nring_members = true\nring_seconds = 5\n")
    sent = [e for e in entries if e["kind"] == "sms_sent"]
    calls = [e for e in entries if e["kind"] == "call_placed"]
    assert sorted(e["number"] for e in calls) == sorted([WANG, LIU, LI])
    assert {e["modem"] for e in calls} == {0, 1}  # not all rings on one modem
    # The leader is dialled while the first SMS is still being submitted by the other modem.
    leader = next(c for c in calls if c["number"] == WANG)
    assert dialled_at(leader) < sent[0]["clock"]
    assert {e["number"] for e in sent} == MEMBERS | {ZHANG}
    assert query(db, "SELECT count(DISTINCT modem) FROM deliveries WHERE kind = 'call'") == [(2,)]


def test_a_flash_rings_its_seconds_says_nothing_and_follows_each_sms(tmp_path):
    # The network gives up after 25 s of ringing (scaled: 7.5 s), well after the flash; the
    # leader picks up after 1 s of ringing, and hears nothing.
    modems = emulators(tmp_path, 1, scale=0.1, ring_timeout=75)
    modems[0].set_callee(WANG, answer_after=1.0)
    entries, db = alarm_and_fan_out(
        tmp_path, modems, "[alarm]\nring_members = true\nring_style = \"flash\"\n"
                          "flash_seconds = 3\n")
    calls = [e for e in entries if e["kind"] == "call_placed"]
    assert [e["number"] for e in calls] == [WANG, LIU, LI]
    # The box hung up each: the phone rang (or was answered) for the flash's seconds, and
    # never until the network gave up; nothing was spoken.
    assert {c["outcome"] for c in calls} == {"hung_up_by_box", "answered"}
    assert all(c["duration"] - c["setup_seconds"] >= 3 for c in calls if c["number"] != WANG)
    assert not [e for e in entries if e["kind"] in ("tts", "audio")]
    # Each member's SMS was submitted before their phone rang.
    for call in calls:
        texted = min(e["clock"] for e in entries
                     if e["kind"] == "sms_sent" and e["number"] == call["number"])
        assert texted < dialled_at(call) + call["setup_seconds"]
    # Each keeps the alarm's words, for if its member's SMS fails (then it rings in full).
    rows = query(db, "SELECT purpose, text FROM deliveries WHERE kind = 'call'")
    assert [purpose for purpose, _ in rows] == ["flash"] * 3
    assert all("请立即前往" in text for _, text in rows)
