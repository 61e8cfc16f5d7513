"""The county dashboard on a real hub process, on SQLite and PostgreSQL: login with CSRF,
boxes with health and backlog, incidents with filters, per-village statistics with SVG charts,
CSV exports."""
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from edgebox.hub.accounts import add_user, hash_password, password_matches
from edgebox.hub.database import open_database
from edgebox.hub.audit import record
from edgebox.hub.dashboard import CHARTED_VILLAGES, _charted_places
from edgebox.hub.login_limits import AuditedLoginLimits
from edgebox.login_limit import MAX_CLIENTS, LoginLimiter
from edgebox.store import SqliteStore
from edgebox.uplink.uploader import Uploader
from edgebox.hub.local_time import county_zone, local_time
from tests.hub_support import (HubProcess, HubView, csv_rows, fill_box, hub_database_url, register,
                               settings, try_login)

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
            drill = store.incidents.open(start, "G1", "H01", "+8613800138001",
                                         alarm_type="fire", drill=True)
            store.incidents.close(start + timedelta(minutes=20), drill.id, "drill over")
            # A missed daily check-in: listed with its type, not counted as an alarm.
            missed = store.incidents.open(start, "G1", "H02", "+8613900138002",
                                          kind="check_in", alarm_type="check_in")
            store.incidents.record_ack(start + timedelta(minutes=9), missed.id, "H01",
                                       "+8613800138001", "sms")
            store.incidents.close(start + timedelta(minutes=25), missed.id, "checked_in")
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


def new_client(process, address: str = "127.0.0.1") -> httpx.Client:
    """A browser; ``address``: the one it connects from (any 127.x.x.x on loopback)."""
    client = httpx.Client(base_url=process.url, timeout=30,
                          transport=httpx.HTTPTransport(local_address=address))
    CLIENTS.append(client)
    return client


def logged_in(process) -> httpx.Client:
    client = new_client(process)
    answer = try_login(client, PASSWORD)
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
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
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
    assert "main: home，信号" in page and "从未" not in page
    rows = csv_rows(client, "/boxes.csv")
    assert {r["box_id"] for r in rows} == {"box-1", "box-2"}
    assert all(r["backlog"] == "0" and int(r["acked_seq"]) > 0 for r in rows)
    only = client.get("/", params={"village": "竹林村"}).text
    assert "box-2" in only and "box-1" not in only


def test_incidents_filter_and_export(hub):
    client = logged_in(hub)
    every = csv_rows(client, "/incidents.csv")
    assert len(every) == 7
    assert [r["kind"] for r in every if r["drill"] == "1"] == ["fire"]
    assert [r["close_reason"] for r in every if r["kind"] == "check_in"] == ["checked_in"]
    assert {r["village"] for r in every} == {"石桥村", "竹林村"}
    assert all(r["minutes_to_ack"] not in ("", None) for r in every if r["drill"] == "0")
    village = csv_rows(client, "/incidents.csv", village="石桥村")
    assert len(village) == 3 and {r["box_id"] for r in village} == {"box-1"}
    recent = (datetime.now(timezone.utc) - timedelta(days=2)).strftime("%Y-%m-%d")
    since = csv_rows(client, "/incidents.csv", since=recent)
    assert len(since) == 4
    assert len(csv_rows(client, "/incidents.csv", acked="no")) == 1  # the drill
    page = client.get("/incidents", params={"township": "太湖源镇", "state": "closed"}).text
    assert page.count("<tr>") == 8 and "（演练）" in page  # header + 7 incidents
    assert "未报平安" in page and "火警" in page


def test_per_village_statistics_with_charts(hub):
    client = logged_in(hub)
    page = client.get("/stats").text
    assert page.count("<svg") == 5  # alarms and failures per village, plus time to first ack
    assert "每月报警次数" in page and "首次确认用时中位数" in page
    rows = csv_rows(client, "/stats.csv")
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


