"""The web panel over real HTTP (uvicorn on a free port): the password, login and its rate
limit, CSRF, the pages in both languages, actions as OfficeActions, roster edits and imports,
the broadcast cost, the live event stream, and the daemon seeing roster edits."""
import io
import queue
import re
import types
from datetime import datetime, timezone

import httpx
import pytest
from openpyxl import Workbook

from edgebox.config_file import load_config, parse_config
from edgebox.daemon.office import OfficeDesk
from edgebox.domain import office_actions as office
from edgebox.errors import ConfigError
from edgebox.roster_io.csv_sheet import read_roster_csv
from edgebox.store import SqliteStore
from edgebox.web.box_view import BoxView
from edgebox.web.passwords import hash_password, password_matches, set_password_hash
from edgebox.web.server import WebPanel
from edgebox.web.settings import WebSettings
from tests.support import SHEET

PASSWORD = "村委值班2024"


def utc_now():
    return datetime.now(timezone.utc)


def test_password_hash_is_scrypt_and_written_into_the_config(tmp_path):
    hashed = hash_password(PASSWORD)
    assert hashed.startswith("scrypt$") and PASSWORD not in hashed
    assert password_matches(PASSWORD, hashed) and not password_matches("wrong-one", hashed)
    assert not password_matches(PASSWORD, "garbage")
    with pytest.raises(ConfigError, match="at least 8"):
        hash_password("short")
    config = tmp_path / "edgebox.toml"
    original = ('[box]\nid = "x"  # keep me\n\n[web]\nlisten = "127.0.0.1:0"\n\n'
                '[[modems]]\nport = "/dev/null"\n')
    config.write_text(original, encoding="utf-8")
    set_password_hash(config, hashed)
    text = config.read_text(encoding="utf-8")
    assert text == original.replace('listen = "127.0.0.1:0"\n',
                                    f'listen = "127.0.0.1:0"\npassword_hash = "{hashed}"\n')
    again = hash_password("another password")
    set_password_hash(config, again)
    loaded = load_config(config)
    assert loaded.web_password_hash == again
    assert loaded.redacted()["web.password_hash"] == "***"
    bare = tmp_path / "bare.toml"
    bare.write_text('[[modems]]\nport = "/dev/null"', encoding="utf-8")
    set_password_hash(bare, hashed)
    assert load_config(bare).web_password_hash == hashed
    with pytest.raises(ConfigError) as problem:
        parse_config('[web]\npassword_hash = "plain-text-password"\n[[modems]]\nport = "x"\n')
    assert "plain-text-password" not in str(problem.value)


def test_web_password_command_sets_the_hash(tmp_path):
    from click.testing import CliRunner

    from edgebox.cli import main
    config = tmp_path / "edgebox.toml"
    config.write_text('[[modems]]\nport = "/dev/null"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["web", "password", "--config", str(config), "--stdin"],
                                input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in config.read_text(encoding="utf-8")
    assert password_matches(PASSWORD, load_config(config).web_password_hash)


def settings(password_hash, attempts=3):
    return WebSettings("127.0.0.1", 0, password_hash, 3600, attempts, 600, "CN", "zh")


@pytest.fixture
def served(tmp_path):
    store = SqliteStore(tmp_path / "box.db")
    store.roster.replace(read_roster_csv(SHEET.encode("utf-8")), utc_now())
    config = parse_config('[numbers]\noffice = ["13300138099"]\n[[modems]]\nport = "/dev/null"\n'
                          'name = "m1"\n')
    events = queue.Queue()
    daemon = types.SimpleNamespace(siren=types.SimpleNamespace(is_on=False), workers={},
                                   config=config, store=store, events=events,
                                   office=OfficeDesk(store, events, utc_now))
    panel = WebPanel(settings(hash_password(PASSWORD)), store, BoxView(store, config, utc_now),
                     daemon.office, utc_now)
    panel.start()
    try:
        yield panel, store, daemon
    finally:
        panel.stop()


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def login(panel) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=panel.url, timeout=30)
    page = client.get("/login").text
    answer = client.post("/login", data={"password": PASSWORD, "csrf": csrf_of(page)})
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    return client, csrf_of(dashboard.text)


