"""One readable line per event, for the daemon's log and the demo's live timeline.

Both read the same events the store commits, so what a technician sees in the journal is what
the uploader will ship and what the demo shows.
"""
from __future__ import annotations

from edgebox.domain.alarm import alarm_label
from edgebox.domain.phones import display
from edgebox.domain.roster import Roster
from edgebox.i18n import N_, table, word

PURPOSE = table(
    "purpose.",
    N_("purpose.alarm", "alarm SMS"),
    N_("purpose.confirm", "confirmation SMS"),
    N_("purpose.ack_relay", "who-is-coming SMS"),
    N_("purpose.ring", "ring call"),
    # a ring that hangs up after a few seconds, no words (alarm.ring_style = "flash")
    N_("purpose.flash", "flash ring"),
    N_("purpose.unknown_forward", "office notice"),
    N_("purpose.all_clear", "all-clear SMS"),
    N_("purpose.update", "update SMS"),
    N_("purpose.escalation_sms", "escalation SMS"),
    N_("purpose.escalation_ring", "escalation ring"),
    N_("purpose.office_notice", "office notice"),
    N_("purpose.reply", "reply SMS"),
    N_("purpose.broadcast", "broadcast SMS"),
    N_("purpose.guardian_alarm", "relative's SMS"),
    N_("purpose.check_in", "check-in ring"),
    N_("purpose.check_in_missed", "please-look-in SMS"),
    N_("purpose.check_in_late", "called-in SMS"),
)
CLOSE_REASON = table(
    "closed.",
    N_("closed.cancelled", "cancelled"),
    N_("closed.expired", "expired"),
    N_("closed.drill_over", "drill over"),
    N_("closed.checked_in", "checked in"),
    N_("closed.day_over", "its day is over"),
    N_("closed.not_in_roster", "no longer in the roster"),
    N_("closed.no_group", "in no group"),
    # why a live voice on the loudspeaker ended (edgebox.speaker.live_voice)
    N_("closed.hung_up", "hung up"),
    N_("closed.time_limit", "time limit"),
    N_("closed.alarm", "an alarm came"),
    N_("closed.wrong_pin", "wrong PIN"),
    N_("closed.locked", "locked out after wrong PINs"),
    N_("closed.no_pin", "no PIN typed"),
    N_("closed.audio_failed", "audio failed"),
    N_("closed.audio_ended", "audio ended"),
    N_("closed.error", "error"),
)
CHECK_IN_HOW = table(
    "check_in_how.",
    N_("check_in_how.ring", "answered the ring"),
    N_("check_in_how.call", "called in"),
    N_("check_in_how.late_call", "called in late"),
)
# What was done: a leader's SMS administration and the office's actions (office_actions).
ACTIONS = table(
    "action.",
    N_("action.add", "add"),
    N_("action.remove", "remove"),
    N_("action.list", "list"),
    N_("action.acknowledge", "acknowledge"),
    N_("action.cancel", "cancel"),
    N_("action.siren_on", "siren on"),
    N_("action.siren_off", "siren off"),
    N_("action.broadcast", "broadcast"),
    N_("action.drill", "drill"),
)
# Why a broadcast was refused (daemon/sms_admin.py).
REFUSALS = table(
    "refusal.",
    N_("refusal.rate", "too many this hour"),
    N_("refusal.not_allowed", "number not allowed"),
    N_("refusal.unknown_group", "no such group"),
)
# Where the office's action came from.
SOURCES = table(
    "source.",
    N_("source.web", "web panel"),
    N_("source.button", "panel button"),
    N_("source.cli", "command"),
    N_("source.sms", "SMS"),
)

# How a modem speaks into ring calls (adapters/modem/speech_out), for people.
SPEECH = table(
    "speech.",
    N_("speech.ccmxplay", "the box's voice, as a file the modem plays (AT+CCMXPLAY)"),
    N_("speech.qpsnd", "the box's voice, as a file the modem plays (AT+QPSND)"),
    N_("speech.crec", "the box's voice, as an AMR file the modem plays (AT+CREC)"),
    N_("speech.pcm_port", "the box's voice, as PCM on the modem's voice port"),
    N_("speech.tts", "the modem's own text-to-speech"),
    N_("speech.none", "ring only, no words (the SMS has them)"),
)
# Who an event is about when no household of the roster is.
WHO = table(
    "who.",
    N_("who.withheld", "withheld number"),
    N_("who.unregistered", "unregistered"),
    # the numbers of the box's config ([numbers] office, township) the ladder texts and rings
    N_("who.office", "village office"),
    N_("who.township", "township"),
)

