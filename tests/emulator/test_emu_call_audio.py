"""The emulator's ear: each profile's file upload and play command with the manuals' replies,
the sound decoded and logged per call, the end report after the sound's length."""
from __future__ import annotations

import pytest

from edgebox.adapters.speech import ToneSynthesiser
from edgebox.adapters.speech.convert import decode, encode
from edgebox.adapters.modem.speech_out import xor_checksum
from tests.emulator.emu_support import Session

SOUND = ToneSynthesiser().render("紧急求助，按1确认")  # 1.9 s of tones


def answered_call(profile: str) -> Session:
    session = Session(profile)
    session.at("ATE0;+CMEE=1;+CLIP=1")
    session.calls.set_callee("13800138000", answer_after=1.0)
    assert session.at("ATD13800138000;") == "\r\nOK\r\n"
    session.advance(1.5)
    return session


def test_simcom_uploads_by_cftranrx_and_plays_to_the_remote_side():
    session = Session("sim7600")
    session.at("ATE0;+CMEE=1")
    wav = encode(SOUND, "wav")
    assert session.at(f'AT+CFTRANRX="c:/edgebox.wav",{len(wav)}') == "\r\n> "
    assert session.send(wav[:1000]) == b""  # waits for every announced byte
    assert session.send(wav[1000:]) == b"\r\nOK\r\n"
    assert session.at('AT+CCMXPLAY="c:/edgebox.wav",1,0') == "\r\n+CME ERROR: 3\r\n"  # no call
    session.calls.set_callee("13800138000", answer_after=1.0)
    session.at("ATD13800138000;")
    session.advance(1.5)
    assert session.at('AT+CCMXPLAY="c:/edgebox.wav",1,0') == (
        "\r\n+CCMXPLAY:\r\n\r\nOK\r\n\r\n+AUDIOSTATE: audio play\r\n")
    assert session.advance(SOUND.seconds - 0.05) == ""
    assert session.advance(0.1) == "\r\n+AUDIOSTATE: audio play stop\r\n"
    [heard] = session.log("audio")
    assert (heard["mechanism"], heard["format"], heard["digest"]) == ("ccmxplay", "wav",
                                                                      SOUND.digest)
    assert heard["number"] == "13800138000" and not heard["silent"]
    assert session.engine.services["call_audio"].heard[heard["call"]] == [SOUND]


def test_quectel_uploads_by_qfupl_with_its_checksum_and_plays_by_qpsnd():
    session = answered_call("ec25")
    wav = encode(SOUND, "wav")
    assert session.at(f'AT+QFUPL="UFS:edgebox.wav",{len(wav)},10') == "\r\nCONNECT\r\n"
    stored = f"\r\n+QFUPL: {len(wav)},{xor_checksum(wav):x}\r\n\r\nOK\r\n"
    assert session.send(wav) == stored.encode()
    # The file exists now: a second upload under its name is refused until it is deleted.
    assert session.at(f'AT+QFUPL="UFS:edgebox.wav",{len(wav)},10') == "\r\n+CME ERROR: 407\r\n"
    assert session.at('AT+QFDEL="UFS:nothing.wav"') == "\r\n+CME ERROR: 405\r\n"
    assert session.at('AT+QPSND=1,"UFS:edgebox.wav",0,1,0') == "\r\nOK\r\n"
    assert session.at('AT+QPSND=1,"UFS:edgebox.wav",0,1,0') == "\r\n+CME ERROR: 3\r\n"  # playing
    assert session.advance(SOUND.seconds + 0.05) == "\r\n+QPSND: 0\r\n"
    assert [e["digest"] for e in session.log("audio")] == [SOUND.digest]


def test_an_upload_that_stops_halfway_times_out_and_the_modem_listens_again():
    session = answered_call("ec25")
    assert session.at('AT+QFUPL="UFS:x.wav",5000,2') == "\r\nCONNECT\r\n"
    session.send(b"RIFF")
    assert "ERROR" in session.advance(2.5)
    assert session.at("AT") == "\r\nOK\r\n"


