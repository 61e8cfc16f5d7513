"""Speech made on the box: the synthesisers, the cache, conversions through sox.

espeak-ng and sox are Debian packages that scripts/install-deps installs for the tests, as the
box's package depends on them; nothing here is mocked.
"""
from __future__ import annotations

import pytest

from edgebox.adapters.speech import (RATE, Clip, EspeakSynthesiser, SpeechError,
                                     ToneSynthesiser, synthesiser_from_settings)
from edgebox.adapters.speech.cache import SpeechCache
from edgebox.adapters.speech.convert import decode, encode, to_clip
from edgebox.config_file import parse_config
from edgebox.errors import ConfigError

SENTENCE = "紧急情况：第二组朱丽家（下屋9号）火警。按1确认前往，按2再听一遍。"


@pytest.fixture(scope="module")
def spoken() -> Clip:
    return EspeakSynthesiser().render(SENTENCE)


def test_espeak_speaks_mandarin_as_telephone_audio(spoken):
    assert not spoken.is_silent()
    # A sentence of 30-odd characters at 150 words a minute takes seconds, not milliseconds
    # (a voice that only beeps) and not a minute (a voice spelling out every byte).
    assert 4 < spoken.seconds < 25, spoken
    assert EspeakSynthesiser().render(SENTENCE) == spoken  # same sentence, same audio


def test_espeak_says_more_for_a_longer_sentence(spoken):
    longer = EspeakSynthesiser().render(SENTENCE + SENTENCE)
    assert longer.seconds > 1.6 * spoken.seconds


def test_a_sentence_starting_with_a_dash_is_spoken_not_taken_as_an_option():
    assert not EspeakSynthesiser().render("-1 号").is_silent()


def test_an_unknown_voice_is_a_clear_error():
    with pytest.raises(SpeechError, match="espeak-ng"):
        EspeakSynthesiser(voice="no-such-voice").render(SENTENCE)


def test_tones_stand_in_for_speech_with_its_length_and_never_silence():
    tones = ToneSynthesiser()
    clip = tones.render(SENTENCE)
    assert not clip.is_silent()
    assert tones.render(SENTENCE) == clip
    assert tones.render(SENTENCE + "再说一遍").seconds > clip.seconds
    assert tones.render("火警").digest != tones.render("盗警").digest


def test_wav_round_trip_and_formats_other_than_the_box_s_are_refused(spoken):
    assert Clip.from_wav(spoken.to_wav()) == spoken
    with pytest.raises(SpeechError, match="not a readable WAV"):
        Clip.from_wav(b"RIFF....WAVEfmt garbage")


def test_an_amr_file_for_a_2g_module_decodes_back_to_the_same_speech(spoken):
    amr = encode(spoken, "amr")
    assert amr.startswith(b"#!AMR\n")
    assert len(amr) < len(spoken.pcm) / 5  # AMR-NB 12.2 kbit/s against 128 kbit/s PCM
    back = decode(amr, "amr")
    assert abs(back.seconds - spoken.seconds) < 0.05
    assert not back.is_silent()


def test_a_recorded_prompt_at_any_rate_becomes_telephone_audio(tmp_path, spoken):
    # A phone's recording: 44.1 kHz stereo, made here from the spoken sentence by sox itself.
    import subprocess
    source = tmp_path / "source.wav"
    source.write_bytes(spoken.to_wav())
    stereo = tmp_path / "prompt.wav"
    subprocess.run(["sox", str(source), "-r", "44100", "-c", "2", str(stereo)], check=True)
    clip = to_clip(stereo.read_bytes(), ".wav")
    assert abs(clip.seconds - spoken.seconds) < 0.05 and not clip.is_silent()
    with pytest.raises(SpeechError, match="WAV, MP3 or AMR"):
        to_clip(b"whatever", ".ogg")
    with pytest.raises(SpeechError, match="sox could not convert"):
        to_clip(b"not audio at all", ".mp3")


def test_the_cache_renders_once_and_survives_a_torn_file(tmp_path):
    calls = []

    class Counting(ToneSynthesiser):
        def render(self, text):
            calls.append(text)
            return super().render(text)

    cache = SpeechCache(tmp_path / "speech", Counting())
    first = cache.render(SENTENCE)
    assert cache.render(SENTENCE) == first and calls == [SENTENCE]
    (stored,) = (tmp_path / "speech").glob("*.wav")
    stored.write_bytes(stored.read_bytes()[:30])  # a power cut while it was written
    assert cache.render(SENTENCE) == first and len(calls) == 2


def test_the_speech_settings_choose_a_synthesiser_and_refuse_nonsense():
    modem = '[[modems]]\nport = "/dev/ttyUSB2"\n'
    config = parse_config(modem + '[speech]\nengine = "tones"\n')
    assert isinstance(synthesiser_from_settings(config.get("speech.engine")), ToneSynthesiser)
    assert isinstance(synthesiser_from_settings("auto"), EspeakSynthesiser)  # installed here
    with pytest.raises(ConfigError, match="speech.engine"):
        parse_config(modem + '[speech]\nengine = "festival"\n')
    with pytest.raises(ConfigError, match="speech.words_per_minute"):
        parse_config(modem + '[speech]\nwords_per_minute = 5\n')


def test_silence_is_silence():
    assert Clip.silence(1.0).is_silent() and Clip.silence(1.0).samples == RATE
