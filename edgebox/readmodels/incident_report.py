"""An incident as a printed timeline (`edgebox incidents show ID`): who was texted, rung,
acknowledged, when and by which channel, read from the durable log alone.

The lines are the same words the daemon's log and the web panel use (edgebox.domain.timeline),
each with its offset from the alarm, so a report handed to the township reads like the journal.
"""
from __future__ import annotations

from edgebox.domain.alarm import alarm_label
from edgebox.domain.phones import display
from edgebox.domain.roster import Roster
from edgebox.domain.timeline import CLOSE_REASON, describe
from edgebox.store.times import parse_utc

CHANNEL = {
    "zh": {"sms": "短信", "dtmf": "按键1", "callback": "回拨", "web": "网页", "button": "按钮",
           "cli": "命令"},
    "en": {"sms": "SMS", "dtmf": "key 1", "callback": "call-back", "web": "web panel",
           "button": "panel button", "cli": "command"},
}
WORDS = {
    "zh": {"title": "报警 #{id}", "drill": "【演练】", "caller": "报警人", "opened": "报警时间",
           "state": "状态", "open": "处理中", "closed": "已结束", "step": "升级步骤",
           "timeline": "时间线", "summary": "汇总", "office": "值班室",
           "sms": "短信：已发{sent}条，失败{failed}条，待发{pending}条",
           "calls": "振铃：已拨{sent}次，失败{failed}次，待拨{pending}次",
           "acks": "确认：{count}户", "first_ack": "首个确认", "none": "无人确认",
           "by": "由{by}"},
    "en": {"title": "Alarm #{id}", "drill": "[DRILL] ", "caller": "caller", "opened": "opened",
           "state": "state", "open": "open", "closed": "closed", "step": "escalation step",
           "timeline": "timeline", "summary": "summary", "office": "office",
           "sms": "SMS: {sent} sent, {failed} failed, {pending} pending",
           "calls": "ring calls: {sent} made, {failed} failed, {pending} pending",
           "acks": "acknowledged: {count} households", "first_ack": "first acknowledgement",
           "none": "nobody acknowledged", "by": "by {by}"},
}


def offset(seconds: float) -> str:
    """+MM:SS from the alarm (+H:MM:SS past an hour); negative never happens in a sane log."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"+{hours}:{minutes:02d}:{secs:02d}" if hours else f"+{minutes:02d}:{secs:02d}"


def local(text: str) -> str:
    return parse_utc(text).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def report_lines(record: dict, roster: Roster, lang: str = "zh") -> list[str]:
    """``record`` is an incident row with its ``deliveries``, ``acks`` and ``events``
    (edgebox.readmodels.queries.incident); the report in the box's language."""
    lang = lang if lang in WORDS else "zh"
    w = WORDS[lang]
    opened = parse_utc(record["opened_at"])

    def name(household_id: str | None) -> str:
        if household_id == "office":
            return w["office"]
        try:
            return roster.household(household_id).name
        except KeyError:
            return household_id or "?"

    def group_name(group_id: str) -> str:
        try:
            return roster.group(group_id).name
        except KeyError:
            return group_id

    head = (w["drill"] if record.get("drill") else "") + w["title"].format(id=record["id"])
    lines = [f"{head}  {group_name(record['group_id'])}  "
             f"{alarm_label(record.get('alarm_type') or 'call', lang)}"]
    lines.append(f"{w['caller']}: {name(record['caller_household_id'])} "
                 f"({record['caller_household_id']}) {display(record['caller_phone'])}")
    if record.get("text"):
        lines.append(f"  “{record['text']}”")
    lines.append(f"{w['opened']}: {local(record['opened_at'])}")
    if record["state"] == "open":
        state = w["open"]
    else:
        reason = record.get("closed_reason") or "?"
        words = CLOSE_REASON.get(lang, CLOSE_REASON["zh"])
        state = f"{w['closed']} ({words.get(reason, reason)})"
        closed = next((e for e in record["events"] if e["kind"] == "incident_closed"), None)
        if closed is not None:
            by = closed["data"].get("by")
            state += (f" {w['by'].format(by=name(by))}" if by else "") + \
                f" {offset((parse_utc(closed['at']) - opened).total_seconds())}"
    lines.append(f"{w['state']}: {state}; {w['step']}: {record.get('escalation_step') or 0}")

    lines += ["", f"{w['timeline']}:"]
    for event in record["events"]:
        at = parse_utc(event["at"])
        lines.append(f"  {offset((at - opened).total_seconds()):>9}  "
                     f"{at.astimezone().strftime('%H:%M:%S')}  {describe(event, roster, lang)}")

    lines += ["", f"{w['summary']}:"]
    for kind, key in (("sms", "sms"), ("call", "calls")):
        mine = [d for d in record["deliveries"] if d["kind"] == kind]
        lines.append("  " + w[key].format(
            sent=sum(d["state"] == "sent" for d in mine),
            failed=sum(d["state"] == "failed" for d in mine),
            pending=sum(d["state"] in ("pending", "sending") for d in mine)))
    acks = record["acks"]
    lines.append("  " + w["acks"].format(count=len(acks)))
    for ack in acks:
        channel = CHANNEL[lang].get(ack["channel"], ack["channel"])
        seconds = (parse_utc(ack["at"]) - opened).total_seconds()
        lines.append(f"    {offset(seconds):>9}  {name(ack['household_id'])} "
                     f"{display(ack['phone'] or '')} ({channel})".rstrip())
    if not acks:
        lines.append(f"    {w['none']}")
    return lines