def test_without_a_password_the_panel_refuses_and_says_how(tmp_path):
    store = SqliteStore(tmp_path / "box.db")
    config = parse_config('[[modems]]\nport = "/dev/null"\n')
    panel = WebPanel(settings(""), store, BoxView(store, config, utc_now),
                     OfficeDesk(store, queue.Queue(), utc_now), utc_now)
    panel.start()
    panel.stop()
    assert panel.url is None
    [refused] = store.events_of_kinds(["web_panel_refused"])
    assert "edgebox web password" in refused.data["how"]


def test_login_sessions_csrf_and_rate_limit(served):
    panel, store, daemon = served
    anonymous = httpx.Client(base_url=panel.url, timeout=30)
    first = anonymous.get("/login")
    assert "samesite=strict" in first.headers["set-cookie"].lower()
    assert "httponly" in first.headers["set-cookie"].lower()
    for path in ("/", "/roster", "/health", "/incidents/1"):
        answer = anonymous.get(path)
        assert answer.status_code == 303 and answer.headers["location"] == "/login", path
    assert anonymous.get("/stream").status_code == 401
    page = anonymous.get("/login")
    assert "登录" in page.text
    token = csrf_of(page.text)
    assert anonymous.post("/login", data={"password": PASSWORD}).status_code == 403  # no CSRF
    for _ in range(3):
        assert anonymous.post("/login", data={"password": "guess-guess",
                                               "csrf": token}).status_code == 401
    limited = anonymous.post("/login", data={"password": PASSWORD, "csrf": token})
    assert limited.status_code == 429 and "分钟后再试" in limited.text
    assert len(store.events_of_kinds(["web_login_failed"])) == 3
    anonymous.close()


@pytest.fixture
def client(served):
    panel, store, daemon = served
    client, csrf = login(panel)
    yield client, csrf, store, daemon
    client.close()


def test_pages_in_chinese_and_english(client):
    client, csrf, store, daemon = client
    assert "进行中的报警" in client.get("/").text
    english = client.get("/?lang=en").text
    assert "Open alarms" in english
    assert "Roster" in client.get("/roster").text  # the choice sticks to the session
    client.get("/?lang=zh")
    for path in ("/roster", "/broadcast", "/health", "/roster/groups/第一组/print"):
        assert client.get(path).status_code == 200, path
    table = client.get("/roster/groups/第一组/print").text
    assert "第一组 十户联防编组表" in table and "王建国" in table and "133 0013 8099" in table
    assert client.get("/roster/export.csv").content.startswith(b"\xef\xbb\xbf")


def test_actions_are_office_actions_kept_then_queued_for_the_daemon(client):
    client, csrf, store, daemon = client
    incident = store.incidents.open(utc_now(), "第一组", "H03", "+8618600138003")
    page = client.get(f"/incidents/{incident.id}")
    assert page.status_code == 200 and "<svg" in page.text and "张伟" in page.text
    for action in ("acknowledge", "cancel", "siren_on", "siren_off"):
        answer = client.post(f"/incidents/{incident.id}/action",
                             data={"action": action, "csrf": csrf})
        assert answer.status_code == 303
    client.post("/siren", data={"action": "siren_off", "csrf": csrf})
    assert client.post("/drill", data={"group": "第九组", "csrf": csrf}).status_code == 400
    client.post("/drill", data={"group": "第二组", "csrf": csrf})
    assert client.post(f"/incidents/{incident.id}/action",
                       data={"action": "acknowledge"}).status_code == 403  # no CSRF token
    got = [daemon.events.get_nowait() for _ in range(daemon.events.qsize())]
    assert [(a.kind, a.incident_id, a.source) for a in got] == [
        (office.ACKNOWLEDGE, incident.id, "web"), (office.CANCEL, incident.id, "web"),
        (office.SIREN_ON, None, "web"), (office.SIREN_OFF, None, "web"),
        (office.SIREN_OFF, None, "web"), (office.DRILL, None, "web")]
    assert got[-1].group_id == "第二组"
    # Each kept in the store before it was queued: a crash now would not lose the clicks.
    kept = store.inbox.unhandled_office_actions()
    assert [(r.id, r.kind, r.group_id) for r in kept] == [
        (a.action_id, a.kind, a.group_id) for a in got]


