"""USSD strings as modems send and want them (the balance query and its answer).

A ``+CUSD: <m>,"<str>",<dcs>`` answer comes in four shapes, told apart by the data coding
scheme (3GPP TS 23.038 §5) and by what the modem does with the module's character set:

- dcs 72 (UCS-2): the string is UCS-2 hex, as Chinese operators' answers arrive;
- dcs 15 (GSM 7-bit) after ``AT+CSCS="UCS2"``: the modem converted the text to UCS-2 hex;
- dcs 15 with ``AT+CSCS="GSM"``/``"IRA"``: plain text;
- dcs 15 on Huawei sticks: the packed GSM 7-bit octets as hex ("AA180C3602" is "*100#"), and the
  request must be packed the same way (e.g. the huawei-ussd tool for the E1550 sends
  ``AT+CUSD=1,<packed>,15``; python-gsmmodem-new switches it off only where AT^USSDMODE exists).

Hex that is neither is taken as the plain text it may well be ("1234").

Two more shapes real modems give: dcs 17 (UCS-2 "preceded by language indication", TS 23.038
§5: the language as two packed GSM 7-bit letters in two octets, e.g. ``6139`` = "ar", on a Telit
HE910, gammu issue #377), whose text may be followed by ``0000`` and the modem's filler; and a
Huawei E160 answer with neither quotes nor dcs (``+CUSD: 0, 49B41C…``, gammu
tests/at-ussd/01-E160.dump), packed hex like the quoted one.
"""
from __future__ import annotations

import re

from gsmmodem.pdu import decodeGsm7, encodeGsm7, packSeptets, unpackSeptets

# The string quoted, or (Huawei E160) bare up to an optional ",<dcs>" at the end of the line.
_CUSD = re.compile(r'^\+CUSD:\s*(\d)(?:,\s*(?:"(.*?)"(?:,\s*(\d+))?|'
                   r'([^"\s][^"]*?)(?:,\s*(\d+))?\s*$))?', re.DOTALL)
_HEX = re.compile(r"^(?:[0-9A-Fa-f]{2})+$")
GSM7, EIGHT_BIT, UCS2 = "gsm7", "8bit", "ucs2"
# What an operator's UCS-2 text is made of (used only to guess UCS-2 hex behind dcs 15; a dcs
# that names UCS-2 is decoded whatever the script): ASCII, Latin-1 and Latin Extended (the
# Hungarian of gammu issue #358), Greek, Cyrillic, Hebrew, Arabic, general punctuation, CJK
# punctuation and ideographs, full width. Packed 7-bit hex read as UCS-2 falls outside.
_PLAUSIBLE_UCS2 = ((0x0A, 0x0D), (0x20, 0x7E), (0xA0, 0x024F), (0x0370, 0x052F),
                   (0x0590, 0x06FF), (0x2000, 0x206F), (0x3000, 0x303F), (0x4E00, 0x9FFF),
                   (0xFF00, 0xFFEF))
_LANGUAGE_PREFIXED_UCS2 = 0x11


def alphabet(dcs: int) -> str:
    """The alphabet a cell-broadcast/USSD data coding scheme names (3GPP TS 23.038 §5)."""
    group = dcs >> 4
    if group == 0b0001:
        return UCS2 if dcs & 0x0F == 1 else GSM7
    if group >> 2 == 0b01 or group == 0b1001:  # general data coding: bits 3-2 name it
        return {0: GSM7, 1: EIGHT_BIT, 2: UCS2}.get((dcs >> 2) & 0b11, GSM7)
    if group == 0b1111:
        return EIGHT_BIT if dcs & 0b100 else GSM7
    return GSM7


def request(code: str, packed: bool) -> str:
    """The USSD string to put in AT+CUSD=1,"…",15."""
    if not packed:
        return code
    return bytes(packSeptets(encodeGsm7(code))).hex().upper()


def decode(line: str, packed: bool = False) -> str | None:
    """The text of a +CUSD line, whatever its shape; None when it carries no text."""
    m = _CUSD.match(line)
    if not m:
        return None
    quoted = m.group(2) is not None
    text = m.group(2) if quoted else m.group(4)
    if text is None:
        return None
    dcs = int((m.group(3) if quoted else m.group(5)) or 15)
    if not _HEX.match(text):
        return text
    kind = alphabet(dcs)
    if kind == UCS2:
        if dcs == _LANGUAGE_PREFIXED_UCS2:
            text = _without_language(text)
        return _ucs2(text, plausible_only=False) or text
    if kind != GSM7:
        return text
    # Readable packed text first (a Huawei stick's own form), then UCS-2 hex (any modem under
    # AT+CSCS="UCS2", a Huawei one too), then packed on the dialect's word alone.
    if packed and _looks_packed(text):
        return _unpack(text)
    if (guess := _ucs2(text)) is not None:
        return guess
    if packed or _looks_packed(text):
        try:
            return _unpack(text)
        except (ValueError, KeyError, IndexError):
            return text  # not packed after all: what the operator wrote, as it came
    return text


def _ucs2(text: str, plausible_only: bool = True) -> str | None:
    """UCS-2 hex as text, up to a U+0000 (after it, a Telit pads with filler); None when it
    is not whole UCS-2 or, with ``plausible_only``, holds characters no operator writes."""
    if len(text) % 4:
        text = text[:len(text) - len(text) % 4] if not plausible_only else ""
        if not text:
            return None
    decoded = bytes.fromhex(text).decode("utf-16-be", errors="replace").split("\0", 1)[0]
    if not plausible_only:
        return decoded
    if all(any(low <= ord(ch) <= high for low, high in _PLAUSIBLE_UCS2) for ch in decoded):
        return decoded
    return None


def _without_language(text: str) -> str:
    """dcs 17's text without its two-octet language (two packed GSM 7-bit letters, "ar")."""
    if len(text) < 8:
        return text
    septets = unpackSeptets(bytearray.fromhex(text[:4]))[:2]
    if all(0x61 <= septet <= 0x7A for septet in septets):
        return text[4:]
    return text  # a modem that took the language off already


def _unpack(text: str) -> str:
    octets = bytearray.fromhex(text)
    septets = unpackSeptets(octets)
    if len(octets) * 8 % 7 == 0 and septets and septets[-1] == 0:
        septets = septets[:-1]  # the last 7 bits were filling, not an "@"
    decoded = decodeGsm7(septets)
    if len(septets) % 8 == 0 and decoded.endswith("\r"):
        decoded = decoded[:-1]  # 23.038 §6.1.2.3.1: CR pads a text ending on an octet boundary
    return decoded


def _looks_packed(text: str) -> bool:
    """Hex that unpacks to readable text (a reply from a Huawei stick we did not detect)."""
    try:
        decoded = _unpack(text)
    except (ValueError, KeyError, IndexError):
        return False
    readable = sum(ch.isalnum() or ch in " .,:;-#*()\n" for ch in decoded)
    return len(decoded) >= 4 and readable >= 0.9 * len(decoded)
