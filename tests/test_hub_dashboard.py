"""The county dashboard on a real hub process, on SQLite and PostgreSQL: login with CSRF,
boxes with health and backlog, incidents with filters, per-village statistics with SVG charts,
CSV exports."""
import csv
import io
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from edgebox.hub.accounts import hash_password, password_matches
from edgebox.store import SqliteStore
from edgebox.uplink.uploader import Uploader
from tests.hub_support import (HubProcess, fill_box, hub_database_url, register, settings)

pytestmark = pytest.mark.slow
PASSWORD = "correct horse battery staple"


@pytest.fixture(params=["sqlite", "postgresql"])
def hub(request, tmp_path):
    url = hub_database_url(request.param, tmp_path)
    register(url, "box-1", village="石桥村")
    register(url, "box-2", token="another-token-for-box-two", village="竹林村")
    added = subprocess.run([sys.executable, "-m", "edgebox", "hub", "user", "add", "wang",
                            "--password-stdin", "--db", url], input=PASSWORD + "\n",
                           capture_output=True, text=True, timeout=60)
    assert added.returncode == 0, added.stderr
    process = HubProcess(url, tmp_path).start()
    # Two villages' boxes upload their logs: alarms this month and last month.
    now = datetime.now(timezone.utc)
    for box, token, start, count in (("box-1", None, now - timedelta(days=40), 3),
                                     ("box-2", "another-token-for-box-two",
                                      now - timedelta(hours=5), 2)):
        store = SqliteStore(tmp_path / f"{box}.db")
        fill_box(store, incidents=count, noise=4, start=start)
        if box == "box-2":  # a fire drill: listed, but not counted as an alarm
            drill = store.open_incident(start, "G1", "H01", "+8613800138001",
                                        alarm_type="fire", drill=True)
            store.close_incident(start + timedelta(minutes=20), drill.id, "drill over")
        overrides = {"box_id": box, **({"token": token} if token else {})}
        uploader = Uploader(settings(process.url, **overrides), store)
        assert uploader.run_once().ok
        uploader.client.close()
        store.close()
    yield process
    process.stop()


CLIENTS: list = []


@pytest.fixture(autouse=True)
def close_clients():
    yield
    while CLIENTS:
        CLIENTS.pop().close()


def new_client(process) -> httpx.Client:
    client = httpx.Client(base_url=process.url, timeout=30)
    CLIENTS.append(client)
    return client


def logged_in(process) -> httpx.Client:
    client = new_client(process)
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    answer = client.post("/login", data={"csrf": csrf, "name": "wang", "password": PASSWORD,
                                         "next": "/"})
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    return client


def test_passwords_are_hashed_with_scrypt():
    stored = hash_password(PASSWORD)
    assert stored.startswith("scrypt$16384$8$1$") and PASSWORD not in stored
    assert password_matches(PASSWORD, stored) and not password_matches("wrong", stored)
    assert hash_password(PASSWORD) != stored  # salted
    assert not password_matches(PASSWORD, "garbage")


def test_pages_need_a_login_and_login_needs_csrf(hub):
    client = new_client(hub)
    for path in ("/", "/incidents", "/stats", "/incidents.csv"):
        answer = client.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    forged = new_client(hub).post("/login", data={"csrf": "forged", "name": "wang",
                                                  "password": PASSWORD})
    assert forged.status_code == 403
    wrong = client.post("/login", data={"csrf": csrf, "name": "wang", "password": "nope"})
    assert wrong.status_code == 401 and "wrong name or password" in wrong.text
    session = logged_in(hub)
    assert session.get("/").status_code == 200
    # Log out needs the session's CSRF token too.
    assert session.post("/logout", data={"csrf": "forged"}).status_code == 403
    token = re.search(r'name="csrf" value="([^"]+)"', session.get("/").text).group(1)
    assert session.post("/logout", data={"csrf": token}).status_code == 303
    assert session.get("/").status_code == 303


def test_boxes_page_shows_last_seen_health_and_backlog(hub):
    client = logged_in(hub)
    page = client.get("/").text
    assert "石桥村" in page and "竹林村" in page and "box-2" in page
    assert "main: home, signal" in page and "never" not in page
    rows = list(csv.DictReader(io.StringIO(client.get("/boxes.csv").text.lstrip("\ufeff"))))
    assert {r["box"] for r in rows} == {"box-1", "box-2"}
    assert all(r["backlog"] == "0" and int(r["acked_seq"]) > 0 for r in rows)
    only = client.get("/", params={"village": "竹林村"}).text
    assert "box-2" in only and "box-1" not in only


def test_incidents_filter_and_export(hub):
    client = logged_in(hub)
    every = list(csv.DictReader(io.StringIO(
        client.get("/incidents.csv").text.lstrip("\ufeff"))))
    assert len(every) == 6
    assert [r["kind"] for r in every if r["drill"] == "1"] == ["fire"]
    assert {r["village"] for r in every} == {"石桥村", "竹林村"}
    assert all(r["minutes_to_ack"] not in ("", None) for r in every if r["drill"] == "0")
    village = list(csv.DictReader(io.StringIO(client.get(
        "/incidents.csv", params={"village": "石桥村"}).text.lstrip("\ufeff"))))
    assert len(village) == 3 and {r["box_id"] for r in village} == {"box-1"}
    recent = (datetime.now(timezone.utc) - timedelta(days=2)).strftime("%Y-%m-%d")
    since = list(csv.DictReader(io.StringIO(client.get(
        "/incidents.csv", params={"since": recent}).text.lstrip("\ufeff"))))
    assert len(since) == 3
    assert len(list(csv.DictReader(io.StringIO(client.get(
        "/incidents.csv", params={"acked": "no"}).text.lstrip("\ufeff"))))) == 1  # the drill
    page = client.get("/incidents", params={"township": "太湖源镇", "state": "closed"}).text
    assert page.count("<tr>") == 7 and "(drill)" in page  # header + 6 incidents


def test_per_village_statistics_with_charts(hub):
    client = logged_in(hub)
    page = client.get("/stats").text
    assert page.count("<svg") == 5  # alarms and failures per village, plus time to first ack
    assert "alarms per month" in page and "median minutes to first acknowledgement" in page
    rows = list(csv.DictReader(io.StringIO(client.get("/stats.csv").text.lstrip("\ufeff"))))
    by_village = {}
    for row in rows:
        entry = by_village.setdefault(row["village"], {"alarms": 0, "failed": 0})
        entry["alarms"] += int(row["alarms"])
        entry["failed"] += int(row["failed_deliveries"])
        entry["median"] = float(row["median_minutes_to_ack_in_window"])
    # fill_box: alarm n is acknowledged 2+n minutes after it opened; even alarms have a failure.
    assert by_village["石桥村"] == {"alarms": 3, "failed": 2, "median": 3.0}
    assert by_village["竹林村"] == {"alarms": 2, "failed": 1, "median": 2.5}
    assert len(rows) == 2 * 12
