"""Rejecting a call that rang the box, the same way for every caller: an alarm, a check-in, an
admin's call. The caller pays nothing; whether the hang-up worked goes in the log."""
from __future__ import annotations

from edgebox.daemon.ports import CallControl, Clock, EventLog, Outbox
from edgebox.errors import ModemError


def reject_call(store: EventLog, calls: CallControl, outbox: Outbox, clock: Clock,
                modem: str, incident_id: int | None = None, wake: bool = False) -> None:
    """Reject the call ringing on ``modem`` and log the outcome. ``wake``: a fan-out is
    planned, so the workers are woken as soon as the port is free of the ATH, and claim their
    first SMS while this logs (both wait for the store)."""
    try:
        calls.reject_call(modem)
        event, data = "call_rejected", {"modem": modem}
    except ModemError as exc:
        event, data = "call_reject_failed", {"modem": modem, "error": str(exc)}
    if wake:
        outbox.wake()
    # Logged with the next durable commit (the first SMS's record, as a rule): the alarm was
    # committed before the call was touched, and a second wait for the disk here would hold up
    # the worker's claim of the first SMS.
    store.defer_event(clock(), event, incident_id, **data)
