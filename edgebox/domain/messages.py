"""Message templates (Chinese first, English second) and SMS segment counting.

An alarm must fit one SMS: a neighbour's phone shows one message, the modem spends one ~3 s submit
on it, and no part can arrive late or out of order. Chinese text is UCS-2: 70 characters in one SMS,
67 per part once it has to be split. GSM-7 text: 160, or 153 per part.
"""
from __future__ import annotations

import string
from dataclasses import dataclass

from edgebox.i18n import LANGUAGES, N_, table, word

UCS2_SINGLE, UCS2_PART = 70, 67
GSM7_SINGLE, GSM7_PART = 160, 153

# The GSM 03.38 default alphabet; the extension table characters cost two septets each.
_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")

# The SMS templates (and the words spoken into a ring call), by name; the Chinese is in the
# catalogue (edgebox/locale/zh), under the key "sms.<name>".
TEMPLATES = table(
    "sms.",
    N_("sms.alarm", "[Watch] HELP: {caller} ({address}){risk} {group}. Go now! {dial}Reply 1"),
    N_("sms.guardian_alarm", "[Watch] Relative {caller} ({address}){risk} {label}: {group} told"),
    N_("sms.confirm", "[Watch] Alarm received: {notified} of {group} alerted"),
    N_("sms.confirm_own", "[Watch] Your own alarm: {notified} of {group} alerted. Wrong? Reply 0"),
    N_("sms.callback_noted",
       "[Watch] Your call counts as 'coming'. If your home has an emergency too, call"
       " again or text 'fire/thief/medical ...'"),
    N_("sms.ack_relay", "[Watch] {member} ({address}) is coming"),
    N_("sms.unknown_caller",
       "[Watch] Unregistered number {number} called the alarm box at {time}. Please check"),
    N_("sms.withheld_caller",
       "[Watch] A caller with a withheld number called the alarm box at {time}; who it"
       " was is unknown. Please check"),
    N_("sms.unknown_flood",
       "[Watch] {count} unregistered numbers called the alarm box within the hour; for"
       " the next hour more are only logged, not texted. See the panel's log"),
    # Spoken into the ring call (the box's voice, or the modem's TTS); key 2 replays it.
    N_("sms.ring_speech",
       "Emergency. {caller}, {address}, {group}, {what}needs help now. Press 1 if you are"
       " coming, 2 to hear this again"),
    N_("sms.low_balance", "[Watch] Alarm box {modem}: balance only {balance} yuan, top up soon"),
    N_("sms.modem_down", "[Watch] Alarm box {modem} has not worked since {time}. Please check"),
    N_("sms.alarm_typed",
       "[Watch] {label}: {caller} ({address}){risk} {group}: {text} {dial}Reply 1"),
    N_("sms.alarm_typed_cut",
       "[Watch] {label}: {caller} ({address}){risk} {group}. Reply 1: {text}"),
    N_("sms.update", "[Watch] {label} update: {caller} ({address}): {text}"),
    N_("sms.joined", "[Watch] {group}: {caller} ({address}){risk} also called. Go now"),
    N_("sms.all_clear", "[Watch] All clear: {caller}'s alarm in {group} is over"),
    N_("sms.escalation",
       "[Watch] UP {minutes}min: {caller} ({address}){risk} {village}{group} {label}"
       " tel {phone}"),
    N_("sms.dial", "Call {call}. "),
    N_("sms.broadcast", "[Village] {text}"),
    # a broadcast the township sent: signed by it, not by the village office
    N_("sms.broadcast_township", "[Township] {text}"),
    N_("sms.broadcast_confirm",
       "[Watch] Broadcast queued: {households} households, {messages} SMS"),
    N_("sms.refused", "[Watch] Not done: {reason}"),
    N_("sms.admin_done", "[Watch] Done, {action}: {detail}"),
    N_("sms.failures", "[Watch] {group}: SMS failed for {count}: {names}; ringing instead"),
    N_("sms.drill_report",
       "[Drill] {group}: {acked}/{total} confirmed, fastest {fastest} s, mean {mean} s"),
    N_("sms.office_ack", "[Watch] The village office has your alarm and is acting on it"),
    N_("sms.disk_full", "[Watch] Alarm box disk full; alarms run on reserve space. Clear it soon"),
    N_("sms.roster_empty",
       "[Watch] The alarm box's roster was emptied: alarms reach nobody. Import the"
       " roster again now"),
    N_("sms.no_roster", "the roster is empty: an alarm would reach nobody"),
    # the drill report's words for one who acknowledged, and for nobody
    N_("sms.drill_ack", "{who} {seconds} s"),
    N_("sms.drill_nobody", "none"),
    N_("sms.drill_report_names",
       "[Drill] {group}: {acked}/{total} confirmed, fastest {fastest} s, mean {mean} s."
       " Who: {names}"),
    N_("sms.check_in_missed",
       "[Watch] Visit {caller} ({address}) {group}: no check-in at {time}. Reply 1"),
    N_("sms.check_in_late", "[Watch] {caller} ({group}) just called in: all well, thanks"),
)


@dataclass(frozen=True)
class SegmentCount:
    encoding: str  # "gsm7" or "ucs2"
    units: int  # septets (gsm7) or UTF-16 code units (ucs2)
    parts: int


def fits_gsm7(text: str) -> bool:
    return all(ch in _GSM7_BASIC or ch in _GSM7_EXTENDED for ch in text)


