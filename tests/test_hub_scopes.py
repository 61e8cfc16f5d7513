"""Scoped hub accounts on a real hub process, on SQLite and PostgreSQL: a county user sees every
box, a township officer only their township's, a village account only its box; ids outside the
scope answer 404 (as if they did not exist) on every page, detail and export; the incident
detail is the box's timeline; every login, export and account change is in the audit log."""
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from edgebox.hub.database import open_database
from edgebox.hub.local_time import local_time, county_zone
from edgebox.hub.scope import Scope
from edgebox.store import SqliteStore
from edgebox.uplink.uploader import Uploader
from tests.hub_support import (USER_PASSWORD, HubView, csv_rows, fill_box, hub_cli,
                               hub_database_url, register, settings, start_scoped_hub,
                               try_login)

pytestmark = pytest.mark.slow
PASSWORD = USER_PASSWORD


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hub(request, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp(request.param)
    start = datetime.now(timezone.utc) - timedelta(hours=3)
    process = start_scoped_hub(hub_database_url(request.param, tmp_path), tmp_path,
                               lambda box, store: fill_box(store, incidents=2, noise=2,
                                                           start=start))
    yield process
    process.stop()


@pytest.fixture
def clients(hub):
    """Log in as a user: a browser of theirs, closed after the test."""
    opened: list[httpx.Client] = []

    def login(name: str) -> httpx.Client:
        client = httpx.Client(base_url=hub.url, timeout=30)
        opened.append(client)
        answer = try_login(client, PASSWORD, name)
        assert answer.status_code == 303, answer.text
        return client
    yield login
    for client in opened:
        client.close()


def boxes_seen(client: httpx.Client, path: str, **params) -> set[str]:
    return {row["box_id"] for row in csv_rows(client, path, **params)}


def test_each_role_sees_only_its_boxes_on_every_page_and_export(clients):
    county, township, village = clients("zhao"), clients("wang"), clients("li")
    assert boxes_seen(county, "/boxes.csv") == {"box-a", "box-b", "box-c"}
    assert boxes_seen(township, "/boxes.csv") == {"box-a", "box-b"}
    assert boxes_seen(village, "/boxes.csv") == {"box-a"}
    assert boxes_seen(township, "/incidents.csv") == {"box-a", "box-b"}
    assert boxes_seen(village, "/incidents.csv") == {"box-a"}
    # Asking for another township's box by its id or place finds nothing: the scope is ANDed.
    assert boxes_seen(township, "/incidents.csv", box_id="box-c") == set()
    assert boxes_seen(township, "/boxes.csv", township="於潜镇") == set()
    assert boxes_seen(village, "/incidents.csv", village="竹林村") == set()
    stats = {row["village"] for row in csv_rows(township, "/stats.csv")}
    assert stats == {"石桥村", "竹林村"}
    page = township.get("/").text
    assert "竹林村" in page and "光明村" not in page and "於潜镇" not in page


def test_an_incident_outside_the_scope_is_not_found_as_if_it_did_not_exist(clients):
    township, village = clients("wang"), clients("li")
    inside = township.get("/incidents/box-a/1/1")
    assert inside.status_code == 200
    for client, path in ((township, "/incidents/box-c/1/1"), (village, "/incidents/box-b/1/1"),
                         (township, "/incidents/box-a/1/999"), (village, "/incidents/nope/1/1")):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert "box-" not in answer.text
    # The same answer for a box that exists elsewhere and one that does not exist at all.
    assert township.get("/incidents/box-c/1/1").text == township.get(
        "/incidents/nope/1/1").text


def test_the_incident_detail_is_the_boxes_timeline_in_chinese_and_county_time(hub, clients):
    page = clients("li").get("/incidents/box-a/1/1").text
    # The box's own words (edgebox.domain.timeline), each line with its offset.
    assert "来电报警" in page and "报警短信 → H02" in page and "H02 已确认前往" in page
    assert "报警结束（已到时）" in page and "失败" in page
    assert "+02:00" in page and "+30:00" in page
    assert "H01 138 0013 8001" in page  # the caller's number written as the box writes it
    # Who acknowledged, by which channel, at what time in the county's zone (UTC+8).
    opened = HubView(hub.db_url)
    try:
        row = opened.incidents("box-a")[0]
    finally:
        opened.close()
    shanghai = local_time(row["opened_at"], county_zone("Asia/Shanghai"))
    assert shanghai in page and row["opened_at"][:19].replace("T", " ") not in page
    assert re.search(r"<td>H02</td><td>短信</td>", page)


def test_the_audit_log_keeps_logins_and_exports_and_only_the_county_reads_it(hub, clients):
    township = clients("wang")
    csv_rows(township, "/incidents.csv", village="石桥村")
    assert township.get("/audit").status_code == 404
    assert "/audit" not in township.get("/").text
    county = clients("zhao")
    page = county.get("/audit").text
    assert "操作日志" in page
    assert re.search(r"<td>wang</td><td>登录</td>", page)
    assert re.search(r"<td>wang</td><td>导出</td><td>incidents.csv\?village=", page)
    # Accounts made from the command line are in it too.
    assert re.search(r"<td>cli</td><td>新增用户</td><td>li village box-a</td>", page)


def test_accounts_name_a_registered_scope_and_are_listed_with_it(hub):
    refused = hub_cli(hub.db_url, "user", "add", "sun", "--password-stdin", "--role",
                      "township", "--township", "没有镇", stdin=PASSWORD + "\n")
    assert refused.returncode != 0 and "no box is registered in township" in refused.stderr
    refused = hub_cli(hub.db_url, "user", "add", "qian", "--password-stdin", "--role",
                      "village", stdin=PASSWORD + "\n")
    assert refused.returncode != 0 and "needs its box" in refused.stderr
    listed = hub_cli(hub.db_url, "user", "list").stdout
    assert re.search(r"wang\s+township 太湖源镇", listed) and re.search(r"li\s+village box-a",
                                                                        listed)
    assert re.search(r"zhao\s+county,", listed)


def test_a_scope_without_its_place_sees_nothing_rather_than_everything(tmp_path):
    db = open_database(str(tmp_path / "hub.db"))
    try:
        register(db.url, "box-a")
        with db.transaction(write=False) as tx:
            for scope, expected in ((Scope("county"), 1), (Scope("township"), 0),
                                    (Scope("village"), 0), (Scope("township", "太湖源镇"), 1),
                                    (Scope("village", box_id="box-a"), 1), (Scope("admin"), 0)):
                where, args = scope.where()
                assert tx.one(f"SELECT count(*) FROM boxes b WHERE {where}", args)[0] == \
                    expected, scope
    finally:
        db.close()


def test_pages_and_exports_speak_chinese(clients):
    county = clients("zhao")
    header = county.get("/incidents.csv").text.splitlines()[0]
    assert header.startswith("\ufeff县（区）,乡镇,村,报警器,日志,报警编号,联防组")
    for path in ("/", "/incidents", "/stats", "/audit", "/incidents/box-a/1/1", "/accounts",
                 "/report", "/boxes/box-a", "/alerts", "/boxes/box-a/sms"):
        page = county.get(path).text
        assert "十户联防 · 县级平台" in page and "退出" in page, path
        # None of the interface's English words between the tags (ids and data aside).
        text = " ".join(re.findall(r">([^<>]+)<", re.sub(r"<style>.*?</style>", "", page,
                                                          flags=re.S)))
        text = re.sub(r"\S+\.csv\S*", "", text)  # the audit log names the files exported
        english = re.findall(r"\b(?:[Bb]oxes|[Ii]ncidents|[Ss]tatistics|log out|download|"
                             r"filter|never|signal|open|closed|drill|acknowledged|all|min|"
                             r"alarms?|[Tt]imeline|[Aa]udit)\b", text)
        assert not english, (path, english)


def test_the_county_manages_accounts_on_its_page_and_each_change_is_audited(hub, clients):
    county, township = clients("zhao"), clients("wang")
    token = re.search(r'name="csrf" value="([^"]+)"', county.get("/accounts").text).group(1)

    def change(client, csrf, **fields):
        return client.post("/accounts", data={"csrf": csrf, **fields})
    # A township officer cannot see the page nor post to it (not found, like any foreign id).
    own = re.search(r'name="csrf" value="([^"]+)"', township.get("/").text).group(1)
    assert township.get("/accounts").status_code == 404
    assert change(township, own, action="add", name="x", password=PASSWORD,
                  role="county").status_code == 404
    refused = change(county, token, action="add", name="sun", password=PASSWORD,
                     role="township", township="没有镇")
    assert refused.status_code == 400 and "乡镇“没有镇”没有登记任何报警器" in refused.text
    assert change(county, token, action="remove", name="zhao").status_code == 400
    added = change(county, token, action="add", name="sun", password=PASSWORD,
                   role="township", township="於潜镇")
    assert added.status_code == 303
    sun = clients("sun")
    assert {row["box_id"] for row in csv_rows(sun, "/boxes.csv")} == {"box-c"}
    assert change(county, token, action="remove", name="sun").status_code == 303
    assert sun.get("/").status_code == 303  # logged out at once
    audit = county.get("/audit").text
    assert re.search(r"<td>zhao</td><td>新增用户</td><td>sun township 於潜镇</td>"
                     r"<td>127\.0\.0\.1</td>", audit)
    assert re.search(r"<td>zhao</td><td>删除用户</td><td>sun</td>", audit)


def test_the_county_clock_is_configurable_and_a_wrong_zone_is_refused(tmp_path):
    stored = "2026-11-30T17:30:00.000+00:00"
    assert local_time(stored, county_zone("Asia/Shanghai")) == "2026-12-01 01:30:00"
    assert local_time(stored, county_zone("Asia/Urumqi")) == "2026-11-30 23:30:00"
    started = subprocess.run([sys.executable, "-m", "edgebox", "hub", "serve", "--db",
                              str(tmp_path / "hub.db"), "--port", "1", "--time-zone",
                              "Mars/Olympus"], capture_output=True, text=True, timeout=60)
    assert started.returncode != 0 and "unknown time zone 'Mars/Olympus'" in started.stderr


def test_the_county_registers_a_box_whose_token_is_shown_once_and_works(hub, clients,
                                                                        tmp_path):
    county, township = clients("zhao"), clients("wang")
    token = re.search(r'name="csrf" value="([^"]+)"', county.get("/").text).group(1)
    place = {"box_id": "box-d", "county": "临安区", "township": "於潜镇", "village": "新村"}
    own = re.search(r'name="csrf" value="([^"]+)"', township.get("/").text).group(1)
    assert township.post("/boxes", data={"csrf": own, **place}).status_code == 404
    shown = county.post("/boxes", data={"csrf": token, **place})
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    secret = re.search(r'<code id="token">([^<]+)</code>', shown.text).group(1)
    again = county.post("/boxes", data={"csrf": token, **place})
    assert again.status_code == 400 and "报警器box-d已登记" in again.text
    store = SqliteStore(tmp_path / "box-d.db")
    try:
        fill_box(store, incidents=1, noise=1)
        uploader = Uploader(settings(hub.url, box_id="box-d", token=secret), store)
        assert uploader.run_once().ok
        uploader.client.close()
    finally:
        store.close()
    assert "box-d" in {row["box_id"] for row in csv_rows(county, "/incidents.csv")}
    assert "box-d" not in {row["box_id"] for row in csv_rows(township, "/incidents.csv")}
    assert secret not in county.get("/").text and secret not in county.get("/audit").text
    assert re.search(r"<td>zhao</td><td>登记报警器</td><td>box-d 临安区 於潜镇 新村</td>",
                     county.get("/audit").text)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_users_of_a_hub_from_before_roles_upgrade_to_county_and_keep_their_sessions(
        kind, tmp_path, monkeypatch):
    from edgebox.hub import accounts, schema
    url = hub_database_url(kind, tmp_path)
    with monkeypatch.context() as patch:  # the hub as the release before roles left it
        patch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:3])
        db = open_database(url)
    try:
        with db.transaction() as tx:
            tx.execute("INSERT INTO users (name, password, created_at) VALUES (?, ?, ?)",
                       ("wang", accounts.hash_password(PASSWORD), "2026-01-01T00:00:00+00:00"))
        token, _ = accounts.open_session(db, "wang")
    finally:
        db.close()
    db = open_database(url)  # upgrades in place
    try:
        assert accounts.session_of(db, token)["scope"] == Scope("county")
        assert [(u["name"], u["role"]) for u in accounts.list_users(db)] == [("wang", "county")]
        with db.transaction(write=False) as tx:
            assert tx.one("SELECT count(*) FROM audit")[0] == 0
    finally:
        db.close()


