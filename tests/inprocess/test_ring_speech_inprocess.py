"""The ring call's sentence, in process: rendered when the alarm is planned, so the first ring
finds it in the speech cache instead of waiting for a synthesis; and a synthesiser that fails
never costs a ring. (The sentence's way into each modem family's call:
tests/test_call_speech.py.)"""
from edgebox.adapters.speech.cache import SpeechCache
from edgebox.adapters.speech.settings import speech_directory
from edgebox.adapters.speech.synthesisers import EspeakSynthesiser, ToneSynthesiser
from edgebox.emulator.calls import Callee
from tests.support import WANG

RINGING = {"alarm": {"ring_members": True, "ring_seconds": 60}}


def the_ring_sentence(box) -> str:
    box.wait_for(lambda: box.deliveries(kind="call"), "the ring calls to be planned")
    return box.deliveries(kind="call")[0]["text"]


def test_the_sentence_is_in_the_cache_before_the_first_ring_is_dialled(village):
    box = village(settings={**RINGING, "speech": {"engine": "tones"}})
    cache = SpeechCache(speech_directory(box.config) / "speech", ToneSynthesiser())
    box.phone(WANG).callee = Callee(answer_after=4, press="1", press_after=6)
    # The leader's SMS goes before the leader's ring (one modem): held in the modem, the ring
    # cannot be dialled, and only a render at planning time can put the sentence in the cache.
    box.network.hold_submits()
    box.call("H03")
    sentence = the_ring_sentence(box)
    box.wait_for(lambda: cache.holds(sentence), "the sentence to be rendered ahead")
    assert box.phone(WANG).rings == [] and not box.events("call_placed")
    box.network.release_submits()
    box.wait_idle()

    [rung] = box.phone(WANG).rings
    assert rung.outcome == "acknowledged" and rung.spoken == sentence


def test_a_synthesiser_that_fails_still_lets_every_ring_go(village):
    # espeak-ng with a voice it does not have: every render fails with a SpeechError.
    box = village(settings={**RINGING, "speech": {"engine": "espeak-ng", "voice": "zzz"}})
    box.phone(WANG).callee = Callee(answer_after=4, press="1", press_after=6)
    box.call("H03")
    sentence = the_ring_sentence(box)
    box.wait_idle()

    cache = SpeechCache(speech_directory(box.config) / "speech", EspeakSynthesiser("zzz"))
    assert not cache.holds(sentence)
    [rung] = box.phone(WANG).rings
    assert rung.outcome == "acknowledged" and rung.spoken == sentence  # by the modem's TTS
    results = {e["data"]["household"]: e["data"]["result"] for e in box.events("call_placed")}
    assert results == {"H01": "acknowledged", "H04": "no_answer", "H02": "no_answer"}
