"""Reassembling incoming SMS that arrive in several parts (the library hands them over one by
one). Parts are keyed by sender and concatenation reference; a message whose parts never all
arrive is handed on incomplete after a while rather than lost.

Each part may say where the modem stores it (``place``), when the service centre took it
(``sent_at``) and whether a sweep of the modem's storage found it (``swept``): a whole message
carries the places of all its parts, so they are deleted from the modem only once the message is
kept, the time stamp of its first part, which identifies it if it is read again, and whether any
part was swept (so it may have been kept before the box last died)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


class Whole(tuple):
    """A complete message as ``(number, text)``, with ``places`` (where its parts are stored on
    the modem, any not stored left out), ``sent_at`` (the earliest time stamp of its parts,
    None when none had one) and ``swept`` (a part of it was found by a sweep)."""

    places: tuple
    sent_at: datetime | None
    swept: bool

    def __new__(cls, number: str, text: str, places=(), sent_at: datetime | None = None,
                swept: bool = False):
        whole = super().__new__(cls, (number, text))
        whole.places = tuple(p for p in places if p is not None)
        whole.sent_at = sent_at
        whole.swept = swept
        return whole


@dataclass
class _Pending:
    total: int
    first_seen: float
    parts: dict[int, str] = field(default_factory=dict)
    places: dict[int, object] = field(default_factory=dict)
    times: dict[int, datetime] = field(default_factory=dict)
    swept: bool = False

    def whole(self, number: str) -> Whole:
        numbers = sorted(self.parts)
        return Whole(number, "".join(self.parts[i] for i in numbers),
                     [self.places.get(i) for i in numbers], min(self.times.values(), default=None),
                     self.swept)


class Reassembler:
    def __init__(self, give_up_seconds: float = 120.0):
        self.give_up_seconds = give_up_seconds
        self._pending: dict[tuple[str, int], _Pending] = {}

    def add(self, number: str, text: str, concat, now: float, place=None,
            sent_at: datetime | None = None, swept: bool = False) -> list[Whole]:
        """Take one received SMS; return the messages now complete as (number, text).
        ``concat`` is the part's Concatenation header (reference, parts, number) or None. The
        same part given twice (read again from the modem) counts once."""
        if concat is None or concat.parts <= 1:
            return [Whole(number, text, [place], sent_at, swept)] + self.expired(now)
        key = (number, concat.reference)
        pending = self._pending.setdefault(key, _Pending(concat.parts, now))
        pending.parts[concat.number] = text
        pending.places[concat.number] = place
        pending.swept = pending.swept or swept
        if sent_at is not None:
            pending.times[concat.number] = sent_at
        done = []
        if len(pending.parts) >= pending.total:
            del self._pending[key]
            done.append(pending.whole(number))
        return done + self.expired(now)

    def expired(self, now: float) -> list[Whole]:
        """Messages whose missing parts did not come in time, with what did arrive."""
        out = []
        for key, pending in list(self._pending.items()):
            if now - pending.first_seen >= self.give_up_seconds:
                del self._pending[key]
                out.append(pending.whole(key[0]))
        return out
