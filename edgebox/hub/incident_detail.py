"""One alarm at the hub as the box prints it (``edgebox incidents show``): its timeline from
the uploaded log, in the box's own words (``edgebox.domain.timeline.describe``), each line with
its offset from the alarm, and a summary of who was texted, rung and who acknowledged.

The incident is looked up through the user's scope (``reports.Filters.where``): outside it, the
alarm is "not found", the same answer as for an id that does not exist.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from edgebox.readmodels.incident_report import CHANNEL, offset
from edgebox.domain.timeline import coded, describe
from edgebox.hub.reports import Filters, minutes_between, parse_time
from edgebox.hub.scope import Scope


@dataclass(frozen=True)
class _Household:
    name: str


class HouseholdIds:
    """The hub has no roster (names and addresses stay in the village): a household is
    shown by its id in the box's roster, the way the box's log names it."""

    def household(self, household_id: str) -> _Household:
        return _Household(household_id)


def incident_detail(db, scope: Scope, box_id: str, log_no: int, incident_id: int,
                    lang: str = "zh") -> dict | None:
    """{'incident': row with its place, 'lines': [(offset, local-able UTC time, words)],
    'acks': [...], 'minutes_to_ack'} or None when the user may not see it or it is not there."""
    where, args = Filters(scope=scope).where()
    with db.transaction(write=False) as tx:
        found = tx.dicts("SELECT b.county, b.township, b.village, i.* FROM incidents i JOIN"
                         " boxes b ON b.box_id = i.box_id WHERE i.box_id = ? AND i.log_no = ?"
                         f" AND i.incident_id = ? AND {where}",
                         [box_id, log_no, incident_id, *args])
        if not found:
            return None
        events = tx.dicts("SELECT at, kind, data FROM events WHERE box_id = ? AND log_no = ?"
                          " AND incident_id = ? ORDER BY seq", (box_id, log_no, incident_id))
    incident = found[0]
    opened = parse_time(incident["opened_at"])
    households = HouseholdIds()
    lines, acks = [], []
    for event in events:
        event["data"] = json.loads(event["data"])
        moment = parse_time(event["at"])
        lines.append({"offset": offset((moment - opened).total_seconds()), "at": event["at"],
                      "kind": event["kind"], "words": describe(event, households, lang)})
        if event["kind"] == "ack_received":
            acks.append({"at": event["at"], "household": event["data"].get("household"),
                         "channel": coded(lang, "channel.", CHANNEL, event["data"].get("channel"))})
    minutes = minutes_between(incident["opened_at"], incident["first_ack_at"])
    return {"incident": incident, "lines": lines, "acks": acks,
            "minutes_to_ack": round(minutes, 1) if minutes is not None else None}
