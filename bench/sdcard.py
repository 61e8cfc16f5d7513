"""What a Raspberry Pi's SD card and a year of history do to the alarm path.

An SD card takes 5-50 ms to flush where this machine's disk takes well under one: every
commit that waits for the disk on the alarm path costs that. The daemon runs with an
``LD_PRELOAD`` shim (bench/fsync_delay.c, compiled here with the machine's cc into
bench/build/) that adds 10 or 20 ms to every fsync and fdatasync it makes, after the real one.
A box also keeps a year of SMS: the history runs fill the database with 300k old SMS (their
alarms, parts and events; bench/history.py) before the daemon starts.

The network has real networks' shape made 50 times faster, as in the latency benchmark.
Side by side in one run: +CLIP to the first AT+CMGS (as in the latency benchmark) and the
daemon's CPU per SMS sent, on a fast disk, at 10 and 20 ms per flush, with an empty database
and with the history; then retention on the history (everything older than 30 days, the
hub having it all), each chunk's hold of the write lock, measured through the store's commit
observer. Targets (from the project's issue): at most one flush + 5 ms median and 50 ms p99
for an alarm; 20 ms median and 50 ms p99 with 300k SMS of history; a retention chunk 50 ms.
"One flush" is read off the shim's log, alarm by alarm: the card's time on the longest flush
inside the alarm's window (the real flush and the shim's delay, from when the card began
serving it), so what is left, edgebox's own time, is what the 5 ms bound is about.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from edgebox.demo.village import build_village
from edgebox.emulator import EmulatorServer, Latency
from edgebox.store import SqliteStore
from edgebox.uplink import retention

from bench.harness import box_process, quantile
from bench.history import fill_history
from bench.latency import CONFIG, figures, time_alarms

SHIM_SOURCE = Path(__file__).parent / "fsync_delay.c"
BUILD = Path(__file__).parent / "build"
HISTORY_SMS, QUICK_HISTORY_SMS = 300_000, 10_000
ALARMS, QUICK_ALARMS = 50, 3
TARGET_P99_MS, TARGET_HISTORY_MEDIAN_MS, TARGET_CHUNK_MS = 50.0, 20.0, 50.0
OWN_MS = 5.0  # what the alarm path may add to its one flush


def build_shim() -> tuple[Path | None, str]:
    """The shim's shared library, built when missing or older than its source; (None, why)
    when there is no compiler."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None, "no C compiler (cc): the fsync-delay runs are skipped"
    library = BUILD / "fsync_delay.so"
    if not library.exists() or library.stat().st_mtime < SHIM_SOURCE.stat().st_mtime:
        BUILD.mkdir(exist_ok=True)
        done = subprocess.run([compiler, "-shared", "-fPIC", "-O2", "-o", str(library),
                               str(SHIM_SOURCE), "-ldl", "-lpthread"],
                              capture_output=True, text=True)
        if done.returncode != 0:
            return None, f"{compiler} could not build the fsync shim: {done.stderr.strip()}"
    return library, ""


def one_run(label: str, delay_ms: float, history: int, alarms: int, shim: Path | None) -> dict:
    roster = build_village()
    now = datetime.now(timezone.utc)
    rows: dict = {}
    with tempfile.TemporaryDirectory(prefix="edgebox-bench-sdcard-") as tmp, \
            EmulatorServer(link=str(Path(tmp) / "modem"), latency=Latency.realistic(scale=0.02),
                           trace=True) as emulator, \
            box_process([emulator], roster, CONFIG, env=shim_env(shim, delay_ms, tmp),
                        prepare=lambda db: rows.update(
                fill_history(db, history, now) if history else {})) as box:
        sent_before = box.count_events("sms_sent")
        before = box.usage()
        windows = time_alarms(box, emulator, [h.primary_phone for h in roster.households],
                              alarms)
        after = box.usage()
        sent = box.count_events("sms_sent") - sent_before
        ms = [1000 * (typed - shown) for shown, typed in windows]
        flushes = read_flushes(Path(tmp) / "fsync.log")
        result = {"label": label, "fsync_delay_ms": delay_ms, "history_sms": history,
                  "alarms": alarms, **figures(ms),
                  "flushes_on_path": flushes_on_path(flushes, windows),
                  "cpu_ms_per_sms": round(1000 * (after.cpu_seconds - before.cpu_seconds)
                                          / max(sent, 1), 2)}
        if history and not delay_ms:
            result["target_median_ms"] = TARGET_HISTORY_MEDIAN_MS
            result["met"] = (result["median_ms"] <= TARGET_HISTORY_MEDIAN_MS
                             and result["p99_ms"] <= TARGET_P99_MS)
        else:
            # without the shim's log, the fast disk's flush is taken as free
            result.update(beside_one_flush(flushes, windows) if flushes else
                          {"one_flush_ms": 0.0, "own_median_ms": result["median_ms"]})
            result["target_median_ms"] = result["one_flush_ms"] + OWN_MS
            result["met"] = (result["own_median_ms"] <= OWN_MS
                             and result["p99_ms"] <= TARGET_P99_MS)
        if history and not delay_ms and hasattr(SqliteStore, "observe_commits"):
            # (an edgebox from before the commit observer, measured for comparison, has none)
            result["retention"] = prune_history(box.db, now)
    return result