def test_cancel_asks_first_and_is_gone_once_the_alarm_is_closed(client):
    client, csrf, store, daemon = client
    incident = store.incidents.open(utc_now(), "第一组", "H03", "+8618600138003")
    page = client.get(f"/incidents/{incident.id}").text
    button = re.search(r'<button[^>]*id="cancel"[^>]*>', page).group(0)
    # static/app.js asks the data-confirm question before the form goes
    assert 'data-confirm="确定解除这次报警吗？' in button, button
    assert "button[data-confirm]" in client.get("/static/app.js").text
    store.incidents.close(utc_now(), incident.id, "cancelled")
    closed = client.get(f"/incidents/{incident.id}").text
    assert 'id="cancel"' not in closed and 'id="acknowledge"' not in closed
    assert "已结束" in closed


def test_broadcast_shows_its_cost_then_queues_the_action(client):
    client, csrf, store, daemon = client
    text = "今晚八点在村委会开会，请每户派一人参加。" * 4  # 80 characters + 【村委广播】: 2 parts
    cost = client.post("/broadcast/preview", data={"text": text, "target": "第一组"},
                       headers={"x-csrf-token": csrf}).text
    # 第一组: 4 households with 5 phones; 80 UCS-2 characters are 2 parts each.
    assert 'data-parts="2"' in cost and 'data-total="10"' in cost
    village = client.post("/broadcast/preview", data={"text": "停水通知" * 17, "target": ""},
                          headers={"x-csrf-token": csrf}).text
    # 68 characters alone would fit one SMS (70); with the 6 of 【村委广播】 they take two.
    assert 'data-parts="2"' in village and 'data-total="14"' in village
    assert client.post("/broadcast", data={"text": " ", "csrf": csrf}).status_code == 400
    client.post("/broadcast", data={"text": text, "target": "第一组", "csrf": csrf})
    action = daemon.events.get_nowait()
    assert (action.kind, action.group_id, action.text) == (office.BROADCAST, "第一组", text)


def xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


SHEET_ROWS = [row.split(",") for row in [
    "户号,户主姓名,地址,电话,组别,中心户长,标记",
    "H11,赵一,一组1号,13800138011,东组,是,",
    "H12,钱二,一组2号,13800138012,东组,,独居老人",
    "H13,孙三,一组3号,13800138013,东组,,"]]


def test_roster_import_previews_and_reports_rows_before_saving(client):
    client, csrf, store, daemon = client
    bad = [list(r) for r in SHEET_ROWS]
    bad[2][3] = "138001"
    answer = client.post("/roster/import", data={"csrf": csrf},
                         files={"sheet": ("村.xlsx", xlsx(bad), "application/octet-stream")})
    assert answer.status_code == 400
    assert "第3行（电话）：“138001”位数不对" in answer.text
    assert len(store.roster.load().households) == 6  # nothing saved
    good = [list(r) for r in SHEET_ROWS]
    good[1][3] = 13800138011  # a phone typed into a number cell
    preview = client.post("/roster/import", data={"csrf": csrf},
                          files={"sheet": ("村.xlsx", xlsx(good), "application/octet-stream")})
    assert preview.status_code == 200 and "赵一" in preview.text
    assert len(store.roster.load().households) == 6  # still nothing saved
    token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)
    assert client.post("/roster/import/confirm",
                       data={"csrf": csrf, "token": "forged"}).status_code == 409
    # The forged attempt spent the pending import: the officer uploads again and confirms.
    preview = client.post("/roster/import", data={"csrf": csrf},
                          files={"sheet": ("村.xlsx", xlsx(good), "application/octet-stream")})
    token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)
    done = client.post("/roster/import/confirm", data={"csrf": csrf, "token": token})
    assert done.status_code == 303
    roster = store.roster.load()
    assert [h.id for h in roster.households] == ["H11", "H12", "H13"]
    assert roster.household("H11").phones == ("+8613800138011",)
    assert store.events_of_kinds(["roster_replaced"])[-1].data["source"] == "村.xlsx"


