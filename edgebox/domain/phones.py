"""Phone numbers as people type them, normalised to E.164 with Google's libphonenumber rules.

Village sheets hold `138 0013 8000`, `+86 138…`, `0086138…`, `010-12345678`; modems report
`"13800138000",129` (national) or `"+8613800138000",145` (international). Everything is stored and
compared as E.164 (`+8613800138000`) so a caller is found whichever way the network spelled it.
"""
from __future__ import annotations

import re

import phonenumbers

from edgebox.i18n import Text

# Type-of-number octet in +CLIP/+CMGR: 145 means the digits are international (with country code).
TON_INTERNATIONAL = 145

_SEPARATORS = re.compile(r"[\s\-().·/]+")


class PhoneNumberError(ValueError):
    """A string that is not a dialable phone number."""


def _wrong_digits(raw: str) -> Text:
    return Text("phone.wrong_digits", "'{raw}' has the wrong number of digits", raw=raw)


def normalise(raw: str, region: str = "CN") -> str:
    """Return the E.164 form of ``raw`` or raise PhoneNumberError saying why not."""
    if raw is None:
        raise PhoneNumberError(Text("phone.none", "no number"))
    text = _SEPARATORS.sub("", str(raw).strip().replace("＋", "+"))
    # Full-width digits (０-９) appear when numbers are typed with a Chinese input method.
    text = text.translate({0xFF10 + i: ord("0") + i for i in range(10)})
    if not text:
        raise PhoneNumberError(Text("phone.empty", "empty number"))
    if text.startswith("00"):
        text = "+" + text[2:]
    if not re.fullmatch(r"\+?\d+", text, re.ASCII):
        raise PhoneNumberError(Text("phone.not_digits",
                                    "'{raw}' has characters that are not digits", raw=raw))
    if not 3 <= len(text.lstrip("+")) <= 17:
        raise PhoneNumberError(_wrong_digits(raw))
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise PhoneNumberError(Text("phone.unreadable", "'{raw}' is not a phone number",
                                    raw=raw)) from exc
    national = str(parsed.national_number)
    # A Chinese mobile number is 13x-19x and 11 digits long (010 is Beijing, not a mobile).
    # libphonenumber calls a 6-digit one merely "not valid", which tells an official nothing.
    wrong_mobile_length = (parsed.country_code == 86 and national[:1] == "1"
                           and national[1:2] in "3456789" and len(national) != 11)
    if wrong_mobile_length or not phonenumbers.is_possible_number(parsed):
        raise PhoneNumberError(_wrong_digits(raw))
    if not phonenumbers.is_valid_number(parsed):
        raise PhoneNumberError(Text("phone.invalid", "'{raw}' is not a valid number", raw=raw))
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if len(e164) > 16:  # "+" and at most 15 digits; libphonenumber passes some longer ones
        raise PhoneNumberError(_wrong_digits(raw))
    return e164


def normalise_caller(digits: str | None, ton: int | None, region: str = "CN") -> str | None:
    """Normalise a caller id as a modem reports it; None when it cannot be a number.

    A national number (type 129) is read in the box's own region; an international one (145)
    gets its `+` back whether or not the modem printed it.
    """
    if not digits:
        return None
    text = digits.strip()
    if ton == TON_INTERNATIONAL and not text.startswith("+"):
        text = "+" + text
    try:
        return normalise(text, region)
    except PhoneNumberError:
        return None


def display(e164: str) -> str:
    """The national form a villager recognises (138 0013 8000); the input if it cannot be parsed."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def national_digits(e164: str) -> str:
    """The national number as one run of digits (13800138000): what a phone dials back, and
    three characters shorter than ``display`` where an SMS has none to spare."""
    return re.sub(r"\D", "", display(e164)) or e164


def takes_sms(e164: str) -> bool:
    """Whether the number can receive an SMS: a mobile, or a number the plan does not tell
    apart from one (FIXED_LINE_OR_MOBILE, as in the US). A Chinese landline (0571 8888 6666)
    can be rung but never texted."""
    try:
        kind = phonenumbers.number_type(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return False
    return kind in (phonenumbers.PhoneNumberType.MOBILE,
                    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
