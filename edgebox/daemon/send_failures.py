"""Whose fault a failed delivery is, and what follows from it.

A delivery that fails because the modem failed (it timed out, restarted, or its port is gone)
goes back to the outbox at once, for this modem or another, without using up one of its own
attempts; only the member's number failing does that, with a doubling back-off. Two timeouts in
a row call for a reset of the modem. Sends to that many *different* numbers failing in a row
blame the modem (its SIM, credit, network) and take it out of service for a while, like
smstools3: a phone that takes no SMS fails each of its retries, and a few such phones in one
group must not silence the box for everyone else.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from edgebox.daemon.ports import WorkerOutbox
from edgebox.errors import ModemError, ModemRestarted, ModemTimeout
from edgebox.store.outbox_rows import DeliveryRow

TIMEOUTS_BEFORE_RESET = 2
RESET, OUT_OF_SERVICE = "reset", "out_of_service"  # what the worker must do next


class SendFailures:
    def __init__(self, max_attempts: int, retry_seconds: float, out_of_service_after: int):
        self.max_attempts = max_attempts
        self.retry_seconds = retry_seconds
        self.out_of_service_after = out_of_service_after
        self._failing_numbers: set[str] = set()  # since this modem's last success
        self._timeouts_in_a_row = 0

    def succeeded(self) -> None:
        self._failing_numbers.clear()
        self._timeouts_in_a_row = 0

    def failed(self, outbox: WorkerOutbox, now: datetime, d: DeliveryRow, exc: ModemError,
               modem_alive: bool) -> str | None:
        """Put delivery ``d`` back in the outbox (or give it up) as its failure deserves;
        RESET or OUT_OF_SERVICE when the modem needs that now, else None."""
        modem_fault = isinstance(exc, (ModemTimeout, ModemRestarted)) or not modem_alive
        if modem_fault:  # not the member's fault: back to the queue at once
            outbox.retry(now, d.id, str(exc), now, count_attempt=False)
        elif d.attempts >= self.max_attempts:
            outbox.finish(now, d.id, "failed", "delivery_failed", error=str(exc))
        else:
            wait = self.retry_seconds * 2 ** (d.attempts - 1)
            outbox.retry(now, d.id, str(exc), now + timedelta(seconds=wait))
        if isinstance(exc, ModemTimeout):
            self._timeouts_in_a_row += 1
            if self._timeouts_in_a_row >= TIMEOUTS_BEFORE_RESET:
                self._timeouts_in_a_row = 0
                return RESET
        elif isinstance(exc, ModemRestarted):
            pass  # the modem's fault, not the number's: it is initialised again next step
        elif modem_alive:
            self._failing_numbers.add(d.phone)
            if len(self._failing_numbers) >= self.out_of_service_after:
                self._failing_numbers.clear()
                return OUT_OF_SERVICE
        return None
