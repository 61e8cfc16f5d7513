"""Live voice by phone through the real daemon: an authorised number calls, types the PIN and
"#", hears a beep (AT+VTS), and its voice — a known test signal carried out of the emulated
modem by the family's own path — reaches the simulated loudspeaker, the relay on meanwhile.
Wrong PINs lock the number out; an alarm call during a session (call waiting) is raised as
always and its announcement takes the loudspeaker over."""
import math
import struct

import pytest

from edgebox.adapters.audio import played_pcm, read_simulated_log
from edgebox.adapters.speech import RATE, Clip
from edgebox.emulator import EmulatorServer, Latency
from edgebox.emulator.caller_audio import CallerPlan
from edgebox.emulator.profiles import HUAWEI_E3531
from edgebox.speaker.words import spoken
from tests.speaker_support import played, relay_only_around_plays
from tests.support import OFFICE, kinds, query, start_box, stop, wait_for

pytestmark = pytest.mark.slow

PIN = "2468"
ZHANG_ALARM = spoken("zh", "alarm", group="第一组", caller="张伟", address="石桥村一组3号",
                     label="紧急求助")


def signal_clip(seconds: float) -> Clip:
    """A 440 Hz tone rising to 880 Hz: easy to tell from silence, speech or a chime."""
    count = int(seconds * RATE)
    samples = (int(9000 * math.sin(2 * math.pi * (440 + 440 * i / count) * i / RATE))
               for i in range(count))
    return Clip(struct.pack(f"<{count}h", *samples))


def live_box(tmp_path, profile, more="", max_seconds=60, ring_members=False):
    # A Huawei stick's one voice port carries both ways (audio_link); a SIM7600's audio port
    # is made by the caller's side. Either is the modem's audio_port (support.start_box).
    emulator = EmulatorServer(profile, Latency.realistic(scale=0.02),
                              link=str(tmp_path / "modem"), audio_link=str(tmp_path / "voice"))
    emulator.start()
    audio = emulator.engine.services["caller_audio"]
    audio.open_ports(tmp_path / "modem")
    log = tmp_path / "speaker.jsonl"
    toml = (f'[numbers]\noffice = ["{OFFICE}"]\n[speech]\nengine = "tones"\n[speaker]\n'
            f'enabled = true\nsimulated_file = "{log}"\nsimulated_speed = 10\nrepeats = 1\n'
            'relay_pin = 22\npre_roll_seconds = 0.2\npost_roll_seconds = 0.3\n'
            f'live_numbers = ["{OFFICE}"]\nlive_pin = "{PIN}"\nlive_max_seconds = {max_seconds}\n'
            f'{more}')
    daemon, db, _, log_path = start_box(tmp_path, [emulator], toml, ring_members=ring_members)
    return emulator, audio, daemon, db, log, log_path


def live_pcm(log):
    return b"".join(played_pcm(log, e) for e in played(read_simulated_log(log))
                    if e["label"].startswith("live"))


def events(db, kind):
    return [row[0] for row in query(db, "SELECT data FROM events WHERE kind = ? ORDER BY seq",
                                    kind)]


def entries(emulator, kind):
    return [e for e in emulator.log() if e["kind"] == kind]


def test_the_office_speaks_live_on_the_loudspeaker_from_a_sim7600(tmp_path):
    voice = signal_clip(2.0)
    emulator, audio, daemon, db, log, log_path = live_box(tmp_path, "sim7600")
    try:
        audio.plan_caller(OFFICE, CallerPlan(f"{PIN}#", voice, hangup_after=4.0))
        emulator.call(OFFICE)
        wait_for(lambda: "live_ended" in kinds(db), 60, "the live call to end", log_path)
        wait_for(lambda: live_pcm(log) == voice.pcm, 30,
                 "the caller's voice on the loudspeaker", log_path)
        wait_for(lambda: read_simulated_log(log)[-1].get("on") is False, 30,
                 "the relay off after the post-roll", log_path)
    finally:
        stop(daemon)
        emulator.stop()
    assert '"reason": "hung_up"' in events(db, "live_ended")[0]
    assert '"route": "serial"' in events(db, "live_started")[0]
    assert [e["command"] for e in entries(emulator, "audio_route")][0] == "AT+CPCMREG=1"
    assert entries(emulator, "tone_to_caller")  # the beep: speak now
    assert [e["digest"] for e in entries(emulator, "caller_voice")] == [voice.digest]
    assert relay_only_around_plays(read_simulated_log(log))
    assert PIN not in (tmp_path / "daemon.log").read_text()
    # no alarm: the office's call is no alarm and no unknown caller
    assert "incident_opened" not in kinds(db) and "unknown_caller" not in kinds(db)


def test_the_pin_and_the_voice_work_on_a_huawei_stick(tmp_path):
    # The PIN's keys come as ^DDTMF reports (a 2 among them, which in an alarm call replays),
    # and the voice comes back on the stick's one voice port, its [[modems]] audio_port.
    voice = signal_clip(2.0)
    emulator, audio, daemon, db, log, log_path = live_box(tmp_path, HUAWEI_E3531)
    try:
        audio.plan_caller(OFFICE, CallerPlan(f"{PIN}#", voice, hangup_after=4.0))
        emulator.call(OFFICE)
        wait_for(lambda: "live_ended" in kinds(db), 60, "the live call to end", log_path)
        wait_for(lambda: live_pcm(log) == voice.pcm, 30,
                 "the caller's voice on the loudspeaker", log_path)
    finally:
        stop(daemon)
        emulator.stop()
    assert "live_pin_wrong" not in kinds(db)
    assert '"reason": "hung_up"' in events(db, "live_ended")[0]
    assert [e["command"] for e in entries(emulator, "audio_route")][0] == "AT^DDSETEX=2"
    assert audio.serial_port == emulator.audio_link  # one port both ways


