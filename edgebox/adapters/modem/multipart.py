"""Reassembling incoming SMS that arrive in several parts (the library hands them over one by
one). Parts are keyed by sender and concatenation reference; a message whose parts never all
arrive is handed on incomplete after a while rather than lost."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class _Pending:
    total: int
    first_seen: float
    parts: dict[int, str] = field(default_factory=dict)


class Reassembler:
    def __init__(self, give_up_seconds: float = 120.0):
        self.give_up_seconds = give_up_seconds
        self._pending: dict[tuple[str, int], _Pending] = {}

    def add(self, number: str, text: str, concat, now: float) -> list[tuple[str, str]]:
        """Take one received SMS; return the messages now complete as (number, text).
        ``concat`` is the part's Concatenation header (reference, parts, number) or None."""
        if concat is None or concat.parts <= 1:
            return [(number, text)] + self.expired(now)
        key = (number, concat.reference)
        pending = self._pending.setdefault(key, _Pending(concat.parts, now))
        pending.parts[concat.number] = text
        done = []
        if len(pending.parts) >= pending.total:
            del self._pending[key]
            done.append((number, "".join(pending.parts[i] for i in sorted(pending.parts))))
        return done + self.expired(now)

    def expired(self, now: float) -> list[tuple[str, str]]:
        """Messages whose missing parts did not come in time, with what did arrive."""
        out = []
        for key, pending in list(self._pending.items()):
            if now - pending.first_seen >= self.give_up_seconds:
                del self._pending[key]
                out.append((key[0], "".join(pending.parts[i] for i in sorted(pending.parts))))
        return out
