"""FairLock: a reentrant lock that serves waiting threads in the order they came.

The modem's AT port is one exchange at a time. A modem worker in a fan-out releases it after
each SMS and takes it again a millisecond later for the next; with Python's own locks (which
promise no order) it can win every time, and a ringing call waits for its ATH, or a neighbour's
"1" for its AT+CMGR, until the whole fan-out is over. Here a thread asking again queues behind
those already waiting, so each of them gets the port between two submits.

A hang-up goes ahead of everyone waiting (``first()``): a caller must be rejected within
seconds, before the network diverts the call to voicemail or the caller hears it ring on, not
after the three submits and an SMS read queued before it. It still waits for the exchange in
flight: a modem answers nothing else until its submit is done.
"""
from __future__ import annotations

import threading
from collections import deque
from contextlib import contextmanager


class FairLock:
    def __init__(self):
        self._state = threading.Condition(threading.Lock())
        self._owner: int | None = None
        self._depth = 0
        self._waiting: deque[int] = deque()

    def acquire(self, first: bool = False) -> bool:
        """Wait for the lock; ``first``: ahead of every thread already waiting."""
        me = threading.get_ident()
        with self._state:
            if self._owner == me:
                self._depth += 1
                return True
            if first:
                self._waiting.appendleft(me)
            else:
                self._waiting.append(me)
            while self._owner is not None or self._waiting[0] != me:
                self._state.wait()
            self._waiting.popleft()
            self._owner, self._depth = me, 1
            return True

    @contextmanager
    def first(self):
        """Hold the lock, taken ahead of the threads already waiting."""
        self.acquire(first=True)
        try:
            yield self
        finally:
            self.release()

    def release(self) -> None:
        with self._state:
            if self._owner != threading.get_ident():
                raise RuntimeError("release of a FairLock this thread does not hold")
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._state.notify_all()

    def __enter__(self) -> "FairLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