def test_three_wrong_pins_lock_the_number_out(tmp_path):
    emulator, audio, daemon, db, log, log_path = live_box(tmp_path, "sim7600")
    try:
        audio.plan_caller(OFFICE, CallerPlan("1111#", signal_clip(0.5)))
        for tries in range(1, 4):
            emulator.call(OFFICE, rings=2)
            wait_for(lambda: kinds(db).count("live_ended") == tries, 60, "a wrong PIN",
                     log_path)
        audio.plan_caller(OFFICE, CallerPlan(f"{PIN}#", signal_clip(0.5)))
        emulator.call(OFFICE, rings=2)
        wait_for(lambda: kinds(db).count("live_ended") == 4, 60, "the locked-out call",
                 log_path)
    finally:
        stop(daemon)
        emulator.stop()
    assert len(events(db, "live_pin_wrong")) == 3 and not events(db, "live_started")
    assert '"reason": "locked"' in events(db, "live_refused")[0]
    received = entries(emulator, "call_received")
    assert [e["outcome"] for e in received] == ["answered"] * 3 + ["rejected"]  # unanswered
    assert live_pcm(log) == b""


def test_an_alarm_call_during_a_live_session_takes_the_loudspeaker_over(tmp_path):
    voice = signal_clip(60.0)  # the office talks on: the alarm must not wait for it
    # members are rung too, as on a real box: the live call must be gone before the rings
    emulator, audio, daemon, db, log, log_path = live_box(tmp_path, "sim7600",
                                                          ring_members=True)
    try:
        audio.plan_caller(OFFICE, CallerPlan(f"{PIN}#", voice))
        emulator.call(OFFICE)
        wait_for(lambda: any(e["event"] == "start" and e["label"].startswith("live")
                             for e in read_simulated_log(log)), 60,
                 "the live voice on the loudspeaker", log_path)
        emulator.call("18600138003")  # 张伟 calls: a waiting call on the busy line
        wait_for(lambda: "incident_opened" in kinds(db), 60, "the alarm", log_path)
        wait_for(lambda: any(p["label"].startswith(ZHANG_ALARM)
                             for p in played(read_simulated_log(log))), 60,
                 "the alarm on the loudspeaker", log_path)
        wait_for(lambda: "live_ended" in kinds(db), 60, "the live call to end", log_path)
        wait_for(lambda: len(entries(emulator, "call_placed")) >= 3, 120,
                 "the group's members rung", log_path)
    finally:
        stop(daemon)
        emulator.stop()
    assert '"reason": "alarm"' in events(db, "live_ended")[0]
    rings = entries(emulator, "call_placed")
    assert {ring["number"][-4:] for ring in rings} >= {"8001", "8002", "8004"}
    # each rang until nobody answered: none was cut by the live call's hang-up
    assert {ring["outcome"] for ring in rings} == {"no_answer"}
    assert "call_waiting" in kinds(db)
    labels = [p["label"] for p in played(read_simulated_log(log))]
    first_alarm = next(i for i, label in enumerate(labels) if label.startswith(ZHANG_ALARM))
    assert not any(label.startswith("live") for label in labels[first_alarm:])
    assert len(live_pcm(log)) < len(voice.pcm)  # cut short, not played to its end
    zhang = [e for e in entries(emulator, "call_received") if e["number"] != OFFICE]
    assert zhang and zhang[0]["outcome"] == "rejected"  # free for the caller, as every alarm
    assert relay_only_around_plays(read_simulated_log(log))


def test_a_sim800_s_speaker_pins_drive_the_amplifier_while_the_relay_is_on(tmp_path):
    voice = signal_clip(1.0)
    emulator, audio, daemon, db, log, log_path = live_box(tmp_path, "sim800")
    try:
        audio.plan_caller(OFFICE, CallerPlan(f"{PIN}#", voice, hangup_after=3.0))
        emulator.call(OFFICE)
        wait_for(lambda: "live_ended" in kinds(db), 60, "the live call to end", log_path)
        wait_for(lambda: read_simulated_log(log)[-1].get("on") is False, 30,
                 "the relay off", log_path)
    finally:
        stop(daemon)
        emulator.stop()
    assert '"route": "analogue"' in events(db, "live_started")[0]
    [out] = entries(emulator, "caller_voice")
    assert out["route"] == "analogue" and out["level"] == 100  # the top of AT+CLVL=?
    relay = [e for e in read_simulated_log(log) if e["event"] == "relay"]
    assert [e["on"] for e in relay] == [True, False]
    # the voice left the modem's speaker pins while the amplifier was powered (one machine:
    # the emulator's and the box's monotonic clocks are the same clock)
    assert relay[0]["at"] <= out["start"] <= relay[1]["at"]
    assert live_pcm(log) and not live_pcm(log).strip(b"\0")  # nothing passed the box


def test_a_live_voice_ends_at_its_time_limit(tmp_path):
    emulator, audio, daemon, db, log, log_path = live_box(tmp_path, "sim7600", max_seconds=10)
    try:
        audio.plan_caller(OFFICE, CallerPlan(f"{PIN}#", signal_clip(120.0)))  # talks on
        emulator.call(OFFICE)
        wait_for(lambda: "live_ended" in kinds(db), 60, "the time limit", log_path)
    finally:
        stop(daemon)
        emulator.stop()
    assert '"reason": "time_limit"' in events(db, "live_ended")[0]
    office = [e for e in entries(emulator, "call_received") if e["number"] == OFFICE]
    assert office and office[0]["outcome"] == "answered"  # the box hung up on it
