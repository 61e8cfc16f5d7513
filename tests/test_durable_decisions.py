"""Every decision commits in one transaction with everything it plans to send; every SMS that
reached the box is acted on once. Proved by killing the daemon (SIGKILL) at a point forced from
outside, restarting it, and checking what the network saw.

The kill points are made by the emulator, not by the daemon:
- a command that never gets its answer (``stuck``) holds the thread that sent it: "AT+CMGS"
  holds the modem worker so nothing of a fresh plan can have gone out when the box dies;
  "ATH" on a second modem (hanging up a stranger's call) holds the event loop, so an SMS the
  modem has already handed over, a key a member pressed in a ring call, or a click on the web
  panel, waits unrecorded;
- a member whose alarm SMS failed once waits in back-off, not yet told of the alarm.

Then: the all-clear, the update, the addendum, the broadcast and its confirmation, the failure
summary and the drill report each reach every recipient exactly once; the SMS alarm, the key
acknowledgement and the office's click are acted on after the restart.

The SMS handed over but not acted on, and the key pressed but not recorded, are kills inside
what used to be a gap. The other decisions and their plans are one transaction now, with no
instant between them to kill at: those tests kill at the nearest point outside it (decided,
nothing of it sent). tests/test_kill_restart.py adds kills at random points around cancels,
SMS alarms, acknowledgements and broadcasts.

Plus the inbox's own seams: the modem deletes an SMS only once the store kept it, and the store
knows a message read again.
"""
import json
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from edgebox.adapters.modem import SerialModem
from edgebox.domain.messages import render
from edgebox.emulator import EmulatorServer, Latency
from edgebox.emulator.calls import ALERTING
from edgebox.store import SqliteStore
from edgebox.web.passwords import hash_password
from tests.support import SHEET, query, toml_value, wait_for
from tests.test_alarm_acks import (CHEN, LI, LI_2, LIU, OFFICE, STRANGER, TOWNSHIP, WANG, YANG,
                                   ZHANG)
from tests.test_drills import PASSWORD, web_login

GROUP_ONE = [WANG, LI, LI_2, LIU]  # 第一组 but 张伟 (H03), who raises its alarms here
VILLAGE = [WANG, LI, LI_2, ZHANG, LIU, CHEN, YANG]
CMS_FAILURE = 500  # +CMS ERROR: 500, "unknown error": the network refuses that number


