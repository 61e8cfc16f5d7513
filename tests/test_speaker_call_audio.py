"""The caller's voice out of each modem family: which route and AT commands, the serial PCM
and ALSA capture sources on real ports and alsa-lib, and the emulator's answers to the route
commands (refused outside a call where the module refuses them)."""
import os
import shutil
import threading
import tty

import pytest

from edgebox.adapters.audio.call_audio import (ANALOGUE, SERIAL, UAC, AlsaCaptureSource,
                                               AnalogueSource, SerialPcmSource, loudest_level,
                                               route_for)
from edgebox.adapters.speech import ToneSynthesiser
from edgebox.emulator.at_engine import AtEngine
from edgebox.emulator.profiles import HUAWEI_E3531


@pytest.mark.parametrize("family,identity,kind,start,stop", [
    ("simcom", "SIMCOM_Ltd SIMCOM_SIM7600G-H", SERIAL, ("AT+CPCMREG=1",), ("AT+CPCMREG=0",)),
    ("simcom", "SIMCOM_Ltd A7670E-FASE", SERIAL, ("AT+CPCMREG=1",), ("AT+CPCMREG=0",)),
    ("quectel", "Quectel EC25", UAC, ("AT+QPCMV=1,2",), ("AT+QPCMV=0",)),
    ("huawei", "huawei E3531", SERIAL, ("AT^DDSETEX=2",), ()),
    ("simcom", "SIMCOM_Ltd SIMCOM_SIM800", ANALOGUE, (), ()),
])
def test_each_family_routes_the_voice_its_own_way(family, identity, kind, start, stop):
    route = route_for(family, identity)
    assert (route.kind, route.start, route.stop) == (kind, start, stop)


def test_the_route_can_be_named_for_a_modem_not_known():
    assert route_for("generic", "Foo Bar", "analogue").kind == ANALOGUE
    assert route_for("generic", "Foo Bar", "uac").start == ("AT+QPCMV=1,2",)


def test_the_loudest_level_is_read_from_the_modem_s_own_range():
    assert loudest_level(["+CLVL: (0-100)", "OK"]) == 100
    assert loudest_level(["+CLVL: (0-4)"]) == 4
    assert loudest_level(["ERROR"]) is None


def test_serial_pcm_arrives_whole_in_chunks():
    master, slave = os.openpty()
    tty.setraw(slave)
    voice = ToneSynthesiser().render("讲话")
    source = SerialPcmSource(os.ttyname(slave))
    source.open()  # before the voice starts, as the box does
    os.write(master, voice.pcm[:1000])
    stop, got = threading.Event(), []

    def read():
        for clip in source.chunks(stop):
            got.append(clip.pcm)
            if sum(map(len, got)) >= len(voice.pcm):
                stop.set()

    reader = threading.Thread(target=read)
    reader.start()
    for offset in range(1000, len(voice.pcm), 320):
        os.write(master, voice.pcm[offset:offset + 320])
    reader.join(30)
    stop.set()
    assert b"".join(got) == voice.pcm
    os.close(master)
    os.close(slave)


def test_a_missing_audio_port_says_which():
    with pytest.raises(Exception, match="cannot open the call's audio port /nonexistent"):
        SerialPcmSource("/nonexistent/ttyUSB4").open()


@pytest.mark.skipif(shutil.which("arecord") is None,
                    reason="arecord is not installed (Debian package alsa-utils)")
def test_alsa_capture_reads_the_card_through_alsa_lib(tmp_path, monkeypatch):
    """alsa-lib's file plugin as the card: its infile is what the microphone side holds."""
    voice = ToneSynthesiser().render("村委通知")
    (tmp_path / "card.raw").write_bytes(voice.pcm)
    (tmp_path / "asound.conf").write_text(
        f'pcm.card {{\n type file\n slave.pcm "null"\n file "/dev/null"\n'
        f' infile "{tmp_path / "card.raw"}"\n format "raw"\n}}\n')
    monkeypatch.setenv("ALSA_CONFIG_PATH", f"/usr/share/alsa/alsa.conf:{tmp_path}/asound.conf")
    source = AlsaCaptureSource("card")
    source.open()
    stop, got = threading.Event(), b""
    for clip in source.chunks(stop):
        got += clip.pcm
        if len(got) >= len(voice.pcm):
            stop.set()
    assert got.startswith(voice.pcm)


def test_the_analogue_source_hands_over_silence_until_stopped():
    stop = threading.Event()
    chunks = AnalogueSource().chunks(stop)
    first = next(chunks)
    stop.set()
    assert first.is_silent() and first.seconds > 0 and list(chunks) == []


# ---- the emulator's side ---------------------------------------------------------------------

def answer(engine, line):
    engine.feed((line + "\r").encode())
    return engine.take_output().decode(errors="replace")


def test_sim7600_refuses_cpcmreg_until_the_call_is_connected():
    engine = AtEngine("sim7600")
    assert "ERROR" in answer(engine, "AT+CPCMREG=1")
    assert "OK" in answer(engine, "AT+CPCMREG=0")


def test_each_profile_knows_only_its_own_route_command():
    assert "ERROR" in answer(AtEngine("ec25"), "AT+CPCMREG=1")
    assert "OK" in answer(AtEngine("ec25"), "AT+QPCMV=1,2")
    assert "ERROR" in answer(AtEngine("sim7600"), "AT+QPCMV=1,2")
    assert "OK" in answer(AtEngine(HUAWEI_E3531), "AT^DDSETEX=2")
    assert "+CLVL: (0-100)" in answer(AtEngine("sim800"), "AT+CLVL=?")
