"""The two sounds that are not speech: the chime before an announcement (a villager looks up
before the words start) and the beep that tells a live caller to speak. Made of the speech
adapter's tones, so they are the box's one audio format."""
from __future__ import annotations

from edgebox.adapters.speech import Clip
from edgebox.adapters.speech.synthesisers import tone

# A falling "ding-dong" (E5, C5), as station and school PA chimes go; twice.
CHIME_NOTES = ((659.0, 0.45), (523.0, 0.7))
BEEP = (1000.0, 0.4)


def chime() -> Clip:
    notes = [Clip(tone(hertz, seconds)) for hertz, seconds in CHIME_NOTES]
    once = notes[0] + notes[1] + Clip.silence(0.2)
    return once + once + Clip.silence(0.3)


def beep() -> Clip:
    return Clip(tone(*BEEP))
