"""The uplink: bytes on the wire per event, and the hub's ingest rate, on SQLite and PostgreSQL.

A box database holds a realistic log (alarms with their texts, acknowledgements, failures and
many health readings). It is uploaded to a real hub process on loopback:
- once through a counting proxy: every HTTP byte both ways (headers, signed gzip batches,
  answers), divided by the number of events;
- once directly: the box's end-to-end upload rate (read, compress, sign, send, verify, store);
- and four boxes at once posting pre-built signed batches: the hub's ingest rate (on
  PostgreSQL also with two worker processes);
- the reconnect storm (bench.hub_storm): every box of a county uploading its backlog at once
  against two workers on PostgreSQL;
- the dashboard's pages at a county's size (bench.hub_pages), on PostgreSQL.
"""
from __future__ import annotations

import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from bench.hub_pages import pages
from bench.hub_storm import storm
from edgebox.store import SqliteStore
from edgebox.uplink import protocol
from edgebox.uplink.uploader import Uploader
from tests.hub_support import (TOKEN, FaultProxy, HubProcess, HubView, fill_box, register,
                               settings)
from tests.pg_server import shared_postgres

BATCH = 500


def _box(path: Path, events_wanted: int) -> SqliteStore:
    store = SqliteStore(path)
    start = datetime.now(timezone.utc) - timedelta(days=30)
    # Each fill_box incident writes 14 events; health readings fill the rest, as on a real box.
    incidents = max(1, events_wanted // 100)
    fill_box(store, incidents=incidents, noise=max(0, events_wanted - 14 * incidents),
             start=start)
    return store


def _upload(url: str, store: SqliteStore, box: str) -> tuple[int, float]:
    uploader = Uploader(settings(url, box_id=box, batch_events=BATCH, timeout_seconds=60,
                                 prune_kinds=()),
                        store)
    begun = time.monotonic()
    report = uploader.run_once()
    seconds = time.monotonic() - begun
    uploader.client.close()
    if not report.ok:
        raise RuntimeError(report.error)
    return report.events, seconds


def _ingest(url: str, boxes: list[str], events: int) -> float:
    """Four boxes post pre-signed batches at once; events stored per second at the hub."""
    at = datetime.now(timezone.utc).isoformat()
    bodies = {box: [protocol.encode_batch(box, first - 1, [
        {"seq": n, "at": at, "kind": "modem_health", "incident_id": None,
         "data": {"modem": "main", "signal": n % 31, "registration": "home"}}
        for n in range(first, min(events, first + BATCH - 1) + 1)], {"backlog": 0})
        for first in range(1, events + 1, BATCH)] for box in boxes}
    failures: list[str] = []

    def send(box: str) -> None:
        with httpx.Client(timeout=60) as client:
            for body in bodies[box]:
                headers = protocol.signed_headers(TOKEN, box, time.time(), protocol.UPLOAD_PATH,
                                                  body)
                answer = client.post(url + protocol.UPLOAD_PATH, content=body, headers=headers)
                if answer.status_code != 200:
                    failures.append(answer.text)

    threads = [threading.Thread(target=send, args=(box,)) for box in boxes]
    begun = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - begun
    if failures:
        raise RuntimeError(failures[0])
    return len(boxes) * events / seconds


def workers_ingest(events: int, work: Path, workers: int = 2) -> float:
    """The ingest rate of four boxes at once against ``workers`` processes on PostgreSQL."""
    db_url = shared_postgres().new_database("bench")
    names = [f"load-{i}" for i in range(4)]
    for name in names:
        register(db_url, name, token=TOKEN)
    hub = HubProcess(db_url, work, options=("--workers", str(workers))).start()
    try:
        return _ingest(hub.url, names, events)
    finally:
        hub.stop()


def one_store(kind: str, events: int, work: Path) -> dict:
    db_url = shared_postgres().new_database("bench") if kind == "postgresql" \
        else str(work / f"hub-{kind}.db")
    names = ["wire", "direct"] + [f"load-{i}" for i in range(4)]
    for name in names:
        register(db_url, name, token=TOKEN)
    hub = HubProcess(db_url, work).start()
    try:
        store = _box(work / f"box-{kind}.db", events)
        total = len(store.events_after(0, 10 ** 9))
        proxy = FaultProxy(hub.port)
        _upload(proxy.url, store, "wire")
        proxy.close()
        fresh = SqliteStore(work / f"box-{kind}.db")
        fresh.db.conn.execute("DELETE FROM uplink_state")
        sent, seconds = _upload(hub.url, fresh, "direct")
        ingest = _ingest(hub.url, names[2:], events)
        view = HubView(db_url)
        stored = view.count("wire")
        view.close()
        store.close()
        fresh.close()
    finally:
        hub.stop()
    if stored != total or sent != total:
        raise RuntimeError(f"{kind}: {total} events on the box, {stored} at the hub")
    return {"store": kind, "events": total, "batch_events": BATCH,
            "bytes_up": proxy.bytes_up, "bytes_down": proxy.bytes_down,
            "bytes_per_event": round((proxy.bytes_up + proxy.bytes_down) / total, 1),
            "upload_events_per_s": round(total / seconds),
            "hub_ingest_events_per_s": round(ingest)}


def run(quick: bool = False) -> dict:
    events = 2000 if quick else 20000
    with tempfile.TemporaryDirectory(prefix="edgebox-bench-uplink-") as tmp:
        runs = [one_store(kind, events, Path(tmp)) for kind in ("sqlite", "postgresql")]
        runs[1]["hub_ingest_events_per_s_2_workers"] = round(workers_ingest(events, Path(tmp)))
        reconnect = storm(100 if quick else 1000, 200 if quick else 1000, BATCH, 2, Path(tmp))
        dashboard = pages(100 if quick else 1000, 1000 if quick else 10000, Path(tmp))
    return {"name": "uplink", "runs": runs, "storm": reconnect, "pages": dashboard}


def table(result: dict) -> list[str]:
    lines = [f"uplink: {result['runs'][0]['events']} events, batches of"
             f" {result['runs'][0]['batch_events']}, hub on loopback",
             "  store        bytes/event   upload events/s   hub ingest events/s (4 boxes)"]
    for r in result["runs"]:
        lines.append(f"  {r['store']:<11}  {r['bytes_per_event']:>11.1f}"
                     f"   {r['upload_events_per_s']:>15}   {r['hub_ingest_events_per_s']:>19}")
    pg = result["runs"][1]
    lines.append(f"  postgresql, 2 workers: hub ingest {pg['hub_ingest_events_per_s_2_workers']}"
                 " events/s (4 boxes)")
    s = result["storm"]
    lines.append(f"  reconnect storm: {s['boxes']} boxes x {s['events_per_box']} events at once,"
                 f" {s['workers']} workers: {s['failures']} failures, {s['retries']} retries"
                 f" (503), batch answer p50 {s['batch_answer_p50_s']} s / p99"
                 f" {s['batch_answer_p99_s']} s, {s['seconds']} s in all"
                 f" ({s['events_per_s']} events/s); CPU per event: "
                 + ", ".join(f"{name} {us} us" for name, us in s["cpu_us_per_event"].items()))
    p = result["pages"]
    lines.append(f"  dashboard, {p['boxes']} boxes x {p['events_per_box']} events (PostgreSQL):"
                 + ",".join(f" {name} {ms} ms" for name, ms in p["page_ms"].items()))
    return lines