class Box:
    """``edgebox run`` as a process on one or two emulated modems, killed and restarted at will.
    The second modem (when there is one) sends no voice calls: it is only there to hold the
    event loop when a test asks it to."""

    def __init__(self, tmp_path, settings=None, modems=1, latency=None):
        self.db = tmp_path / "box.db"
        self.log_path = tmp_path / "daemon.log"
        self.emulators = [
            EmulatorServer("sim7600", latency or Latency.realistic(scale=0.02, sms_submit=2.5,
                                                                   call_setup=2.5, ring_timeout=15),
                           link=str(tmp_path / f"modem{i}")).start()
            for i in range(1, modems + 1)]
        self.emulator = self.emulators[0]
        tables = {
            "box": {"database": str(self.db)},
            # A stuck command holds its thread for long, far beyond each test's kill.
            "modem": {"command_timeout": 60, "sms_timeout": 120, "retry_seconds": 0.5,
                      "health_minutes": 60},
            "alarm": {"ring_members": False, "ring_seconds": 5, "merge_seconds": 0,
                      "forward_unknown_callers": False},
            "numbers": {"office": [OFFICE], "township": [TOWNSHIP]},
            "broadcast": {"allowed": [OFFICE]},
            "siren": {"on_seconds": 0},
        }
        for name, values in (settings or {}).items():
            tables.setdefault(name, {}).update(values)
        lines = []
        for name, values in tables.items():
            lines.append(f"[{name}]")
            lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
        for number, emulator in enumerate(self.emulators, start=1):
            lines += ["[[modems]]", f'name = "m{number}"', f'port = "{emulator.link}"',
                      f"voice = {toml_value(number == 1)}"]
        self.config = tmp_path / "edgebox.toml"
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        sheet = tmp_path / "village.csv"
        sheet.write_text(SHEET, encoding="utf-8")
        subprocess.run([sys.executable, "-m", "edgebox", "roster", "import", str(sheet),
                        "--config", str(self.config)], check=True, capture_output=True,
                       timeout=60)
        self.daemon = None
        self.start()

    def ready_count(self) -> int:
        if not self.db.exists():
            return 0
        return self.query("SELECT count(*) FROM events WHERE kind = 'modem_ready'")[0][0]

    def start(self) -> None:
        ready = self.ready_count()
        with open(self.log_path, "a") as log_file:
            self.daemon = subprocess.Popen(
                [sys.executable, "-m", "edgebox", "run", "--config", str(self.config)],
                stdout=log_file, stderr=subprocess.STDOUT)

        def all_ready():
            assert self.daemon.poll() is None, self.log_path.read_text()[-3000:]
            return self.ready_count() >= ready + len(self.emulators)
        self.wait(all_ready, "every modem to be ready")

    def kill_and_restart(self) -> None:
        self.daemon.send_signal(signal.SIGKILL)
        self.daemon.wait(30)
        self.start()

    def stop(self) -> None:
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(30)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        for emulator in self.emulators:
            emulator.stop()

    def wait(self, condition, what: str, timeout: float = 60) -> None:
        wait_for(condition, timeout, what, self.log_path)

    def query(self, sql: str, *args) -> list[tuple]:
        return query(self.db, sql, *args)

    def events(self, kind: str) -> list[tuple]:
        return self.query("SELECT incident_id, data FROM events WHERE kind = ? ORDER BY seq", kind)

    def drained(self) -> bool:
        return self.query("SELECT count(*) FROM deliveries WHERE state IN ('pending', 'sending')"
                          )[0][0] == 0

    def texts(self, number: str | None = None) -> list[str]:
        """What the network carried (to ``number``), over every modem, in order."""
        return [e["text"] for emulator in self.emulators for e in emulator.log()
                if e["kind"] == "sms_sent" and (number is None or e["number"] == number)]

    def stuck(self, prefix: str, emulator=None) -> bool:
        """The modem got a command starting with ``prefix`` that it will never answer."""
        return any(e["kind"] == "stuck_command" and e["command"].startswith(prefix)
                   for e in (emulator or self.emulator).log())

    def assert_no_traceback(self) -> None:
        assert "Traceback" not in self.log_path.read_text(), self.log_path.read_text()[-3000:]


@pytest.fixture
def make_box(tmp_path):
    boxes = []

    def make(**kwargs) -> Box:
        boxes.append(Box(tmp_path, **kwargs))
        return boxes[-1]
    yield make
    for box in boxes:
        box.stop()


def stored_on_modem(emulator) -> int:
    """How many received messages the modem still keeps, on its SIM and in its memory."""
    storages = emulator.engine.services["sms"].storages
    return len(storages["SM"]) + len(storages["ME"])


def hold_the_event_loop(box: Box) -> None:
    """A stranger rings the second modem, whose hang-up never gets an answer: the event loop,
    which hangs up on callers itself, waits there (for the whole command timeout)."""
    second = box.emulators[1]
    second.stuck("ATH")
    second.call(STRANGER, rings=3)
    box.wait(lambda: box.stuck("ATH", second), "the event loop to hang on the stranger's call")


def alarm_by_zhang(box: Box) -> None:
    """张伟 (H03) calls: 第一组's alarm, texted to every phone of the group and confirmed."""
    box.emulator.call(ZHANG)
    box.wait(lambda: len(box.texts()) == 5 and box.drained(), "the alarm texts")


# ---- the inbox: an SMS the modem handed over survives the box dying ------------------------------

