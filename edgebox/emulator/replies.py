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
    # Binary data of a known length (a file upload: AT+CFTRANRX, AT+FSWRITE, AT+QFUPL): show
    # ``banner`` ("> " or "CONNECT"), take exactly ``count`` bytes and pass them here; no echo.
    data: "DataUpload | None" = None


@dataclass
class DataUpload:
    count: int
    take: Callable[[bytes], Reply]
    banner: str = "> "
    timeout: float = 10.0  # seconds without data before the modem gives up (the manuals' <timeout>)
    on_timeout: Callable[[bytes], Reply] | None = None  # what it answers then (default ERROR)
