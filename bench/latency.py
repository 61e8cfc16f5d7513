"""edgebox's own alarm latency: from the modem showing the caller id (+CLIP) to edgebox typing
the first AT+CMGS of the alarm. The emulated network has real networks' shape (jittered
submits, call setup, RING cadence, delivery reports) fifty times faster; the time measured is
edgebox's own, as no network wait lies between the two.

The daemon runs as its own process (as systemd runs it) on one emulated modem; the emulator
traces when each +CLIP goes out to the daemon and when each AT+CMGS comes in, on one clock. In
between lies everything edgebox does for an alarm: read the caller id, look the household up,
commit the incident, reject the call (ATH and its OK), plan and commit the fan-out, wake the
modem worker, claim the first SMS and encode it.

Alarms come one at a time from the households of the demo village in turn; after each, the
caller cancels it by SMS and the box sends its all-clear, and the next alarm waits until the
box is idle again (all-clear sent, every delivery report recorded).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from edgebox.demo.village import build_village
from edgebox.emulator import EmulatorServer, Latency

from bench.harness import box_process, cancel_and_settle, quantile, wait_until

ALARMS = 200
QUICK_ALARMS = 20
CONFIG = """[alarm]
ring_members = false
merge_seconds = 0
[siren]
on_seconds = 0
"""


def run(quick: bool = False) -> dict:
    alarms = QUICK_ALARMS if quick else ALARMS
    roster = build_village()
    callers = [h.primary_phone for h in roster.households]
    with tempfile.TemporaryDirectory(prefix="edgebox-bench-latency-") as tmp, \
            EmulatorServer(link=str(Path(tmp) / "modem"),
                           latency=Latency.realistic(scale=0.02),
                           trace=True) as emulator, \
            box_process([emulator], roster, CONFIG) as box:
        call_ids = []
        for n in range(alarms):
            caller = callers[n % len(callers)]  # never the same caller twice in a row
            opened = box.one("SELECT count(*) FROM incidents")
            call_ids.append(emulator.call(caller, rings=3, ring_interval=1.0))
            wait_until(lambda: box.one("SELECT count(*) FROM incidents WHERE planned = 1")
                       > opened and box.pending() == 0, 60)
            cancel_and_settle(box, emulator, caller)
        entries = emulator.log()
    seconds = []
    for call_id in call_ids:
        shown = next(e["clock"] for e in entries
                     if e["kind"] == "clip_emitted" and e["call"] == call_id)
        typed = next(e["clock"] for e in entries
                     if e["kind"] == "cmgs_command" and e["clock"] > shown)
        seconds.append(typed - shown)
    ms = [1000 * s for s in seconds]
    return {"name": "latency", "alarms": alarms, "households": len(callers),
            "median_ms": round(quantile(ms, 0.5), 2), "p99_ms": round(quantile(ms, 0.99), 2),
            "min_ms": round(min(ms), 2), "max_ms": round(max(ms), 2),
            "mean_ms": round(sum(ms) / len(ms), 2)}


def table(result: dict) -> list[str]:
    return [f"latency: +CLIP to the first AT+CMGS, {result['alarms']} alarms,"
            " network: real shape at 1/50",
            "  median ms    p99 ms    mean ms    min ms    max ms",
            f"  {result['median_ms']:>9.2f}  {result['p99_ms']:>8.2f}  {result['mean_ms']:>9.2f}"
            f"  {result['min_ms']:>8.2f}  {result['max_ms']:>8.2f}"]
