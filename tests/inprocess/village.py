"""A village in process: the daemon as the composition root builds it (build_daemon), on
FakeModems over a FakeNetwork, with simulated GPIO and virtual time.

The daemon's own threads run (event loop, modem workers), so what the policy decides reaches
the phones by the same outbox and workers as in the field; only the modem is in process and the
clock is virtual. Waits are on conditions with generous timeouts, never on durations.
"""
from __future__ import annotations

import itertools
import sqlite3
import time
from datetime import datetime

from edgebox.adapters.gpio.simulated import SimulatedGPIO
from edgebox.adapters.modem.fake_network import DEFAULT_START, FakeNetwork, Phone
from edgebox.config_file import load_config
from edgebox.daemon.app import build_daemon
from edgebox.daemon.service import POLICY_TICK_SECONDS
from edgebox.store.times import utc_iso
from tests.support import SHEET, config_tables, events_named, query

WAIT_SECONDS = 30  # generous: the machine running the suite may be busy
# The event loop looks at the clock's rules (the ladder, expiry, drills) once a real
# POLICY_TICK_SECONDS; after virtual time moves, one such turn must pass before "nothing
# happened" means anything.
TICK_WAIT = POLICY_TICK_SECONDS + 0.3

MARK = -1.0  # see Village._policy_turn
NUDGE = object()
_names = itertools.count(1)