@pytest.mark.slow
def test_an_alarm_sms_taken_off_the_sim_but_not_yet_acted_on_survives_a_kill(make_box):
    box = make_box(modems=2)
    hold_the_event_loop(box)
    box.emulator.sms(YANG, "火 柴房着火了 快来人")  # 杨磊 (H06) of 第二组, to the first modem
    # The modem has handed it over (nothing of it is left on the SIM), and the box has not
    # acted on it: the only copy is the box's.
    box.wait(lambda: stored_on_modem(box.emulator) == 0, "the box to take the SMS")
    assert box.query("SELECT count(*) FROM incidents") == [(0,)], "the kill came too late"
    box.kill_and_restart()
    box.wait(lambda: box.query("SELECT count(*) FROM incidents")[0][0] == 1 and box.drained()
             and len(box.texts()) == 2, "the SMS alarm after the restart")
    box.stop()
    box.assert_no_traceback()

    assert box.query("SELECT caller_household_id, alarm_type, text FROM incidents") == [
        ("H06", "fire", "火 柴房着火了 快来人")]
    assert box.texts(CHEN) == [render("zh", "alarm_typed", label="火警", group="第二组",
                                      caller="杨磊", address="石桥村二组2号",
                                      text="火 柴房着火了 快来人", dial="请拨火警119，")]
    assert box.texts(YANG) == [render("zh", "confirm", group="第二组", notified=1)]
    assert [e for e in box.emulator.log() if e["kind"] == "sms_received"][0]["number"] == YANG
    assert box.query("SELECT count(*) FROM inbox WHERE handled_at IS NULL") == [(0,)]


@pytest.mark.slow
def test_a_key_pressed_in_a_ring_call_but_not_yet_recorded_survives_a_kill(make_box):
    # Ring calls, leader first: 王建国 lets it ring (five seconds), then 刘洋 answers and
    # presses 1. No network give-up: the box's own ring time ends unanswered calls.
    box = make_box(modems=2, settings={"alarm": {"ring_members": True}},
                   latency=Latency.realistic(scale=0.02, sms_submit=2.5, call_setup=2.5,
                                             ring_timeout=4500))
    box.emulator.set_callee(LIU, answer_after=0.3, press="1", press_after=0.3)
    box.emulator.set_callee(LI, busy=True)
    box.emulator.call(ZHANG)
    calls = box.emulator.engine.services["calls"]

    def ringing(number: str) -> bool:
        current = calls.current
        return current is not None and current.number == number and current.state == ALERTING
    box.wait(lambda: ringing(WANG), "the leader's phone to ring")
    hold_the_event_loop(box)
    # Held while the leader's phone still rang: 刘洋's key comes after, and waits unrecorded.
    assert not [e for e in box.emulator.log() if e["kind"] == "call_placed"], "held too late"
    box.wait(lambda: box.query("SELECT count(*) FROM events WHERE kind = 'call_placed' AND"
                               " json_extract(data, '$.result') = 'acknowledged'")[0][0],
             "刘洋's key")
    assert box.query("SELECT count(*) FROM acks") == [(0,)], "the kill came too late"
    box.kill_and_restart()
    relay = render("zh", "ack_relay", member="刘洋", address="石桥村一组4号")
    box.wait(lambda: relay in box.texts(ZHANG) and box.drained(), "the relay after the restart")
    box.stop()
    box.assert_no_traceback()

    assert box.query("SELECT household_id, phone, channel FROM acks") == [("H04", LIU, "dtmf")]
    assert box.texts(ZHANG).count(relay) == 1
    assert [e["outcome"] for e in box.emulator.log()
            if e["kind"] == "call_placed" and e["number"] == LIU] == ["answered"]


# ---- decisions committed before the modem could send any of their messages ---------------------

@pytest.mark.slow
def test_a_cancel_whose_all_clear_never_left_the_modem_is_sent_once_after_a_kill(make_box):
    box = make_box()
    alarm_by_zhang(box)
    box.emulator.stuck("AT+CMGS")  # the first all-clear will hang in the modem
    box.emulator.sms(ZHANG, "0")
    box.wait(lambda: box.query("SELECT state FROM incidents") == [("closed",)]
             and box.stuck("AT+CMGS"), "the cancel, with the modem hanging")
    box.kill_and_restart()
    everyone = [*GROUP_ONE, ZHANG]
    box.wait(lambda: box.drained() and len(box.texts()) == 5 + len(everyone),
             "the all-clear after the restart")
    box.stop()
    box.assert_no_traceback()

    all_clear = render("zh", "all_clear", group="第一组", caller="张伟")
    for phone in everyone:
        assert box.texts(phone).count(all_clear) == 1, (phone, box.texts(phone))
    assert box.query("SELECT closed_reason FROM incidents") == [("cancelled",)]
    assert len(box.events("incident_closed")) == 1


