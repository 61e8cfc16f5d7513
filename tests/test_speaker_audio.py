"""The loudspeaker's audio output: the simulated and ALSA backends, the amplifier relay with
its pre- and post-roll, pre-emption, the [speaker] section, `edgebox speaker test` and the
selftest's line for the audio device."""
import os
import shutil
import subprocess
import threading

import pytest
from click.testing import CliRunner

from edgebox.adapters.audio import (AplayOutput, AudioError, SimulatedOutput,
                                    list_playback_devices, read_simulated_log)
from edgebox.adapters.audio.relay import AmplifierRelay
from edgebox.adapters.gpio.simulated import SimulatedGPIO
from edgebox.adapters.speech import Clip, ToneSynthesiser
from edgebox.cli import main
from edgebox.config_file import parse_config
from edgebox.errors import ConfigError
from edgebox.selftest.checks import FAIL, SKIP, check_speaker
from edgebox.speaker.player import ALARM, NOTICE, Loudspeaker
from edgebox.speaker.settings import speaker_settings
from tests.speaker_support import played, relay_only_around_plays
from tests.support import wait_for

SPEED = 20  # simulated clips take 1/20 of their length


def player(tmp_path, pre_roll=0.2, post_roll=0.3, pin=23):
    log = tmp_path / "speaker.jsonl"
    output = SimulatedOutput(log, SPEED)
    gpio = SimulatedGPIO()
    relay = AmplifierRelay(gpio, pin)
    relay.watch(output.relay_changed)
    speaker = Loudspeaker(output, relay, pre_roll, post_roll)
    speaker.start()
    return speaker, log, gpio


def test_simulated_output_writes_what_played_with_its_times(tmp_path):
    output = SimulatedOutput(tmp_path / "out.jsonl", speed=SPEED)
    clip = ToneSynthesiser().render("火警")
    assert output.play(clip, "fire") is True
    start, entry = read_simulated_log(tmp_path / "out.jsonl")
    assert start["event"] == "start" and start["digest"] == clip.digest
    assert entry["event"] == "play" and entry["label"] == "fire"
    assert entry["digest"] == clip.digest and entry["seconds"] == pytest.approx(clip.seconds)
    assert entry["end"] >= entry["start"] and not entry["cut"] and not entry["silent"]


def test_a_stop_cuts_the_clip_short(tmp_path):
    output = SimulatedOutput(tmp_path / "out.jsonl", speed=1)
    done = []
    thread = threading.Thread(target=lambda: done.append(output.play(Clip.silence(60))))
    thread.start()
    wait_for(lambda: output.is_playing, 10, "the clip to start")
    output.stop()
    thread.join(10)
    assert done == [False]
    assert played(read_simulated_log(tmp_path / "out.jsonl"))[0]["cut"] is True


def test_relay_goes_on_before_the_first_clip_and_off_after_the_post_roll(tmp_path):
    speaker, log, gpio = player(tmp_path)
    try:
        clip = ToneSynthesiser().render("请附近村民前往支援")
        item = speaker.queue(NOTICE, "two clips", [("a", clip), ("b", clip)])
        assert item.done.wait(30)
        wait_for(speaker.idle, 30, "the relay to go off after the post-roll")
    finally:
        speaker.stop()
    entries = [e for e in read_simulated_log(log) if e["event"] != "start"]
    assert [e["event"] for e in entries] == ["relay", "play", "play", "relay"]
    assert [e["on"] for e in entries if e["event"] == "relay"] == [True, False]
    assert relay_only_around_plays(read_simulated_log(log))
    # the pre-roll: the first word starts after the relay closed, at least pre_roll later
    assert entries[1]["start"] - entries[0]["at"] >= 0.2
    assert entries[3]["at"] - entries[2]["end"] >= 0.3  # the post-roll
    assert [level for _, level in gpio.outputs_of(23)] == [0, 1, 0]  # the real pin, too


def test_back_to_back_announcements_keep_the_relay_on(tmp_path):
    speaker, log, _ = player(tmp_path, post_roll=2)
    try:
        clip = ToneSynthesiser().render("广播")
        first = speaker.queue(NOTICE, "one", [("one", clip)])
        second = speaker.queue(NOTICE, "two", [("two", clip)])
        assert first.done.wait(30) and second.done.wait(30)
        wait_for(speaker.idle, 30, "the relay to go off")
    finally:
        speaker.stop()
    events = [(e["event"], e.get("on", e.get("label"))) for e in read_simulated_log(log)
              if e["event"] != "start"]
    assert events == [("relay", True), ("play", "one"), ("play", "two"), ("relay", False)]


