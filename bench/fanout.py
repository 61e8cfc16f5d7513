"""One alarm's fan-out in a 15-household group on 1, 2 and 4 modems, against the modem-bound
limits: when the first neighbour's phone rings, when the last SMS is out, when the last
neighbour's phone rings.

The emulated network is the realistic one, without jitter so the limits are exact: 3 s per
SMS submit, 6 s to set up a call, 25 s of ringing before the network gives up (nobody answers:
the worst case, every member is rung for the full time; one ring holds its modem 31 s),
delivery reports 5 s after each submit. It runs 50 and 10 times faster, side by side (the box's
own time per delivery is not made faster, so the faster the network is made, the more it
weighs); every figure is given in network seconds (emulator seconds times the scale), and "at
1x" puts the same own time against the network's waits at their real speed. The daemon runs as
its own process; the box is told ``ring_seconds = 31``, what its ring plan reckons a ring
takes (the network gives up first).

From the +CLIP of the alarm:
- first ring: the first member's phone starts ringing; its limit is what the network kept that
  modem waiting for until then (one submit and a set-up on one modem: the plan texts that
  member first; a set-up on more). Target: 10 s on one modem.
- last SMS: every member's alarm SMS and the caller's confirmation submitted. Bound: the
  modems doing nothing but submits, ceil(SMS / modems) x 3 s. Target: 1.01 x bound plus one ring.
- last ring: the last member's phone starts ringing. Bound: ceil(members / modems) rings of
  31 s. Target: 1.05 x bound.
"""
from __future__ import annotations

import math
import tempfile
from pathlib import Path

from edgebox.emulator import EmulatorServer, Latency

from bench.harness import box_process, cancel_and_settle, plain_roster, wait_until

SCALES = (50, 10)  # how many times faster than the real network; quick runs only the first
MODEMS = (1, 2, 4)
REAL = {"sms_submit": 3.0, "call_setup": 6.0, "ring_timeout": 25.0, "delivery_report": 5.0}
RING = REAL["call_setup"] + REAL["ring_timeout"]  # an unanswered ring holds its modem this long
HOUSEHOLDS = 15
CALLERS = ("G01H08", "G01H11", "G01H05")  # one alarm each (the full run); never the leader
TARGET = {"first_ring": 10.0, "last_sms": 1.01, "last_ring": 1.05}
CONFIG = f"""[alarm]
ring_seconds = {RING:g}
merge_seconds = 0
[siren]
on_seconds = 0
"""


def one_alarm(box, emulators, roster, caller_id: str, scale: int) -> dict:
    caller = roster.household(caller_id)
    members = {h.primary_phone for h in roster.households if h.id != caller_id}
    start = [len(e.log()) for e in emulators]
    call_id = emulators[0].call(caller.primary_phone, rings=3, ring_interval=1.0)

    def log():  # (modem, entry) of this alarm, every modem's
        return [(m, e) for m, emu in enumerate(emulators) for e in emu.log()[start[m]:]]
    wait_until(lambda: sum(e["kind"] == "call_placed" for _, e in log()) == len(members),
               30 + 3 * len(members) * RING / scale)
    entries = log()
    t0 = next(e["clock"] for _, e in entries
              if e["kind"] == "clip_emitted" and e["call"] == call_id)
    sms = [(m, e) for m, e in entries if e["kind"] == "sms_sent"]
    calls = [(m, e) for m, e in entries if e["kind"] == "call_placed"]
    if (sorted(e["number"] for _, e in sms) != sorted([*members, caller.primary_phone])
            or sorted(e["number"] for _, e in calls) != sorted(members)
            or any(e["kind"] == "sms_failed" for _, e in entries)):
        seen = [(e["kind"], e.get("number"), e.get("outcome")) for _, e in entries
                if e["kind"] in ("sms_sent", "sms_failed", "call_placed")]
        raise RuntimeError(f"the fan-out did not text and ring every member exactly once: {seen}")

    def waited(modem: int, until: float) -> tuple[float, float]:
        """What the network kept this modem waiting for up to ``until``: as the emulator
        recorded it (emulator seconds; on a loaded machine its timers run late too), and as
        the network's typical times say (network seconds: the modem-bound limit)."""
        texts = [e for m, e in sms if m == modem and e["clock"] <= until]
        rings = [e for m, e in calls if m == modem and e["clock"] <= until]
        return (sum(e["submit_seconds"] for e in texts) + sum(e["duration"] for e in rings),
                len(texts) * REAL["sms_submit"] + len(rings) * RING)

    def moment(at: float, modem: int, call: dict | None = None) -> dict:
        """A moment in network seconds; its limit (the network's waits on that modem until
        then, and the set-up of ``call`` when it is that call's phone starting to ring); the
        box's own time (the rest of the time, in ms); and at 1x: the limit plus that own
        time, as on a network at its real speed."""
        recorded, limit = waited(modem, at)
        if call is not None:
            recorded, limit = recorded + call["setup_seconds"], limit + REAL["call_setup"]
        own = at - t0 - recorded
        return {"seconds": round((at - t0) * scale, 3), "limit": round(limit, 3),
                "at_1x": round(limit + own, 3), "own_ms": round(1000 * own, 2)}
    # When each member's phone starts ringing (the emulator logs a call when it ends).
    ringing = sorted(((e["clock"] - e["duration"] + e["setup_seconds"], m, e)
                      for m, e in calls), key=lambda r: r[0])
    sms_at, sms_modem = max((e["clock"], m) for m, e in sms)
    modems = len(emulators)
    cancel_and_settle(box, emulators[0], caller.primary_phone, *emulators[1:])
    return {
        "caller": caller_id, "modems": modems, "scale": scale, "sms": len(sms),
        "calls": len(calls),
        "per_modem": [[sum(m == n for m, _ in sms), sum(m == n for m, _ in calls)]
                      for n in range(modems)],
        "first_ring": moment(*ringing[0]),
        "last_sms": moment(sms_at, sms_modem),
        "last_ring": moment(*ringing[-1]),
        "all_rung_seconds": round(max(e["clock"] - t0 for _, e in calls) * scale, 3),
        "sms_bound": math.ceil(len(sms) / modems) * REAL["sms_submit"],
        "ring_bound": math.ceil(len(calls) / modems) * RING,
    }


