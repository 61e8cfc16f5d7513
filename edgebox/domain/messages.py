"""Message templates (Chinese first, English second) and SMS segment counting.

An alarm must fit one SMS: a neighbour's phone shows one message, the modem spends one ~3 s submit
on it, and no part can arrive late or out of order. Chinese text is UCS-2: 70 characters in one SMS,
67 per part once it has to be split. GSM-7 text: 160, or 153 per part.
"""
from __future__ import annotations

import string
from dataclasses import dataclass

UCS2_SINGLE, UCS2_PART = 70, 67
GSM7_SINGLE, GSM7_PART = 160, 153

# The GSM 03.38 default alphabet; the extension table characters cost two septets each.
_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")

LANGUAGES = ("zh", "en")

TEMPLATES: dict[str, dict[str, str]] = {
    "zh": {
        "alarm": "【联防】紧急！{group} {caller}（{address}）{risk}呼叫求助，请立即前往！{dial}回复1确认",
        # to a relative far away (亲属电话): nothing to confirm, the neighbours are going
        "guardian_alarm": "【联防】您的亲属{caller}（{address}）{risk}报警：{label}，"
                          "已通知{group}邻居前往",
        "confirm": "【联防】已收到您的求助，已通知{group}{notified}户邻居，请保持电话畅通",
        # A household told of another alarm raised its own: it must know it is a second alarm.
        "confirm_own": "【联防】已按您家的紧急情况另行报警，已通知{group}{notified}户邻居；如是误报请回复0取消",
        "callback_noted": "【联防】您的来电已记为“马上到”。如您家也有紧急情况，请再拨一次或回复“火/盗/医 …”",
        "ack_relay": "【联防】{member}（{address}）已确认，正在赶来",
        "unknown_caller": "【联防】未登记号码{number}于{time}呼叫报警器，请核实",
        "withheld_caller": "【联防】有隐藏号码的来电于{time}呼叫报警器，无法得知来电人，请核实",
        "unknown_flood": "【联防】1小时内已有{count}个未登记号码呼叫报警器，此后1小时内只记录不再逐条转发，"
                         "请在面板查看记录",
        # Spoken into the ring call (the box's voice, or the modem's TTS); key 2 replays it.
        "ring_speech": "紧急求助，{group}{caller}，{address}，{what}请立即前往。按1确认前往，按2再听一遍",
        "low_balance": "【联防】报警器{modem}话费余额仅{balance}元，请尽快充值",
        "modem_down": "【联防】报警器{modem}自{time}起无法工作，请尽快检查",
        "alarm_typed": "【联防】{label}！{group} {caller}（{address}）{risk}：{text} {dial}回复1确认",
        # The caller's words did not fit one SMS: they come last, cut, ending in the cut mark.
        "alarm_typed_cut": "【联防】{label}！{group} {caller}（{address}）{risk}回复1确认：{text}",
        "update": "【联防】{label}更新：{caller}（{address}）：{text}",
        "joined": "【联防】{group}又有{caller}（{address}）{risk}呼叫求助，请一并前往",
        "all_clear": "【联防】{group}{caller}的报警已解除，谢谢大家",
        # The office and township do not know the village's households: the caller's phone
        # (to call back) and the village (one township has many) let them act on it.
        "escalation": "【联防】升级：{village}{group}{caller}（{address}）{risk}{label}{minutes}分钟"
                      "无人确认，请处置，电话{phone}",
        # names the public emergency number for the alarm's type (see EMERGENCY_CALLS)
        "dial": "请拨{call}，",
        "broadcast": "【村委广播】{text}",
        "broadcast_confirm": "【联防】广播已安排：{households}户，{messages}条短信",
        "refused": "【联防】未执行：{reason}",
        "admin_done": "【联防】已{action}：{detail}",
        "failures": "【联防】{group}报警有{count}户短信失败：{names}，已改打电话",
        "drill_report": "【演练】{group}：{acked}/{total}户确认，最快{fastest}秒，平均{mean}秒",
        "office_ack": "【联防】村委已收到您的报警，正在处置",
        "disk_full": "【联防】报警器存储已满，正用备用空间继续报警，请尽快清理",
        "roster_empty": "【联防】报警器花名册已被清空，来电报警将通知不到任何人，请立即重新导入花名册",
        # the technician's words (edgebox run, selftest) for a box with no roster
        "no_roster": "花名册为空，来电报警将通知不到任何人",
        "drill_report_names": "【演练】{group}：{acked}/{total}户确认，最快{fastest}秒，"
                              "平均{mean}秒。确认：{names}",
        # A daily check-in missed (domain/check_ins.py): to the leader and nearest neighbours.
        "check_in_missed": "【联防】请上门看看：{group}{caller}（{address}）今天{time}没有报平安。"
                           "到了请回复1",
        # ... and the household called in after all: to each of them, once.
        "check_in_late": "【联防】{group}{caller}刚刚来电报了平安，谢谢",
    },
    "en": {
        # Names and addresses are usually Chinese even on an English box, which makes the SMS
        # UCS-2 (70 characters): keep the fixed words short.
        "alarm": "[Watch] HELP: {caller} ({address}){risk} {group}. Go now! {dial}Reply 1",
        "guardian_alarm": "[Watch] Relative {caller} ({address}){risk} {label}:"
                          " {group} told",
        "confirm": "[Watch] Alarm received: {notified} of {group} alerted",
        "confirm_own": "[Watch] Your own alarm: {notified} of {group} alerted. Wrong? Reply 0",
        "callback_noted": "[Watch] Your call counts as 'coming'. If your home has an emergency too,"
                          " call again or text 'fire/thief/medical ...'",
        "ack_relay": "[Watch] {member} ({address}) is coming",
        "unknown_caller": "[Watch] Unregistered number {number} called the alarm box at {time}. Please check",
        "withheld_caller": "[Watch] A caller with a withheld number called the alarm box at {time};"
                           " who it was is unknown. Please check",
        "unknown_flood": "[Watch] {count} unregistered numbers called the alarm box within the hour;"
                         " for the next hour more are only logged, not texted. See the panel's log",
        "ring_speech": "Emergency. {caller}, {address}, {group}, {what}needs help now. "
                       "Press 1 if you are coming, 2 to hear this again",
        "low_balance": "[Watch] Alarm box {modem}: balance only {balance} yuan, top up soon",
        "modem_down": "[Watch] Alarm box {modem} has not worked since {time}. Please check",
        "alarm_typed": "[Watch] {label}: {caller} ({address}){risk} {group}: {text} {dial}Reply 1",
        "alarm_typed_cut": "[Watch] {label}: {caller} ({address}){risk} {group}. Reply 1: {text}",
        "update": "[Watch] {label} update: {caller} ({address}): {text}",
        "joined": "[Watch] {group}: {caller} ({address}){risk} also called. Go now",
        "all_clear": "[Watch] All clear: {caller}'s alarm in {group} is over",
        "escalation": "[Watch] UP {minutes}min: {caller} ({address}){risk} {village}{group} {label}"
                      " tel {phone}",
        "dial": "Call {call}. ",
        "broadcast": "[Village] {text}",
        "broadcast_confirm": "[Watch] Broadcast queued: {households} households, "
                             "{messages} SMS",
        "refused": "[Watch] Not done: {reason}",
        "admin_done": "[Watch] Done, {action}: {detail}",
        "failures": "[Watch] {group}: SMS failed for {count}: {names}; ringing instead",
        "drill_report": "[Drill] {group}: {acked}/{total} confirmed, fastest {fastest} s, "
                        "mean {mean} s",
        "office_ack": "[Watch] The village office has your alarm and is acting on it",
        "disk_full": "[Watch] Alarm box disk full; alarms run on reserve space. Clear it soon",
        "roster_empty": "[Watch] The alarm box's roster was emptied: alarms reach nobody. "
                        "Import the roster again now",
        "no_roster": "the roster is empty: an alarm would reach nobody",
        "drill_report_names": "[Drill] {group}: {acked}/{total} confirmed, fastest {fastest} s, "
                              "mean {mean} s. Who: {names}",
        "check_in_missed": "[Watch] Visit {caller} ({address}) {group}: no check-in at {time}."
                           " Reply 1",
        "check_in_late": "[Watch] {caller} ({group}) just called in: all well, thanks",
    },
}


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
RISK_WORDS = {
    "zh": {"elderly_alone": "独居老人", "left_behind_children": "留守儿童", "disabled": "残疾"},
    "en": {"elderly_alone": "alone", "left_behind_children": "kids alone",
           "disabled": "disabled"},
}
RISK_BRACKETS = {"zh": ("（", "）", "、"), "en": (" (", ")", ", ")}

