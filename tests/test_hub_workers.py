"""``edgebox hub serve --workers N``: several server processes over one PostgreSQL database.

Nothing a request depends on may live in one process's memory: a dashboard session opened on one
worker must hold on the others, and boxes uploading at once to different workers must each land
whole, exactly once. A hub whose database fails answers 503 with Retry-After, and the box
waits at least that long (with jitter) and then delivers everything.
"""
import os
import signal
import threading
from pathlib import Path

import httpx
import pytest

from edgebox.hub.database import Database
from edgebox.store import SqliteStore
from edgebox.uplink.uploader import Uploader, backoff_seconds
from tests.hub_support import (HubProcess, HubView, USER_PASSWORD, box_events, fill_box,
                               hub_cli, register, settings, try_login, wait_until)
from tests.pg_server import shared_postgres

BOXES = 6
ATTEMPTS = 3


def worker_pids(process: HubProcess) -> set[int]:
    """uvicorn's worker processes: the serve process's children started by multiprocessing."""
    pids = set()
    children = Path(f"/proc/{process.proc.pid}/task/{process.proc.pid}/children")
    for pid in children.read_text().split():
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            continue  # it has just exited (the open finds it gone, or the read a zombie's end)
        if b"spawn_main" in command:
            pids.add(int(pid))
    return pids


def replace_every_worker(process: HubProcess) -> None:
    """SIGKILL each worker in turn; uvicorn starts new ones, which have nothing in memory."""
    for pid in worker_pids(process):
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: pid not in worker_pids(process) and len(worker_pids(process)) == 2,
                   60, "a new worker")


def logged_in(client: httpx.Client) -> bool:
    answer = client.get("/", follow_redirects=False)
    return answer.status_code == 200


@pytest.fixture
def hub(tmp_path):
    url = shared_postgres().new_database()
    for number in range(BOXES):
        register(url, f"box-{number}", token=f"token-for-box-{number}-0123456789")
    added = hub_cli(url, "user", "add", "zhao", "--password-stdin", stdin=USER_PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    process = HubProcess(url, tmp_path, options=("--workers", "2", "--login-attempts",
                                                      str(ATTEMPTS))).start()
    wait_until(lambda: len(worker_pids(process)) == 2, 60, "two workers")
    yield url, process
    process.stop()


@pytest.mark.slow
def test_boxes_uploading_at_once_to_two_workers_each_land_whole_once(hub, tmp_path):
    url, process = hub
    stores = []
    for number in range(BOXES):
        store = SqliteStore(tmp_path / f"box-{number}.db")
        fill_box(store, incidents=4, noise=40)
        stores.append(store)
    outcomes: dict[int, bool] = {}

    def upload(number: int) -> None:
        uploader = Uploader(settings(process.url, box_id=f"box-{number}",
                                     token=f"token-for-box-{number}-0123456789"),
                            stores[number])
        try:
            outcomes[number] = uploader.run_once().ok
        finally:
            uploader.client.close()

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(BOXES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert outcomes == {n: True for n in range(BOXES)}
    view = HubView(url)
    try:
        for number, store in enumerate(stores):
            assert view.events(f"box-{number}") == box_events(store)
            assert len(view.incidents(f"box-{number}")) == 4
    finally:
        view.close()
        for store in stores:
            store.close()


@pytest.mark.slow
def test_a_login_holds_on_every_worker_even_ones_started_after_it(hub):
    _, process = hub
    with httpx.Client(base_url=process.url, timeout=10) as client:
        assert try_login(client, USER_PASSWORD, "zhao").status_code == 303
        assert logged_in(client)
        # Every worker that could have seen the login is replaced: the session must come
        # from the database.
        replace_every_worker(process)
        wait_until(lambda: logged_in(client), 30, "the page, served by a new worker")
    with httpx.Client(base_url=process.url, timeout=10) as stranger:
        assert not logged_in(stranger)


@pytest.mark.slow
def test_failed_logins_count_across_workers_and_restarts(hub):
    _, process = hub

    def attempt(password: str) -> int:  # a new connection each time: any worker may answer
        with httpx.Client(base_url=process.url, timeout=10) as client:
            return try_login(client, password, "zhao").status_code

    assert [attempt("a wrong guess") for _ in range(ATTEMPTS)] == [401] * ATTEMPTS
    replace_every_worker(process)  # no worker has seen a failure with its own eyes
    assert attempt("one more guess") == 429
    assert attempt(USER_PASSWORD) == 429  # not even checked while the address waits


def test_several_workers_are_refused_on_sqlite_with_the_reason(tmp_path):
    result = hub_cli(str(tmp_path / "hub.db"), "serve", "--workers", "2")
    assert result.returncode != 0
    assert "--workers needs a postgresql:// database" in result.stderr
    assert not (tmp_path / "hub.db").exists()


@pytest.mark.slow
def test_a_failing_hub_says_retry_after_and_the_box_waits_then_delivers_all(hub, tmp_path):
    url, process = hub
    admin = Database(url)
    with admin.transaction() as tx:  # the database refuses every new event, as when full
        tx.execute("CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION"
                   " 'no space left on device'; END $$ LANGUAGE plpgsql")
        tx.execute("CREATE TRIGGER refuse BEFORE INSERT ON events FOR EACH STATEMENT"
                   " EXECUTE FUNCTION refuse()")
    store = SqliteStore(tmp_path / "box-0.db")
    fill_box(store)
    uploader = Uploader(settings(process.url, box_id="box-0",
                                 token="token-for-box-0-0123456789"), store)
    try:
        report = uploader.run_once()
        assert not report.ok and "503" in report.error
        assert uploader.hub_asked == 5
        waits = [backoff_seconds(1, 0.05, 0.6, uploader.hub_asked) for _ in range(50)]
        assert all(5 <= wait <= 7.5 for wait in waits) and len(set(waits)) > 1  # spread out
        with admin.transaction() as tx:
            tx.execute("DROP TRIGGER refuse ON events")
        report = uploader.run_once()
        assert report.ok
        view = HubView(url)  # everything up to the failure's own note is there, once
        assert view.events("box-0") == [e for e in box_events(store)
                                        if e["seq"] <= report.acked_seq]
        assert "uplink_failed" in [e["kind"] for e in view.events("box-0")]
        view.close()
    finally:
        uploader.client.close()
        store.close()
        admin.close()
