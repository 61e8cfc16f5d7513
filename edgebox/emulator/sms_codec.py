"""SMS PDU codec for the emulator: SMS-DELIVER encoding and SMS-SUBMIT decoding (3GPP TS 23.040).

python-gsmmodem-new encodes SMS-SUBMIT and decodes anything, but cannot build the SMS-DELIVER
PDUs a network hands to a modem, so that half is written here on top of its field helpers.
Pure functions only: no I/O, no clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gsmmodem.exceptions import EncodingError
from gsmmodem.pdu import (Concatenation, _encodeAddressField, _encodeTimestamp, decodeGsm7,
                          decodeSmsPdu, encodeGsm7, packSeptets, unpackSeptets)

GSM7, UCS2 = "gsm7", "ucs2"
DCS = {GSM7: 0x00, UCS2: 0x08}
SINGLE_LIMIT = {GSM7: 160, UCS2: 70}  # septets / UTF-16 units in one SMS
PART_LIMIT = {GSM7: 153, UCS2: 67}  # the same with a 6-octet concatenation header

DELIVER_FIRST_OCTET = 0x04  # SMS-DELIVER, "no more messages to send"
UDHI = 0x40  # user data starts with a header
STATUS_REPORT_REQUEST = 0x20  # TP-SRR in an SMS-SUBMIT's first octet
STATUS_REPORT_FIRST_OCTET = 0x06  # SMS-STATUS-REPORT, "no more messages to send"
DELIVERED, FAILED = 0x00, 0x44  # TP-ST: delivered; permanent error (gsmmodem's FAILED is 68)


class SmsCodecError(ValueError):
    """A PDU that cannot be decoded; the modem answers +CMS ERROR: 304."""


@dataclass(frozen=True)
class DeliverPdu:
    hex: str  # the whole PDU, SMSC field included, as AT+CMGR shows it
    tpdu_length: int  # octets after the SMSC field, as AT+CMGR's <length> counts them
    text: str  # the part of the message this PDU carries
    encoding: str
    first_octet: int


@dataclass(frozen=True)
class SubmittedPart:
    number: str
    text: str
    encoding: str
    message_reference: int  # TP-MR chosen by the sender
    concat_reference: int | None = None  # set on parts of a concatenated message
    part_count: int = 1
    part_number: int = 1
    status_report: bool = False  # TP-SRR: the sender asked for a delivery report


# gsmmodem's GSM-7 table maps "ÿ" to the form-feed escape (and crashes on it) and would pass a raw
# ESC through as the escape prefix; neither is a GSM-7 character, so such texts go as UCS2.
NOT_GSM7 = ("\xff", "\x1b")


def gsm7_septets(text: str) -> bytearray | None:
    """``text`` as unpacked GSM-7 septets, or None if the GSM-7 alphabet cannot carry it."""
    if any(char in text for char in NOT_GSM7):
        return None
    try:
        return encodeGsm7(text)
    except ValueError:
        return None


def choose_encoding(text: str) -> str:
    return GSM7 if gsm7_septets(text) is not None else UCS2


def split_text(text: str, encoding: str) -> list[str]:
    """The pieces a network would cut ``text`` into (one piece if it fits one SMS)."""
    if _units(text, encoding) <= SINGLE_LIMIT[encoding]:
        return [text]
    parts, current, used = [], [], 0
    for char in text:
        size = _units(char, encoding)
        if used + size > PART_LIMIT[encoding]:
            parts.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += size
    parts.append("".join(current))
    return parts


def _units(text: str, encoding: str) -> int:
    """GSM-7 septets (escaped characters take two) or UTF-16 code units."""
    if encoding == GSM7:
        return len(gsm7_septets(text))
    return len(text.encode("utf-16-be")) // 2


def encode_deliver_pdus(sender: str, text: str, timestamp: datetime, smsc: str,
                        concat_reference: int = 0) -> list[DeliverPdu]:
    """SMS-DELIVER PDU(s) for ``text`` from ``sender``; several with a UDH if it is long.

    ``timestamp`` must carry a timezone (it becomes the service-centre time stamp).
    """
    encoding = choose_encoding(text)
    pieces = split_text(text, encoding)
    smsc_field = _encodeAddressField(smsc, smscField=True)
    pdus = []
    for number, piece in enumerate(pieces, start=1):
        header = bytearray()
        if len(pieces) > 1:
            concat = Concatenation()
            concat.reference, concat.parts, concat.number = concat_reference & 0xFF, len(pieces), number
            header = concat.encode()
        first_octet = DELIVER_FIRST_OCTET | (UDHI if header else 0)
        tpdu = bytearray([first_octet])
        tpdu += _encodeAddressField(sender)
        tpdu += bytes([0x00, DCS[encoding]])  # protocol id: plain SMS
        tpdu += _encodeTimestamp(timestamp)
        tpdu += _user_data(piece, encoding, header)
        pdu = bytes(smsc_field) + bytes(tpdu)
        pdus.append(DeliverPdu(pdu.hex().upper(), len(tpdu), piece, encoding, first_octet))
    return pdus


def _user_data(text: str, encoding: str, header: bytearray) -> bytes:
    """TP-UDL followed by TP-UD (header, then the text; GSM-7 padded to a septet boundary)."""
    udh = bytes([len(header)]) + bytes(header) if header else b""
    if encoding == UCS2:
        payload = text.encode("utf-16-be")
        return bytes([len(udh) + len(payload)]) + udh + payload
    septets = gsm7_septets(text)
    if not udh:
        return bytes([len(septets)]) + bytes(packSeptets(septets))
    # gsmmodem's packSeptets takes the bit offset the header leaves (6 for a 6-octet UDH: one fill bit).
    offset = (len(udh) * 8) % 7
    header_septets = (len(udh) * 8 + 6) // 7
    return bytes([header_septets + len(septets)]) + udh + bytes(packSeptets(septets, padBits=offset))


def decode_submit_pdu(pdu_hex: str) -> SubmittedPart:
    """Decode the SMS-SUBMIT PDU a client typed after ``AT+CMGS=<length>``."""
    try:
        decoded = decodeSmsPdu(pdu_hex)
        octets = bytes.fromhex(pdu_hex)
        dcs = _data_coding_octet(octets)
        status_report = bool(octets[1 + octets[0]] & STATUS_REPORT_REQUEST)
    except (EncodingError, ValueError, StopIteration, IndexError, KeyError) as exc:
        raise SmsCodecError(f"undecodable PDU: {exc}") from exc
    if decoded.get("type") != "SMS-SUBMIT":
        raise SmsCodecError(f"expected an SMS-SUBMIT PDU, got {decoded.get('type')}")
    encoding = UCS2 if (dcs & 0xC0) == 0 and (dcs & 0x0C) == 0x08 else GSM7
    text = decoded.get("text", "")
    if encoding == UCS2:
        # The library decodes UTF-16 unit by unit; join surrogate pairs (emoji) back together.
        text = text.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "replace")
    concat = next((ie for ie in decoded.get("udh", []) if isinstance(ie, Concatenation)), None)
    if concat is None:
        return SubmittedPart(decoded["number"] or "", text, encoding, decoded["reference"],
                             status_report=status_report)
    return SubmittedPart(decoded["number"] or "", text, encoding, decoded["reference"],
                         concat.reference, concat.parts, concat.number, status_report)


def _data_coding_octet(pdu: bytes) -> int:
    """TP-DCS of an SMS-SUBMIT: after SMSC, first octet, TP-MR, TP-DA and TP-PID."""
    position = 1 + pdu[0]  # SMSC length octet + SMSC
    position += 2  # first octet, message reference
    address_digits = pdu[position]
    position += 2 + (address_digits + 1) // 2  # length, type of address, semi-octets
    position += 1  # protocol identifier
    return pdu[position]


def ucs2_hex(text: str) -> str:
    """Text as ``AT+CSCS="UCS2"`` shows it: UTF-16BE in upper-case hex."""
    return text.encode("utf-16-be").hex().upper()


def from_ucs2_hex(value: str) -> str:
    try:
        return bytes.fromhex(value).decode("utf-16-be")
    except ValueError as exc:
        raise SmsCodecError(f"not UCS2 hex: {value!r}") from exc


def packed_gsm7_hex(text: str) -> str:
    """Text as a Huawei stick shows USSD: packed GSM 7-bit septets in upper-case hex."""
    septets = gsm7_septets(text)
    if septets is None:
        raise SmsCodecError(f"GSM 7-bit cannot carry {text!r}")
    return bytes(packSeptets(septets)).hex().upper()


def from_packed_gsm7_hex(value: str) -> str:
    try:
        octets = bytearray.fromhex(value)
        septets = unpackSeptets(octets)
        if len(octets) * 8 % 7 == 0 and septets and septets[-1] == 0:
            septets = septets[:-1]  # filling bits, not an "@"
        return decodeGsm7(septets)
    except (ValueError, KeyError, IndexError) as exc:
        raise SmsCodecError(f"not packed GSM 7-bit hex: {value!r}") from exc


def looks_like_ucs2_hex(value: str) -> bool:
    return len(value) >= 4 and len(value) % 4 == 0 and all(c in "0123456789abcdefABCDEF" for c in value)


def text_mode_timestamp(timestamp: datetime) -> str:
    """``yy/MM/dd,hh:mm:ss±zz`` (zz in quarter hours), the text-mode form of a time stamp."""
    offset = timestamp.utcoffset()
    quarters = int(offset.total_seconds() // 900) if offset is not None else 0
    sign = "-" if quarters < 0 else "+"
    return timestamp.strftime("%y/%m/%d,%H:%M:%S") + f"{sign}{abs(quarters):02d}"


def encode_status_report_pdu(smsc: str, reference: int, recipient: str, submitted: datetime,
                             discharged: datetime, status: int) -> DeliverPdu:
    """An SMS-STATUS-REPORT (3GPP TS 23.040 9.2.2.3) for the part the modem sent with ``reference``.

    Returned in a ``DeliverPdu`` so the storage can keep and list it like any received PDU.
    """
    tpdu = bytearray([STATUS_REPORT_FIRST_OCTET, reference & 0xFF])
    tpdu += _encodeAddressField(recipient)
    tpdu += _encodeTimestamp(submitted)
    tpdu += _encodeTimestamp(discharged)
    tpdu.append(status)
    pdu = bytes(_encodeAddressField(smsc, smscField=True)) + bytes(tpdu)
    return DeliverPdu(pdu.hex().upper(), len(tpdu), "", GSM7, STATUS_REPORT_FIRST_OCTET)
