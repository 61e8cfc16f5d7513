"""The loudspeaker's one player thread: the most urgent announcement first, the amplifier
powered only around what plays.

Three urgencies: ALARM (an alarm, its all-clear), LIVE (an authorised caller speaking) and
NOTICE (a broadcast, the office's text, a test). Queueing something more urgent than what plays
cuts that short at once (``AudioOutput.stop``): an alarm never waits behind a broadcast or a
live voice. What was cut is dropped, not resumed: half a broadcast read again after a fire
alarm would only confuse. Items of one urgency play in the order queued.

The amplifier relay goes on ``pre_roll`` seconds before the first clip (its output relay opens
and the horn settles, so the first word is heard whole) and off once nothing has played for
``post_roll`` seconds (back-to-back announcements do not click the amplifier on and off).

An item is a title and an iterator of (label, clip): a fixed announcement is a list, a live
caller's voice a generator that yields each piece as it arrives and ends when the call does.
A failing device is logged and the next item is tried: nothing here can hold up an alarm, which
has already been texted and rung by the time its announcement is queued.
"""
from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from edgebox.adapters.audio.port import AudioError, AudioOutput
from edgebox.adapters.audio.relay import AmplifierRelay
from edgebox.adapters.speech import Clip

log = logging.getLogger("edgebox.speaker")

ALARM, LIVE, NOTICE = 0, 1, 2  # lower is more urgent
STOP_RETRY_SECONDS = 0.05
URGENCY_NAMES = {ALARM: "alarm", LIVE: "live", NOTICE: "notice"}


@dataclass
class Item:
    priority: int
    title: str
    pieces: Iterator[tuple[str, Clip]]
    order: int = 0
    cut: bool = False
    on_end: Callable[[bool], None] | None = None  # called with whether it played to its end
    started: threading.Event = field(default_factory=threading.Event)  # relay on, pre-roll done
    done: threading.Event = field(default_factory=threading.Event)


class Loudspeaker:
    def __init__(self, output: AudioOutput, relay: AmplifierRelay, pre_roll: float,
                 post_roll: float, clock: Callable[[], float] = time.monotonic):
        self.output, self.relay = output, relay
        self.pre_roll, self.post_roll = pre_roll, post_roll
        self._clock = clock
        self._wake = threading.Condition()
        self._queue: list[Item] = []
        self._current: Item | None = None
        self._counter = itertools.count()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.last_error = ""
        self.played = 0  # clips played to their end, for the panel and the tests
        self._listeners: list[Callable[[], None]] = []
        relay.watch(lambda on: self._changed())

    def watch(self, listener: Callable[[], None]) -> None:
        """``listener()`` whenever what plays, what waits or the relay changes."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            try:
                listener()
            except Exception:  # the panel's view must not stop the player
                log.exception("loudspeaker: a watcher failed")

    # ---- life cycle (a daemon service) -------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="loudspeaker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            current = self._current
            if current is not None:
                current.cut = True
            self._wake.notify_all()
        self.output.stop()
        if self._thread is not None:
            self._thread.join(10)
        self.relay.close()

    # ---- what the box asks of it -------------------------------------------------------------

    def queue(self, priority: int, title: str, pieces: Iterable[tuple[str, Clip]],
              on_end: Callable[[bool], None] | None = None) -> Item:
        """Queue ``pieces`` to play; one more urgent than what plays cuts that short."""
        item = Item(priority, title, iter(pieces), next(self._counter), on_end=on_end)
        with self._wake:
            self._queue.append(item)
            self._queue.sort(key=lambda i: (i.priority, i.order))
            current = self._current
            pre_empt = current is not None and priority < current.priority
            if pre_empt:
                current.cut = True
            self._wake.notify_all()
        if pre_empt:
            log.info("loudspeaker: %s cuts short %s", title, current.title)
            self._stop_output(current)
        return item

    def cancel(self, item: Item) -> None:
        """End ``item`` (a live caller hung up): cut if it plays, dropped if it waits."""
        with self._wake:
            item.cut = True
            waiting = item in self._queue
            if waiting:
                self._queue.remove(item)
            playing = self._current is item
        if waiting:
            self._finish(item, False)
        if playing:
            self._stop_output(item)

    def _stop_output(self, item: Item) -> None:
        """Stop the output until ``item`` has ended: a stop that lands between the player's
        last look at ``item.cut`` and the clip's start would otherwise find nothing playing,
        and a long clip would hold an alarm back for its whole length. Each stop is made under
        the player's lock and only while ``item`` is still the one playing: a stop that ran
        late, after the player had moved on, would cut the next item, the very alarm that
        asked for the stop."""
        def stop_if_current() -> bool:
            with self._wake:
                if self._current is not item or item.done.is_set():
                    return False
                self.output.stop()
                return True

        if not stop_if_current():
            return

        def keep_stopping():
            while not item.done.wait(STOP_RETRY_SECONDS) and stop_if_current():
                pass

        threading.Thread(target=keep_stopping, name="loudspeaker-stop", daemon=True).start()

    def state(self) -> dict:
        """What the web panel shows: playing what, at which urgency, the relay, the queue."""
        with self._wake:
            current = self._current
            return {"output": self.output.name, "playing": current.title if current else "",
                    "urgency": URGENCY_NAMES[current.priority] if current else "",
                    "relay_on": self.relay.is_on, "queued": [i.title for i in self._queue],
                    "played": self.played, "last_error": self.last_error}

    def idle(self) -> bool:
        with self._wake:
            return self._current is None and not self._queue and not self.relay.is_on

    # ---- the player thread -------------------------------------------------------------------

    def _run(self) -> None:
        idle_since = self._clock()
        while True:
            with self._wake:
                while not self._queue and not self._stopping:
                    if self.relay.is_on:
                        left = idle_since + self.post_roll - self._clock()
                        if left <= 0:
                            self.relay.set(False)
                            continue
                        self._wake.wait(left)
                    else:
                        self._wake.wait()
                if self._stopping:
                    return
                item = self._queue.pop(0)
                self._current = item
            self._changed()
            played = self._play(item)
            with self._wake:
                self._current = None
            self._finish(item, played)
            self._changed()
            idle_since = self._clock()

    def _play(self, item: Item) -> bool:
        if not self.relay.is_on:
            self.relay.set(True)
            if self._sleep(self.pre_roll, item):
                return False
        item.started.set()
        try:
            for label, clip in item.pieces:
                if item.cut:
                    return False
                if not self.output.play(clip, label):
                    return False
                self.played += 1
        except AudioError as exc:
            self.last_error = str(exc)
            log.error("loudspeaker: %s not played: %s", item.title, exc)
            return False
        return not item.cut

    def _sleep(self, seconds: float, item: Item) -> bool:
        """Wait ``seconds`` unless ``item`` is cut meanwhile (True then)."""
        deadline = self._clock() + seconds
        with self._wake:
            while not item.cut and not self._stopping:
                left = deadline - self._clock()
                if left <= 0:
                    return False
                self._wake.wait(left)
        return True

    @staticmethod
    def _finish(item: Item, played: bool) -> None:
        item.done.set()
        if item.on_end is not None:
            try:
                item.on_end(played)
            except Exception:  # a listener's bug must not stop the player
                log.exception("loudspeaker: the end of %s was not handled", item.title)
