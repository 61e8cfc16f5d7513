"""Alerts the township acts on, raised from what the boxes reported (by HTTP or by SMS).

Kinds: ``silent`` (no upload and no SMS report for ``silent_hours``), ``modem_fault`` (a modem
not registered, or reporting an error), ``low_balance`` (SIM balance under ``low_balance``),
``township`` (an alarm whose ladder reached the township step, by SMS or in the log) and
``drill_overdue`` (no drill for ``drill_days``). One alert per box, kind and key (the incident
for ``township``, else the kind) at most every ``repeat_hours``; a township alert is about one
event and is never repeated. Every function takes ``now``: the rules run on an injected clock.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from edgebox.domain.alarm import alarm_label
from edgebox.hub.audit import record_in
from edgebox.hub.registry import utc_iso
from edgebox.hub.reports import Filters
from edgebox.hub.scope import Scope
from edgebox.hub.sms_ingest import last_report_at
from edgebox.i18n import N_, table, word

KINDS = ("silent", "modem_fault", "low_balance", "township", "drill_overdue")
# What a modem's registration says when it is known to be off the network; "unknown" (no
# reading yet) is no news, not a fault.
OFF_NETWORK = ("none", "not_registered", "searching", "denied")

# The duty officer's SMS, Chinese first (the county's language), as the box's own texts are
# kept in edgebox.domain.messages.
TEMPLATES = table(
    "hub_sms.",
    N_("hub_sms.sms",
       "[Hub] Alert {alert}: {village} ({box}) {what}. Reply '1 {alert}' to confirm"),
    N_("hub_sms.silent", "silent for {hours} h"),
    N_("hub_sms.modem_fault", "modem fault ({detail})"),
    N_("hub_sms.low_balance", "SIM balance only {balance}"),
    N_("hub_sms.township", "alarm {incident} ({alarm}) unacknowledged, escalated to the township"),
    N_("hub_sms.drill_overdue", "no drill for {days} days"),
    N_("hub_sms.ack", "[Hub] Alert {alert} confirmed by you, thank you"),
    N_("hub_sms.none", "not registered"),
    N_("hub_sms.not_registered", "not registered"),
    N_("hub_sms.searching", "searching"),
    N_("hub_sms.denied", "registration denied"),
    N_("hub_sms.unknown", "unknown"),
    N_("hub_sms.error", "modem error"),
    N_("hub_sms.nothing", "[Hub] No alert waits for confirmation"),
)


def text(language: str, name: str, **values: object) -> str:
    return word(language, f"hub_sms.{name}", TEMPLATES[name]).format(**values)


@dataclass(frozen=True)
class AlertRules:
    silent_hours: float = 26
    low_balance: float = 10
    drill_days: float = 100
    repeat_hours: float = 12


@dataclass(frozen=True)
class Candidate:
    box: str
    kind: str
    key: str
    detail: dict


def _iso_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _health_rows(status: dict, latest_day: dict | None) -> list[dict]:
    """The box's modem health: the HTTP status when it has one, else the last SMS summary."""
    rows = [r for r in status.get("health", []) if isinstance(r, dict)]
    if rows or latest_day is None:
        return rows
    return [{"modem": "", "registration": latest_day.get("registration"),
             "balance": latest_day.get("balance")}]