@pytest.mark.slow
def test_a_broadcast_whose_confirmation_never_left_the_modem_is_sent_once_after_a_kill(
        make_box):
    box = make_box()
    box.emulator.stuck("AT+CMGS")
    box.emulator.sms(OFFICE, "广播 今晚八点村委会开会")
    box.wait(lambda: box.query("SELECT count(*) FROM broadcasts")[0][0]
             and box.stuck("AT+CMGS"), "the broadcast, with the modem hanging")
    assert box.texts() == []
    box.kill_and_restart()
    box.wait(lambda: box.drained() and len(box.texts()) == 1 + len(VILLAGE),
             "the broadcast after the restart")
    box.stop()
    box.assert_no_traceback()

    assert box.texts(OFFICE) == [render("zh", "broadcast_confirm", households=6, messages=7)]
    for phone in VILLAGE:
        assert box.texts(phone) == [render("zh", "broadcast", text="今晚八点村委会开会")]
    assert box.query("SELECT count(*) FROM broadcasts") == [(1,)]


@pytest.mark.slow
def test_an_update_whose_texts_never_left_the_modem_is_sent_once_after_a_kill(make_box):
    box = make_box()
    alarm_by_zhang(box)
    box.emulator.stuck("AT+CMGS")
    box.emulator.sms(ZHANG, "盗 有人撬我家后门")  # the caller says what is happening
    box.wait(lambda: box.events("incident_enriched") and box.stuck("AT+CMGS"),
             "the update, with the modem hanging")
    box.kill_and_restart()
    box.wait(lambda: box.drained() and len(box.texts()) == 5 + len(GROUP_ONE),
             "the update after the restart")
    box.stop()
    box.assert_no_traceback()

    update = render("zh", "update", label="盗警", caller="张伟", address="石桥村一组3号",
                    text="盗 有人撬我家后门")
    for phone in GROUP_ONE:
        assert box.texts(phone).count(update) == 1, (phone, box.texts(phone))
    assert box.texts(ZHANG) == [render("zh", "confirm", group="第一组", notified=3)]
    assert box.query("SELECT alarm_type, text FROM incidents") == [("thief",
                                                                    "盗 有人撬我家后门")]


@pytest.mark.slow
def test_a_neighbour_joining_whose_texts_never_left_the_modem_is_told_once_after_a_kill(
        make_box):
    # 刘洋's phone refuses the alarm SMS once: it waits in back-off, so he has not been told
    # when he texts the box himself, moments later. That is the same emergency from next door.
    box = make_box(settings={"alarm": {"merge_seconds": 120},
                             "modem": {"retry_seconds": 600, "max_attempts": 3}})
    box.emulator.sms_error(LIU, CMS_FAILURE, count=1)
    box.emulator.call(ZHANG)
    box.wait(lambda: len(box.texts()) == 4 and box.query(
        "SELECT state, attempts FROM deliveries WHERE phone = ?", LIU) == [("pending", 1)],
        "the alarm texts, 刘洋's waiting for another try")
    box.emulator.stuck("AT+CMGS")
    box.emulator.sms(LIU, "火 厨房起火了")
    box.wait(lambda: box.events("incident_joined") and box.stuck("AT+CMGS"),
             "刘洋 to join the alarm, with the modem hanging")
    box.kill_and_restart()
    box.wait(lambda: box.drained() and len(box.texts()) == 4 + 4, "the addenda after the restart")
    box.stop()
    box.assert_no_traceback()

    addendum = render("zh", "joined", group="第一组", caller="刘洋", address="石桥村一组4号")
    for phone in (WANG, LI, LI_2):
        assert box.texts(phone).count(addendum) == 1, (phone, box.texts(phone))
    # His own alarm SMS is called off: he is a caller now, confirmed once.
    assert box.texts(LIU) == [render("zh", "confirm", group="第一组", notified=2)]
    assert box.query("SELECT co_callers FROM incidents") == [('["H04"]',)]


# ---- what the clock decides ----------------------------------------------------------------------

