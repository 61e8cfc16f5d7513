"""One alarm's fan-out in a 15-household group on one modem, against the modem-bound limit.

The emulated network is the realistic one, made faster so a run takes seconds (50 and 10
times, side by side: edgebox's own time per delivery is fixed, so the faster the network is
made, the more it weighs in the ratio; the table also gives the ratio at the real network's
speed, extrapolated from the measured own time per delivery): 3 s per SMS
submit, 6 s to set up a call, 25 s of ringing before the network gives up (nobody answers: the
worst case, every member is rung for the full time), delivery reports 5 s after each submit.
The daemon runs as its own process. From the +CLIP of the alarm, two moments are timed on the
emulator's clock: every member texted (the last alarm SMS submitted) and every member rung (the
last ring call over). Each is divided by the modem-bound limit: the sum of the waits the
emulator itself recorded for the SMS submits and calls the modem carried until then (the time
a box with no overhead of its own would need). The difference is edgebox's own time: claiming
and recording each delivery, encoding, and the AT exchanges around each network wait.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from edgebox.emulator import EmulatorServer, Latency

from bench.harness import box_process, cancel_and_settle, plain_roster, quantile

SCALES = (50, 10)  # how many times faster than the real network; quick runs only the first
REAL = {"sms_submit": 3.0, "call_setup": 6.0, "ring_timeout": 25.0, "delivery_report": 5.0}
HOUSEHOLDS = 15
CALLERS = ("G01H08", "G01H11", "G01H05")  # one alarm each (the full run); never the leader
CONFIG = """[alarm]
ring_seconds = 5
merge_seconds = 0
[siren]
on_seconds = 0
"""


def one_alarm(box, emulator, roster, caller_id: str, scale: int) -> dict:
    caller = roster.household(caller_id)
    members = {h.primary_phone for h in roster.households if h.id != caller_id}
    start = len(emulator.log())
    call_id = emulator.call(caller.primary_phone, rings=3, ring_interval=1.0)

    def rung(entries):
        return sum(e["kind"] == "call_placed" for e in entries[start:]) == len(members)
    entries = emulator.wait_for(rung, 120)[start:]
    t0 = next(e["clock"] for e in entries if e["kind"] == "clip_emitted" and e["call"] == call_id)
    sms = [e for e in entries if e["kind"] == "sms_sent"]
    calls = [e for e in entries if e["kind"] == "call_placed"]
    alarm_sms = [e for e in sms if e["number"] in members]
    texted_at = max(e["clock"] for e in alarm_sms)
    rung_at = max(e["clock"] for e in calls)
    if (sorted(e["number"] for e in alarm_sms) != sorted(members)
            or sorted(e["number"] for e in calls) != sorted(members)
            or any(e["kind"] == "sms_failed" for e in entries)):
        seen = [(e["kind"], e.get("number"), e.get("outcome")) for e in entries
                if e["kind"] in ("sms_sent", "sms_failed", "call_placed")]
        raise RuntimeError(f"the fan-out did not text and ring every member exactly once: {seen}")
    # Where edgebox's own time goes while texting: before the first submit, and between one
    # submit's answer and the next AT+CMGS (recording one SMS, claiming the next).
    typed = [e["clock"] for e in entries if e["kind"] == "cmgs_command"]
    gaps = [next(c for c in typed if c > e["clock"]) - e["clock"]
            for e in sms if e["clock"] < texted_at]
    bound_texted = sum(e["submit_seconds"] for e in sms if e["clock"] <= texted_at)
    bound_rung = (sum(e["submit_seconds"] for e in sms if e["clock"] <= rung_at)
                  + sum(e["duration"] for e in calls))
    cancel_and_settle(box, emulator, caller.primary_phone)  # idle before the next alarm
    texted, rung_s = texted_at - t0, rung_at - t0
    return {"caller": caller_id, "sms": len(alarm_sms), "calls": len(calls), "scale": scale,
            "texted_seconds": round(texted, 4), "texted_bound_seconds": round(bound_texted, 4),
            "texted_ratio": round(texted / bound_texted, 4),
            "rung_seconds": round(rung_s, 4), "rung_bound_seconds": round(bound_rung, 4),
            "rung_ratio": round(rung_s / bound_rung, 4),
            # The same own time on a network running at its real speed.
            "texted_ratio_real": round(1 + (texted - bound_texted) / (bound_texted * scale), 4),
            "rung_ratio_real": round(1 + (rung_s - bound_rung) / (bound_rung * scale), 4),
            "first_cmgs_ms": round(1000 * (typed[0] - t0), 2),
            "between_sms_ms_median": round(1000 * quantile(gaps, 0.5), 2),
            "overhead_ms_per_delivery": round(1000 * (rung_s - bound_rung)
                                              / (len(sms) + len(calls)), 2)}


def run(quick: bool = False) -> dict:
    roster = plain_roster(1, HOUSEHOLDS)
    runs = []
    for scale in SCALES[:1] if quick else SCALES:
        # Without jitter: the modem-bound limit below is exact.
        latency = Latency.realistic(scale=1 / scale, jitter=False, **REAL)
        # The slower network takes five times as long: fewer alarms there.
        callers = CALLERS[:1] if quick else CALLERS[:3 if scale >= 50 else 2]
        with tempfile.TemporaryDirectory(prefix="edgebox-bench-fanout-") as tmp, \
                EmulatorServer(link=str(Path(tmp) / "modem"), latency=latency,
                               trace=True) as emulator, \
                box_process([emulator], roster, CONFIG) as box:
            runs += [one_alarm(box, emulator, roster, caller, scale) for caller in callers]
    return {"name": "fanout", "scales": list(SCALES), "real_latency": REAL,
            "households": HOUSEHOLDS, "runs": runs}


def table(result: dict) -> list[str]:
    real = result["real_latency"]
    lines = [f"fanout: one alarm in a {result['households']}-household group, 1 modem; network"
             f" {real['sms_submit']:g} s/SMS, {real['call_setup']:g} s call setup,"
             f" {real['ring_timeout']:g} s ringing, made faster by the scale",
             "  scale  SMS  calls   texted s   bound s   ratio  at 1x     rung s   bound s"
             "   ratio  at 1x   own ms/delivery   first CMGS ms   between SMS ms"]
    for r in result["runs"]:
        lines.append(f"  /{r['scale']:<4}  {r['sms']:>3}  {r['calls']:>5}"
                     f"   {r['texted_seconds']:>8.3f}  {r['texted_bound_seconds']:>8.3f}"
                     f"  {r['texted_ratio']:>6.3f}  {r['texted_ratio_real']:>5.3f}"
                     f"   {r['rung_seconds']:>8.3f}  {r['rung_bound_seconds']:>8.3f}"
                     f"  {r['rung_ratio']:>6.3f}  {r['rung_ratio_real']:>5.3f}"
                     f"   {r['overhead_ms_per_delivery']:>15.2f}"
                     f"   {r['first_cmgs_ms']:>13.2f}   {r['between_sms_ms_median']:>14.2f}")
    lines.append("  ratio: time / modem-bound limit at that scale; at 1x: the same own time "
                 "against the real network's waits")
    return lines