def shim_env(shim: Path | None, delay_ms: float, work: str) -> dict:
    """The daemon's environment: the shim (when built) logging every flush, slowed or not."""
    if shim is None:
        return {}
    return {"LD_PRELOAD": str(shim), "EDGEBOX_FSYNC_DELAY_MS": str(delay_ms),
            "EDGEBOX_FSYNC_LOG": str(Path(work) / "fsync.log")}


Flush = tuple[float, float, float]  # the call, its return, when the card began serving it


def read_flushes(log: Path) -> list[Flush]:
    """Every flush the shim logged (none without the shim); a line cut short is left out."""
    if not log.exists():
        return []
    return [tuple(map(float, line.split())) for line in log.read_text().splitlines()
            if line.count(" ") == 2]


def flushes_on_path(flushes: list[Flush], windows: list[tuple[float, float]]) -> dict | None:
    """How many flushes each alarm waited for between its +CLIP and its first AT+CMGS (any
    flush of the daemon's overlapping that time): median and most; None without the shim."""
    if not flushes:
        return None
    counts = sorted(sum(start < typed and end > shown for start, end, _ in flushes)
                    for shown, typed in windows)
    return {"median": counts[len(counts) // 2], "max": counts[-1]}


def beside_one_flush(flushes: list[Flush], windows: list[tuple[float, float]]) -> dict:
    """The target "one flush + 5 ms" read off each alarm: the card's time on its longest
    flush inside the window (from when the card began serving it to its return, so a wait
    behind another flush is not subtracted), and what the alarm took besides that one flush.
    Medians: the flush as this machine's disk and the shim made it (the real flush plus the
    card's delay), and edgebox's own time against OWN_MS."""
    one, own = [], []
    for shown, typed in windows:
        served = max((min(end, typed) - max(began, shown) for _, end, began in flushes
                      if began < typed and end > shown), default=0.0)
        one.append(1000 * served)
        own.append(1000 * (typed - shown - served))
    return {"one_flush_ms": round(quantile(one, 0.5), 2),
            "own_median_ms": round(quantile(own, 0.5), 2),
            "own_p99_ms": round(quantile(own, 0.99), 2)}


def prune_history(db: Path, now: datetime) -> dict:
    """Retention of everything older than 30 days (all of it at the hub), run beside the idle
    daemon as its uploader would run it; each chunk's hold of the write lock."""
    store = SqliteStore(db, idle_checkpoints=True)
    held: list[float] = []
    store.observe_commits(lambda durable, seconds: held.append(1000 * seconds))
    try:
        pruned = retention.prune(store, 10 ** 12, now, [], 7, 30)
    finally:
        store.close()
    return {"rows": sum(pruned.values()), "chunks": len(held),
            "median_ms": round(quantile(held, 0.5), 2), "p99_ms": round(quantile(held, 0.99), 2),
            "max_ms": round(max(held), 2),
            "met": quantile(held, 0.99) <= TARGET_CHUNK_MS}


def run(quick: bool = False) -> dict:
    alarms = QUICK_ALARMS if quick else ALARMS
    history = QUICK_HISTORY_SMS if quick else HISTORY_SMS
    shim, skipped = build_shim()
    plan = [("fast disk", 0, 0), ("10 ms fsync", 10, 0), ("20 ms fsync", 20, 0),
            (f"{history // 1000}k SMS history", 0, history),
            (f"{history // 1000}k SMS, 20 ms fsync", 20, history)]
    runs = [one_run(label, delay, sms, alarms, shim) for label, delay, sms in plan
            if shim is not None or not delay]
    return {"name": "sdcard", "alarms": alarms, "history_sms": history, "runs": runs,
            **({"skipped": skipped} if skipped else {})}


def table(result: dict) -> list[str]:
    lines = [f"sdcard: +CLIP to the first AT+CMGS, {result['alarms']} alarms per row,"
             " the network's shape at 1/50; flushes slowed by an LD_PRELOAD shim",
             "  one flush: the card's time on the alarm's longest flush (the real one and the"
             " shim's delay); own: the rest, median",
             "  run                        median ms   p99 ms   max ms   one flush   own ms"
             "   flushes (median/max)   CPU ms/SMS   target (median / p99)   met"]
    for r in result["runs"]:
        flushes = r["flushes_on_path"]
        flushes = f"{flushes['median']} / {flushes['max']}" if flushes else "-"
        one = f"{r['one_flush_ms']:.2f}" if "one_flush_ms" in r else "-"
        own = f"{r['own_median_ms']:.2f}" if "own_median_ms" in r else "-"
        lines.append(f"  {r['label']:<26} {r['median_ms']:>9.2f} {r['p99_ms']:>8.2f}"
                     f" {r['max_ms']:>8.2f} {one:>11} {own:>8} {flushes:>22}"
                     f" {r['cpu_ms_per_sms']:>12.2f}"
                     f"   <= {r['target_median_ms']:>5.1f} / {TARGET_P99_MS:.0f} ms"
                     f"       {'yes' if r['met'] else 'NO'}")
    if result.get("skipped"):
        lines.append(f"  skipped: {result['skipped']}")
    for r in result["runs"]:
        if "retention" in r:
            p = r["retention"]
            lines.append(f"  retention on {r['label']}: {p['rows']} rows in {p['chunks']}"
                         f" chunks, write lock held {p['median_ms']:.2f} ms median,"
                         f" {p['p99_ms']:.2f} ms p99, {p['max_ms']:.2f} ms max"
                         f" (target <= {TARGET_CHUNK_MS:.0f} ms: "
                         f"{'met' if p['met'] else 'NOT met'})")
    return lines
