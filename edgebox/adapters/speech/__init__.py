"""Speech made on the box: the alarm sentence turned into telephone audio, offline.

One format inside the box, the narrowest any consumer needs: 8 kHz, mono, 16-bit signed PCM
(a GSM voice call carries 8 kHz; the loudspeaker plays it as it is). ``Clip`` holds it; each
modem dialect or audio output converts from there (``convert``) to what it takes (WAV, raw PCM,
AMR-NB). Two synthesisers behind one port (``Synthesiser``):

- ``EspeakSynthesiser``: Debian's ``espeak-ng`` with its Mandarin voice (``cmn``), resampled by
  ``sox``. Both are Debian packages on the box; nothing is downloaded at run time.
- ``ToneSynthesiser``: the simulated backend, a tone per character (silence at punctuation).
  Deterministic, not silent, as long as the text: what tests and a box without espeak-ng use.

``SpeechCache`` keeps each rendered sentence on disk by digest, so a sentence said to twelve
members is synthesised once, and ``prompt`` keeps an office's own recording (WAV/MP3/AMR)
into a clip.
"""
from edgebox.adapters.speech.clip import RATE, Clip, SpeechError
from edgebox.adapters.speech.synthesisers import (EspeakSynthesiser, Synthesiser,
                                                  ToneSynthesiser, synthesiser_from_settings)

__all__ = ["RATE", "Clip", "SpeechError", "Synthesiser", "EspeakSynthesiser", "ToneSynthesiser",
           "synthesiser_from_settings"]
