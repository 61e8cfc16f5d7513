"""The reconnect storm: after a county-wide outage every box uploads its backlog at once.

Boxes are registered in one transaction; each sends its backlog in signed batches with the box's
own client (edgebox.uplink.client) and the box's own back-off (a 503's Retry-After honoured,
jittered), against a hub running several worker processes on PostgreSQL. A box gives up a batch
only after MAX_TRIES answers of "unavailable" (a real box would keep trying; here it counts as a
failure, which must stay 0).
"""
from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from edgebox.hub.database import open_database
from edgebox.hub.registry import add_box
from edgebox.uplink import protocol
from edgebox.uplink.client import HubClient
from edgebox.uplink.errors import HubUnavailable
from edgebox.uplink.uploader import backoff_seconds
from tests.hub_support import TOKEN, HubProcess, HubView
from tests.pg_server import shared_postgres

MAX_TRIES = 20
TIMEOUT = 30  # the box's default uplink.timeout_seconds


def _register(db_url: str, names: list[str]) -> None:
    db = open_database(db_url)
    try:
        for number, name in enumerate(names):  # twenty townships, as a county has
            add_box(db, name, "临安区", f"镇{number % 20:02d}", name, TOKEN)
    finally:
        db.close()


def _backlog(box: str, events: int, batch: int) -> list[bytes]:
    at = datetime.now(timezone.utc).isoformat()
    return [protocol.encode_batch(box, first - 1, [
        {"seq": n, "at": at, "kind": "modem_health", "incident_id": None,
         "data": {"modem": "main", "signal": n % 31, "registration": "home"}}
        for n in range(first, min(events, first + batch - 1) + 1)], {"backlog": events - first})
        for first in range(1, events + 1, batch)]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of a process and its live children (Linux /proc): a hub's
    uvicorn master and its workers, or PostgreSQL's postmaster and its backends."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def storm(boxes: int, events: int, batch: int, workers: int, work) -> dict:
    db_url = shared_postgres().new_database("storm")
    names = [f"storm-{n:04d}" for n in range(boxes)]
    _register(db_url, names)
    backlogs = {name: _backlog(name, events, batch) for name in names}
    hub = HubProcess(db_url, work, options=("--workers", str(workers))).start()
    answers: list[float] = []
    failures: list[str] = []
    busy = [0]
    lock = threading.Lock()
    go = threading.Event()

    def box(name: str) -> None:
        client = HubClient(hub.url, name, TOKEN, timeout=TIMEOUT)
        try:
            go.wait()
            for body in backlogs[name]:
                for tries in range(1, MAX_TRIES + 1):
                    begun = time.monotonic()
                    try:
                        client.post_batch(body)
                    except HubUnavailable as exc:
                        with lock:
                            busy[0] += 1
                        time.sleep(backoff_seconds(tries, 1, 60, exc.retry_after))
                        continue
                    with lock:
                        answers.append(time.monotonic() - begun)
                    break
                else:
                    with lock:
                        failures.append(name)
                    return
        except Exception as exc:  # any other refusal is a failure of the storm, reported
            with lock:
                failures.append(f"{name}: {exc}")
        finally:
            client.close()

    threads = [threading.Thread(target=box, args=(name,), daemon=True) for name in names]
    try:
        for thread in threads:
            thread.start()
        postmaster = int((shared_postgres().data / "postmaster.pid").read_text().split()[0])
        cpu = (time.process_time(), tree_cpu_seconds(hub.proc.pid),
               tree_cpu_seconds(postmaster))
        begun = time.monotonic()
        go.set()
        for thread in threads:
            thread.join()
        seconds = time.monotonic() - begun
        # Where the two cores went while the boxes uploaded: their client (this process), the
        # hub's workers, PostgreSQL.
        cpu = [after - before for before, after in zip(cpu, (
            time.process_time(), tree_cpu_seconds(hub.proc.pid),
            tree_cpu_seconds(postmaster)))]
        view = HubView(db_url)
        with view.db.transaction(write=False) as tx:
            stored = tx.one("SELECT count(*) FROM events")[0]
        view.close()
    finally:
        hub.stop()
    return {"boxes": boxes, "events_per_box": events, "workers": workers,
            "failures": len(failures), "retries": busy[0],
            "batch_answer_p50_s": round(_percentile(answers, 0.5), 3),
            "batch_answer_p99_s": round(_percentile(answers, 0.99), 3),
            "seconds": round(seconds, 1), "events_stored": stored,
            "events_per_s": round(stored / seconds),
            "cpu_us_per_event": {name: round(used / max(1, stored) * 1e6, 1) for name, used in
                                 zip(("boxes_client", "hub", "postgresql"), cpu)}}