# What a modem reports of its network registration and SIM (modem_health).
MODEM_STATE = table(
    "modem_state.",
    N_("modem_state.home", "home network"),
    N_("modem_state.roaming", "roaming"),
    N_("modem_state.searching", "searching"),
    N_("modem_state.denied", "denied"),
    N_("modem_state.not_registered", "not registered"),
    N_("modem_state.unknown", "unknown"),
    # the state a modem's worker last reported (readmodels.modem_status)
    N_("modem_state.ready", "ready"),
    N_("modem_state.unavailable", "unavailable"),
    N_("modem_state.lost", "lost"),
    N_("modem_state.out of service", "out of service"),
    N_("modem_state.recovering", "recovering"),
    N_("modem_state.resetting", "resetting"),
    N_("modem_state.never seen", "never seen"),
    N_("modem_state.READY", "ready"),
    N_("modem_state.SIM PIN", "waiting for its PIN"),
    N_("modem_state.SIM PUK", "locked (PUK needed)"),
    N_("modem_state.NOT INSERTED", "not inserted"),
)
STATUS = table(
    "report.",
    N_("report.delivered", "delivered"),
    N_("report.failed", "not delivered"),
)
RING_RESULT = table(
    "ring.",
    N_("ring.hung_up", "rang out"),
    N_("ring.answered", "answered"),
    N_("ring.busy", "busy"),
    N_("ring.no_answer", "no answer"),
    N_("ring.rejected", "rejected"),
    N_("ring.acknowledged", "pressed 1"),
    N_("ring.cancelled", "cancelled"),
)
TEXT = table(
    "log.",
    N_("log.daemon_started", "box started: {households} households in {groups} groups"),
    N_("log.daemon_stopped", "box stopped"),
    N_("log.modem_ready", "{modem} ready on {port}; calls speak by {speech}"),
    N_("log.modem_speech", "{modem} refused its way of speaking into calls; now: {speech}"),
    N_("log.speech_prompt_saved",
       "the office uploaded a recorded prompt ({file}); alarm calls play it"),
    N_("log.speech_prompt_removed",
       "the office removed the recorded prompt; alarm calls speak the sentence"),
    N_("log.modem_unavailable", "{modem} unavailable (try {attempt}): {error}"),
    N_("log.modem_lost", "{modem} lost: {reason}"),
    N_("log.incident_opened", "alarm call from {who} on {phone_display}"),
    # an alarm raised by SMS ("火 厨房着火"): not a call
    N_("log.incident_opened/sms", "{label} alarm by SMS from {who} on {phone_display}"),
    N_("log.incident_opened/check_in",
       "missed check-in: {who}; leader and neighbours asked to look in"),
    N_("log.check_in_due", "{who}: check-in time ({time}), ringing"),
    N_("log.check_in_unanswered",
       "{who} did not answer the check-in ring ({result}); will ring again"),
    N_("log.check_in_safe", "{who} checked in ({how})"),
    N_("log.check_in_missed", "{who} missed today's check-in ({rings} rings unanswered)"),
    N_("log.check_in_dropped", "{who}: check-in dropped ({reason})"),
    N_("log.check_in_deferred", "{who}: check-in ring gave way to an alarm; will ring again"),
    N_("log.call_rejected", "call rejected (free for the caller)"),
    N_("log.call_reject_failed", "could not reject the call: {error}"),
    N_("log.unknown_caller", "unregistered number {number_display} called; no group alerted"),
    N_("log.repeat_call", "{who} called again; the alarm is already running"),
    N_("log.call_waiting",
       "{modem} was ringing out when {number_display} called (call waiting); rejected"
       " and handled as any call"),
    N_("log.incident_joined", "another household of the group called; joined to this alarm"),
    N_("log.incident_enriched", "the caller's SMS says what is happening: {label}"),
    N_("log.incident_message", "SMS from {who}: \"{text}\""),
    N_("log.neighbour_alarm", "{who} has an emergency of their own: alarm #{incident}"),
    N_("log.escalated", "nobody acknowledged: escalation step {escalation_step}"),
    N_("log.ring_instead", "SMS failed; ringing {who} {phone_display} instead"),
    N_("log.failure_summary", "office told: {count} SMS failed ({names})"),
    N_("log.drill_report",
       "drill report: {acked}/{total} acknowledged, fastest {fastest} s, mean {mean} s"),
    N_("log.office_action", "office action: {action} ({source})"),
    N_("log.office_action_expired", "office action too old, not carried out: {action} ({source})"),
    N_("log.broadcast_planned",
       "broadcast to {households} households, {messages} SMS, from {sender}"),
    N_("log.broadcast_progress", "broadcast progress: {done}/{messages}"),
    N_("log.broadcast_refused", "broadcast refused ({reason}): {sender}"),
    N_("log.admin_change", "leader administration: {action} {detail}"),
    N_("log.admin_pin_wrong", "wrong leader PIN from {phone_display}"),
    N_("log.live_started", "{phone_display} speaks live on the loudspeaker"),
    N_("log.live_ended", "{phone_display}'s live voice ended ({reason})"),
    N_("log.live_pin_wrong", "wrong loudspeaker PIN from {phone_display}"),
    N_("log.live_refused", "{phone_display} refused the loudspeaker ({reason})"),
    N_("log.admin_not_allowed", "{who} is not a leader and may not administer ({action})"),
    N_("log.admin_locked", "{phone_display} locked out after wrong PINs until {until}"),
    N_("log.admin_refused", "leader administration not done ({action}): {reason}"),
    N_("log.drill_scheduled", "scheduled drill started: {slot}"),
    N_("log.deliveries_planned", "planned {sms} SMS and {calls} ring calls"),
    N_("log.sms_sent", "{purpose} -> {who} {phone_display} ({parts} part(s))"),
    N_("log.call_placed", "ring -> {who} {phone_display}: {result}"),
    N_("log.call_cancelled",
       "ring to {who} {phone_display} called off (acknowledged or cancelled)"),
    N_("log.deliveries_cancelled", "{who} called about the same alarm: no longer alerted of it"),
    N_("log.delivery_retry", "send failed, will retry: {error}"),
    N_("log.delivery_failed", "{purpose} -> {who} {phone_display} FAILED: {error}"),
    N_("log.deliveries_requeued", "resuming {count} deliveries interrupted by a restart"),
    N_("log.sms_received", "SMS <- {who} {number_display}: \"{text}\""),
    N_("log.ack_received", "{who} acknowledged and is coming"),
    N_("log.ack_without_incident", "{who} acknowledged but no alarm is open"),
    N_("log.siren_on", "siren on ({seconds} s)"),
    N_("log.siren_off", "siren off"),
    N_("log.incident_closed", "alarm closed ({reason})"),
    N_("log.roster_replaced", "roster replaced: {households} households, {groups} groups"),
    N_("log.roster_loaded",
       "the running box took the new roster: {households} households, {groups} groups"),
    N_("log.modem_health", "{modem}: signal {signal}, registration {registration}, SIM {sim}"),
    N_("log.delivery_report", "delivery report <- {who} {phone_display}: {status}"),
    N_("log.delivery_report_unmatched",
       "{modem}: a delivery report matched nothing (ref {reference})"),
    N_("log.modem_reset", "{modem} stopped answering; resetting it: {error}"),
    N_("log.modem_restarted", "{modem} restarted by itself ({detected}); set up again"),
    N_("log.modem_out_of_service",
       "{modem} out of service for {minutes} min after failures: {error}"),
    N_("log.modem_back_in_service", "{modem} back in service"),
    N_("log.modem_power_cycled", "{modem} power-cycled ({outcome})"),
    N_("log.modem_balance", "{modem} balance: {balance}"),
    N_("log.clock_set", "system clock set from the network: {reason}"),
    N_("log.clock_jumped",
       "the system clock stepped {seconds} s; open alarms' timers moved with it"),
    N_("log.disk_full",
       "disk full ({free_kib} KiB left): using the {reserve_kib} KiB reserve; office told"),
    N_("log.button_pressed", "office panel button: {button}"),
    N_("log.siren_test", "siren test ({seconds} s)"),
    N_("log.web_login", "web panel login from {address}"),
    N_("log.web_login_failed", "web panel login failed from {address}"),
    N_("log.web_panel_started", "web panel serving at {url}"),
    N_("log.web_panel_refused", "web panel not started: no password ({how})"),
    N_("log.web_panel_failed", "web panel could not start: {error}"),
)


