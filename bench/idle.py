"""What an idle box costs: the daemon with nothing to do, against the Pi's targets.

The daemon runs as its own process (``python -m edgebox run``, as systemd runs it) with a
township's roster of 5,000 households (500 groups of 10) on one emulated modem, and nobody
calls. After start-up has settled, for N seconds: CPU (all threads, user + system, from
/proc/<pid>/stat) as a share of one core, memory (RSS), and each thread's wake-ups per second
(its context switches, voluntary and not, from /proc/<pid>/task/*/status: a thread that sleeps
and wakes switches once per wake-up) with its own CPU. The daemon names its threads in /proc
(edgebox.daemon.thread_names), so the table says which loop wakes.

Then ``Roster.groups_of`` (asked on every call and SMS) at 300 and 5,000 households: the
roster's index against the scan of every group it replaced, side by side.

Targets: idle at most 0.2 % of a core and 5 wake-ups a second; RSS at most 40 MiB at 5,000
households; groups_of the same per call at any size.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from edgebox.emulator import EmulatorServer, Latency

from bench.harness import box_process, plain_roster, thread_switches, wakeups_per_second

GROUPS, SIZE = 500, 10
SETTLE_SECONDS = 5  # start-up's own work (first health check, checkpoint) is not idle
TARGET_CPU_PERCENT = 0.2
TARGET_WAKEUPS = 5.0
TARGET_RSS_MIB = 40.0
CONFIG = """[numbers]
office = ["+8613905710001"]
"""


def idle_run(seconds: float) -> dict:
    roster = plain_roster(GROUPS, SIZE)
    with tempfile.TemporaryDirectory(prefix="edgebox-bench-idle-") as tmp, \
            EmulatorServer(link=str(Path(tmp) / "modem"),
                           latency=Latency.realistic(scale=0.02)) as emulator, \
            box_process([emulator], roster, CONFIG) as box:
        time.sleep(SETTLE_SECONDS)
        before, switches = box.usage(), thread_switches(box.process.pid)
        time.sleep(seconds)
        after, switched = box.usage(), thread_switches(box.process.pid)
        elapsed = after.at - before.at
        threads = wakeups_per_second(switches, switched, elapsed)
        return {"households": len(roster.households), "seconds": round(elapsed, 1),
                "cpu_percent": round(after.cpu_percent_since(before), 3),
                "wakeups_per_second": round(sum(t["per_second"] for t in threads), 2),
                "rss_mib": round(after.rss_kib / 1024, 1),
                "threads": threads}


def per_call_microseconds(lookup, roster, rounds: int) -> float:
    ids = [h.id for h in roster.households]
    start = time.perf_counter()
    for _ in range(rounds):
        for household_id in ids:
            lookup(household_id)
    return 1e6 * (time.perf_counter() - start) / (rounds * len(ids))


def groups_of_figures(quick: bool) -> list[dict]:
    rows = []
    for groups, size in ((30, 10), (GROUPS, SIZE)):
        roster = plain_roster(groups, size)

        def scan(household_id, groups=roster.groups):  # what groups_of did before the index
            return [g for g in groups if household_id in g.member_ids]
        rounds = max(1, (20 if quick else 200) * 300 // len(roster.households))
        rows.append({"households": len(roster.households),
                     "index_us": round(per_call_microseconds(roster.groups_of, roster,
                                                             rounds), 3),
                     "scan_us": round(per_call_microseconds(scan, roster,
                                                            max(1, rounds // 20)), 3)})
    return rows


def run(quick: bool = False) -> dict:
    idle = idle_run(10 if quick else 60)
    return {"name": "idle", "idle": idle, "groups_of": groups_of_figures(quick),
            "targets": {"cpu_percent": TARGET_CPU_PERCENT, "wakeups_per_second": TARGET_WAKEUPS,
                        "rss_mib": TARGET_RSS_MIB},
            "met": {"cpu_percent": idle["cpu_percent"] <= TARGET_CPU_PERCENT,
                    "wakeups_per_second": idle["wakeups_per_second"] <= TARGET_WAKEUPS,
                    "rss_mib": idle["rss_mib"] <= TARGET_RSS_MIB}}


def table(result: dict) -> list[str]:
    idle, met = result["idle"], result["met"]
    yes = {True: "yes", False: "NO"}

    def row(label: str, value: str, target: float, key: str) -> str:
        return f"  {label:<26}{value:>10}   <= {target:>5.1f}   {yes[met[key]]}"
    lines = [f"idle: the daemon with {idle['households']} households on one modem, nothing"
             f" happening for {idle['seconds']:.0f} s",
             "  figure                      measured     target   met",
             row("CPU % of one core", f"{idle['cpu_percent']:.3f}", TARGET_CPU_PERCENT,
                 "cpu_percent"),
             row("wake-ups per second", f"{idle['wakeups_per_second']:.2f}", TARGET_WAKEUPS,
                 "wakeups_per_second"),
             row("RSS MiB", f"{idle['rss_mib']:.1f}", TARGET_RSS_MIB, "rss_mib"),
             "  per thread                  wake-ups/s   CPU %"]
    for t in idle["threads"]:
        name = f"{t['name']} ({t['thread']})"
        lines.append(f"    {name:<26}{t['per_second']:>10.2f}   {t['cpu_percent']:>5.3f}")
    lines.append("  Roster.groups_of per call   households   index us   scan of every group us")
    for r in result["groups_of"]:
        lines.append(f"  {'':<26}{r['households']:>12}   {r['index_us']:>8.3f}"
                     f"   {r['scan_us']:>22.3f}")
    return lines
