"""What the village office asks of the box, from the siren panel's buttons or the web panel.

The vocabulary both faces and the daemon share: the kinds of action and the OfficeAction they
hand over. The faces keep an action in the store (edgebox.web.box_view.StoreOfficeDesk) or
give it to the daemon's desk (edgebox.daemon.office.OfficeDesk); the daemon's event loop
carries it out in order with everything else.
"""
from __future__ import annotations

from dataclasses import dataclass

ACKNOWLEDGE = "acknowledge"  # the office acknowledges an open incident (stops its escalation)
CANCEL = "cancel"            # close an incident: all-clear to everyone notified, siren off
SIREN_ON = "siren_on"        # sound the siren by hand (its maximum on-time still applies)
SIREN_OFF = "siren_off"      # silence the siren
BROADCAST = "broadcast"      # text the whole village, or one group
DRILL = "drill"              # start a drill: a marked test alarm for one group
SPEAK = "speak"              # read ``text`` out on the village loudspeaker now (edgebox.speaker)
KINDS = (ACKNOWLEDGE, CANCEL, SIREN_ON, SIREN_OFF, BROADCAST, DRILL, SPEAK)


@dataclass(frozen=True)
class OfficeAction:
    kind: str                      # one of KINDS
    source: str                    # "button", "web", "cli" … for the log
    incident_id: int | None = None  # ACKNOWLEDGE, CANCEL (None: the newest open incident)
    text: str = ""                 # BROADCAST, SPEAK
    group_id: str | None = None    # BROADCAST (None: the whole village), DRILL
    user: str = ""                 # who, when known (the web panel's login)
    action_id: int | None = None   # its row in the store's inbox (None: not kept, a timer's)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown office action {self.kind!r}")


def kept_action(row) -> OfficeAction:
    """An office action as the store kept it (a row of ``inbox.unhandled_office_actions``)."""
    return OfficeAction(row.kind, row.source, row.incident_id, row.text, row.group_id, row.user,
                        row.id)