def test_the_import_preview_warns_without_refusing(client):
    client, csrf, store, daemon = client
    rows = [list(r) for r in SHEET_ROWS]
    rows[1][6] = "残疾"          # the leader, 赵一
    rows[3][3] = "0571-8888 6613"  # 孙三: a landline only
    preview = client.post("/roster/import", data={"csrf": csrf},
                          files={"sheet": ("村.xlsx", xlsx(rows), "application/octet-stream")})
    assert preview.status_code == 200 and 'id="confirm-import"' in preview.text
    warnings = preview.text.split('id="import-warnings"', 1)[1].split("</div>", 1)[0]
    assert "孙三（H13）只有固定电话" in warnings
    assert "东组有3户，建议每组5–15户" in warnings
    assert "东组的中心户长赵一是残疾户" in warnings


def test_a_leaders_own_pin_is_set_hashed_and_cleared_from_the_roster_page(client):
    client, csrf, store, daemon = client
    page = client.get("/roster")
    assert 'action="/roster/households/H01/pin"' in page.text  # 王建国 leads 第一组
    assert 'action="/roster/households/H02/pin"' not in page.text  # 李秀英 leads nothing
    assert client.post("/roster/households/H01/pin",
                       data={"csrf": csrf, "pin": "12ab"}).status_code == 400
    assert client.post("/roster/households/H02/pin",
                       data={"csrf": csrf, "pin": "24681357"}).status_code == 400
    assert store.leader_pins.leaders() == set()
    done = client.post("/roster/households/H01/pin", data={"csrf": csrf, "pin": "24681357"})
    assert done.status_code == 303
    stored = store.leader_pins.hash_of("H01")
    assert stored.startswith("scrypt$") and "24681357" not in stored
    assert password_matches("24681357", stored) and not password_matches("24681358", stored)
    assert "已设个人密码" in client.get("/roster").text
    client.post("/roster/households/H01/pin", data={"csrf": csrf, "pin": ""})
    assert store.leader_pins.hash_of("H01") is None


def test_roster_edits_are_validated_whole(client):
    client, csrf, store, daemon = client
    moved = client.post("/roster/households/H04/move", data={"csrf": csrf, "group": "第二组"})
    assert moved.status_code == 303
    roster = store.roster.load()
    assert "H04" in roster.group("第二组").member_ids
    refused = client.post("/roster/households/H01/remove", data={"csrf": csrf})
    assert refused.status_code == 400 and "王建国是第一组的中心户长" in refused.text
    client.post("/roster/households/H02/leader", data={"csrf": csrf, "group": "第一组"})
    assert store.roster.load().group("第一组").leader_id == "H02"
    edited = client.post("/roster/households/H03/edit", data={
        "csrf": csrf, "name": "张伟", "address": "石桥村一组3号", "phones": "186 0013 8003；021-6666 8888",
        "flags": ["able_helper"]})
    assert edited.status_code == 303
    household = store.roster.load().household("H03")
    assert household.phones == ("+8618600138003", "+862166668888")
    assert household.flags == {"able_helper"}
    duplicate = client.post("/roster/households", data={
        "csrf": csrf, "group": "第二组", "name": "新户", "address": "二组9号",
        "phones": "13600138005"})
    assert duplicate.status_code == 400 and "同时属于H05和" in duplicate.text


