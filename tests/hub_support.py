"""Helpers for the uplink and hub tests: a real hub process on loopback, a fault-injecting
proxy in front of it, a box database with a realistic log, and reading the hub's database."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from edgebox.domain.alarm import PlannedDelivery
from edgebox.hub.database import Database, open_database
from edgebox.hub.registry import add_box
from edgebox.store import SqliteStore
from edgebox.uplink.settings import UplinkSettings
from edgebox.uplink.uploader import Uploader
from edgebox.web.i18n import WORDS, translator
from tests.pg_server import free_port, shared_postgres

ROOT = Path(__file__).parent.parent
TOKEN = "t0ken-for-the-tests-0123456789"


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def hub_database_url(kind: str, tmp_path: Path) -> str:
    if kind == "postgresql":
        return shared_postgres().new_database()
    return str(tmp_path / "hub.db")


def register(url: str, box_id: str = "box-1", token: str = TOKEN, village: str = "石桥村",
             township: str = "太湖源镇", county: str = "临安区") -> None:
    db = open_database(url)
    try:
        add_box(db, box_id, county, township, village, token)
    finally:
        db.close()


class HubProcess:
    """``edgebox hub serve`` as a child process; killed or stopped by its own PID."""

    def __init__(self, db_url: str, workdir: Path, max_skew: float = 300, tls: tuple = (),
                 options: tuple = ()):
        self.db_url = db_url
        self.workdir = workdir
        self.max_skew = max_skew
        self.tls = tls
        self.options = options  # more `edgebox hub serve` options
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log_path = workdir / f"hub-{self.port}.log"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> "HubProcess":
        command = [sys.executable, "-m", "edgebox", "hub", "serve", "--db", self.db_url,
                   "--host", "127.0.0.1", "--port", str(self.port), "--max-skew",
                   str(self.max_skew)]
        if self.tls:
            command += ["--ssl-certfile", str(self.tls[0]), "--ssl-keyfile", str(self.tls[1])]
        command += [str(option) for option in self.options]
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        log.close()
        verify = ssl.create_default_context(cafile=str(self.tls[0])) if self.tls else True
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"hub exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2, verify=verify).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"hub did not start: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: the hub dies wherever it is, as on a power cut."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


class HubView:
    """Reads the hub's database the way an auditor would."""

    def __init__(self, url: str):
        self.db = Database(url)

    def close(self) -> None:
        self.db.close()

    @staticmethod
    def _where(box: str, log: int | None) -> tuple[str, tuple]:
        if log is None:
            return "box_id = ?", (box,)
        return "box_id = ? AND log_no = ?", (box, log)

    def events(self, box: str = "box-1", log: int | None = None) -> list[dict]:
        """The box's events at the hub, as the box wrote them: one log, or every log in
        order."""
        where, args = self._where(box, log)
        with self.db.transaction(write=False) as tx:
            rows = tx.dicts("SELECT seq, at, kind, incident_id, data FROM events WHERE"
                            f" {where} ORDER BY log_no, seq", args)
        for row in rows:
            row["data"] = json.loads(row["data"])
        return rows

    def count(self, box: str = "box-1", log: int | None = None) -> int:
        where, args = self._where(box, log)
        with self.db.transaction(write=False) as tx:
            return tx.one(f"SELECT count(*) FROM events WHERE {where}", args)[0]

    def box(self, box: str = "box-1") -> dict:
        with self.db.transaction(write=False) as tx:
            return tx.dicts("SELECT * FROM boxes WHERE box_id = ?", (box,))[0]

    def logs(self, box: str = "box-1") -> list[dict]:
        with self.db.transaction(write=False) as tx:
            return tx.dicts("SELECT * FROM box_logs WHERE box_id = ? ORDER BY log_no", (box,))

    def incidents(self, box: str = "box-1", log: int | None = None) -> list[dict]:
        where, args = self._where(box, log)
        with self.db.transaction(write=False) as tx:
            return tx.dicts(f"SELECT * FROM incidents WHERE {where} ORDER BY log_no,"
                            " incident_id", args)


def try_login(client: httpx.Client, password: str, name: str = "wang") -> httpx.Response:
    """Log in to the dashboard as a browser does: the form's CSRF token, then the post."""
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"csrf": csrf, "name": name, "password": password,
                                       "next": "/"})


def csv_rows(client: httpx.Client, path: str, **params) -> list[dict]:
    """A CSV export as rows keyed by column (its headers are Chinese; its BOM, there for
    Excel, stripped)."""
    lines = list(csv.reader(io.StringIO(client.get(path, params=params).text.lstrip("\ufeff"))))
    # Time columns name the hub's zone (Asia/Shanghai in these tests).
    t = translator("zh")
    columns = {t(key, zone="北京"): key[len("csv_"):] for key in WORDS if key.startswith("csv_")}
    assert set(lines[0]) <= set(columns), f"headers not from the dictionary: {lines[0]}"
    names = [columns[header] for header in lines[0]]
    return [dict(zip(names, row)) for row in lines[1:]]


# Three boxes in two townships (two villages in the first), and a user of each role.
SCOPED_BOXES = (("box-a", "token-for-box-a-0123456789", "太湖源镇", "石桥村"),
                ("box-b", "token-for-box-b-0123456789", "太湖源镇", "竹林村"),
                ("box-c", "token-for-box-c-0123456789", "於潜镇", "光明村"))