def test_an_alarm_cuts_short_a_notice_and_plays_at_once(tmp_path):
    speaker, log, _ = player(tmp_path)
    try:
        notice = speaker.queue(NOTICE, "long broadcast", [("broadcast", Clip.silence(600))])
        wait_for(lambda: speaker.output.is_playing, 30, "the broadcast to play")
        alarm = speaker.queue(ALARM, "fire", [("fire", ToneSynthesiser().render("火警"))])
        assert notice.done.wait(30) and alarm.done.wait(30)
    finally:
        speaker.stop()
    plays = played(read_simulated_log(log))
    assert [(p["label"], p["cut"]) for p in plays] == [("broadcast", True), ("fire", False)]
    assert relay_only_around_plays(read_simulated_log(log))


def test_a_less_urgent_item_waits_its_turn(tmp_path):
    speaker, log, _ = player(tmp_path)
    try:
        clip = ToneSynthesiser().render("演练")
        alarm = speaker.queue(ALARM, "alarm", [("alarm", clip)])
        notice = speaker.queue(NOTICE, "notice", [("notice", clip)])
        assert alarm.done.wait(30) and notice.done.wait(30)
    finally:
        speaker.stop()
    plays = [(e["label"], e["cut"]) for e in played(read_simulated_log(log))]
    assert plays == [("alarm", False), ("notice", False)]


def test_a_failing_device_is_reported_and_the_next_item_plays(tmp_path):
    class Broken(SimulatedOutput):
        def play(self, clip, label=""):
            if label == "bad":
                raise AudioError("the USB sound card was unplugged")
            return super().play(clip, label)

    output = Broken(tmp_path / "out.jsonl", SPEED)
    speaker = Loudspeaker(output, AmplifierRelay(SimulatedGPIO(), 0), 0.05, 0.05)
    speaker.start()
    try:
        ends = []
        speaker.queue(ALARM, "bad", [("bad", Clip.silence(1))], on_end=ends.append)
        good = speaker.queue(ALARM, "good", [("good", Clip.silence(1))], on_end=ends.append)
        assert good.done.wait(30)
    finally:
        speaker.stop()
    assert ends == [False, True]
    assert "unplugged" in speaker.state()["last_error"]


# ---- ALSA ------------------------------------------------------------------------------------

needs_aplay = pytest.mark.skipif(shutil.which("aplay") is None,
                                 reason="aplay is not installed (Debian package alsa-utils)")


def alsa_file_device(tmp_path, monkeypatch, target):
    """An ALSA PCM "box" of alsa-lib's file plugin writing what plays to ``target`` (its
    slave, the null PCM, needs no sound card): the real aplay and alsa-lib, checkable here."""
    conf = tmp_path / "asound.conf"
    conf.write_text('pcm.box {\n type file\n slave.pcm "null"\n'
                    f' file "{target}"\n format "raw"\n}}\n')
    monkeypatch.setenv("ALSA_CONFIG_PATH", f"/usr/share/alsa/alsa.conf:{conf}")
    return "box"


@needs_aplay
def test_aplay_sends_the_clip_through_alsa(tmp_path, monkeypatch):
    target = tmp_path / "played.raw"
    output = AplayOutput(alsa_file_device(tmp_path, monkeypatch, target))
    clip = ToneSynthesiser().render("紧急情况")
    assert output.play(clip, "alarm") is True and not output.is_playing
    played = target.read_bytes()
    # the file plugin pads the last ALSA period with silence
    assert played[:len(clip.pcm)] == clip.pcm and not played[len(clip.pcm):].strip(b"\0")


@needs_aplay
def test_aplay_stopped_mid_clip_returns_false(tmp_path, monkeypatch):
    target = tmp_path / "blocked"
    os.mkfifo(target)  # nobody reads it: aplay blocks as on a device that plays in real time
    output = AplayOutput(alsa_file_device(tmp_path, monkeypatch, target))
    done = []
    thread = threading.Thread(target=lambda: done.append(output.play(Clip.silence(1))))
    thread.start()
    wait_for(lambda: output.is_playing, 10, "aplay to start")
    output.stop()
    thread.join(30)
    assert done == [False] and not output.is_playing


