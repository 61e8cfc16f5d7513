"""SendRecorder: records the SMS a modem has submitted while the modem goes on with the next.

Recording a sent SMS is a commit that waits for the disk (a few milliseconds here, tens on an
SD card). Done between two submits it leaves the modem idle for that long on every message of
a fan-out; done on this thread it overlaps the next submit, which keeps the modem waiting for
the network for seconds anyway.

At most one record is in flight: ``record`` first waits for the one before. So a crash can
leave at most the latest submitted SMS unrecorded; it is still 'sending' in the store and is
sent again after the restart (one possible duplicate, as when the box dies between a submit's
answer and its commit). Whoever reads the store to decide something about deliveries (the
event loop, matching a delivery report, the worker's own slower paths) calls ``flush`` first,
so it never sees a sent SMS as unsent.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger(__name__)


class SendRecorder:
    def __init__(self, name: str):
        self._name = name
        self._job: Callable[[], None] | None = None
        self._done = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"record-{name}", daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self._job is not None

    def record(self, job: Callable[[], None]) -> None:
        """Run ``job`` (one store transaction) on the recorder's thread, after the one before
        it has finished."""
        with self._done:
            self._wait_idle()
            if self._closed:  # stopping: record here rather than not at all
                job()
                return
            self._job = job
            self._done.notify_all()

    def flush(self) -> None:
        """Return once every record handed over so far is committed (or has failed)."""
        if self._job is None:  # the common case, without taking the lock
            return
        with self._done:
            self._wait_idle()

    def _wait_idle(self) -> None:
        """Until no record is in flight; the caller holds ``_done``."""
        while self._job is not None:
            self._done.wait()

    def close(self) -> None:
        """Finish the record in flight and end the thread."""
        with self._done:
            self._closed = True
            self._done.notify_all()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            with self._done:
                while self._job is None and not self._closed:
                    self._done.wait()
                job = self._job
            if job is None:  # closed with nothing left to record
                return
            try:
                job()
            except Exception:  # the SMS stays 'sending' and is sent again after a restart
                log.exception("recording an SMS sent by modem %s failed", self._name)
            with self._done:
                self._job = None
                self._done.notify_all()
