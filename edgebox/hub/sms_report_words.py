"""The words of a box's "by SMS" page (/boxes/<box>/sms): its headings, and each report (a
day's summary or an escalation that reached the township) told in the page's language from
the fields the report carried. English in the source, Chinese in the catalogue
("hub_sms_page.<name>", edgebox.i18n)."""
from __future__ import annotations

from edgebox.domain.alarm import alarm_label
from edgebox.i18n import N_, Listed, table, word
from edgebox.uplink import sms_format

WORDS = table(
    "hub_sms_page.",
    N_("hub_sms_page.title", "{box} by SMS"),
    N_("hub_sms_page.heading", "{box}: reports by SMS ({count})"),
    N_("hub_sms_page.intro",
       "The daily summaries and the escalations to the township that a box without a data link"
       " texts. Once its full log arrives over the network, every statistic comes from the log"
       " and nothing counts twice."),
    N_("hub_sms_page.seq", "No."),
    N_("hub_sms_page.kind", "Report"),
    N_("hub_sms_page.time", "Time"),
    N_("hub_sms_page.content", "Content"),
    N_("hub_sms_page.sender", "From"),
    N_("hub_sms_page.received", "Received"),
    N_("hub_sms_page.full_log", "Full log"),
    N_("hub_sms_page.day", "Daily summary (SMS)"),
    N_("hub_sms_page.escalation", "Escalated to the township (SMS)"),
    N_("hub_sms_page.day_words",
       "alarms: {alarms}; {acks} acknowledgements, {failures} failed sends, signal {signal},"
       " balance {balance}, {households} households"),
    N_("hub_sms_page.yuan", "{amount} yuan"),
    N_("hub_sms_page.alarm_count", "{label} {count}"),
    N_("hub_sms_page.no_alarms", "none"),
    N_("hub_sms_page.unknown", "unknown"),
    N_("hub_sms_page.escalation_words", "alarm {incident} ({label}), step {step}"),
    N_("hub_sms_page.in_log", "arrived"),
    N_("hub_sms_page.not_in_log", "not yet"),
)


def page_words(lang: str):
    """``s(name, **fields)`` for the page's template."""
    def s(name: str, **fields: object) -> str:
        return word(lang, f"hub_sms_page.{name}", WORDS[name]).format(**fields)
    return s


def report_words(lang: str, report: dict) -> str:
    """What one report said, in ``lang``."""
    s, data = page_words(lang), report["data"]
    if report["kind"] == sms_format.ESCALATION:
        return s("escalation_words", incident=data["incident"],
                 label=alarm_label(data["alarm_type"], lang), step=data["step"])
    alarms = Listed(s("alarm_count", label=alarm_label(kind, lang), count=count)
                    for kind, count in data["alarms"].items())
    unknown = s("unknown")
    return s("day_words", alarms=alarms.say(lang) if alarms else s("no_alarms"),
             acks=data["acks"], failures=data["failures"],
             signal=unknown if data["signal"] is None else data["signal"],
             balance=unknown if data["balance"] is None else s("yuan", amount=data["balance"]),
             households=data["households"])
