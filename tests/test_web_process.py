"""The web panel runs in a process of its own, started and kept running by `edgebox run`:
whatever is uploaded, the alarm daemon's memory stays small, office clicks still reach the
alarm loop (through the store's office_actions desk) and a panel that dies comes back."""
import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from edgebox.web.passwords import hash_password
from tests.support import kinds, query, start_box, stop, wait_for
from tests.test_web_guard import MB, multipart_headers, raw_post, session_cookie
from tests.test_xlsx_bounds import GOOD, SHEET, bomb_sheet, with_member

pytestmark = pytest.mark.slow
PASSWORD = "村委值班2024"
DAEMON_RSS_LIMIT = 50 * MB


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def panels(db) -> list[dict]:
    return [json.loads(row[0]) for row in
            query(db, "SELECT data FROM events WHERE kind = 'web_panel_started' ORDER BY seq")]


def logged_in(url: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=url, timeout=30)
    page = client.get("/login").text
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    assert client.post("/login", data={"password": PASSWORD, "csrf": csrf}).status_code == 303
    dashboard = client.get("/").text
    return client, dashboard.split('name="csrf" value="')[1].split('"')[0]


@pytest.fixture
def box(tmp_path, emulator):
    extra = f'[web]\nlisten = "127.0.0.1:0"\npassword_hash = "{hash_password(PASSWORD)}"\n'
    daemon, db, config, log_path = start_box(tmp_path, [emulator], extra=extra)
    wait_for(lambda: panels(db), 30, "the web panel", log_path)
    yield daemon, db, log_path, emulator
    stop(daemon)


def test_uploads_cannot_grow_the_alarm_daemon(box):
    daemon, db, log_path, emulator = box
    panel = panels(db)[-1]
    assert panel["pid"] != daemon.pid  # served by a process of its own
    limits = Path(f"/proc/{panel['pid']}/limits").read_text()
    assert "Max data size             268435456" in limits  # web.memory_mb = 256
    client, csrf = logged_in(panel["url"])
    status, sent = raw_post(panel["url"], "/roster/import", 50 * MB,
                            {**multipart_headers(), "X-CSRF-Token": csrf}, chunked=True,
                            cookie=session_cookie(client))
    assert status == 413 and sent < 10 * MB
    bomb = with_member(GOOD, SHEET, bomb_sheet(200 * MB))
    refused = client.post("/roster/import", data={"csrf": csrf},
                          files={"sheet": ("村.xlsx", bomb, "application/octet-stream")})
    assert refused.status_code == 400 and "解压后超过8 MB" in refused.text
    assert rss(daemon.pid) <= DAEMON_RSS_LIMIT
    assert client.get("/").status_code == 200
    client.close()


def test_office_clicks_reach_the_alarm_loop_from_the_panels_process(box):
    daemon, db, log_path, emulator = box
    client, csrf = logged_in(panels(db)[-1]["url"])
    assert client.post("/siren", data={"action": "siren_on", "csrf": csrf}).status_code == 303
    wait_for(lambda: "office_action" in kinds(db), 30, "the click", log_path)
    [(source, handled)] = query(db, "SELECT source, handled_at IS NOT NULL FROM office_actions")
    assert (source, handled) == ("web", 1)
    # A roster edit made in the panel's process reaches the daemon: 刘洋 moves to 第二组,
    # and his call alerts 第二组.
    moved = client.post("/roster/households/H04/move", data={"csrf": csrf, "group": "第二组"})
    assert moved.status_code == 303
    client.close()
    wait_for(lambda: "roster_loaded" in kinds(db), 30, "the daemon taking the edit", log_path)
    emulator.call("13700138004")
    wait_for(lambda: query(db, "SELECT group_id FROM incidents"), 30, "the alarm", log_path)
    assert query(db, "SELECT group_id FROM incidents") == [("第二组",)]


def test_a_panel_that_dies_is_started_again_and_the_office_stays_logged_in(box):
    daemon, db, log_path, emulator = box
    first = panels(db)[-1]
    office, csrf = logged_in(first["url"])
    token = office.cookies["edgebox_session"]
    os.kill(first["pid"], signal.SIGKILL)
    wait_for(lambda: len(panels(db)) == 2, 30, "the panel's restart", log_path)
    again = panels(db)[-1]
    assert again["pid"] != first["pid"]
    assert "web_panel_exited" in kinds(db)
    assert httpx.get(again["url"] + "login", timeout=30).status_code == 200
    assert daemon.poll() is None
    # The login was kept in the store by its hash only, and the new process knows it.
    assert token not in json.dumps(query(db, "SELECT * FROM web_sessions"))
    same = httpx.Client(base_url=again["url"], timeout=30, cookies={"edgebox_session": token})
    page = same.get("/")
    assert page.status_code == 200 and csrf in page.text
    assert same.post("/logout", data={"csrf": csrf}).status_code == 303
    assert query(db, "SELECT count(*) FROM web_sessions") == [(0,)]
    assert same.get("/").status_code == 303  # logged out for good
    same.close()
    office.close()


def test_the_panel_does_not_outlive_a_killed_daemon(box):
    daemon, db, log_path, emulator = box
    panel = panels(db)[-1]
    daemon.kill()
    daemon.wait()
    wait_for(lambda: not Path(f"/proc/{panel['pid']}").exists()
             or "zombie" in Path(f"/proc/{panel['pid']}/status").read_text(), 30,
             "the orphaned panel to stop", log_path)


def test_the_office_inbox_queues_each_kept_action_once(tmp_path):
    import queue
    from datetime import datetime, timezone

    from edgebox.daemon import office_inbox
    from edgebox.daemon.office_inbox import OfficeInbox
    from edgebox.roster_io.csv_sheet import read_roster_csv
    from edgebox.store import SqliteStore
    from tests.support import SHEET
    now = lambda: datetime.now(timezone.utc)  # noqa: E731
    store = SqliteStore(tmp_path / "box.db")
    store.roster.replace(read_roster_csv(SHEET.encode("utf-8")), now())
    events = queue.Queue()
    inbox = OfficeInbox(events, store.inbox)
    assert inbox.next_look() == office_inbox.IDLE_COLLECT_SECONDS  # idle: looks seldom
    first = store.inbox.keep_office_action(now(), "siren_on", "web", "office", None, None, "")
    inbox.collect()
    # The office at work: it looks often now, and seldom again once quiet for a while.
    assert inbox.next_look() == office_inbox.COLLECT_SECONDS
    later = time.monotonic() + office_inbox.BUSY_SECONDS + 1
    assert inbox.next_look(later) == office_inbox.IDLE_COLLECT_SECONDS
    inbox.collect()  # still unhandled: not queued a second time
    assert [a.action_id for a in [events.get_nowait()]] == [first]
    assert events.empty()
    store.close()
