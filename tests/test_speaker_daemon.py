"""The loudspeaker through the real daemon on the emulator, with the simulated audio output:
what played, in order, the relay on only while it played; the alarm's SMS unaffected; an alarm
cutting short a broadcast; quiet hours holding for broadcasts and never for alarms."""
import re
from datetime import datetime, timedelta

import httpx
import pytest

from edgebox.adapters.audio import read_simulated_log
from edgebox.adapters.speech import ToneSynthesiser
from edgebox.domain.messages import render
from edgebox.speaker.sounds import chime
from edgebox.speaker.words import spoken
from edgebox.web.passwords import hash_password
from tests.speaker_support import played, relay_only_around_plays
from tests.support import OFFICE, ZHANG, query, start_box, stop, wait_for

pytestmark = pytest.mark.slow

ZHANG_ALARM = spoken("zh", "alarm", group="第一组", caller="张伟", address="石桥村一组3号",
                     label="紧急求助")


def speaker_toml(log, speed=10, repeats=2, **more):
    keys = {"enabled": "true", "simulated_file": f'"{log}"', "simulated_speed": speed,
            "repeats": repeats, "relay_pin": 22, "pre_roll_seconds": 0.2,
            "post_roll_seconds": 0.5, **more}
    lines = ["[speech]", 'engine = "tones"', "[speaker]"]
    lines += [f"{key} = {value}" for key, value in keys.items()]
    return f'[numbers]\noffice = ["{OFFICE}"]\n' + "\n".join(lines) + "\n"


def digest(sentence):
    return ToneSynthesiser().render(sentence).digest


def sms_texts(emulator):
    return [e["text"] for e in emulator.log() if e["kind"] == "sms_sent"]


def test_an_alarm_is_announced_with_chime_and_repeats_then_its_all_clear(tmp_path, emulator):
    log = tmp_path / "speaker.jsonl"
    daemon, db, _, log_path = start_box(tmp_path, [emulator], speaker_toml(log))
    try:
        emulator.call("18600138003")  # 张伟 (H03) calls
        wait_for(lambda: sum(p["digest"] == digest(ZHANG_ALARM)
                             for p in played(read_simulated_log(log))) == 2,
                 60, "the alarm sentence twice on the loudspeaker", log_path)
        # the alarm's SMS went out as always
        alarm_sms = render("zh", "alarm", group="第一组", caller="张伟", address="石桥村一组3号")
        wait_for(lambda: alarm_sms in sms_texts(emulator), 60, "the alarm SMS", log_path)
        emulator.sms(ZHANG, "0")  # the caller calls it off
        clear = spoken("zh", "all_clear", group="第一组", caller="张伟", label="紧急求助")
        wait_for(lambda: any(p["digest"] == digest(clear)
                             for p in played(read_simulated_log(log))), 60,
                 "the all-clear on the loudspeaker", log_path)
        wait_for(lambda: read_simulated_log(log)[-1] == {**read_simulated_log(log)[-1],
                                                         "event": "relay", "on": False},
                 30, "the amplifier relay off after the post-roll", log_path)
    finally:
        stop(daemon)
    entries = read_simulated_log(log)
    plays = played(entries)
    ding = chime().digest
    assert [(p["digest"], p["cut"]) for p in plays if p["label"] != "gap"] == [
        (ding, False), (digest(ZHANG_ALARM), False), (ding, False),
        (digest(ZHANG_ALARM), False), (ding, False), (digest(clear), False)]
    assert [p["label"] for p in plays][:2] == ["chime", f"{ZHANG_ALARM} (1/2)"]
    assert relay_only_around_plays(entries)
    assert entries[0] == {**entries[0], "event": "relay", "on": True}