@pytest.mark.slow
def test_a_failure_summary_that_never_left_the_modem_is_sent_once_after_a_kill(make_box):
    # 刘洋's phone takes no SMS: he is rung instead (five seconds, unanswered), and the office
    # is told. The summary is planned while that call rings; the modem then hangs on it.
    box = make_box(settings={"modem": {"max_attempts": 1}},
                   latency=Latency.realistic(scale=0.02, sms_submit=2.5, call_setup=2.5,
                                             ring_timeout=4500))
    box.emulator.sms_error(LIU, CMS_FAILURE)
    box.emulator.call(ZHANG)
    box.wait(lambda: box.events("failure_summary"), "the failure summary")
    box.emulator.stuck("AT+CMGS")
    box.wait(lambda: box.stuck("AT+CMGS"), "the summary to hang in the modem")
    assert box.texts(OFFICE) == []
    box.kill_and_restart()
    summary = render("zh", "failures", group="第一组", count=1, names="刘洋")
    box.wait(lambda: box.drained() and summary in box.texts(OFFICE),
             "the summary after the restart")
    box.stop()
    box.assert_no_traceback()

    assert box.texts(OFFICE) == [summary]
    assert len(box.events("failure_summary")) == 1


@pytest.mark.slow
def test_a_drill_report_that_never_left_the_modem_is_sent_once_after_a_kill(make_box):
    box = make_box(settings={"drill": {"report_minutes": 0.1},
                             "web": {"listen": "127.0.0.1:0",
                                     "password_hash": hash_password(PASSWORD)}})
    box.wait(lambda: box.events("web_panel_started"), "the web panel")
    url = box.query("SELECT json_extract(data, '$.url') FROM events WHERE kind ="
                    " 'web_panel_started'")[0][0]
    client, csrf = web_login(url)
    try:
        assert client.post("/drill", data={"group": "第二组", "csrf": csrf}).status_code == 303
    finally:
        client.close()
    box.wait(lambda: len(box.texts()) == 2 and box.drained(), "the drill's texts")
    box.emulator.stuck("AT+CMGS")  # six seconds before the report is due
    box.wait(lambda: box.events("drill_report") and box.stuck("AT+CMGS"),
             "the report, with the modem hanging")
    assert box.texts(OFFICE) == []
    box.kill_and_restart()
    box.wait(lambda: box.drained() and box.texts(OFFICE), "the report after the restart")
    box.stop()
    box.assert_no_traceback()

    [report] = box.texts(OFFICE)
    assert report.startswith("【演练】第二组：0/1户确认"), report
    assert box.query("SELECT state, closed_reason FROM incidents") == [("closed", "drill_over")]
    assert len(box.events("drill_report")) == 1


@pytest.mark.slow
def test_an_office_click_kept_but_not_yet_carried_out_survives_a_kill(make_box):
    box = make_box(modems=2, settings={"web": {"listen": "127.0.0.1:0",
                                               "password_hash": hash_password(PASSWORD)}})
    box.wait(lambda: box.events("web_panel_started"), "the web panel")
    url = box.query("SELECT json_extract(data, '$.url') FROM events WHERE kind ="
                    " 'web_panel_started'")[0][0]
    client, csrf = web_login(url)
    hold_the_event_loop(box)
    try:  # the office starts a drill: the panel answers at once, the event loop is held
        assert client.post("/drill", data={"group": "第二组", "csrf": csrf}).status_code == 303
    finally:
        client.close()
    assert box.query("SELECT kind, source, group_id FROM office_actions WHERE handled_at IS NULL"
                     ) == [("drill", "web", "第二组")]
    assert box.query("SELECT count(*) FROM incidents") == [(0,)], "the kill came too late"
    box.kill_and_restart()
    box.wait(lambda: len(box.texts()) == 2 and box.drained(), "the drill after the restart")
    box.stop()
    box.assert_no_traceback()

    assert box.query("SELECT drill, group_id FROM incidents") == [(1, "第二组")]
    assert box.query("SELECT count(*) FROM office_actions WHERE handled_at IS NULL") == [(0,)]
    assert [json.loads(data)["action"] for _, data in box.events("office_action")] == ["drill"]
    assert all(text.startswith("【演练】") for text in box.texts()), box.texts()


# ---- the inbox's seams -------------------------------------------------------------------------