# The public number for an alarm type (fire brigade 119, ambulance 120, police 110), as the
# Chinese posters say it; types with none (a plain call, a flood) name no number.
EMERGENCY_CALLS = {
    "zh": {"fire": "火警119", "medical": "急救120", "thief": "报警110"},
    "en": {"fire": "fire 119", "medical": "ambulance 120", "thief": "police 110"},
}


def risk_note(lang: str, flags: frozenset[str]) -> str:
    """"（独居老人）" for a flagged household, "" for any other."""
    words = RISK_WORDS.get(lang, RISK_WORDS["zh"])
    named = [word for flag, word in words.items() if flag in flags]
    if not named:
        return ""
    open_, close, sep = RISK_BRACKETS.get(lang, RISK_BRACKETS["zh"])
    return f"{open_}{sep.join(named)}{close}"


def dial_note(lang: str, alarm_type: str) -> str:
    """"请拨火警119，" for an alarm type with a public number, "" for any other."""
    call = EMERGENCY_CALLS.get(lang, EMERGENCY_CALLS["zh"]).get(alarm_type)
    return render(lang, "dial", call=call) if call else ""


DRILL_TAGS = {"zh": ("【联防】", "【演练】"), "en": ("[Watch]", "[Drill]")}


def render(lang: str, name: str, drill: bool = False, **fields: object) -> str:
    """Fill template ``name`` in ``lang``; unknown language falls back to Chinese. A drill's
    messages carry the drill tag instead of the alarm tag, so nobody mistakes one for real."""
    table = TEMPLATES.get(lang, TEMPLATES["zh"])
    text = table[name].format(**{**OPTIONAL_FIELDS, **fields})
    if drill:
        real, marked = DRILL_TAGS.get(lang, DRILL_TAGS["zh"])
        text = text.replace(real, marked) if real in text else f"{marked}{text}"
    return text


# Ends a caller's words that were cut to fit one SMS: the reader sees that more was said and
# where to read it (the office keeps the whole text: web page and `edgebox incidents show`).
# The English one has three dots, not "…", which is no GSM-7 character and would make an
# otherwise GSM-7 message UCS-2 (70 characters instead of 160).
CUT_MARK = {"zh": "…(全文见村委)", "en": "...(see office)"}


# Ends a field cut only to make room (an address): the rest of the SMS says what matters.
SHORT_MARK = {"zh": "…", "en": "..."}


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