def test_csv_times_are_in_the_county_zone_named_in_the_header(hub):
    client = logged_in(hub)
    view = HubView(hub.db_url)
    try:
        stored = {int(i["incident_id"]): i for i in view.incidents("box-1")}
        last_seen = view.box("box-1")["last_seen"]
    finally:
        view.close()
    shanghai = county_zone("Asia/Shanghai")
    rows = [r for r in csv_rows(client, "/incidents.csv") if r["box_id"] == "box-1"]
    assert len(rows) == 3
    for row in rows:
        held = stored[int(row["incident_id"])]
        for column in ("opened_at", "first_ack_at", "closed_at"):
            assert row[column] == local_time(held[column], shanghai) != ""
    box = [r for r in csv_rows(client, "/boxes.csv") if r["box_id"] == "box-1"][0]
    assert box["last_seen"] == local_time(last_seen, shanghai)
    header = client.get("/incidents.csv").text.lstrip("\ufeff").splitlines()[0]
    assert "报警时间（北京时间）" in header and "UTC" not in header
    english = client.get("/boxes.csv", params={"lang": "en"}).text.splitlines()[0]
    assert "last_seen (Asia/Shanghai)" in english


def test_a_county_of_many_villages_is_charted_per_township():
    months = ["2026-10", "2026-11"]
    villages = [{"county": "临安区", "township": f"镇{n % 3}", "village": f"村{n}",
                 "alarms": {"2026-10": 1, "2026-11": n}, "failed": dict.fromkeys(months, 2)}
                for n in range(CHARTED_VILLAGES + 1)]
    places = _charted_places(villages)
    assert [p["name"] for p in places] == ["镇0", "镇1", "镇2"]
    assert sum(p["alarms"]["2026-11"] for p in places) == sum(range(CHARTED_VILLAGES + 1))
    assert places[0]["failed"] == {"2026-10": 2 * 21, "2026-11": 2 * 21}
    few = _charted_places(villages[:CHARTED_VILLAGES])
    assert [p["name"] for p in few[:2]] == ["镇0 村0", "镇1 村1"]


def test_a_box_with_a_new_database_shows_its_new_log_and_keeps_its_history(hub, tmp_path):
    client = logged_in(hub)
    before = {r["box_id"]: r for r in csv_rows(client, "/boxes.csv")}
    assert before["box-1"]["log_no"] == "1"
    # box-1's card is replaced: a new database, its log from seq 1 again, with one alarm that
    # is still open and one closed.
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"box-1.db{suffix}").unlink(missing_ok=True)
    store = SqliteStore(tmp_path / "box-1.db")
    now = datetime.now(timezone.utc)
    fill_box(store, incidents=1, noise=2, start=now - timedelta(hours=1))
    store.incidents.open(now, "G1", "H03", "+8618600138003")
    uploader = Uploader(settings(hub.url), store)
    report = uploader.run_once()
    uploader.client.close()
    assert report.ok and report.duplicates == 0
    total = len(store.events_after(0, 10 ** 6))
    store.close()
    after = {r["box_id"]: r for r in csv_rows(client, "/boxes.csv")}
    assert (after["box-1"]["log_no"], after["box-1"]["acked_seq"], after["box-1"]["backlog"],
            after["box-1"]["open_incidents"]) == ("2", str(total), "0", "1")
    assert after["box-2"] == before["box-2"]
    page = client.get("/", params={"box_id": "box-1"}).text
    assert f"#{total}（第2份日志：更换了数据库）" in page
    incidents = csv_rows(client, "/incidents.csv", box_id="box-1")
    assert sorted((r["log_no"], r["incident_id"]) for r in incidents) == [
        ("1", "1"), ("1", "2"), ("1", "3"), ("2", "1"), ("2", "2")]
    assert "2/1" in client.get("/incidents", params={"box_id": "box-1"}).text
    stats: dict[str, int] = {}
    for row in csv_rows(client, "/stats.csv"):
        stats[row["village"]] = stats.get(row["village"], 0) + int(row["alarms"])
    assert stats == {"石桥村": 3 + 2, "竹林村": 2}  # alarms of both logs count


@pytest.fixture(params=["sqlite", "postgresql"])
def strict_hub(request, tmp_path):
    """A hub allowing three failed logins per address in ten minutes."""
    url = hub_database_url(request.param, tmp_path)
    db = open_database(url)
    add_user(db, "wang", PASSWORD)
    add_user(db, "li", PASSWORD)
    db.close()
    process = HubProcess(url, tmp_path, options=("--login-attempts", 3,
                                                 "--login-window-minutes", 10)).start()
    yield process
    process.stop()