@needs_aplay
def test_aplay_on_a_missing_device_says_so():
    with pytest.raises(AudioError, match="aplay could not play on nosuchcard"):
        AplayOutput("nosuchcard").play(Clip.silence(0.1))


def _sound_cards() -> list[str]:
    if shutil.which("aplay") is None:
        return []
    return list_playback_devices()


@pytest.mark.skipif(not _sound_cards(), reason="aplay -l lists no sound card on this machine"
                    " (a Pi's 3.5 mm jack or a USB sound card runs this test)")
def test_a_real_sound_card_plays_the_chime_and_a_sentence():
    card = _sound_cards()[0].split()[0]  # plughw:CARD,DEV: resamples 8 kHz for the card
    from edgebox.speaker.sounds import chime
    assert AplayOutput(card).play(chime() + ToneSynthesiser().render("喇叭测试")) is True


def test_aplay_l_output_is_read_as_devices(monkeypatch):
    listing = ("**** List of PLAYBACK Hardware Devices ****\n"
               "card 0: Headphones [bcm2835 Headphones], device 0: bcm2835 Headphones "
               "[bcm2835 Headphones]\n  Subdevices: 8/8\n"
               "card 1: Device [USB Audio Device], device 0: USB Audio [USB Audio]\n")
    monkeypatch.setattr("edgebox.adapters.audio.alsa._aplay", lambda: "aplay")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(
        a, 0, listing, ""))
    assert list_playback_devices() == ["plughw:Headphones,0 (bcm2835 Headphones)",
                                       "plughw:Device,0 (USB Audio Device)"]


# ---- the [speaker] section -------------------------------------------------------------------

def config(body: str):
    return parse_config(f'[speaker]\n{body}\n[[modems]]\nport = "/dev/null"\n')


@pytest.mark.parametrize("body,key,words", [
    ('backend = "pulse"', "speaker.backend", "must be one of simulated, alsa"),
    ('device = "hw 1"', "speaker.device", "ALSA device name"),
    ('quiet_hours = "22-6"', "speaker.quiet_hours", "HH:MM-HH:MM"),
    ("relay_pin = 40", "speaker.relay_pin", "BCM pin"),
    ("repeats = 0", "speaker.repeats", "between 1 and 10"),
    ('live_pin = "12"', "speaker.live_pin", "4-8 digits"),
])
def test_a_wrong_speaker_key_names_itself(body, key, words):
    with pytest.raises(ConfigError, match=words) as caught:
        config(body)
    assert caught.value.key == key


@pytest.mark.parametrize("body,key,words", [
    ('live_numbers = ["13300138099"]', "speaker.live_pin", "required"),
    ('live_numbers = ["12ab"]\nlive_pin = "2468"', "speaker.live_numbers", "12ab"),
    ("relay_pin = 17", "speaker.relay_pin", "siren"),
    ('quiet_hours = "22:00-22:00"', "speaker.quiet_hours", "same time"),
])
def test_keys_that_disagree_are_named(body, key, words):
    with pytest.raises(ConfigError, match=words) as caught:
        speaker_settings(config(body))
    assert caught.value.key == key


def test_quiet_hours_may_run_past_midnight():
    from datetime import time
    settings = speaker_settings(config('quiet_hours = "22:00-06:30"'))
    assert settings.quiet_at(time(23, 0)) and settings.quiet_at(time(6, 0))
    assert not settings.quiet_at(time(6, 30)) and not settings.quiet_at(time(12, 0))
    assert not speaker_settings(config("")).quiet_at(time(3, 0))
    assert "2468" not in repr(speaker_settings(config('live_pin = "2468"')))


# ---- the technician's tools ------------------------------------------------------------------

