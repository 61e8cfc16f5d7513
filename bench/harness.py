"""A box in a box for benchmarks: the real daemon talking AT over pseudo-terminals to emulated
modems with a chosen latency model, either in this process (``running_box``: the composition
root and all) or as its own process (``box_process``: ``python -m edgebox run``, as systemd runs
it, read back through its database)."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from edgebox.adapters.gpio.simulated import SimulatedGPIO
from edgebox.config_file import parse_config
from edgebox.daemon.app import build_daemon
from edgebox.daemon.service import utc_now
from edgebox.demo.village import GIVEN_NAMES, SURNAMES, VILLAGE, build_village
from edgebox.domain.roster import Group, Household, Roster
from edgebox.emulator import EmulatorServer, Latency
from edgebox.store import SqliteStore


@contextmanager
def running_box(modems: int, latency: Latency, extra_config: str = "", roster=None):
    """Yield (daemon, emulators) with the demo village loaded; everything stopped after."""
    roster = roster or build_village()
    with tempfile.TemporaryDirectory(prefix="edgebox-bench-") as tmp:
        work = Path(tmp)
        emulators = [EmulatorServer(link=str(work / f"modem{i}"), latency=latency).start()
                     for i in range(modems)]
        daemon = None
        try:
            store = SqliteStore(work / "box.db")
            store.roster.replace(roster, utc_now(), source="bench")
            store.close()
            tables = "".join(f'[[modems]]\nname = "m{i}"\nport = "{e.link}"\n'
                             for i, e in enumerate(emulators))
            config = parse_config(f'[box]\ndatabase = "{work / "box.db"}"\n[siren]\n'
                                  f'on_seconds = 0\n{extra_config}\n{tables}', "bench")
            daemon = build_daemon(config, gpio=SimulatedGPIO())
            daemon.start()
            wait_until(lambda: daemon.modems_ready() == modems, 30)
            yield daemon, emulators
        finally:
            if daemon is not None:
                daemon.stop()
            for emulator in emulators:
                emulator.stop()


def wait_until(condition, timeout: float, poll: float = 0.01) -> float:
    """Seconds until ``condition()`` held; raises TimeoutError after ``timeout``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise TimeoutError("benchmark condition not reached")
        time.sleep(poll)
    return time.monotonic() - start


# -- the daemon as its own process, as systemd runs it ------------------------------------------

def plain_roster(groups: int, size: int, seed: int = 0) -> Roster:
    """``groups`` groups of ``size`` households, one phone each (so an alarm sends exactly
    ``size - 1`` alarm SMS); the first household of each group leads it."""
    rng = random.Random(seed)
    households, built = [], []
    for g in range(groups):
        members = [Household(id=f"G{g + 1:02d}H{n + 1:02d}",
                             name=rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES),
                             address=f"{VILLAGE}{g + 1}组{n + 1}号",
                             phones=(f"+86139{g + 1:03d}{n + 1:05d}",))
                   for n in range(size)]
        households += members
        built.append(Group(id=f"第{g + 1}组", name=f"第{g + 1}组", leader_id=members[0].id,
                           member_ids=tuple(h.id for h in members)))
    return Roster(tuple(households), tuple(built)).validated()


@dataclass
class BoxProcess:
    """``python -m edgebox run`` on a config of our making; read through its database."""

    process: subprocess.Popen
    db: Path
    log_path: Path
    spawned: float  # time.monotonic() just before the process was started
    spawned_wall: float  # time.time() then, to compare with the times the daemon logs
    base_seq: int = 0  # the log's last seq before the daemon started (history, the roster)

    def query(self, sql: str, *args) -> list[tuple]:
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def one(self, sql: str, *args):
        return self.query(sql, *args)[0][0]

    def count_events(self, kind: str) -> int:
        """Events of this kind the daemon logged (not those of the history put in before)."""
        return self.one("SELECT count(*) FROM events WHERE kind = ? AND seq > ?", kind,
                        self.base_seq)

    def pending(self) -> int:
        return self.one("SELECT count(*) FROM deliveries WHERE state IN ('pending', 'sending')")

    def usage(self) -> "Usage":
        return Usage.of(self.process.pid)


@dataclass(frozen=True)
class Usage:
    """A process's CPU seconds (all threads, user + system) and memory, from /proc."""

    at: float
    cpu_seconds: float
    rss_kib: int
    peak_rss_kib: int

    @staticmethod
    def of(pid: int) -> "Usage":
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()  # the name in (…) may contain spaces
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        memory = {line.split(":")[0]: int(line.split()[1])
                  for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                  if line.startswith(("VmRSS:", "VmHWM:"))}
        return Usage(time.monotonic(), ticks / os.sysconf("SC_CLK_TCK"), memory["VmRSS"],
                     memory["VmHWM"])

    def cpu_percent_since(self, earlier: "Usage") -> float:
        return 100 * (self.cpu_seconds - earlier.cpu_seconds) / (self.at - earlier.at)


