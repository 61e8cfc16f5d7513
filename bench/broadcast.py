"""A village-wide broadcast of 300 SMS on 1, 2 and 4 modems: time and speed-up.

The emulator's latency model charges every SMS submit `SUBMIT_SECONDS` (a real network takes
2.5-3 s; scaled down 100x so the run is short). The 300 messages are planned into the outbox at
once, as a broadcast is, and the clock stops when the last one has been submitted.
"""
from __future__ import annotations

import time

from edgebox.domain.alarm import PlannedDelivery
from edgebox.emulator import Latency

from bench.harness import running_box, wait_until

SUBMIT_SECONDS = 0.03
# Real networks' shape a hundred times faster, without jitter: throughput against a known bound.
LATENCY = dict(scale=0.01, sms_submit=SUBMIT_SECONDS / 0.01, jitter=False)
MESSAGES = 300


def one_run(modems: int, messages: int = MESSAGES) -> dict:
    with running_box(modems, Latency.realistic(**LATENCY)) as (daemon, emulators):
        phones = [p for h in daemon.roster.households for p in h.phones]
        plan = [PlannedDelivery("sms", phones[i % len(phones)], None, "broadcast",
                                f"【联防】村委通知：今晚8点全村消防演练 ({i})", 40)
                for i in range(messages)]
        start = time.monotonic()
        daemon.store.outbox.add(daemon.clock(), None, plan)
        daemon._wake_workers()
        wait_until(lambda: daemon.store.summary().sms_sent == messages, 600)
        seconds = time.monotonic() - start
        per_modem = [sum(e["kind"] == "sms_sent" for e in emu.log()) for emu in emulators]
    return {"modems": modems, "messages": messages, "seconds": round(seconds, 3),
            "per_modem": per_modem,
            "modem_bound_seconds": round(messages * SUBMIT_SECONDS / modems, 3)}


def run(quick: bool = False) -> dict:
    messages = 60 if quick else MESSAGES
    runs = [one_run(n, messages) for n in (1, 2, 4)]
    base = runs[0]["seconds"]
    for r in runs:
        r["speedup_vs_1"] = round(base / r["seconds"], 2)
        r["ratio_to_modem_bound"] = round(r["seconds"] / r["modem_bound_seconds"], 3)
    return {"name": "broadcast", "submit_seconds": SUBMIT_SECONDS, "runs": runs}


def table(result: dict) -> list[str]:
    lines = [f"broadcast of {result['runs'][0]['messages']} SMS, "
             f"{result['submit_seconds']} s per submit (emulated)",
             "  modems   seconds   speed-up   vs modem-bound   SMS per modem"]
    for r in result["runs"]:
        lines.append(f"  {r['modems']:>6}   {r['seconds']:>7.2f}   {r['speedup_vs_1']:>7.2f}x"
                     f"   {r['ratio_to_modem_bound']:>13.3f}   {r['per_modem']}")
    return lines