def test_english_is_second_and_remembered_like_on_the_box(clients):
    county = clients("zhao")
    page = county.get("/incidents", params={"lang": "en"}).text
    assert "Incidents" in page and "Log out" in page and "times in Asia/Shanghai" in page
    assert "报警记录" not in page
    detail = county.get("/incidents/box-a/1/1").text  # the choice is remembered
    assert "H02 acknowledged and is coming" in detail and "alarm closed (expired)" in detail
    assert "<td>H02</td><td>SMS</td>" in detail
    header = county.get("/incidents.csv").text.splitlines()[0]
    assert header.startswith("\ufeffcounty,township,village,box_id")
    assert "报警记录" in county.get("/incidents", params={"lang": "zh"}).text
    assert county.get("/incidents.csv").text.startswith("\ufeff县（区）")


def test_alerts_sms_reports_and_duty_officers_follow_the_scope(hub, clients):
    from edgebox.hub.alerts import AlertRules, raise_due
    db = open_database(hub.db_url)
    try:  # five days on, every box is silent: one alert each
        assert len(raise_due(db, datetime.now(timezone.utc) + timedelta(days=5),
                             AlertRules())) >= 3
    finally:
        db.close()
    county, township, village = clients("zhao"), clients("wang"), clients("li")

    def boxes_alerted(client) -> set[str]:
        return set(re.findall(r'<a href="/boxes/([^/"]+)/sms">', client.get("/alerts").text))
    assert boxes_alerted(county) >= {"box-a", "box-b", "box-c"}
    assert boxes_alerted(township) == {"box-a", "box-b"}
    assert boxes_alerted(village) == {"box-a"}
    assert township.get("/boxes/box-c/sms").status_code == 404
    assert township.get("/boxes/box-a/sms").status_code == 200
    own = re.search(r'name="csrf" value="([^"]+)"', township.get("/").text).group(1)
    officer = {"csrf": own, "phone": "+8613700000009", "name": "王干事"}
    assert township.post("/alerts/duty", data={**officer, "township": "於潜镇"}).status_code \
        == 404
    assert township.post("/alerts/duty", data={**officer, "township": "太湖源镇"}).status_code \
        == 303
    assert re.search(r"<td>wang</td><td>新增值班员</td><td>太湖源镇 \+8613700000009</td>",
                     county.get("/audit").text)


