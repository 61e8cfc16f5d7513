"""Is an SMS from a neighbour an acknowledgement ("I am coming")?

People answer in many ways: "1", "１" from a Chinese keyboard, "到", "收到", "马上到", "OK!",
"收到，马上到". The text is width-folded (NFKC), lower-cased and stripped of punctuation and spaces;
it is an acknowledgement when it is made only of acknowledgement words.
"""
from __future__ import annotations

import unicodedata

ACK_WORDS = ("马上到", "收到", "到", "好", "来了", "1", "ok", "okay", "yes", "y")


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in folded if not (ch.isspace() or unicodedata.category(ch)[0] in "PS"))


def is_acknowledgement(text: str) -> bool:
    rest = _fold(text or "")
    if not rest or len(rest) > 20:
        return False
    while rest:
        word = next((w for w in ACK_WORDS if rest.startswith(w)), None)
        if word is None:
            return False
        rest = rest[len(word):]
    return True
