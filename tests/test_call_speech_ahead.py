"""CallSpeech's render ahead: the sentences of an alarm's ring calls are rendered on the speech
thread when the alarm is planned; a ring dialled while that render is still going waits for it
rather than synthesising the sentence a second time, and a failed render is not retried by the
ring it would hold up again."""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timezone

from edgebox.adapters.speech import SpeechError, ToneSynthesiser
from edgebox.adapters.speech.cache import SpeechCache
from edgebox.daemon.call_speech import CallSpeech
from edgebox.store.outbox_rows import DeliveryRow

SENTENCE = "紧急情况：第一组张伟家（石桥村一组3号）。按1确认前往，按2再听一遍。"
WAIT = 30  # generous: the machine may be busy


class HeldTones(ToneSynthesiser):
    """Tones that are only produced once released (a Pi 3's slow espeak-ng, held on purpose),
    counting each synthesis."""

    def __init__(self, fails: bool = False):
        self.started = threading.Event()
        self.release = threading.Event()
        self.renders = 0
        self.fails = fails

    def render(self, text):
        self.renders += 1
        self.started.set()
        assert self.release.wait(WAIT)
        if self.fails:
            raise SpeechError("no voice")
        return super().render(text)


def ring_in_thread(speech: CallSpeech, text: str) -> tuple[threading.Thread, list]:
    """A worker's ring of the leader, claimed: it asks for its sentence on its own thread."""
    now = datetime(2026, 3, 1, tzinfo=timezone.utc)
    row = DeliveryRow(2, 1, "call", "+8613800138001", "H01", "ring", text, 10, "sending", 1,
                      None, None, None, now, now, "m1", None, None)
    got: list = []
    ring = threading.Thread(target=lambda: got.append(speech.for_delivery(row)))
    ring.start()
    return ring, got


def test_a_ring_waits_for_the_render_ahead_instead_of_synthesising_again(tmp_path):
    synthesiser = HeldTones()
    speech = CallSpeech(SpeechCache(tmp_path / "speech", synthesiser), tmp_path)
    speech.prepare([SENTENCE, "", SENTENCE])
    assert synthesiser.started.wait(WAIT)
    ring, got = ring_in_thread(speech, SENTENCE)
    synthesiser.release.set()
    ring.join(WAIT)
    speech.close()

    [said] = got
    assert said.text == SENTENCE and said.clip == ToneSynthesiser().render(SENTENCE)
    assert synthesiser.renders == 1 and speech.cache.holds(SENTENCE)


def test_a_failed_render_ahead_lets_the_ring_go_without_trying_again(tmp_path):
    synthesiser = HeldTones(fails=True)
    speech = CallSpeech(SpeechCache(tmp_path / "speech", synthesiser), tmp_path)
    speech.prepare([SENTENCE])
    assert synthesiser.started.wait(WAIT)
    ring, got = ring_in_thread(speech, SENTENCE)
    synthesiser.release.set()
    ring.join(WAIT)

    [said] = got
    assert said.text == SENTENCE and said.clip is None  # the modem's TTS, or the ring alone
    assert synthesiser.renders == 1
    speech.prepare([SENTENCE])  # the next alarm tries again
    speech.close()
    assert synthesiser.renders == 2


def test_a_flash_says_nothing_though_it_keeps_the_alarm_s_words(tmp_path):
    synthesiser = HeldTones()
    synthesiser.release.set()
    speech = CallSpeech(SpeechCache(tmp_path / "speech", synthesiser), tmp_path)
    now = datetime(2026, 3, 1, tzinfo=timezone.utc)
    flash = DeliveryRow(2, 1, "call", "+8613800138001", "H01", "flash", SENTENCE, 10, "sending",
                        1, None, None, None, now, now, "m1", None, None)
    assert speech.for_delivery(flash) is None and synthesiser.renders == 0
    ring = speech.for_delivery(replace(flash, purpose="ring"))
    assert ring.text == SENTENCE and synthesiser.renders == 1