def test_an_alert_is_acknowledged_on_the_page_by_its_township_and_audited(hub, clients):
    from edgebox.hub.alerts import AlertRules, raise_due
    db = open_database(hub.db_url)
    try:  # five days on, every box is silent: one alert each (or raised already)
        raise_due(db, datetime.now(timezone.utc) + timedelta(days=5), AlertRules())
        with db.transaction(write=False) as tx:
            alert = dict(tx.rows("SELECT box_id, max(alert_id) FROM alerts WHERE acked_at IS"
                                 " NULL GROUP BY box_id"))
    finally:
        db.close()
    county, township, village = clients("zhao"), clients("wang"), clients("li")

    def ack(client, alert_id, csrf=None) -> httpx.Response:
        own = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text).group(1)
        return client.post(f"/alerts/{alert_id}/ack", data={"csrf": csrf or own})

    def acked(alert_id) -> tuple:
        view = open_database(hub.db_url)
        try:
            with view.transaction(write=False) as tx:
                return tx.one("SELECT acked_by, acked_at IS NOT NULL FROM alerts WHERE"
                              " alert_id = ?", (alert_id,))
        finally:
            view.close()

    assert "确认收到" in township.get("/alerts").text
    assert "确认收到" not in village.get("/alerts").text
    assert ack(village, alert["box-a"]).status_code == 403  # the village sees, never closes
    assert ack(township, alert["box-c"]).status_code == 404  # another township's box
    assert ack(township, alert["box-a"], csrf="forged").status_code == 403
    assert acked(alert["box-a"]) == (None, False)
    assert ack(township, alert["box-a"]).status_code == 303
    assert acked(alert["box-a"]) == ("wang", True)
    assert ack(county, alert["box-a"]).status_code == 303  # already: the first is kept
    assert acked(alert["box-a"]) == ("wang", True)
    audit = county.get("/audit").text
    line = rf"<td>wang</td><td>确认告警</td><td>{alert['box-a']}</td>"
    assert len(re.findall(line, audit)) == 1
    assert "<td>zhao</td><td>确认告警</td>" not in audit
    # The page in English, through the hub's language choice, as every other page.
    english = township.get("/alerts", params={"lang": "en"}).text
    assert "Alerts (" in english and "silent for" in english and "Duty officers" in english
    assert not re.search(r"告警（|类别|值班员|失联|未确认", english)
    chinese = township.get("/alerts", params={"lang": "zh"}).text
    assert "已" in chinese and "小时无音讯" in chinese and "值班员" in chinese
