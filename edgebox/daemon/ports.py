"""What the alarm core needs from the world, as small typed ports.

The core (policy.py, inbox_policy.py, sms_admin.py, timers.py, check_ins.py) takes these in
its constructors and nothing else: the composition root (app.py) hands it the SQLite store (its
event log) and its table objects (``store.incidents``, ``store.roster``, ``store.inbox`` …),
the modem workers and the GPIO siren; unit tests hand it plain in-memory
objects. Each port lists only the methods the core calls, so a fake stays small and a new
store method is not a new obligation for every fake. The modem workers have a port of their
own at the end (``WorkerStore``): tests/test_layers.py checks they use nothing else.
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Callable, Iterable, Protocol, runtime_checkable

from edgebox.domain.alarm import Ack, Delivery, Incident, PlannedDelivery
from edgebox.domain.roster import Roster
from edgebox.store.check_in_rows import CheckInRow
from edgebox.store.inbox_rows import KeptOfficeAction, KeptSms
from edgebox.store.logged_event import Event
from edgebox.store.outbox_rows import DeliveryRow


class Clock(Protocol):
    """The wall clock, UTC: stored timestamps and the ladder's times."""

    def __call__(self) -> datetime: ...


@runtime_checkable
class EventLog(Protocol):
    """The durable log, and the transaction a decision commits in with what it plans (the
    SQLite store itself; its tables are ports of their own)."""

    def transaction(self, durable: bool = True) -> AbstractContextManager: ...

    def append_event(self, now: datetime, kind: str, incident_id: int | None = None,
                     **data: object) -> None: ...

    def defer_event(self, now: datetime, kind: str, incident_id: int | None = None,
                    **data: object) -> None: ...

    def events_of_kinds(self, kinds: list[str]) -> list[Event]: ...

    def unknown_caller_notices(self, since: datetime) -> list[tuple[str, str]]: ...


@runtime_checkable
class IncidentTable(Protocol):
    """Incidents and their acknowledgements (the store's ``incidents``); every change commits
    with what it plans."""

    def open(self, now: datetime, group_id: str, household_id: str, phone: str,
             kind: str = "call", alarm_type: str = "call", text: str | None = None,
             drill: bool = False, plan: list | None = None,
             told_of: int | None = None) -> Incident: ...

    def get(self, incident_id: int) -> Incident | None: ...

    def all(self, state: str | None = None) -> list[Incident]: ...

    def notifying(self, household_id: str) -> list[Incident]: ...

    def unplanned(self) -> list[Incident]: ...

    def unrejected_calls(self) -> list[int]: ...

    def amend(self, now: datetime, incident_id: int, event: str, changes: dict,
              alarm_text: str, plan_for: Callable[[list[Delivery]], list],
              stop_to: str | None = None) -> None: ...

    def escalate(self, now: datetime, incident_id: int, step: int, plan: list,
                 township: bool = False) -> None: ...

    def close(self, now: datetime, incident_id: int, reason: str, by: str | None = None,
              plan_for: Callable[[list[Delivery]], list] | None = None,
              report: tuple[str, dict] | None = None) -> int: ...

    def record_ack(self, now: datetime, incident_id: int, household_id: str, phone: str,
                   channel: str, relays: list = ()) -> bool: ...

    def acks(self, incident_id: int) -> list[Ack]: ...

    def unrecorded_key_acks(self) -> list[int]: ...


@runtime_checkable
class DeliveryTable(Protocol):
    """The outbox's rows as the core plans and reads them (the store's ``outbox``; the
    workers drain it)."""

    def add(self, now: datetime, incident_id: int | None,
            plan: list[PlannedDelivery]) -> list[int]: ...

    def plan_with_event(self, now: datetime, incident_id: int | None, event: str,
                        data: dict, plan: list[PlannedDelivery]) -> None: ...

    def get(self, delivery_id: int) -> DeliveryRow: ...

    def of_incident(self, incident_id: int) -> list[Delivery]: ...

    def hurry_ring(self, now: datetime, incident_id: int, household_id: str, phone: str,
                   text: str, priority: int) -> None: ...

    def add_broadcast(self, now: datetime, sender: str, group_id: str | None, text: str,
                      plan: list[PlannedDelivery], households: int,
                      replies: list[PlannedDelivery] = ()) -> int: ...

    def broadcast_progress(self, now: datetime) -> None: ...


@runtime_checkable
class RosterTable(Protocol):
    """The roster as saved (the store's ``roster``), replaced whole; its generation counts the
    replacements."""

    def generation(self) -> int: ...

    def snapshot(self) -> tuple[int, Roster]: ...

    def load(self) -> Roster: ...

    def replace(self, roster: Roster, now: datetime, source: str = "") -> int: ...


@runtime_checkable
class LeaderPinTable(Protocol):
    """Leaders' own PINs for administration by SMS, as hashes (the store's ``leader_pins``)."""

    def hash_of(self, household_id: str) -> str | None: ...


