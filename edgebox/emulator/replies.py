"""What a command handler answers: the emulator's engine (``at_engine``) frames and sends it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Reply:
    """What one command answers."""

    lines: list[str] = field(default_factory=list)  # information text, before the result code
    final: str = "OK"
    delay: float = 0.0  # the modem stays busy this long before answering (network round trip)
    on_answer: Callable[[], None] | None = None  # runs when the answer goes out
    prompt: Callable[[str], "Reply"] | None = None  # show "> " and pass the typed text here