def test_repeated_wrong_passwords_from_one_address_are_refused_for_a_while(strict_hub):
    guesser = new_client(strict_hub, "127.0.0.1")
    for _ in range(3):
        assert try_login(guesser, "not the password").status_code == 401
    # Over the limit: refused without a look at the password, even the right one.
    refused = try_login(guesser, PASSWORD)
    assert refused.status_code == 429 and "尝试次数过多" in refused.text
    assert 0 < int(refused.headers["retry-after"]) <= 600
    assert guesser.get("/").status_code == 303
    # Another address is not held up by it: wang from a desk with no failures gets in, and li,
    # whose account is under its limit, gets in after two typos and clears that desk's count.
    office = new_client(strict_hub, "127.0.0.2")
    assert try_login(office, PASSWORD).status_code == 303
    assert office.get("/").status_code == 200
    colleague = new_client(strict_hub, "127.0.0.3")
    for _ in range(2):
        assert try_login(colleague, "not the password", name="li").status_code == 401
    assert try_login(colleague, PASSWORD, name="li").status_code == 303
    assert try_login(new_client(strict_hub, "127.0.0.3"), PASSWORD).status_code == 303
    assert try_login(guesser, PASSWORD).status_code == 429


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "streamed"])
def test_a_huge_login_post_is_cut_off_before_it_is_read(strict_hub, chunked):
    from tests.test_web_guard import MB, raw_post
    status, sent = raw_post(strict_hub.url, "/login", 300 * MB,
                            {"Content-Type": "application/x-www-form-urlencoded"}, chunked)
    assert status == 413 and sent < 10 * MB
    assert try_login(new_client(strict_hub), PASSWORD).status_code == 303


def test_failures_from_ten_addresses_do_not_lock_the_county_out(strict_hub):
    checked = 0
    for host in range(10, 20):  # ten addresses guessing wang's password, three tries each
        guesser = new_client(strict_hub, f"127.0.0.{host}")
        answers = [try_login(guesser, "guess").status_code for _ in range(3)]
        checked += answers.count(401)
        assert set(answers) <= {401, 429} and answers[0] == 401  # a fresh address: one look
        assert try_login(guesser, PASSWORD).status_code == 429
    assert checked <= 10 + 3  # not 30: past the account's limit, one guess per address
    # Everyone else still logs in, and so does wang himself from his own desk.
    assert try_login(new_client(strict_hub, "127.0.0.30"), PASSWORD, name="li").status_code == 303
    assert try_login(new_client(strict_hub, "127.0.0.31"), PASSWORD).status_code == 303
    # The account is over its limit: an address that has failed, even once and even with
    # the right password now, waits; a fresh address gets one look at its password.
    once = new_client(strict_hub, "127.0.0.40")
    assert try_login(once, "guess").status_code == 401
    assert try_login(once, PASSWORD).status_code == 429
    assert try_login(new_client(strict_hub, "127.0.0.41"), "guess").status_code == 401


def test_an_accounts_back_off_grows_with_failures_and_is_bounded(tmp_path):
    # The failures are the audit log's rows, as the login page writes them; each wait is
    # measured from the newest (rounded: the rows are written a moment before the check).
    db = open_database(str(tmp_path / "hub.db"))
    shift = [0.0]
    limits = AuditedLoginLimits(db, 3, 60, max_wait=600, clock=lambda: time.time() + shift[0])
    waits = []
    try:
        for number in range(8):
            address = f"10.0.0.{number}"  # a new address each time: only the account counts
            record(db, "wang", "login_failed", "", address)
            waits.append(round(limits.wait_seconds(address, "wang"), -1))
        assert waits == [0, 0, 60, 120, 240, 480, 600, 600]  # doubling, never past max_wait
        assert limits.wait_seconds("10.0.0.99", "wang") == 0  # a clean address is checked
        assert limits.wait_seconds("10.0.0.7", "li") == 0
        shift[0] += 601
        assert limits.wait_seconds("10.0.0.7", "wang") == 0  # it lifts: never for ever
    finally:
        db.close()