SCOPED_USERS = (("zhao", ()), ("wang", ("--role", "township", "--township", "太湖源镇")),
                ("li", ("--role", "village", "--box", "box-a")))
USER_PASSWORD = "correct horse battery staple"


def hub_cli(url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """``edgebox hub …`` on the database at ``url``."""
    return subprocess.run([sys.executable, "-m", "edgebox", "hub", *args, "--db", url],
                          input=stdin, capture_output=True, text=True, timeout=60)


def start_scoped_hub(url: str, tmp_path: Path, fill) -> HubProcess:
    """A hub with SCOPED_BOXES and SCOPED_USERS (added with the command line), each box's log
    made by ``fill(box_id, store)`` and uploaded by the real uploader."""
    for box, token, township, village in SCOPED_BOXES:
        register(url, box, token=token, township=township, village=village)
    for name, role in SCOPED_USERS:
        added = hub_cli(url, "user", "add", name, "--password-stdin", *role,
                        stdin=USER_PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
    process = HubProcess(url, tmp_path).start()
    for box, token, _, _ in SCOPED_BOXES:
        store = SqliteStore(tmp_path / f"{box}.db")
        fill(box, store)
        uploader = Uploader(settings(process.url, box_id=box, token=token), store)
        assert uploader.run_once().ok
        uploader.client.close()
        store.close()
    return process


def fill_box(store: SqliteStore, incidents: int = 3, noise: int = 20,
             start: datetime | None = None) -> None:
    """A realistic log: alarms with texts, a failure, acknowledgements, health readings."""
    now = start or datetime.now(timezone.utc) - timedelta(hours=2)
    for number in range(incidents):
        now += timedelta(minutes=3)
        incident = store.incidents.open(now, "G1", "H01", "+8613800138001")
        ids = store.outbox.add(now, incident.id, [
            PlannedDelivery("sms", f"+86139001380{i:02d}", f"H0{i + 2}", "alarm", "【联防】紧急！",
                            10) for i in range(3)])
        for index, delivery in enumerate(ids):
            claimed = store.outbox.claim_next(now, modem="main")
            if index == 2 and number % 2 == 0:
                store.outbox.finish(now, claimed.id, "failed", "delivery_failed",
                                    error="+CMS ERROR: 500")
            else:
                store.outbox.finish(now, claimed.id, "sent", "sms_sent", modem_ref=str(index))
        store.incidents.record_ack(now + timedelta(minutes=2 + number), incident.id, "H02",
                                   "+8613900138000", "sms")
        store.incidents.close(now + timedelta(minutes=30), incident.id, "expired")
    for index in range(noise):
        store.health.record(now, "main", signal=10 + index % 20, registration="home")


def box_events(store: SqliteStore) -> list[dict]:
    return [e.as_dict() for e in store.events_after(0, 10 ** 9)]


def settings(url: str, **overrides) -> UplinkSettings:
    values = dict(url=url, box_id="box-1", token=TOKEN, interval_minutes=0.02,
                  batch_events=25, timeout_seconds=5, retry_seconds=0.05,
                  max_backoff_minutes=0.01, prune_kinds=("modem_health",),
                  summary_hour=0)
    values.update(overrides)
    return UplinkSettings(**values)


class FaultProxy:
    """An HTTP proxy in front of the hub that does, per request, what the test planned:

    - "pass": forward and relay the answer;
    - "error500": answer 500 itself;
    - "hang": never answer (the box's timeout fires);
    - "hold_response": forward, read the hub's answer, set ``holding`` and wait for ``release``,
      then close without answering (the hub stored the batch; the box never hears so);
    - "hold_request": forward the headers and half the body, set ``holding``, wait for
      ``release``, then close both sides (the hub never gets the whole batch).
    Every connection carries one request (the proxy answers ``Connection: close``).
    """

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.plan: list[str] = []
        self.seen: list[str] = []
        self.holding = threading.Event()
        self.release = threading.Event()
        self.bytes_up = self.bytes_down = 0
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(16)
        self.port = self._server.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._closed = True
        self.release.set()
        self._server.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    @staticmethod
    def _read_request(client: socket.socket) -> bytes | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = client.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = client.recv(65536)
            if not chunk:
                return None
            body += chunk
        lines = [line for line in head.split(b"\r\n")
                 if not line.lower().startswith(b"connection:")]
        return b"\r\n".join(lines + [b"Connection: close"]) + b"\r\n\r\n" + body

    def _serve(self, client: socket.socket) -> None:
        with client:
            request = self._read_request(client)
            if request is None:
                return
            mode = self.plan.pop(0) if self.plan else "pass"
            self.seen.append(mode)
            self.bytes_up += len(request)
            if mode == "error500":
                client.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain"
                               b"\r\nContent-Length: 5\r\nConnection: close\r\n\r\noops!")
                return
            if mode == "hang":
                client.settimeout(60)
                try:
                    client.recv(1)  # until the box gives up and closes
                except OSError:
                    pass
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=30)
            except OSError:
                return  # the hub is down: the box sees the connection close
            with upstream:
                if mode == "hold_request":
                    upstream.sendall(request[:len(request) - max(1, len(request) // 4)])
                    self.holding.set()
                    self.release.wait(60)
                    return
                upstream.sendall(request)
                answer = b""
                try:
                    while chunk := upstream.recv(65536):
                        answer += chunk
                except OSError:
                    return
                if mode == "hold_response":
                    self.holding.set()
                    self.release.wait(60)
                    return
                self.bytes_down += len(answer)
                client.sendall(answer)
