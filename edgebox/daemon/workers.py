"""The modem workers as the alarm core sees them: an outbox to fill and calls to steer.

The core hands work over as data only: rows in the store's outbox (``add``), a wake-up, the
name of the modem whose call to reject, and "re-read whether your ring call is still wanted"
(``recheck_rings``). What the workers learn comes back as events on the core's queue
(edgebox.daemon.worker_events), never as a call into the core.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from edgebox.daemon.ports import Clock, DeliveryTable
from edgebox.domain import alarm


class ModemWorkers:
    def __init__(self, workers: dict, deliveries: DeliveryTable, clock: Clock, speech=None):
        self.workers = workers  # name -> ModemWorker
        self._deliveries, self._clock = deliveries, clock  # the store's outbox
        self._speech = speech  # the CallSpeech the workers share, rendering ahead
        self._held = 0
        self._recheck_due = False

    # -- Outbox ------------------------------------------------------------------------------

    def add(self, incident_id: int | None, plan) -> None:
        plan = list(plan)
        if plan:
            self._deliveries.add(self._clock(), incident_id, plan)
            self.wake()

    def wake(self) -> None:
        for worker in self.workers.values():
            worker.wake.set()

    def modems_up(self) -> tuple[int, int]:
        up = [w for w in self.workers.values() if w.up]
        voice = sum("call" in w.kinds for w in up)
        return voice, len(up) - voice

    # -- CallControl -------------------------------------------------------------------------

    def reject_call(self, modem: str) -> None:
        worker = self.workers.get(modem) or next(iter(self.workers.values()))
        # The other modems are woken first: a fan-out committed just before this hang-up is
        # theirs to start now. The hang-up can wait for this modem's port (its worker may have
        # taken the first SMS already: seconds of submit), and they need not wait with it.
        # Without a fan-out they look, find nothing, and sleep again.
        for other in self.workers.values():
            if other is not worker:
                other.wake.set()
        worker.modem.reject_call()

    def recheck_rings(self) -> None:
        if self._held:
            self._recheck_due = True
            return
        self._recheck_due = False
        for worker in self.workers.values():
            worker.recheck_ring()

    def prepare_speech(self, plan) -> None:
        if self._speech is not None:
            self._speech.prepare(d.text for d in plan
                                 if d.kind == alarm.CALL and alarm.speaks(d.purpose))

    @contextmanager
    def rechecks_held(self) -> Iterator[None]:
        """A worker re-reading the store holds its ring lock while it waits for the store;
        inside a transaction this thread holds, asking it would deadlock. Asked once, after."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
        if not self._held and self._recheck_due:
            self.recheck_rings()

    # -- life cycle (the event loop's) -------------------------------------------------------

    def flush_recorders(self) -> None:
        """SMS a worker has sent are recorded on its recorder's thread, moments later: settled
        before the event loop reads the store (who was told, which report is whose)."""
        for worker in self.workers.values():
            worker.recorder.flush()

    def start(self) -> None:
        for worker in self.workers.values():
            worker.start()

    def stop(self, timeout: float) -> None:
        self.wake()
        for worker in self.workers.values():
            worker.join(timeout=timeout)
            worker.modem.stop()
        if self._speech is not None:
            self._speech.close()

    def stalled(self, limit: float) -> list[str]:
        return [name for name, worker in self.workers.items() if worker.stalled(limit)]

    def ready(self) -> int:
        return sum(bool(w.modem.alive) for w in self.workers.values())
