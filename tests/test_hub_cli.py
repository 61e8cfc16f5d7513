"""The hub and upload commands as an official uses them, and the uplink over HTTPS with the
hub's certificate checked."""
import json
import re
import subprocess
import sys

import httpx
import pytest

from edgebox.store import SqliteStore
from edgebox.uplink.uploader import Uploader
from tests.hub_support import (ROOT, HubProcess, HubView, box_events, fill_box,
                               hub_database_url, register, settings)

pytestmark = pytest.mark.slow


def edgebox(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "edgebox", *args], capture_output=True,
                          text=True, timeout=120, input=stdin, cwd=ROOT)


def test_register_a_box_upload_now_and_list(tmp_path):
    db = str(tmp_path / "hub.db")
    added = edgebox("hub", "box", "add", "box-7", "--county", "临安区", "--township", "太湖源镇",
                    "--village", "石桥村", "--db", db)
    assert added.returncode == 0, added.stderr
    token = added.stdout.split("token: ")[1].strip()
    assert len(token) >= 40
    again = edgebox("hub", "box", "add", "box-7", "--county", "a", "--township", "b",
                    "--village", "c", "--db", db)
    assert again.returncode == 2 and "already registered" in again.stderr
    hub = HubProcess(db, tmp_path).start()
    try:
        store = SqliteStore(tmp_path / "box.db")
        fill_box(store, incidents=2, noise=3)
        config = tmp_path / "box.toml"
        config.write_text(f'[box]\nid = "box-7"\ndatabase = "{tmp_path / "box.db"}"\n'
                          f'[uplink]\nurl = "{hub.url}"\ntoken = "{token}"\n'
                          '[[modems]]\nport = "/dev/null"\n', encoding="utf-8")
        uploaded = edgebox("upload", "now", "--config", str(config), "--json")
        assert uploaded.returncode == 0, uploaded.stderr
        report = json.loads(uploaded.stdout)
        assert report["ok"] and report["events"] == len(box_events(store))
        status = edgebox("upload", "status", "--config", str(config), "--json")
        assert json.loads(status.stdout)["backlog"] == 0
        assert re.fullmatch(r"[0-9a-f]{32}", json.loads(status.stdout)["log_id"])
        listed = edgebox("hub", "box", "list", "--db", db, "--json")
        row = json.loads(listed.stdout.splitlines()[0])
        assert row["box_id"] == "box-7" and row["acked_seq"] == report["acked_seq"]
        assert row["log_no"] == 1
        assert token not in listed.stdout
        hub.stop()
        down = edgebox("upload", "now", "--config", str(config))
        assert down.returncode == 1 and "upload failed" in down.stderr
    finally:
        hub.stop()


def test_user_add_refuses_a_short_password(tmp_path):
    result = edgebox("hub", "user", "add", "li", "--password-stdin", "--db",
                     str(tmp_path / "hub.db"), stdin="short\n")
    assert result.returncode == 2 and "at least 10" in result.stderr


def login(hub, clients: list, password: str, name: str = "wang") -> httpx.Client | None:
    """A new browser logged in as ``name``, or None when the login was refused."""
    client = httpx.Client(base_url=hub.url, timeout=30)
    clients.append(client)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    answer = client.post("/login", data={"csrf": csrf, "name": name, "password": password})
    return client if answer.status_code == 303 else None


def users(db: str) -> list[dict]:
    listed = edgebox("hub", "user", "list", "--json", "--db", db)
    assert listed.returncode == 0, listed.stderr
    return [json.loads(line) for line in listed.stdout.splitlines()]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_users_are_added_listed_repassworded_and_removed(kind, tmp_path):
    db = hub_database_url(kind, tmp_path)
    first, second = "correct horse battery staple", "another long pass phrase"
    added = edgebox("hub", "user", "add", "wang", "--password-stdin", "--db", db,
                    stdin=first + "\n")
    assert added.returncode == 0, added.stderr
    twice = edgebox("hub", "user", "add", "wang", "--password-stdin", "--db", db,
                    stdin=first + "\n")
    assert twice.returncode == 2 and "exists" in twice.stderr
    assert edgebox("hub", "user", "add", "li", "--password-stdin", "--db", db,
                   stdin=second + "\n").returncode == 0
    view = HubView(db)
    with view.db.transaction(write=False) as tx:
        stored = dict(tx.rows("SELECT name, password FROM users"))
    view.close()
    assert all(h.startswith("scrypt$") and first not in h and second not in h
               for h in stored.values())
    hub = HubProcess(db, tmp_path).start()
    clients = []
    try:
        browser = login(hub, clients, first)
        assert browser is not None and browser.get("/").status_code == 200
        listed = users(db)
        assert [u["name"] for u in listed] == ["li", "wang"]
        wang = listed[1]
        assert wang["last_login_at"] and wang["sessions"] == 1 and listed[0]["sessions"] == 0
        assert "password" not in wang and "scrypt" not in json.dumps(listed)
        # A new password: the old one stops working and the open session ends.
        changed = edgebox("hub", "user", "password", "wang", "--password-stdin", "--db", db,
                          stdin=second + "\n")
        assert changed.returncode == 0, changed.stderr
        assert browser.get("/").status_code == 303
        assert login(hub, clients, first) is None
        browser = login(hub, clients, second)
        assert browser is not None
        short = edgebox("hub", "user", "password", "wang", "--password-stdin", "--db", db,
                        stdin="short\n")
        assert short.returncode == 2 and "at least 10" in short.stderr
        nobody = edgebox("hub", "user", "password", "zhao", "--password-stdin", "--db", db,
                         stdin=second + "\n")
        assert nobody.returncode == 2 and "no user zhao" in nobody.stderr
        # Removed: logged out at once, and no login any more.
        removed = edgebox("hub", "user", "remove", "wang", "--db", db)
        assert removed.returncode == 0, removed.stderr
        assert browser.get("/").status_code == 303
        assert login(hub, clients, second) is None
        assert [u["name"] for u in users(db)] == ["li"]
        again = edgebox("hub", "user", "remove", "wang", "--db", db)
        assert again.returncode == 2 and "no user wang" in again.stderr
        plain = edgebox("hub", "user", "list", "--db", db)
        assert plain.stdout.startswith("li ") and "last login never" in plain.stdout
    finally:
        for client in clients:
            client.close()
        hub.stop()


def test_upload_over_https_checks_the_hubs_certificate(tmp_path):
    cert, key = tmp_path / "hub.pem", tmp_path / "hub.key"
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                           "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                           "/CN=edgebox test hub", "-addext", "subjectAltName=IP:127.0.0.1",
                           "-keyout", str(key), "-out", str(cert)], capture_output=True,
                          timeout=60)
    assert made.returncode == 0, made.stderr
    db = str(tmp_path / "hub.db")
    register(db)
    hub = HubProcess(db, tmp_path, tls=(cert, key)).start()
    store = SqliteStore(tmp_path / "box.db")
    fill_box(store, incidents=1, noise=2)
    try:
        untrusting = Uploader(settings(hub.url), store)
        refused = untrusting.run_once()
        untrusting.client.close()
        assert not refused.ok and "CERTIFICATE_VERIFY_FAILED" in refused.error
        view = HubView(db)
        assert view.count() == 0
        trusting = Uploader(settings(hub.url, ca_file=str(cert)), store)
        report = trusting.run_once()
        trusting.client.close()
        assert report.ok, report.error
        assert view.count() == len(box_events(store))
        view.close()
    finally:
        hub.stop()
        store.close()