def test_the_login_limit_lifts_after_its_window_and_forgets_old_addresses():
    now = [1000.0]
    limiter = LoginLimiter(3, 60, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.wait_seconds("10.0.0.1") == 0
        limiter.failed("10.0.0.1")
    assert limiter.wait_seconds("10.0.0.1") == 60
    now[0] += 45
    assert limiter.wait_seconds("10.0.0.1") == 15 and limiter.wait_seconds("10.0.0.2") == 0
    now[0] += 15
    assert limiter.wait_seconds("10.0.0.1") == 0
    # A scan from many addresses, each failing once: the table does not grow without end.
    for index in range(2 * MAX_CLIENTS):
        now[0] += 60 / MAX_CLIENTS
        limiter.failed(f"10.1.{index // 256}.{index % 256}")
    assert limiter.remembered() <= MAX_CLIENTS + 1


def test_csv_exports_neutralise_cells_that_would_run_as_formulas(hub, tmp_path):
    # What a box sends is typed by villagers and clerks: a group or household named so that
    # a spreadsheet would run it. Each such cell is exported as text (OWASP CSV injection).
    store = SqliteStore(tmp_path / "box-2.db")
    nasty = ["=HYPERLINK(\"http://evil\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
             "\tleading tab", "\rleading CR"]
    at = datetime.now(timezone.utc)
    for index, group in enumerate(nasty):
        store.incidents.open(at, group, nasty[-1 - index], "+8613800138001")
    uploader = Uploader(settings(hub.url, box_id="box-2", token="another-token-for-box-two"),
                        store)
    assert uploader.run_once().ok
    uploader.client.close()
    store.close()
    client = logged_in(hub)
    rows = [r for r in csv_rows(client, "/incidents.csv") if r["box_id"] == "box-2"]
    exported = {r["group_id"]: r["household"] for r in rows}
    assert {"'" + g: "'" + nasty[-1 - i] for i, g in enumerate(nasty)}.items() <= exported.items()
    for row in rows:  # nothing else starts a formula either, and numbers stay numbers
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row.values())
    assert all(r["acks"].isdigit() for r in rows)


def test_the_countys_zone_is_named_by_the_catalogue_in_each_language():
    from edgebox.hub.local_time import zone_words
    assert [zone_words(z, "zh") for z in ("Asia/Shanghai", "Asia/Urumqi")] == ["北京", "新疆"]
    assert zone_words("Asia/Urumqi", "en") == "Asia/Urumqi"
    assert zone_words("Europe/Berlin", "zh") == "Europe/Berlin"  # no Chinese name: its own


def test_a_boxs_sms_reports_are_told_in_the_pages_language(hub):
    from edgebox.hub.sms_ingest import ingest_report
    from edgebox.uplink import sms_format
    from tests.hub_support import TOKEN
    now = datetime.now(timezone.utc)
    db = open_database(hub.db_url)
    try:
        for text in (sms_format.encode_day(TOKEN, "box-1", 1, now.date(), {"fire": 2}, 3, 0,
                                           "home", 20, None, 51),
                     sms_format.encode_escalation(TOKEN, "box-1", 2, now, 7, "medical", 3)):
            assert ingest_report(db, "+8613900000009", text, now)
    finally:
        db.close()
    session = logged_in(hub)
    shown = re.sub(r"<[^>]+>", " ", session.get("/boxes/box-1/sms").text)
    assert "日报（短信）" in shown and "火警2次" in shown and "余额不明" in shown, shown
    assert "报警7号（急救），第3级" in shown, shown
    english = re.sub(r"<[^>]+>", " ", session.get("/boxes/box-1/sms",
                                                   params={"lang": "en"}).text)
    assert "Daily summary (SMS)" in english and "alarms: FIRE 2;" in english, english
    assert "alarm 7 (MEDICAL), step 3" in english and "balance unknown" in english, english
    # nothing Chinese but the language switch's link to the Chinese page
    assert not re.search(r"[\u4e00-\u9fff]", english.replace("中文", "")), english
