"""A modem transcript: what a real modem answered to which command, and what it sent on its own.

The format is written down in tests/transcripts/README.md. In short:

    # title: SIM800L: a caller in international format      header (key: value), until the
    # source: vshymanskyy/TinyGSM issue #721                 first line not starting with '#'
    # include: init/sim800.txt                               answers shared by one modem family
    # default: OK                                            answer to a command nothing covers
    # expect: incident H03                                   what the daemon must do (repeatable)
    > AT+CGMI                                                a command (fnmatch pattern)
    < SIMCOM_Ltd                                             a line of its answer, framed CR LF
    < OK
    @ ready until ATH,AT+CHUP                                unsolicited lines: after start-up, or
    < RING                                                   "@ after <pattern> [#n]" (its n-th
                                                             time); "until" stops the
    ~ 5                                                      block when such a command comes
    < +CLIP: "18600138003",129,"",0,"",0                     ~ <seconds>: a pause (scaled)
    ! echo on                                                the modem echoes again (a restart)

A pattern given twice is answered in turn, the last answer repeating. ``<raw`` sends text
without framing, with \\r and \\n escapes (the SMS prompt is ``<raw \\r\\n> ``). The pseudo
command ``PDU`` is what the host types after an AT+CMGS prompt, up to its Ctrl-Z.
"""
from __future__ import annotations

import codecs
import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

PDU = "PDU"


@dataclass
class Pause:
    seconds: float


@dataclass
class Echo:
    """``! echo on``: the modem echoes commands again from here (it restarted: ATE1 default)."""
    on: bool


# One step of an answer or a block: bytes to send, a pause before the next step, a change of echo.
Step = bytes | Pause | Echo


@dataclass
class Block:
    """Lines the modem sends on its own once ``trigger`` happens ("ready" or "after")."""
    trigger: str
    pattern: str | None
    until: list[str]
    nth: int = 1  # "@ after <pattern> #2": the second time that command comes
    steps: list[Step] = field(default_factory=list)


@dataclass
class Transcript:
    path: Path
    header: dict[str, list[str]]
    rules: list[tuple[str, list[Step]]]
    blocks: list[Block]

    def first(self, key: str, default: str | None = None) -> str | None:
        values = self.header.get(key)
        return values[0] if values else default

    @property
    def default_answer(self) -> list[Step]:
        answer = self.first("default", "OK")
        return [frame(line.strip()) for line in answer.split("|")]

    @property
    def expectations(self) -> list[tuple[str, str]]:
        pairs = []
        for line in self.header.get("expect", []):
            word, _, rest = line.partition(" ")
            pairs.append((word, rest.strip()))
        return pairs


def frame(line: str) -> bytes:
    """A result line as a modem in verbose mode (ATV1) sends it: <CR><LF>text<CR><LF>."""
    return b"\r\n" + line.encode("utf-8") + b"\r\n"


def matches(pattern: str, command: str) -> bool:
    """``*`` is the only wildcard: '?' and '[' are common in AT commands (AT+CPIN?)."""
    literal = pattern.upper().replace("[", "[[]").replace("?", "[?]")
    return fnmatch.fnmatchcase(command.upper(), literal)


class TranscriptError(ValueError):
    """A transcript file that cannot be read: says which file, which line and why."""


def load(path: Path) -> Transcript:
    header: dict[str, list[str]] = {}
    rules: list[tuple[str, list[Step]]] = []
    blocks: list[Block] = []
    target: list[Step] | None = None
    in_header = True
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.rstrip("\n")
        where = f"{path.name} line {number}"
        if line.startswith("#"):
            key, colon, value = line[1:].strip().partition(":")
            if in_header and colon and key.strip() and " " not in key.strip():
                header.setdefault(key.strip(), []).append(value.strip())
            continue
        in_header = False
        if not line.strip():
            continue
        tag, _, rest = line.partition(" ")
        if tag == ">":
            target = []
            rules.append((rest.strip(), target))
        elif tag == "@":
            target = []
            blocks.append(_block(rest, target, where))
        elif target is None:
            raise TranscriptError(f"{where}: {tag!r} before any '>' or '@' line")
        elif tag == "<":
            if not rest:  # every line is framed <CR><LF>…<CR><LF> already
                raise TranscriptError(f"{where}: an empty '<' line; use '<raw \\r\\n'")
            target.append(frame(rest))
        elif tag == "<raw":
            target.append(codecs.decode(rest, "unicode_escape").encode("latin-1"))
        elif tag == "!" and rest.strip() in ("echo on", "echo off"):
            target.append(Echo(rest.strip() == "echo on"))
        elif tag == "~":
            try:
                target.append(Pause(float(rest)))
            except ValueError:
                raise TranscriptError(f"{where}: '~' needs seconds, not {rest!r}") from None
        else:
            raise TranscriptError(f"{where}: unknown line {line!r}")
    transcript = Transcript(path, header, rules, blocks)
    for include in header.get("include", []):
        shared = load(path.parent / include)
        own = {pattern for pattern, _ in transcript.rules}
        # The case's own answers replace the shared ones for the same command.
        transcript.rules.extend(rule for rule in shared.rules if rule[0] not in own)
        for key, values in shared.header.items():
            if key not in ("title", "source", "include"):
                transcript.header.setdefault(key, values)
    return transcript


def _block(spec: str, steps: list[Step], where: str) -> Block:
    spec, _, until = spec.partition(" until ")
    trigger, _, pattern = spec.strip().partition(" ")
    if trigger not in ("ready", "after") or (trigger == "after") != bool(pattern.strip()):
        raise TranscriptError(f"{where}: a block starts '@ ready' or '@ after <command>'")
    pattern, _, nth = pattern.partition(" #")
    return Block(trigger, pattern.strip() or None,
                 [p.strip() for p in until.split(",") if p.strip()], int(nth or 1), steps)