def run(quick: bool = False) -> dict:
    roster = plain_roster(1, HOUSEHOLDS)
    runs = []
    for scale in SCALES[:1] if quick else SCALES:
        # Without jitter: the modem-bound limits are exact.
        latency = Latency.realistic(scale=1 / scale, jitter=False, **REAL)
        # The slower network takes five times as long: fewer alarms there.
        callers = CALLERS[:1] if quick else CALLERS[:3 if scale >= 50 else 1]
        for count in MODEMS:
            with tempfile.TemporaryDirectory(prefix="edgebox-bench-fanout-") as tmp:
                emulators = [EmulatorServer(link=str(Path(tmp) / f"modem{n}"), latency=latency,
                                            trace=True).start() for n in range(count)]
                try:
                    with box_process(emulators, roster, CONFIG) as box:
                        runs += [one_alarm(box, emulators, roster, c, scale) for c in callers]
                finally:
                    for emulator in emulators:
                        emulator.stop()
    for r in runs:
        r["targets_met_at_1x"] = met(r)
    return {"name": "fanout", "scales": list(SCALES), "modems": list(MODEMS),
            "real_latency": REAL, "ring_seconds": RING, "households": HOUSEHOLDS,
            "targets": TARGET, "runs": runs}


def met(r: dict) -> dict:
    """The targets, at 1x (first ring: on one modem only)."""
    return {"first_ring": r["modems"] > 1
            or r["first_ring"]["at_1x"] <= TARGET["first_ring"],
            "last_sms": r["last_sms"]["at_1x"] <= TARGET["last_sms"] * r["sms_bound"] + RING,
            "last_ring": r["last_ring"]["at_1x"] <= TARGET["last_ring"] * r["ring_bound"]}


def table(result: dict) -> list[str]:
    real = result["real_latency"]
    lines = [f"fanout: one alarm in a {result['households']}-household group on 1, 2 and 4"
             f" modems; network {real['sms_submit']:g} s/SMS, {real['call_setup']:g} s call"
             f" setup, {real['ring_timeout']:g} s ringing (nobody answers), made faster by the"
             " scale; network seconds from the +CLIP",
             "  modems scale   first ring   limit   at 1x  |  last SMS   bound  target   at 1x"
             "  |  last ring   bound  target   at 1x  |  all rung   SMS/rings per modem   met"]
    for r in result["runs"]:
        first, sms, ring = r["first_ring"], r["last_sms"], r["last_ring"]
        ok = "".join("y" if v else "n" for v in r["targets_met_at_1x"].values())
        lines.append(
            f"  {r['modems']:>6} /{r['scale']:<4}  {first['seconds']:>9.2f} {first['limit']:>7.2f}"
            f" {first['at_1x']:>7.2f}  | {sms['seconds']:>9.2f} {r['sms_bound']:>7.1f}"
            f" {TARGET['last_sms'] * r['sms_bound'] + RING:>7.2f} {sms['at_1x']:>7.2f}"
            f"  | {ring['seconds']:>10.2f} {r['ring_bound']:>7.1f}"
            f" {TARGET['last_ring'] * r['ring_bound']:>7.2f} {ring['at_1x']:>7.2f}"
            f"  | {r['all_rung_seconds']:>9.2f}   "
            f"{' '.join(f'{s}/{c}' for s, c in r['per_modem']):<21} {ok}")
    lines.append("  first ring: limit = the waits of the modem that rang (target 10 s on one"
                 " modem); last SMS: target 1.01 x bound + one ring (31 s); last ring: the last phone"
                 " starts ringing, target 1.05 x bound; at 1x: the network's waits at real speed"
                 " plus the box's own time; met: first ring, last SMS, last ring at 1x")
    return lines
