"""edgebox.txt as a technician's editor saves it: KEY=value lines, comments, any line ending.

Windows Notepad writes UTF-8 with a BOM (or, as "ANSI" on a Chinese Windows, GBK; as "Unicode",
UTF-16) and CRLF line ends; Chinese input methods type a full-width '＝'. All of that is read.
Masking rewrites only the secret values and keeps every other byte of the file as it was.
"""
from __future__ import annotations

import codecs
import difflib
import re
from dataclasses import dataclass

from edgebox.i18n import Text
from edgebox.provision.fields import BY_NAME, MASK, SECRETS
from edgebox.provision.status import at_line, problem

_LINE = re.compile(r"(?P<lead>\s*)(?P<key>[^=＝]*?)(?P<eq>\s*[=＝]\s*)(?P<value>.*?)(?P<trail>\s*)")
_QUOTED = re.compile(r"\"(.*)\"|'(.*)'|“(.*)”")


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # how to write it back: "utf-8-sig", "utf-8", "gbk" or "utf-16"


@dataclass(frozen=True)
class Entry:
    line: int   # 1-based, as an editor numbers lines
    key: str    # upper case
    value: str  # without surrounding blanks or quotes


def decode(content: bytes) -> Decoded:
    if content.startswith(codecs.BOM_UTF8):
        return Decoded(content[len(codecs.BOM_UTF8):].decode("utf-8", "replace"), "utf-8-sig")
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Decoded(content.decode("utf-16", "replace"), "utf-16")
    try:
        return Decoded(content.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        return Decoded(content.decode("gbk", "replace"), "gbk")


def encode(decoded: Decoded, text: str) -> bytes:
    return text.encode(decoded.encoding)


def parse(text: str) -> tuple[list[Entry], list[Text]]:
    """The KEY=value entries and the problems (one per bad line, naming it)."""
    entries: list[Entry] = []
    problems: list[Text] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        match = _LINE.fullmatch(raw)
        if match is None or not match["key"].strip():
            problems.append(problem(at_line(number), Text(
                "provision.not_key_value", "expected KEY=value, not '{text}'",
                text=_shorten(line))))
            continue
        key = match["key"].strip().upper()
        if key not in BY_NAME:
            close = difflib.get_close_matches(key, BY_NAME, n=1)
            unknown = Text("provision.unknown_key_hint", "unknown key {name} (did you mean "
                           "{hint}?)", name=key, hint=close[0]) if close else Text(
                "provision.unknown_key", "unknown key {name}", name=key)
            problems.append(problem(at_line(number), unknown))
            continue
        if key in seen:
            problems.append(problem(at_line(number, key), Text(
                "provision.set_twice", "already set on line {first}", first=seen[key])))
            continue
        seen[key] = number
        value = match["value"].strip()
        quoted = _QUOTED.fullmatch(value)
        if quoted:
            value = next(group for group in quoted.groups() if group is not None)
        entries.append(Entry(number, key, value))
    return entries, problems


def mask_secrets(text: str) -> str:
    """The same text with every non-empty secret value replaced by the mask."""
    out = []
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        ending = raw[len(body):]
        match = _LINE.fullmatch(body)
        if (match and not body.strip().startswith(("#", ";"))
                and match["key"].strip().upper() in SECRETS
                and match["value"].strip() not in ("", MASK)):
            body = f"{match['lead']}{match['key']}{match['eq']}{MASK}{match['trail']}"
        out.append(body + ending)
    return "".join(out)


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