def test_speaker_test_plays_chime_and_sentence_with_the_relay_around_them(tmp_path):
    log = tmp_path / "speaker.jsonl"
    path = tmp_path / "edgebox.toml"
    path.write_text(f'[box]\ndatabase = "{tmp_path / "box.db"}"\n[speech]\nengine = "tones"\n'
                    f'[speaker]\nsimulated_file = "{log}"\nsimulated_speed = 20\n'
                    'relay_pin = 22\npre_roll_seconds = 0.1\npost_roll_seconds = 0.1\n'
                    '[[modems]]\nport = "/dev/null"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["speaker", "test", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "amplifier relay: GPIO 22" in result.output and "喇叭测试" in result.output
    assert "relay ON" in result.output and "relay off" in result.output
    entries = read_simulated_log(log)
    plays = played(entries)
    assert [p["label"] for p in plays] == ["chime", plays[1]["label"]]
    assert plays[1]["label"].startswith("喇叭测试")
    assert relay_only_around_plays(entries) and entries[-1] == {**entries[-1], "on": False}


def test_selftest_reports_the_audio_device():
    assert check_speaker(config("")).status == SKIP  # not enabled
    simulated = check_speaker(config("enabled = true"))
    assert simulated.status == SKIP and "simulated" in simulated.detail
    alsa = check_speaker(config('enabled = true\nbackend = "alsa"'))
    if shutil.which("aplay") is None:
        assert alsa.status == FAIL and "alsa-utils" in alsa.detail
    elif not list_playback_devices():
        assert alsa.status == FAIL and "no sound card" in alsa.detail
    else:
        assert alsa.status == "pass" and "plughw:" in alsa.detail


def test_the_simulated_output_stops_keeping_samples_at_its_limit(tmp_path, monkeypatch):
    monkeypatch.setattr("edgebox.adapters.audio.simulated.KEEP_PCM_BYTES", 20000)
    output = SimulatedOutput(tmp_path / "out.jsonl", speed=SPEED)
    clip = Clip.silence(1)  # 16,000 bytes
    output.play(clip, "first")
    output.play(clip, "second")
    first, second = played(read_simulated_log(tmp_path / "out.jsonl"))
    assert first["pcm_offset"] == 0 and second["pcm_offset"] is None
    assert (tmp_path / "out.jsonl.pcm").stat().st_size == 16000


def test_an_alarm_cuts_a_clip_that_was_only_about_to_start(tmp_path):
    """A stop that lands after the player decided to play a clip but before the device has
    started it must still cut it: else a minute-long broadcast holds the alarm back."""
    entered = threading.Event()

    class SlowToStart(SimulatedOutput):
        def play(self, clip, label=""):
            entered.set()
            if label == "broadcast":
                threading.Event().wait(0.5)  # the device opening, as aplay takes a moment
            return super().play(clip, label)

    assert broadcast_cut_by_an_alarm(tmp_path, SlowToStart, entered, alarm_seconds=0.1) \
        == [("broadcast", True), ("fire", False)]


def test_a_stop_slow_to_land_never_cuts_the_alarm_that_asked_for_it(tmp_path):
    """The player keeps stopping a cut item until it has ended; a stop that takes a moment to
    land (killing aplay) and arrives after the player moved on must not cut the next item,
    which is the very alarm that cut the broadcast short."""
    entered = threading.Event()

    class SlowToStop(SimulatedOutput):
        def play(self, clip, label=""):
            entered.set()
            return super().play(clip, label)

        def stop(self):
            threading.Event().wait(0.2)  # a kill and its reaping take a moment
            super().stop()

    assert broadcast_cut_by_an_alarm(tmp_path, SlowToStop, entered, alarm_seconds=1) \
        == [("broadcast", True), ("fire", False)]


def broadcast_cut_by_an_alarm(tmp_path, output_class, entered, alarm_seconds):
    """A 10-minute broadcast starts playing on ``output_class``; once its play has begun
    (``entered``) a fire alarm is queued. What played, as (label, cut), in order."""
    output = output_class(tmp_path / "out.jsonl", speed=1)
    speaker = Loudspeaker(output, AmplifierRelay(SimulatedGPIO(), 0), 0.01, 0.01)
    speaker.start()
    try:
        notice = speaker.queue(NOTICE, "broadcast", [("broadcast", Clip.silence(600))])
        assert entered.wait(30)
        alarm = speaker.queue(ALARM, "fire", [("fire", Clip.silence(alarm_seconds))])
        assert notice.done.wait(30) and alarm.done.wait(30)
    finally:
        speaker.stop()
    return [(p["label"], p["cut"]) for p in played(read_simulated_log(tmp_path / "out.jsonl"))]