def thread_switches(pid: int) -> dict[int, tuple[str, int, float]]:
    """Each thread of a process: (its name, its context switches so far, voluntary and not,
    its CPU seconds so far, user + system), from /proc/<pid>/task/*/status and stat. A thread
    that sleeps and wakes adds one switch per wake-up."""
    threads = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = dict(line.split(":\t", 1) for line in
                          (task / "status").read_text().splitlines() if ":\t" in line)
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # the name in (…) may contain spaces
        threads[int(task.name)] = (status["Name"].strip(),
                                   int(status["voluntary_ctxt_switches"])
                                   + int(status["nonvoluntary_ctxt_switches"]),
                                   (int(fields[11]) + int(fields[12])) / tick)
    return threads


def wakeups_per_second(before: dict, after: dict, seconds: float) -> list[dict]:
    """Per thread alive at both readings, busiest first: wake-ups per second between them and
    the share of one core it used."""
    rates = [{"thread": tid, "name": after[tid][0],
              "per_second": round((after[tid][1] - before[tid][1]) / seconds, 2),
              "cpu_percent": round(100 * (after[tid][2] - before[tid][2]) / seconds, 3)}
             for tid in sorted(set(before) & set(after))]
    return sorted(rates, key=lambda r: (-r["per_second"], -r["cpu_percent"]))


@contextmanager
def box_process(emulators, roster: Roster, config: str = "", env: dict | None = None,
                wait_ready: bool = True, prepare=None):
    """Start the daemon as a process on ``emulators`` with ``roster``; yield a BoxProcess once
    every modem is ready (and its first health check is written); stop it with SIGTERM after.
    ``prepare(db)`` runs on the database before the daemon starts (history, for one)."""
    with tempfile.TemporaryDirectory(prefix="edgebox-bench-box-") as tmp:
        work = Path(tmp)
        db = work / "box.db"
        store = SqliteStore(db)
        store.roster.replace(roster, utc_now(), source="bench")
        store.close()
        if prepare is not None:
            prepare(db)
        with sqlite3.connect(db) as conn:
            base_seq = conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
        conn.close()
        modems = "".join(f'[[modems]]\nname = "m{i}"\nport = "{e.link}"\n'
                         for i, e in enumerate(emulators))
        path = work / "edgebox.toml"
        path.write_text(f'[box]\ndatabase = "{db}"\n{config}\n{modems}', encoding="utf-8")
        log_path = work / "daemon.log"
        with open(log_path, "w") as log_file:
            spawned, spawned_wall = time.monotonic(), time.time()
            process = subprocess.Popen([sys.executable, "-m", "edgebox", "run", "--config",
                                        str(path)], stdout=log_file, stderr=subprocess.STDOUT,
                                       env={**os.environ, **(env or {})})
        box = BoxProcess(process, db, log_path, spawned, spawned_wall, base_seq)
        try:
            if wait_ready:
                wait_until(lambda: _ready(box, len(emulators)), 60)
            yield box
        except BaseException:
            print(log_path.read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _ready(box: BoxProcess, modems: int) -> bool:
    if box.process.poll() is not None:
        raise RuntimeError(f"edgebox exited with {box.process.returncode}:\n"
                           + box.log_path.read_text()[-3000:])
    try:
        return (box.count_events("modem_ready") >= modems
                and box.count_events("modem_health") >= modems)
    except sqlite3.OperationalError:  # the daemon is still creating its tables
        return False


def cancel_and_settle(box: BoxProcess, emulator, caller_phone: str, *others) -> None:
    """The caller cancels the newest alarm by SMS (to ``emulator``); return once the box has
    closed it, sent its all-clear and recorded every delivery report (of every modem: ``others``
    too), so the next measurement starts on an idle box (closing and planning the all-clear are
    two commits: idle in between is not idle)."""
    incident = box.one("SELECT max(id) FROM incidents")
    emulator.sms(caller_phone, "取消")

    def settled() -> bool:
        entries = [e for modem in (emulator, *others) for e in modem.log()]
        reports = sum(e["kind"] == "delivery_report" for e in entries)
        return (box.one("SELECT state FROM incidents WHERE id = ?", incident) != "open"
                and box.one("SELECT count(*) FROM deliveries WHERE incident_id = ? AND"
                            " purpose = 'all_clear'", incident) > 0
                and box.pending() == 0
                and reports == sum(e["parts"] for e in entries if e["kind"] == "sms_sent")
                and box.count_events("delivery_report")
                + box.count_events("delivery_report_unmatched") == reports)
    wait_until(settled, 60)


def quantile(values: list[float], q: float) -> float:
    """The q-quantile by linear interpolation between the closest ranks."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