def candidates(db, now: datetime, rules: AlertRules) -> list[Candidate]:
    """Every condition true now, before the repeat limit."""
    sms_at = last_report_at(db)
    with db.transaction(write=False) as tx:
        boxes = tx.dicts("SELECT box_id, created_at, last_seen, status FROM boxes")
        days = {r[0]: json.loads(r[1]) for r in tx.rows(
            "SELECT r.box_id, r.data FROM sms_reports r WHERE r.kind = 'D' AND r.seq ="
            " (SELECT max(seq) FROM sms_reports x WHERE x.box_id = r.box_id AND x.kind = 'D')")}
        escalations = [(box, json.loads(data)) for box, data in tx.rows(
            "SELECT box_id, data FROM sms_reports WHERE kind = 'E'")]
        # The same step in a log that came over HTTP (the box marks it, store.escalate): the
        # same key as its SMS report, so one alarm is one alert however it arrived.
        escalations += [(box, {"incident": incident, "alarm_type": kind or "other"})
                        for box, incident, kind in tx.rows(
            "SELECT e.box_id, e.incident_id, i.kind FROM events e LEFT JOIN incidents i ON"
            " i.box_id = e.box_id AND i.log_no = e.log_no AND i.incident_id = e.incident_id"
            " WHERE e.kind = 'escalated' AND e.data LIKE '%\"township\": true%'")]
        drills = dict(tx.rows("SELECT box_id, max(opened_at) FROM incidents WHERE drill = 1"
                              " GROUP BY box_id"))
        sms_drills = {r[0]: r[1] for r in tx.rows(
            "SELECT box_id, max(happened) FROM sms_reports WHERE kind = 'D' AND data LIKE"
            " '%\"drill\":%' GROUP BY box_id")}
    found = []
    for box in boxes:
        name = box["box_id"]
        heard = max(filter(None, [_iso_time(box["last_seen"]), _iso_time(sms_at.get(name))]),
                    default=None)
        since = heard or _iso_time(box["created_at"])
        if now - since >= timedelta(hours=rules.silent_hours):
            hours = int((now - since).total_seconds() // 3600)
            found.append(Candidate(name, "silent", "silent", {"hours": hours}))
        status = json.loads(box["status"]) if box["status"] else {}
        for row in _health_rows(status, days.get(name)):
            if row.get("error") or row.get("registration") in OFF_NETWORK:
                detail = "error" if row.get("error") else row.get("registration") or "unknown"
                found.append(Candidate(name, "modem_fault", "modem_fault", {"detail": detail}))
                break
        for row in _health_rows(status, days.get(name)):
            balance = row.get("balance")
            if isinstance(balance, (int, float)) and balance < rules.low_balance:
                found.append(Candidate(name, "low_balance", "low_balance",
                                       {"balance": f"{balance:g}"}))
                break
        last_drill = max(filter(None, [_iso_time(drills.get(name)), _day(sms_drills.get(name))]),
                         default=None) or _iso_time(box["created_at"])
        if now - last_drill >= timedelta(days=rules.drill_days):
            found.append(Candidate(name, "drill_overdue", "drill_overdue",
                                   {"days": int((now - last_drill).total_seconds() // 86400)}))
    for name, data in escalations:
        found.append(Candidate(name, "township", f"township:{data['incident']}",
                               {"incident": data["incident"], "alarm": data["alarm_type"]}))
    return found


def _day(happened: str | None) -> datetime | None:
    if not happened:
        return None
    return datetime.strptime(happened[:8], "%Y%m%d").replace(tzinfo=timezone.utc)


def raise_due(db, now: datetime, rules: AlertRules) -> list[int]:
    """Record an alert for each condition not alerted within ``repeat_hours``; their ids."""
    raised = []
    cutoff = utc_iso(now - timedelta(hours=rules.repeat_hours))
    for found in candidates(db, now, rules):
        with db.transaction() as tx:
            last = tx.one("SELECT max(raised_at) FROM alerts WHERE box_id = ? AND alert_key = ?",
                          (found.box, found.key))[0]
            if last is not None and (found.kind == "township" or last > cutoff):
                continue
            alert_id = tx.one("SELECT COALESCE(max(alert_id), 0) + 1 FROM alerts")[0]
            tx.execute("INSERT INTO alerts (alert_id, box_id, kind, alert_key, detail,"
                       " raised_at) VALUES (?, ?, ?, ?, ?, ?)",
                       (alert_id, found.box, found.kind, found.key,
                        json.dumps(found.detail, ensure_ascii=False), utc_iso(now)))
        raised.append(alert_id)
    return raised


def unsent(db) -> list[dict]:
    """Alerts not yet texted, with the box's place (the township names the duty officers)."""
    with db.transaction(write=False) as tx:
        rows = tx.dicts("SELECT a.alert_id, a.box_id, a.kind, a.detail, b.township, b.village"
                        " FROM alerts a JOIN boxes b ON b.box_id = a.box_id"
                        " WHERE a.sent_at IS NULL ORDER BY a.alert_id")
    for row in rows:
        row["detail"] = json.loads(row["detail"])
    return rows


def words_of(language: str, alert: dict) -> dict:
    """The alert's details in the officer's language: no English word on a Chinese SMS."""
    detail = dict(alert["detail"])
    if alert["kind"] == "modem_fault":
        fault = detail["detail"] if detail["detail"] in TEMPLATES else "unknown"
        detail["detail"] = text(language, fault)
    if alert["kind"] == "township":
        detail["alarm"] = alarm_label(detail["alarm"], language)
    return detail


def alert_text(language: str, alert: dict) -> str:
    what = text(language, alert["kind"], **words_of(language, alert))
    return text(language, "sms", alert=alert["alert_id"], village=alert["village"],
                box=alert["box_id"], what=what)


def mark_sent(db, alert_id: int, numbers: list[str], now: datetime) -> None:
    with db.transaction() as tx:
        tx.execute("UPDATE alerts SET sent_at = ?, sent_to = ? WHERE alert_id = ?",
                   (utc_iso(now), ",".join(numbers), alert_id))


def acknowledge(db, phone: str, alert_id: int | None, now: datetime) -> int | None:
    """The officer ``phone`` acknowledges alert ``alert_id`` (None: the newest unacknowledged
    alert texted to them); the alert acknowledged, or None when there is none to acknowledge."""
    with db.transaction() as tx:
        rows = tx.rows("SELECT alert_id, sent_to FROM alerts WHERE acked_at IS NULL AND"
                       " sent_at IS NOT NULL" + ("" if alert_id is None else
                                                 " AND alert_id = ?") +
                       " ORDER BY alert_id DESC", () if alert_id is None else (alert_id,))
        mine = [r[0] for r in rows if phone in (r[1] or "").split(",")]
        if not mine:
            return None
        tx.execute("UPDATE alerts SET acked_at = ?, acked_by = ? WHERE alert_id = ?",
                   (utc_iso(now), phone, mine[0]))
    return mine[0]


# Who may acknowledge an alert on the hub's page: those it is meant for (the township's
# officers) and the county; a village account sees its box's alerts but does not close them.
ACK_ROLES = ("county", "township")


def acknowledge_as_user(db, scope: Scope, alert_id: int, user: str, now: datetime,
                        address: str = "") -> str | None:
    """The hub user ``user`` acknowledges alert ``alert_id`` on the page, written to the audit
    log in the same transaction: 'acked', 'already' (someone was first: nothing changes),
    'refused' (their role may not), or None when the alert is not in their scope."""
    where, args = Filters(scope=scope).where()
    with db.transaction() as tx:
        row = tx.one("SELECT a.acked_at FROM alerts a JOIN boxes b ON b.box_id = a.box_id"
                     f" WHERE a.alert_id = ? AND {where}", (alert_id, *args))
        if row is None:
            return None
        if scope.role not in ACK_ROLES:
            return "refused"
        # Only if still unacknowledged: of two officers (or an officer's SMS) at once, the
        # first is the one kept.
        if tx.execute("UPDATE alerts SET acked_at = ?, acked_by = ? WHERE alert_id = ? AND"
                      " acked_at IS NULL", (utc_iso(now), user, alert_id)) == 0:
            return "already"
        record_in(tx, user, "alert_acked", str(alert_id), address)
    return "acked"


def recent(db, scope: Scope, limit: int = 100) -> list[dict]:
    """The newest alerts of the boxes ``scope`` may see (``reports.Filters.where``)."""
    where, args = Filters(scope=scope).where()
    with db.transaction(write=False) as tx:
        rows = tx.dicts("SELECT a.*, b.township, b.village FROM alerts a JOIN boxes b ON"
                        f" b.box_id = a.box_id WHERE {where} ORDER BY a.alert_id DESC LIMIT ?",
                        (*args, limit))
    for row in rows:
        row["detail"] = json.loads(row["detail"])
    return rows