def coded(lang: str, prefix: str, words: dict[str, str], code) -> str:
    """The words for ``code`` (a close reason, a ring's result…) from the table ``words``
    whose keys start with ``prefix``; a code the table does not know is shown as it is."""
    english = words.get(code)
    if english is None:
        return "" if code is None else str(code)
    return word(lang, prefix + code, english)


def close_reason(lang: str, code: str | None) -> str:
    return coded(lang, "closed.", CLOSE_REASON, code)


def contacts_of(office: tuple[str, ...] = (), township: tuple[str, ...] = ()) -> dict[str, str]:
    """{E.164 phone: "office" | "township"}: who the box's own numbers are, for ``describe``."""
    return {**{phone: "township" for phone in township}, **{phone: "office" for phone in office}}


def describe(event: dict, roster: Roster | None, lang: str = "zh",
             contacts: dict[str, str] | None = None) -> str:
    """The event in one line of words; unknown kinds fall back to their name and data.
    ``contacts`` (``contacts_of``) names the office's and township's numbers, which are in
    no household."""
    data = dict(event.get("data") or {})
    name = f"{event['kind']}/{data.get('kind')}"
    if name not in TEXT:
        name = event["kind"]
    if name not in TEXT:
        return f"{event['kind']} {data}"
    template = word(lang, f"log.{name}", TEXT[name])
    household_id = data.get("household")
    who = ""
    if roster is not None and household_id:
        try:
            who = roster.household(household_id).name
        except KeyError:
            who = household_id
    fields = {
        **data,
        "who": who or _contact(lang, (contacts or {}).get(data.get("phone") or data.get("number"))),
        "phone_display": display(data.get("phone", "")),
        "number_display": display(data.get("number", "")) or (
            word(lang, "who.withheld", WHO["withheld"]) if data.get("withheld") else "?"),
        "purpose": coded(lang, "purpose.", PURPOSE, data.get("purpose", "")),
        "result": coded(lang, "ring.", RING_RESULT, data.get("result", "")),
        "status": coded(lang, "report.", STATUS, data.get("status", "")),
        "reason": (close_reason(lang, data["reason"]) if data.get("reason") in CLOSE_REASON
                   else coded(lang, "refusal.", REFUSALS, data.get("reason", ""))),
        "action": coded(lang, "action.", ACTIONS, data.get("action")),
        "source": coded(lang, "source.", SOURCES, data.get("source")),
        "how": coded(lang, "check_in_how.", CHECK_IN_HOW, data.get("how", "")),
        "label": alarm_label(data.get("alarm_type"), lang),
        "registration": coded(lang, "modem_state.", MODEM_STATE, data.get("registration")),
        "sim": coded(lang, "modem_state.", MODEM_STATE, data.get("sim")),
        "speech": coded(lang, "speech.", SPEECH, data.get("speech", "?")),
        "count": len(data.get("deliveries", [])),
        "text": str(data.get("text", ""))[:40],
    }
    try:
        return template.format_map(_Unknown(fields))
    except (IndexError, ValueError):
        return f"{event['kind']} {data}"


def _contact(lang: str, role: str | None) -> str:
    role = role if role in ("office", "township") else "unregistered"
    return word(lang, f"who.{role}", WHO[role])


class _Unknown(dict):
    """A field an event does not carry reads as '?' instead of hiding the whole line."""

    def __missing__(self, key: str) -> str:
        return "?"