def test_sim800_writes_amr_in_pieces_and_plays_it_with_crec():
    session = answered_call("sim800")
    amr = encode(SOUND, "amr")
    name = "C:\\User\\edgebox.amr"
    assert session.at(f"AT+FSCREATE={name}") == "\r\nOK\r\n"
    assert session.at(f"AT+FSCREATE={name}") == "\r\nERROR\r\n"  # it exists
    half = len(amr) // 2
    assert session.at(f"AT+FSWRITE={name},0,{half},10") == "\r\n> "
    assert session.send(amr[:half]) == b"\r\nOK\r\n"
    assert session.at(f"AT+FSWRITE={name},1,{len(amr) - half},10") == "\r\n> "
    assert session.send(amr[half:]) == b"\r\nOK\r\n"
    assert session.at(f'AT+CREC=4,"{name}",0,90') == "\r\nOK\r\n"
    assert session.advance(SOUND.seconds + 0.1) == "\r\n+CREC: 0\r\n"
    [heard] = session.log("audio")
    assert heard["format"] == "amr" and heard["digest"] == decode(amr, "amr").digest


def test_a_sim800_file_bigger_than_its_flash_is_refused():
    session = answered_call("sim800")
    name = "C:\\User\\big.amr"
    session.at(f"AT+FSCREATE={name}")
    for mode in (0, 1, 1, 1, 1):
        assert session.at(f"AT+FSWRITE={name},{mode},10240,10") == "\r\n> "
        answer = session.send(bytes(10240))
    assert answer == b"\r\n+CME ERROR: 4\r\n"  # the fifth 10 KB piece does not fit in 40 KB


@pytest.mark.parametrize("profile, command", [("generic", 'AT+CCMXPLAY="c:/a.wav",1,0'),
                                              ("sim800", 'AT+QPSND=1,"UFS:a.wav",0,1,0'),
                                              ("ec25", 'AT+CREC=4,"C:\\User\\a.amr",0,90')])
def test_a_profile_refuses_the_other_makers_commands(profile, command):
    session = answered_call(profile)
    assert session.at(command) == "\r\n+CME ERROR: 100\r\n"


def test_playback_stops_when_the_far_end_hangs_up():
    session = Session("sim7600")
    session.at("ATE0;+CMEE=1")
    wav = encode(SOUND, "wav")
    session.at(f'AT+CFTRANRX="c:/a.wav",{len(wav)}')
    session.send(wav)
    session.calls.set_callee("13800138000", answer_after=1.0, hangup_after=0.5)
    session.at("ATD13800138000;")
    session.advance(1.1)
    session.at('AT+CCMXPLAY="c:/a.wav",1,0')
    assert session.advance(1.0) == "\r\nNO CARRIER\r\n\r\n+AUDIOSTATE: audio play stop\r\n"
    assert session.advance(SOUND.seconds) == ""  # no second end report when the timer was due


def test_the_upload_checksum_is_the_manual_s_16_bit_xor():
    assert xor_checksum(b"\x01\x02\x03") == 0x0102 ^ 0x0300  # an odd last byte is a high byte
    assert xor_checksum(b"") == 0


def test_a_huawei_stick_hears_pcm_on_its_voice_port_only_while_a_routed_call_is_up():
    from edgebox.emulator.profiles import HUAWEI_E3531
    session = Session(HUAWEI_E3531)
    session.at("ATE0;+CMEE=1")
    assert session.at("AT^CVOICE?") == "\r\n^CVOICE: 0,8000,16,20\r\n\r\nOK\r\n"
    port = session.engine.services["call_audio"]
    session.calls.set_callee("13800138000", answer_after=1.0, hangup_after=5.0)
    session.at("ATD13800138000;")
    session.advance(1.5)
    port.receive(b"\x01\x00" * 100)  # before AT^DDSETEX=2 it goes nowhere
    assert session.at("AT^DDSETEX=2") == "\r\nOK\r\n"
    for start in range(0, len(SOUND.pcm), 320):
        port.receive(SOUND.pcm[start:start + 320])
    assert session.log("audio") == []  # heard as it comes; logged when the call ends
    session.advance(5.0)
    [heard] = session.log("audio")
    assert (heard["mechanism"], heard["format"], heard["digest"]) == ("pcm_port", "pcm",
                                                                      SOUND.digest)
    # Sent before dialling, as scripts driving these sticks do, it routes the next call.
    assert session.at("AT^DDSETEX=2") == "\r\nOK\r\n"
    session.calls.set_callee("13800138000", answer_after=1.0, hangup_after=2.0)
    session.at("ATD13800138000;")
    session.advance(1.5)
    port.receive(SOUND.pcm[:3200])
    session.advance(2.0)
    assert [e["bytes"] for e in session.log("audio")] == [len(SOUND.pcm), 3200]
