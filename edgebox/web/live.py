"""Server-sent events: every event the store commits, pushed to each open dashboard.

The store calls its listeners on whichever thread committed (the alarm loop, a modem worker, a
web request); ``publish`` hands the event to each browser's asyncio queue on the server's own
loop. A browser that stops reading loses old events rather than growing memory: the page only
uses them as a cue to refresh.
"""
from __future__ import annotations

import asyncio
import json
import threading

from edgebox.store.logged_event import Event

QUEUE_LIMIT = 100
KEEPALIVE_SECONDS = 15


class LiveEvents:
    def __init__(self):
        self._lock = threading.Lock()
        self._queues: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = []
        self._closed = False

    def publish(self, event: Event) -> None:
        message = {"seq": event.seq, "kind": event.kind, "incident": event.incident_id}
        with self._lock:
            targets = list(self._queues)
        for loop, queue in targets:
            try:
                loop.call_soon_threadsafe(self._offer, queue, message)
            except RuntimeError:  # that server loop has already closed
                pass

    def close(self) -> None:
        """End every stream (the server is stopping)."""
        with self._lock:
            self._closed = True
            targets = list(self._queues)
        for loop, queue in targets:
            try:
                loop.call_soon_threadsafe(self._offer, queue, None)
            except RuntimeError:
                pass

    @staticmethod
    def _offer(queue: asyncio.Queue, message: dict | None) -> None:
        if message is None or not queue.full():
            queue.put_nowait(message)

    async def stream(self):
        """The text/event-stream body for one browser."""
        queue: asyncio.Queue = asyncio.Queue(QUEUE_LIMIT + 1)
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            if self._closed:
                return
            self._queues.append(entry)
        try:
            yield "retry: 2000\n\n"
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except asyncio.TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                if message is None:
                    return
                yield f"event: box\ndata: {json.dumps(message)}\n\n"
        finally:
            with self._lock:
                self._queues.remove(entry)