def test_relatives_phones_are_shown_edited_and_kept(client):
    client, csrf, store, daemon = client
    edited = client.post("/roster/households/H02/edit", data={
        "csrf": csrf, "name": "李秀英", "address": "石桥村一组2号", "phones": "139 0013 8002",
        "flags": ["elderly_alone"], "guardians": "159 0015 9002；0571-8888 1234"})
    assert edited.status_code == 303
    assert store.roster.load().household("H02").guardians == ("+8615900159002",
                                                              "+8657188881234")
    page = client.get("/roster")
    assert "亲属电话" in page.text and "159 0015 9002" in page.text
    # An edit that does not send the field (an older form) keeps them.
    client.post("/roster/households/H02/edit", data={
        "csrf": csrf, "name": "李秀英", "address": "石桥村一组2号", "phones": "139 0013 8002"})
    assert store.roster.load().household("H02").guardians == ("+8615900159002",
                                                              "+8657188881234")
    bad = client.post("/roster/households/H02/edit", data={
        "csrf": csrf, "name": "李秀英", "address": "石桥村一组2号", "phones": "139 0013 8002",
        "guardians": "159001"})
    assert bad.status_code == 400


def test_daily_check_in_time_is_shown_edited_kept_and_a_missed_one_labelled(client):
    client, csrf, store, daemon = client
    form = {"csrf": csrf, "name": "李秀英", "address": "石桥村一组2号", "phones": "139 0013 8002",
            "flags": ["elderly_alone"]}
    assert client.post("/roster/households/H02/edit",
                       data={**form, "check_in": "8：30"}).status_code == 303
    assert store.roster.load().household("H02").check_in == "08:30"
    page = client.get("/roster")
    assert "报平安时间" in page.text and "08:30" in page.text
    # An edit without the field (an older form) keeps it; a time that is none is refused.
    client.post("/roster/households/H02/edit", data=form)
    assert store.roster.load().household("H02").check_in == "08:30"
    bad = client.post("/roster/households/H02/edit", data={**form, "check_in": "8点半"})
    assert bad.status_code == 400 and "08:30" in bad.text
    assert client.post("/roster/households", data={
        "csrf": csrf, "group": "第二组", "name": "新户", "address": "二组9号",
        "phones": "13600138099", "check_in": "19:00"}).status_code == 303
    assert [h.check_in for h in store.roster.load().households if h.name == "新户"] == ["19:00"]
    # Emptied: no check-in.
    client.post("/roster/households/H02/edit", data={**form, "check_in": ""})
    assert store.roster.load().household("H02").check_in == ""
    # A missed check-in on the dashboard: its type in the page's language, never its name.
    store.incidents.open(utc_now(), "第一组", "H02", "+8613900138002", kind="check_in",
                         alarm_type="check_in")
    assert "未报平安" in client.get("/").text and "check_in" not in client.get("/").text
    assert "missed check-in" in client.get("/?lang=en").text
    client.get("/?lang=zh")


def test_the_stream_pushes_committed_events(client):
    client, csrf, store, daemon = client
    with client.stream("GET", "/stream") as stream:
        lines = stream.iter_lines()
        assert next(lines).startswith("retry:")
        store.append_event(utc_now(), "siren_test", seconds=5)
        for line in lines:
            if line.startswith("data:"):
                assert '"kind": "siren_test"' in line
                break


def test_the_daemon_reloads_its_roster_when_it_is_replaced(tmp_path):
    from edgebox.adapters.gpio.simulated import SimulatedGPIO
    from edgebox.daemon.app import build_daemon
    from edgebox.web import roster_edit
    config = parse_config(f'[box]\ndatabase = "{tmp_path / "box.db"}"\n'
                          '[[modems]]\nport = "/dev/null"\n')
    daemon = build_daemon(config, gpio=SimulatedGPIO())
    daemon.store.roster.replace(read_roster_csv(SHEET.encode("utf-8")), utc_now())
    daemon.follow_roster()
    assert "H04" in daemon.roster.group("第一组").member_ids
    moved = roster_edit.move_household(daemon.store.roster.load(), "H04", "第二组")
    daemon.store.roster.replace(moved, utc_now(), source="web")
    daemon.follow_roster()  # what the event loop does on every turn
    assert "H04" in daemon.roster.group("第二组").member_ids