def test_the_modem_deletes_an_sms_only_once_it_is_kept_and_keeps_it_when_it_cannot_be(tmp_path):
    emulator = EmulatorServer(link=str(tmp_path / "modem")).start()
    modem = SerialModem(emulator.link)
    seen = []

    def the_store_is_full(sms, sent_at, swept):
        seen.append((sms.text, stored_on_modem(emulator)))
        raise OSError("the disk is full")
    try:
        modem.keep_incoming(the_store_is_full)
        modem.start()
        emulator.sms(ZHANG, "火 柴房着火了")
        wait_for(lambda: seen, 10, "the SMS handed over")
        modem.stop()  # its notification thread is done with it
        assert seen == [("火 柴房着火了", 1)]
        assert stored_on_modem(emulator) == 1  # not kept: still on the SIM

        kept = []

        def keep(sms, sent_at, swept):
            kept.append((sms.number, sms.text, sent_at, swept, stored_on_modem(emulator)))
        modem.keep_incoming(keep)
        modem.start()  # the next start reads it again
        wait_for(lambda: kept, 10, "the SMS read again")
        long_text = "村东头王大爷家的牛跑丢了，" * 15  # three parts
        emulator.sms(LIU, long_text)
        wait_for(lambda: len(kept) == 2 and stored_on_modem(emulator) == 0, 10,
                 "the long SMS kept, and every part deleted")
    finally:
        modem.stop()
        emulator.stop()
    # Each was still whole on the modem while it was being kept, deleted only after. The one
    # found at start may have been kept before the box last died; the one announced is new.
    assert [(number, text, swept, count) for number, text, _, swept, count in kept] == [
        (ZHANG, "火 柴房着火了", True, 1), (LIU, long_text, False, 3)]
    assert all(isinstance(sent_at, datetime) for _, _, sent_at, _, _ in kept)


def test_the_inbox_knows_a_message_read_again_and_commits_its_effects_with_its_mark(tmp_path):
    store = SqliteStore(tmp_path / "box.db")
    now = datetime(2026, 11, 23, 8, 0, 5, tzinfo=timezone.utc)
    sent_at = now - timedelta(seconds=5)
    first = store.inbox.keep_sms(now, "m1", ZHANG, "火", sent_at)
    # Found again in the modem's storage at start: the box died before deleting it.
    assert store.inbox.keep_sms(now, "m1", ZHANG, "火", sent_at, read_again=True) is None
    later = store.inbox.keep_sms(now, "m1", ZHANG, "火", sent_at + timedelta(minutes=1),
                           read_again=True)
    # Announced as it arrived: new, even with the same words in the same second ("1", "1").
    again = store.inbox.keep_sms(now, "m1", ZHANG, "火", sent_at)
    # Without the service centre's time stamp, two equal texts cannot be told apart: both kept.
    unstamped = [store.inbox.keep_sms(now, "m1", WANG, "1", None, read_again=True) for _ in range(2)]
    kept = [first, later, again, *unstamped]
    assert None not in kept and len(set(kept)) == 5

    # The box dies while acting on it: nothing it did is left, and it is still to do.
    with pytest.raises(RuntimeError):
        with store.inbox.handling_sms(now, first, "火") as todo:
            assert todo
            store.append_event(now, "sms_received", number=ZHANG)
            store.incidents.open(now, "第一组", "H03", ZHANG, kind="sms", alarm_type="fire")
            raise RuntimeError("killed")
    assert store.incidents.all() == [] and store.events_of_kinds(["sms_received"]) == []
    assert [r.id for r in store.inbox.unhandled_sms()] == kept

    with store.inbox.handling_sms(now, first, "火") as todo:
        assert todo
        store.incidents.open(now, "第一组", "H03", ZHANG, kind="sms", alarm_type="fire")
    with store.inbox.handling_sms(now, first, "火") as todo:
        assert not todo  # acted on once
    assert len(store.incidents.all()) == 1
    assert first not in [r.id for r in store.inbox.unhandled_sms()]
    # A leader's PIN is not kept once the SMS has been acted on.
    admin = store.inbox.keep_sms(now, "m1", WANG, "加 1234 张三 13800000000", None)
    with store.inbox.handling_sms(now, admin, "加 **** 张三 13800000000"):
        pass
    store.close()
    assert query(tmp_path / "box.db", "SELECT text FROM inbox WHERE id = ?", admin) == [
        ("加 **** 张三 13800000000",)]
