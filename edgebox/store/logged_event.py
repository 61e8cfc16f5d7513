"""One event of the append-only log (table ``events``), as the store's reads return it and
its listeners are handed it."""
from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    seq: int                   # its place in the log: gap-free, in commit order
    at: str                    # when it happened, UTC, ISO text
    kind: str
    incident_id: int | None
    data: dict                 # the event's own fields, as logged

    @classmethod
    def of_row(cls, row: dict) -> Event:
        """A row of ``SELECT * FROM events``, its data still JSON text."""
        return cls(row["seq"], row["at"], row["kind"], row["incident_id"],
                   json.loads(row["data"]))

    def as_dict(self) -> dict:
        """The event as the uplink carries it and the log's describers read it: the log's
        columns, in their order."""
        return {"seq": self.seq, "at": self.at, "kind": self.kind,
                "incident_id": self.incident_id, "data": self.data}
