"""An incident as a printed timeline (`edgebox incidents show ID`): who was texted, rung,
acknowledged, when and by which channel, read from the durable log alone.

The lines are the same words the daemon's log and the web panel use (edgebox.domain.timeline),
each with its offset from the alarm, so a report handed to the township reads like the journal.
"""
from __future__ import annotations

from edgebox.domain.alarm import alarm_label
from edgebox.domain.phones import display
from edgebox.domain.roster import Roster
from edgebox.domain.timeline import close_reason, coded, describe
from edgebox.i18n import N_, table, words
from edgebox.store.times import parse_utc

CHANNEL = table(
    "channel.",
    N_("channel.sms", "SMS"),
    N_("channel.dtmf", "key 1"),
    N_("channel.callback", "call-back"),
    N_("channel.web", "web panel"),
    N_("channel.button", "panel button"),
    N_("channel.cli", "command"),
)
WORDS = table(
    "incident_report.",
    N_("incident_report.title", "Alarm #{id}"),
    N_("incident_report.drill", "[DRILL] "),
    N_("incident_report.caller", "caller"),
    N_("incident_report.opened", "opened"),
    N_("incident_report.state", "state"),
    N_("incident_report.open", "open"),
    N_("incident_report.closed", "closed"),
    N_("incident_report.step", "escalation step"),
    N_("incident_report.timeline", "timeline"),
    N_("incident_report.summary", "summary"),
    N_("incident_report.office", "office"),
    N_("incident_report.sms", "SMS: {sent} sent, {failed} failed, {pending} pending"),
    N_("incident_report.calls", "ring calls: {sent} made, {failed} failed, {pending} pending"),
    N_("incident_report.acks", "acknowledged: {count} households"),
    N_("incident_report.first_ack", "first acknowledgement"),
    N_("incident_report.none", "nobody acknowledged"),
    N_("incident_report.by", "by {by}"),
)


def offset(seconds: float) -> str:
    """+MM:SS from the alarm (+H:MM:SS past an hour); negative never happens in a sane log."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"+{hours}:{minutes:02d}:{secs:02d}" if hours else f"+{minutes:02d}:{secs:02d}"


def local(text: str) -> str:
    return parse_utc(text).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def report_lines(record: dict, roster: Roster, lang: str = "zh",
                 contacts: dict[str, str] | None = None) -> list[str]:
    """``record`` is an incident row with its ``deliveries``, ``acks`` and ``events``
    (edgebox.readmodels.queries.incident); the report in the box's language."""
    w = words(lang, "incident_report.", WORDS)
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
        state = f"{w['closed']} ({close_reason(lang, reason)})"
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
                     f"{at.astimezone().strftime('%H:%M:%S')}  "
                     f"{describe(event, roster, lang, contacts)}")

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
        channel = coded(lang, "channel.", CHANNEL, ack["channel"])
        seconds = (parse_utc(ack["at"]) - opened).total_seconds()
        lines.append(f"    {offset(seconds):>9}  {name(ack['household_id'])} "
                     f"{display(ack['phone'] or '')} ({channel})".rstrip())
    if not acks:
        lines.append(f"    {w['none']}")
    return lines