class Village:
    """``settings``: config tables merged over the defaults; ``ladder``: [[escalation]] steps as
    (after_minutes, actions); ``modems``: how many fake modems the box has."""

    START = DEFAULT_START  # where virtual time begins

    DEFAULTS = {
        "alarm": {"ring_members": False, "ring_seconds": 60},
        "siren": {"on_seconds": 60},
        "numbers": {"office": ["+8613300138099"], "township": ["+8613300138088"]},
    }

    def __init__(self, tmp_path, settings=None, ladder=(), sheet=SHEET, modems=1):
        self.name = f"village-{next(_names)}"
        self.network = FakeNetwork().register(self.name)
        self.clock = self.network.clock
        self.db = tmp_path / "box.db"
        sheet_path = tmp_path / "village.csv"
        sheet_path.write_text(sheet, encoding="utf-8")
        box = {**self.DEFAULTS.get("box", {}), **(settings or {}).get("box", {}),
               "database": str(self.db), "roster_csv": str(sheet_path)}
        lines = config_tables(self.DEFAULTS, {**(settings or {}), "box": box}, ladder)
        for number in range(1, modems + 1):
            lines += ["[[modems]]", f'name = "m{number}"', f'port = "fake://{self.name}"']
        config_path = tmp_path / "edgebox.toml"
        config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.config_path = config_path
        self.gpio = SimulatedGPIO()
        self.daemon = self._build()
        self.config = load_config(config_path)

    def start(self) -> "Village":
        self.daemon.start()
        self.wait_for(lambda: len(self.events("modem_ready")) == len(self.network.modems),
                      "the modems to be ready")
        return self

    def _build(self):
        daemon = build_daemon(load_config(self.config_path), self.gpio, self.clock.now)
        # The daemon's clock-step watch compares the wall clock it is given with a monotonic
        # clock; with virtual wall time that must be virtual too, or every move of virtual time
        # would read as the system clock being stepped (and the alarm timers shifted by it).
        daemon._clock_watch.monotonic = self.clock.seconds
        return daemon

    def restart(self) -> None:
        """Stop the daemon and build and start a new one on the same database, modems'
        network and clock, as systemd would after a stop."""
        ready = len(self.events("modem_ready"))
        self.daemon.stop()
        self.daemon.store.close()  # its checkpoint thread and connection with it
        self.network.modems.clear()
        self.daemon = self._build()
        self.daemon.start()
        self.wait_for(lambda: len(self.events("modem_ready")) >= ready + len(self.network.modems),
                      "the modems to be ready again")

    def stop(self) -> None:
        self.network.release_submits()  # a test that failed while the cell was held
        try:
            self.daemon.stop()
            # its WAL checkpoint thread and connection with it: hundreds of villages in one
            # test process would otherwise leave as many threads behind
            self.daemon.store.close()
        finally:
            FakeNetwork.unregister(self.name)
        # Virtual time moving must never have looked like the wall clock being stepped.
        assert not self.events("clock_jumped"), self.events("clock_jumped")

    # -- what people do ------------------------------------------------------------------------

    def phone_number(self, who: str) -> str:
        """A household id ("H03") as its first phone, or a number as it is."""
        if who.startswith("+") or who[:1].isdigit() and len(who) > 6:
            return who
        return self.daemon.roster.household(who).primary_phone

    def call(self, who: str, modem: str | None = None, rings: int = 10) -> int:
        return self.network.call(self.phone_number(who), rings, modem)

    def sms(self, who: str, text: str, modem: str | None = None) -> None:
        self.network.sms(self.phone_number(who), text, modem)

    def call_with_first_sms_held(self, who: str) -> None:
        """``who`` calls with the cell held: wait until the call is hung up on and an alarm
        SMS is in the modem's hands. (The worker may take the port for the first SMS before
        the event loop takes it for the hang-up; then that SMS goes, the hang-up follows, and
        the next is held.)"""
        number = self.phone_number(who)
        self.network.hold_submits()
        self.call(who)
        rejected = lambda: (number, "rejected") in self.calls_received()  # noqa: E731
        self.wait_for(lambda: self.network.held_submits == 1 and (
            rejected() or self.modem().hang_ups_waiting), "an alarm SMS to be submitting")
        if not rejected():
            self.network.release_submits(1)
            self.wait_for(lambda: rejected() and self.network.held_submits == 1,
                          "the hang-up, and the next alarm SMS to be submitting")

    def advance(self, seconds: float) -> None:
        """Virtual time moves on (the modems' work moves it too)."""
        self.clock.advance(seconds)

    def advance_to(self, moment: datetime) -> None:
        seconds = (moment - self.clock.now()).total_seconds()
        if seconds > 0:
            self.clock.advance(seconds)

    def run(self, seconds: float, step: float = 10.0) -> None:
        """Let ``seconds`` of virtual time pass in steps of ``step``, the box settling after
        each, as time passes for a box in the field."""
        end = self.clock.seconds() + seconds
        while self.clock.seconds() < end:
            self.clock.advance(min(step, end - self.clock.seconds()))
            self.wait_idle()

    def modem(self, name: str = "m1"):
        return self.network.modems[name]

    # -- waiting -------------------------------------------------------------------------------

    def wait_for(self, condition, what: str, timeout: float = WAIT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.005)

    def wait_idle(self, timeout: float = WAIT_SECONDS) -> None:
        """Every event handled, nothing due left in the outbox, and the clock's rules (the
        ladder, expiry, drills) looked at since virtual time last moved: quiet for a few
        polls with virtual time standing still, then once more after a turn of the event loop
        (which has then handled every event queued before it), since a handled event may plan
        more."""
        deadline = time.monotonic() + timeout
        quiet, seen = 0, None
        while True:
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for the box to be idle")
            now = self.clock.seconds()
            if now != seen:
                self._policy_turn(deadline)
                seen, quiet = now, 0
                continue
            time.sleep(0.005)
            quiet = quiet + 1 if self._quiet() else 0
            if quiet >= 3:
                self._policy_turn(deadline)
                if self.clock.seconds() == seen and self._quiet():
                    return
                quiet = 0

    def _quiet(self) -> bool:
        return self.daemon.events.empty() and not self._due()

    def _policy_turn(self, deadline: float) -> None:
        """Have the event loop apply the clock's rules now rather than at its next real-time
        tick (it looks once a POLICY_TICK_SECONDS of monotonic time): the tick's next time is
        set to a mark, the loop woken, and the mark seen replaced, twice, so the first such
        turn has finished. The loop sets the next time before it reads the clock, so a turn
        that replaced the mark saw the virtual time of now. A daemon without that attribute
        is given a real tick's time instead. (These seams belong in the daemon's clock port;
        until it has one, they are reached here and nowhere else.)"""
        daemon = self.daemon
        # The workers, too, look for deliveries whose back-off has passed every half second
        # of real time; woken, they look now.
        getattr(daemon, "_wake_workers", lambda: None)()
        if not hasattr(daemon, "_next_policy_tick"):
            time.sleep(TICK_WAIT)
            return
        for _ in range(2):
            daemon._next_policy_tick = MARK
            daemon.events.put(NUDGE)  # no handler takes it: the loop only turns
            while daemon._next_policy_tick == MARK:
                if time.monotonic() > deadline:
                    raise AssertionError("the event loop did not turn")
                time.sleep(0.002)

    def _due(self) -> int:
        return self.query("SELECT count(*) FROM deliveries WHERE state = 'sending' OR"
                          " (state = 'pending' AND (not_before IS NULL OR not_before <= ?))",
                          utc_iso(self.clock.now()))[0][0]

    # -- what the phones got -------------------------------------------------------------------

    def phone(self, who: str) -> Phone:
        return self.network.phone(self.phone_number(who))

    def texts(self, who: str) -> list[str]:
        return list(self.phone(who).texts)

    def rings(self, who: str) -> list[str]:
        return [r.outcome for r in self.phone(who).rings]

    def calls_received(self) -> list[tuple[str, str]]:
        """Calls to the box: (number, how they ended)."""
        return [(e["number"], e["outcome"]) for e in self.network.entries("call_received")]

    def siren_sounding(self) -> bool:
        """The siren relay's pin is at its active level now (simulated GPIO)."""
        outputs = self.gpio.outputs_of(self.config.siren_pin)
        return bool(outputs) and outputs[-1][1] == int(self.config.siren_active_high)

    # -- what the box recorded -----------------------------------------------------------------

    def query(self, sql: str, *args) -> list[tuple]:
        try:
            return query(self.db, sql, *args)
        except sqlite3.OperationalError:  # locked for a moment by a writer: ask again
            time.sleep(0.01)
            return query(self.db, sql, *args)

    def query_dicts(self, sql: str, *args) -> list[dict]:
        conn = sqlite3.connect(self.db)
        try:
            cursor = conn.execute(sql, args)
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        finally:
            conn.close()

    def events(self, *names: str) -> list[dict]:
        return events_named(self.query, *names)

    def incidents(self) -> list[dict]:
        columns = ("id", "group_id", "caller_household_id", "state", "alarm_type",
                   "escalation_step", "acked_at", "closed_reason", "opened_at")
        rows = self.query(f"SELECT {', '.join(columns)} FROM incidents ORDER BY id")
        return [dict(zip(columns, row)) for row in rows]

    def acks(self) -> list[tuple]:
        """(household, phone, channel) of every acknowledgement, in order."""
        return self.query("SELECT household_id, phone, channel FROM acks ORDER BY id")

    def deliveries(self, **where) -> list[dict]:
        columns = ("id", "incident_id", "kind", "phone", "household_id", "purpose", "text",
                   "state", "attempts", "last_error")
        condition = " AND ".join(f"{k} = ?" for k in where) or "1"
        rows = self.query(f"SELECT {', '.join(columns)} FROM deliveries WHERE {condition}"
                          " ORDER BY id", *where.values())
        return [dict(zip(columns, row)) for row in rows]