@runtime_checkable
class InboxTable(Protocol):
    """SMS and office actions kept before they are acted on, acted on once with their mark
    (the store's ``inbox``)."""

    def handling_sms(self, now: datetime, inbox_id: int,
                     keep_text: str) -> AbstractContextManager[bool]: ...

    def handling_office_action(self, now: datetime,
                               action_id: int) -> AbstractContextManager[bool]: ...

    def unhandled_sms(self) -> list[KeptSms]: ...

    def unhandled_office_actions(self) -> list[KeptOfficeAction]: ...


@runtime_checkable
class CheckInTable(Protocol):
    """Each opted-in household's daily check-in, one CheckInRow a day (the store's
    ``check_ins``)."""

    def start(self, now: datetime, household_id: str, day: date, at: str) -> bool: ...

    def in_progress(self) -> list[CheckInRow]: ...

    def latest(self, household_id: str) -> CheckInRow | None: ...

    def urgent_deliveries(self, priority: int) -> bool: ...

    def ring(self, now: datetime, row: CheckInRow, ring) -> None: ...

    def ring_result(self, delivery_id: int) -> str | None: ...

    def retry(self, now: datetime, row: CheckInRow, result: str, next_ring_at: datetime,
              counted: bool = True) -> None: ...

    def safe(self, now: datetime, row: CheckInRow, how: str, phone: str = "") -> None: ...

    def missed(self, now: datetime, row: CheckInRow, result: str, group_id: str, phone: str,
               plan: list) -> int: ...

    def close(self, now: datetime, row: CheckInRow, reason: str) -> None: ...


@runtime_checkable
class Outbox(Protocol):
    """Where the core's planned messages go: planned durably, then the workers are woken.
    ``wake`` alone is for plans the store committed with a decision of its own."""

    def add(self, incident_id: int | None, plan: Iterable[PlannedDelivery]) -> None: ...

    def wake(self) -> None: ...

    def modems_up(self) -> tuple[int, int]:
        """The modems working now that may ring, and those that only text: the lanes an
        alarm's fan-out is planned over."""


@runtime_checkable
class CallControl(Protocol):
    """The voice side of the modems, as the core steers it."""

    def reject_call(self, modem: str) -> None:
        """Hang up the call ringing on ``modem``; raises ModemError when the modem fails."""

    def recheck_rings(self) -> None:
        """Something that may make a ring call pointless was committed (an acknowledgement, a
        cancel, a caller joining): each worker re-reads whether its call is still wanted."""

    def prepare_speech(self, plan: Iterable[PlannedDelivery]) -> None:
        """A plan with ring calls was committed: their sentences are rendered now, off the
        event loop, so the first ring does not wait for a synthesis. Returns at once."""

    def rechecks_held(self) -> AbstractContextManager:
        """Inside an inbox row's transaction: rechecks wait until it has committed (a worker
        reading the store then would wait for this thread, which waits for it)."""


@runtime_checkable
class Siren(Protocol):
    is_on: bool

    def on(self, kind: str = "continuous") -> object: ...

    def off(self) -> None: ...


@runtime_checkable
class RosterSource(Protocol):
    """The roster in force now (swapped whole when another writer saved a new one)."""

    @property
    def roster(self) -> Roster: ...

    def reload(self) -> None: ...


# -- the modem workers' side ----------------------------------------------------------------
# A worker drains the outbox the core planned into, keeps what its modem receives and logs its
# modem's life. It reads the alarms the event loop committed (is this ring still wanted?) but
# writes none of their decisions: those reach the event loop as events on its queue.

@runtime_checkable
class WorkerOutbox(Protocol):
    """The outbox as a modem's worker drains it."""

    def claim_next(self, now: datetime, kinds: tuple[str, ...] = ("sms", "call"),
                   modem: str | None = None) -> DeliveryRow | None: ...

    def next_due(self, kinds: tuple[str, ...] = ("sms", "call")) -> datetime | None: ...

    def finish(self, now: datetime, delivery_id: int, state: str, event: str,
               error: str | None = None, modem_ref: str | None = None,
               **data: object) -> None: ...

    def retry(self, now: datetime, delivery_id: int, error: str, not_before: datetime,
              count_attempt: bool = True) -> None: ...


@runtime_checkable
class IncidentReads(Protocol):
    """The alarms as the event loop committed them: read, never written."""

    def get(self, incident_id: int) -> Incident | None: ...

    def all(self, state: str | None = None) -> list[Incident]: ...

    def acks(self, incident_id: int) -> list[Ack]: ...


@runtime_checkable
class SmsKeeper(Protocol):
    def keep_sms(self, now: datetime, modem: str, number: str, text: str,
                 sent_at: datetime | None, read_again: bool = False) -> int | None: ...


@runtime_checkable
class HealthLog(Protocol):
    def record(self, now: datetime, modem: str, **reading: object) -> None: ...


@runtime_checkable
class WorkerStore(Protocol):
    """All a modem's worker (and its ring calls, its failures' rule, its system commands)
    touches of the store."""

    @property
    def outbox(self) -> WorkerOutbox: ...

    @property
    def incidents(self) -> IncidentReads: ...

    @property
    def inbox(self) -> SmsKeeper: ...

    @property
    def health(self) -> HealthLog: ...

    def append_event(self, now: datetime, kind: str, incident_id: int | None = None,
                     **data: object) -> None: ...
