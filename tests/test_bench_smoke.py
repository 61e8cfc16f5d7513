"""The benchmarks still run and produce sane figures (how fast is not judged here: timing
belongs in the benchmark). The uplink benchmark's run is in test_hub_bench.py."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent

pytestmark = pytest.mark.slow


def bench(tmp_path, name: str) -> tuple[dict, str]:
    out = tmp_path / f"{name}.json"
    result = subprocess.run([sys.executable, "-m", "bench", name, "--quick", "--json",
                             str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(out.read_text())
    assert document["quick"] is True and document["machine"]["cpus"] >= 1
    (figures,) = document["benchmarks"]
    assert figures["name"] == name
    return figures, result.stdout


def test_broadcast_benchmark_runs_and_writes_its_figures(tmp_path):
    figures, table = bench(tmp_path, "broadcast")
    assert "speed-up" in table
    runs = figures["runs"]
    assert [r["modems"] for r in runs] == [1, 2, 4]
    assert all(sum(r["per_modem"]) == r["messages"] for r in runs)
    assert [len(r["per_modem"]) for r in runs] == [1, 2, 4]


def test_latency_benchmark_times_every_alarm(tmp_path):
    figures, table = bench(tmp_path, "latency")
    assert "+CLIP to the first AT+CMGS" in table
    assert figures["alarms"] == 20
    assert 0 < figures["min_ms"] <= figures["median_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert figures["min_ms"] <= figures["mean_ms"] <= figures["max_ms"]


def test_fanout_benchmark_times_first_ring_last_sms_and_last_ring_on_1_2_4_modems(tmp_path):
    figures, table = bench(tmp_path, "fanout")
    assert "first ring" in table and "last ring" in table and figures["scales"][0] == 50
    runs = figures["runs"]  # quick: the first scale only, one alarm per modem count
    assert [(r["modems"], r["scale"]) for r in runs] == [(1, 50), (2, 50), (4, 50)]
    for run in runs:
        assert run["sms"] == figures["households"] == 15  # 14 members and the confirmation
        assert run["calls"] == figures["households"] - 1 == 14
        assert [sum(c) for c in zip(*run["per_modem"])] == [run["sms"], run["calls"]]
        first, last_sms, last_ring = run["first_ring"], run["last_sms"], run["last_ring"]
        # The network's own waits are part of the measured time: no moment beats its limit.
        for moment in (first, last_sms, last_ring):
            assert 0 < moment["limit"] <= moment["at_1x"] <= moment["seconds"]
        assert first["seconds"] < last_ring["seconds"] < run["all_rung_seconds"]
        assert set(run["targets_met_at_1x"]) == {"first_ring", "last_sms", "last_ring"}
    one = runs[0]
    # One modem: the first member's SMS and ring come before the other texts.
    assert one["first_ring"]["limit"] == 3 + 6 and one["first_ring"]["seconds"] < \
        one["last_sms"]["seconds"]
    # More modems: the rings are spread over them all.
    assert all(c > 0 for _, c in runs[1]["per_modem"]) and len(runs[2]["per_modem"]) == 4


def test_tools_benchmark_sends_the_same_alarm_with_each_tool(tmp_path):
    figures, table = bench(tmp_path, "tools")
    assert "vs edgebox" in table
    summary = {entry["tool"]: entry for entry in figures["summary"]}
    assert list(summary) == ["edgebox", "smstools3", "gammu-smsd"]
    assert summary["edgebox"]["ratio_to_edgebox"] == 1.0
    for tool, entry in summary.items():
        if "skipped" in entry:  # the SMS daemons are installed by scripts/bench only
            assert tool != "edgebox" and "scripts/bench installs it" in entry["skipped"]
            continue
        assert entry["messages"] == 14 and entry["rounds"] == 1
        assert 0 < entry["modem_bound_seconds"] <= entry["median_seconds"]
        assert entry["ratio_to_edgebox"] > 0


def test_footprint_benchmark_measures_start_idle_and_broadcast(tmp_path):
    figures, table = bench(tmp_path, "footprint")
    assert "READY=1" in table
    assert 0 < figures["ready_seconds"] and 0 < figures["modem_ready_seconds"]
    idle, cast = figures["idle"], figures["broadcast"]
    assert idle["seconds"] >= 10 and idle["cpu_percent"] >= 0 and idle["rss_mib"] > 10
    # Every thread's wake-ups, from /proc: the event loop, the workers, the web server …
    assert len(idle["threads"]) >= 3 and "wake-ups per second" in table
    assert idle["wakeups_per_second"] == round(sum(t["per_second"] for t in idle["threads"]), 1)
    # 300 broadcast SMS, plus the confirmation to the office that asked for it.
    assert cast["messages"] == figures["households"] == 300 and cast["sms_sent"] == 301
    assert cast["cpu_percent"] > 0 and cast["cpu_ms_per_sms"] > 0
    assert 0 < cast["rss_mib"] <= cast["peak_rss_mib"]


def test_sdcard_benchmark_compares_disks_and_history_side_by_side(tmp_path):
    figures, table = bench(tmp_path, "sdcard")
    assert "+CLIP to the first AT+CMGS" in table and "retention on" in table
    runs = {run["label"]: run for run in figures["runs"]}
    history = f"{figures['history_sms'] // 1000}k SMS history"
    assert history in runs and "fast disk" in runs
    for run in runs.values():
        assert run["alarms"] == 3
        assert 0 < run["min_ms"] <= run["median_ms"] <= run["p99_ms"] <= run["max_ms"]
        assert run["cpu_ms_per_sms"] > 0 and run["met"] in (True, False)
    if "skipped" in figures:  # no compiler: the slowed runs say so and are left out
        assert "no C compiler" in figures["skipped"] or "could not build" in figures["skipped"]
        assert all(run["fsync_delay_ms"] == 0 for run in runs.values())
    else:
        assert {"10 ms fsync", "20 ms fsync"} <= set(runs)
        # The alarm is committed (one flush at least) before its first SMS, on every disk.
        assert all(run["flushes_on_path"]["median"] >= 1 for run in runs.values())
        # and the card's time on that flush is read off the shim's log: at least its delay
        slowed = [run for run in runs.values() if run["fsync_delay_ms"]]
        assert all(run["one_flush_ms"] >= run["fsync_delay_ms"] for run in slowed)
        assert all(0 < run["own_median_ms"] < run["median_ms"] for run in slowed)
    pruned = runs[history]["retention"]
    assert pruned["rows"] > figures["history_sms"] and pruned["chunks"] > 1
    assert 0 < pruned["median_ms"] <= pruned["p99_ms"] <= pruned["max_ms"]


def test_idle_benchmark_reads_each_thread_against_the_targets(tmp_path):
    figures, table = bench(tmp_path, "idle")
    assert "wake-ups per second" in table and "Roster.groups_of" in table
    idle = figures["idle"]
    assert idle["households"] == 5000 and idle["seconds"] >= 10 and idle["rss_mib"] > 10
    # The daemon names its threads in /proc, so each loop's wake-ups are told apart.
    names = {t["name"] for t in idle["threads"]}
    assert {"events", "panel", "MainThread"} <= names
    assert any(name.startswith("worker-") for name in names)
    assert idle["wakeups_per_second"] == round(sum(t["per_second"] for t in idle["threads"]), 2)
    assert set(figures["met"]) == {"cpu_percent", "wakeups_per_second", "rss_mib"}
    assert [row["households"] for row in figures["groups_of"]] == [300, 5000]
    assert all(row["index_us"] > 0 and row["scan_us"] > 0 for row in figures["groups_of"])