def test_an_alarm_cuts_short_a_broadcast_being_read_out(tmp_path, emulator):
    log = tmp_path / "speaker.jsonl"
    words = "今晚八点在村委会开会，请各户派一人参加，" * 6
    daemon, _, _, log_path = start_box(tmp_path, [emulator], speaker_toml(
        log, speed=1, repeats=1, chime="false", broadcasts_from=f'["{OFFICE}"]'))
    try:
        emulator.sms(OFFICE, f"广播 {words}")
        broadcast = spoken("zh", "broadcast", text=words.rstrip("，"))
        wait_for(lambda: any(e["event"] == "start" and e["label"].startswith("村委广播")
                             for e in read_simulated_log(log)), 60,
                 "the broadcast to be read out", log_path)
        emulator.call("18600138003")
        wait_for(lambda: any(p["digest"] == digest(ZHANG_ALARM)
                             for p in played(read_simulated_log(log))), 60,
                 "the alarm on the loudspeaker", log_path)
    finally:
        stop(daemon)
    plays = played(read_simulated_log(log))
    assert [p["cut"] for p in plays] == [True, False]
    assert plays[0]["label"].startswith("村委广播") and plays[0]["digest"] in (
        digest(broadcast), digest(spoken("zh", "broadcast", text=words)))
    assert plays[1]["digest"] == digest(ZHANG_ALARM)
    assert relay_only_around_plays(read_simulated_log(log))


def test_quiet_hours_keep_broadcasts_off_the_loudspeaker_but_never_alarms(tmp_path, emulator):
    log = tmp_path / "speaker.jsonl"
    now = datetime.now().astimezone()
    quiet = f"{now - timedelta(hours=1):%H:%M}-{now + timedelta(hours=1):%H:%M}"
    daemon, db, _, log_path = start_box(tmp_path, [emulator], speaker_toml(
        log, repeats=1, broadcasts_from=f'["{OFFICE}"]', quiet_hours=f'"{quiet}"'))
    try:
        emulator.sms(OFFICE, "广播 明天停水")
        wait_for(lambda: render("zh", "broadcast", text="明天停水") in sms_texts(emulator), 60,
                 "the broadcast texted", log_path)
        emulator.call("18600138003")
        wait_for(lambda: any(p["digest"] == digest(ZHANG_ALARM)
                             for p in played(read_simulated_log(log))), 60,
                 "the alarm on the loudspeaker", log_path)
    finally:
        stop(daemon)
    labels = [p["label"] for p in played(read_simulated_log(log))]
    assert labels == ["chime", f"{ZHANG_ALARM} (1/1)"]  # no broadcast before it


PASSWORD = "shiqiao-speaker-1"


def test_the_office_speaks_a_text_from_the_web_panel_and_sees_the_loudspeaker(tmp_path,
                                                                              emulator):
    log = tmp_path / "speaker.jsonl"
    daemon, db, _, log_path = start_box(tmp_path, [emulator], speaker_toml(
                                        log, repeats=1, post_roll_seconds=5) +
                                        f'[web]\nlisten = "127.0.0.1:0"\n'
                                        f'password_hash = "{hash_password(PASSWORD)}"\n')
    try:
        wait_for(lambda: query(db, "SELECT count(*) FROM events WHERE kind ="
                                   " 'web_panel_started'")[0][0], 30, "the web panel", log_path)
        url = query(db, "SELECT json_extract(data, '$.url') FROM events WHERE kind ="
                        " 'web_panel_started'")[0][0]
        with httpx.Client(base_url=url, timeout=30) as client:
            assert client.get("/speaker").status_code in (302, 303)  # login first
            login = client.get("/login").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', login).group(1)
            logged_in = client.post("/login", data={"password": PASSWORD, "csrf": csrf})
            assert logged_in.status_code == 303
            page = client.get("/speaker")
            assert "大喇叭" in page.text and "功放电源" in page.text and "已断电" in page.text
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            refused = client.post("/speaker", data={"text": "没有令牌"})
            assert refused.status_code in (400, 403)
            assert client.post("/speaker", data={"text": "", "csrf": csrf}).status_code == 400
            sent = client.post("/speaker", data={"text": "今晚八点停电检修", "csrf": csrf})
            assert sent.status_code == 303
            said = spoken("zh", "office", text="今晚八点停电检修")
            wait_for(lambda: any(e["event"] == "start" and e["label"].startswith(said)
                                 for e in read_simulated_log(log)), 60,
                     "the text on the loudspeaker", log_path)
            # the amplifier stays on for the post-roll (5 s) after the words: the panel shows it
            wait_for(lambda: "已通电" in client.get("/fragments/speaker").text, 30,
                     "the panel to show the amplifier on", log_path)
    finally:
        stop(daemon)
    plays = played(read_simulated_log(log))
    assert [p["digest"] for p in plays if p["label"] != "chime"] == [digest(said)]
    assert sms_texts(emulator) == []  # the loudspeaker only: nobody texted
