"""What the daemon costs the box: start-up time, and memory and CPU idle and in a broadcast.

The daemon runs as its own process with a village of 300 households (20 groups of 15) on one
emulated modem, and with NOTIFY_SOCKET set as systemd sets it for a Type=notify unit:
- ready: from starting the process to READY=1 on the notify socket (the alarm loops run) and
  to the modem_ready event (the modem answered and was set up, the time it logs);
- idle: CPU (all threads, user + system, from /proc), memory, and each thread's wake-ups per
  second (its context switches, /proc/<pid>/task/*/status) while nothing happens for a minute
  after start-up;
- broadcast: the same during a village-wide broadcast of 300 SMS (asked for by SMS from the
  office, 0.03 s per submit as in the broadcast benchmark), until the last one is submitted.
"""
from __future__ import annotations

import socket
import tempfile
import time
from datetime import datetime
from pathlib import Path

from edgebox.emulator import EmulatorServer, Latency

from bench.harness import (box_process, plain_roster, thread_switches, wait_until,
                           wakeups_per_second)

OFFICE = "+8613905710001"
GROUPS, SIZE = 20, 15
SUBMIT_SECONDS = 0.03
CONFIG = f"""[numbers]
office = ["{OFFICE}"]
[siren]
on_seconds = 0
"""


def one_start(work: Path, idle_seconds: float, broadcast: bool) -> dict:
    roster = plain_roster(GROUPS, SIZE)
    notify_path = work / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify, \
            EmulatorServer(link=str(work / "modem"), latency=Latency.realistic(
                scale=0.01, sms_submit=SUBMIT_SECONDS / 0.01, jitter=False)) as emulator:
        notify.bind(str(notify_path))
        notify.settimeout(60)
        with box_process([emulator], roster, CONFIG, env={"NOTIFY_SOCKET": str(notify_path)},
                         wait_ready=False) as box:
            while b"READY=1" not in notify.recv(4096):
                pass
            ready = time.monotonic() - box.spawned
            wait_until(lambda: box.process.poll() is None
                       and box.count_events("modem_health") >= 1, 60)
            at = box.one("SELECT at FROM events WHERE kind = 'modem_ready' ORDER BY seq LIMIT 1")
            modem_ready = datetime.fromisoformat(at).timestamp() - box.spawned_wall
            result = {"ready_seconds": round(ready, 3),
                      "modem_ready_seconds": round(modem_ready, 3)}
            if not broadcast:
                return result
            before, switches = box.usage(), thread_switches(box.process.pid)
            time.sleep(idle_seconds)
            idle, switched = box.usage(), thread_switches(box.process.pid)
            threads = wakeups_per_second(switches, switched, idle.at - before.at)
            result["idle"] = {"seconds": round(idle.at - before.at, 1),
                              "cpu_percent": round(idle.cpu_percent_since(before), 2),
                              "rss_mib": round(idle.rss_kib / 1024, 1),
                              "wakeups_per_second": round(sum(t["per_second"]
                                                              for t in threads), 1),
                              "threads": threads}
            emulator.sms(OFFICE, "广播 全村 今晚8点全村消防演练，请各户派一人到村委会集合")
            start = box.usage()
            wanted = GROUPS * SIZE
            wait_until(lambda: box.one("SELECT count(*) FROM deliveries WHERE purpose ="
                                       " 'broadcast' AND state = 'sent'") == wanted, 600)
            end = box.usage()
            sent = sum(e["kind"] == "sms_sent" for e in emulator.log())
            result["broadcast"] = {
                "messages": wanted, "sms_sent": sent, "seconds": round(end.at - start.at, 2),
                "cpu_percent": round(end.cpu_percent_since(start), 1),
                "cpu_ms_per_sms": round(1000 * (end.cpu_seconds - start.cpu_seconds) / wanted, 2),
                "rss_mib": round(end.rss_kib / 1024, 1),
                "peak_rss_mib": round(end.peak_rss_kib / 1024, 1)}
            return result


def run(quick: bool = False) -> dict:
    idle_seconds = 10 if quick else 60
    starts = 1 if quick else 3
    with tempfile.TemporaryDirectory(prefix="edgebox-bench-footprint-") as tmp:
        runs = []
        for n in range(starts):
            work = Path(tmp) / f"start{n}"
            work.mkdir()
            # The last start also idles and broadcasts; the others only time the start-up.
            runs.append(one_start(work, idle_seconds, broadcast=n == starts - 1))
    ready = sorted(r["ready_seconds"] for r in runs)
    modem_ready = sorted(r["modem_ready_seconds"] for r in runs)
    return {"name": "footprint", "households": GROUPS * SIZE, "starts": starts,
            "ready_seconds": ready[len(ready) // 2],
            "modem_ready_seconds": modem_ready[len(modem_ready) // 2],
            "idle": runs[-1]["idle"], "broadcast": runs[-1]["broadcast"], "runs": runs}


def table(result: dict) -> list[str]:
    idle, cast = result["idle"], result["broadcast"]
    return [f"footprint: the daemon with {result['households']} households on one modem"
            f" (median of {result['starts']} start(s))",
            f"  start to READY=1 {result['ready_seconds']:.2f} s,"
            f" to modem_ready {result['modem_ready_seconds']:.2f} s",
            "  phase                  seconds   CPU %   CPU ms/SMS   RSS MiB   peak RSS MiB",
            f"  idle                   {idle['seconds']:>7.0f}   {idle['cpu_percent']:>5.2f}"
            f"            -   {idle['rss_mib']:>7.1f}              -",
            f"  broadcast of {cast['messages']} SMS   {cast['seconds']:>7.1f}"
            f"   {cast['cpu_percent']:>5.1f}   {cast['cpu_ms_per_sms']:>10.2f}"
            f"   {cast['rss_mib']:>7.1f}   {cast['peak_rss_mib']:>12.1f}",
            f"  idle wake-ups per second: {idle['wakeups_per_second']:.1f} in all,"
            f" per thread (busiest first): " + ", ".join(
                f"{t['name']} ({t['thread']}) {t['per_second']:.1f}" for t in idle["threads"] if
                t["per_second"] > 0) + f"; {sum(t['per_second'] == 0 for t in idle['threads'])}"
            " threads never woke"]