def count_segments(text: str) -> SegmentCount:
    """How many SMS parts ``text`` costs, counted as the network counts them."""
    if fits_gsm7(text):
        units = sum(2 if ch in _GSM7_EXTENDED else 1 for ch in text)
        single, part = GSM7_SINGLE, GSM7_PART
        encoding = "gsm7"
    else:
        # Characters outside the BMP (emoji) are surrogate pairs: two UCS-2 units.
        units = len(text.encode("utf-16-le")) // 2
        single, part = UCS2_SINGLE, UCS2_PART
        encoding = "ucs2"
    parts = 1 if units <= single else -(-units // part)
    return SegmentCount(encoding, units, parts)


def template_fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


# Fields most alarms leave empty: a household nobody flagged, an alarm with no public number,
# a box whose village is not configured. Rendering without them gives the plain words.
OPTIONAL_FIELDS = {"risk": "", "dial": "", "village": "", "what": ""}

# Who is at risk, in the words of the SMS (the flags escalation.VULNERABLE_FLAGS names), in
# this order when a household has several.
RISK_WORDS = table(
    "risk.",
    N_("risk.elderly_alone", "alone"),
    N_("risk.left_behind_children", "kids alone"),
    N_("risk.disabled", "disabled"),
)
RISK_BRACKETS = {"zh": ("（", "）", "、"), "en": (" (", ")", ", ")}

# The public number for an alarm type (fire brigade 119, ambulance 120, police 110), as the
# Chinese posters say it; types with none (a plain call, a flood) name no number.
EMERGENCY_CALLS = table(
    "emergency.",
    N_("emergency.fire", "fire 119"),
    N_("emergency.medical", "ambulance 120"),
    N_("emergency.thief", "police 110"),
)


def risk_note(lang: str, flags: frozenset[str]) -> str:
    """"（独居老人）" for a flagged household, "" for any other."""
    named = [word(lang, f"risk.{flag}", english) for flag, english in RISK_WORDS.items()
             if flag in flags]
    if not named:
        return ""
    open_, close, sep = RISK_BRACKETS.get(lang, RISK_BRACKETS["zh"])
    return f"{open_}{sep.join(named)}{close}"


def dial_note(lang: str, alarm_type: str) -> str:
    """"请拨火警119，" for an alarm type with a public number, "" for any other."""
    english = EMERGENCY_CALLS.get(alarm_type)
    if english is None:
        return ""
    return render(lang, "dial", call=word(lang, f"emergency.{alarm_type}", english))


# Marks that go into an SMS: the tag it starts with and what ends a cut field.
MARKS = table(
    "mark.",
    N_("mark.alarm_tag", "[Watch]"),
    # a drill's messages carry this tag instead, so nobody mistakes one for real
    N_("mark.drill_tag", "[Drill]"),
    # Ends a caller's words that were cut to fit one SMS: the reader sees that more was said
    # and where to read it (the office keeps the whole text: web page and `edgebox incidents
    # show`). The English one has three dots, not "…", which is no GSM-7 character and would
    # make an otherwise GSM-7 message UCS-2 (70 characters instead of 160).
    N_("mark.cut", "...(see office)"),
    # Ends a field cut only to make room (an address): the rest of the SMS says what matters.
    N_("mark.short", "..."),
)


def _marks(name: str) -> dict[str, str]:
    return {lang: word(lang, f"mark.{name}", MARKS[name]) for lang in LANGUAGES}


DRILL_TAGS = {lang: (word(lang, "mark.alarm_tag", MARKS["alarm_tag"]),
                     word(lang, "mark.drill_tag", MARKS["drill_tag"])) for lang in LANGUAGES}


def template(lang: str, name: str) -> str:
    """Template ``name`` in ``lang``, its ``{fields}`` unfilled."""
    return word(lang, f"sms.{name}", TEMPLATES[name])


def render(lang: str, name: str, drill: bool = False, **fields: object) -> str:
    """Fill template ``name`` in ``lang``; unknown language falls back to Chinese. A drill's
    messages carry the drill tag instead of the alarm tag, so nobody mistakes one for real."""
    text = template(lang, name).format(**{**OPTIONAL_FIELDS, **fields})
    if drill:
        real, marked = DRILL_TAGS.get(lang, DRILL_TAGS["zh"])
        text = text.replace(real, marked) if real in text else f"{marked}{text}"
    return text


CUT_MARK = _marks("cut")
SHORT_MARK = _marks("short")


def fit_one_sms(lang: str, name: str, field: str, value: str, drill: bool = False,
                cut_name: str | None = None, marks: dict[str, str] = CUT_MARK,
                **fields: object) -> str:
    """Render with ``field`` shortened just enough for the whole to fit one SMS: an alarm that
    quotes the caller's own words must still arrive as one message. A shortened ``field``
    ends in the cut mark, never silently; ``cut_name`` is the template to use then (one whose
    words end with ``field``, so the SMS ends with the mark)."""
    text = render(lang, name, drill=drill, **{field: value}, **fields)
    if count_segments(text).parts == 1:
        return text
    mark = marks.get(lang, marks["zh"])
    # No more of it than one SMS could ever hold: a 17,000-character message (255 parts) is
    # cut in as few tries as a short one.
    cut = min(len(value), GSM7_SINGLE + 1)
    while cut > 0:
        cut -= 1
        text = render(lang, cut_name or name, drill=drill,
                      **{field: value[:cut].rstrip() + mark}, **fields)
        if count_segments(text).parts == 1:
            break
    return text
