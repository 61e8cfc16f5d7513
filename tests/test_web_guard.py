"""The web panel cannot be used to knock the box over: bodies are bounded while they stream in
(and not read at all before the login check), a flood of visitors cannot log the office out,
and every answer carries the security headers its pages were written for."""
import re
import select
import socket
from datetime import datetime, timezone
from urllib.parse import urlsplit

import httpx
import pytest

from edgebox.web.guard import CONTENT_SECURITY_POLICY
from tests.test_web_panel import client, login, served  # noqa: F401  (fixtures)

MB = 1024 * 1024


def raw_post(url: str, path: str, body_size: int, headers: dict, chunked: bool,
             cookie: str = "") -> tuple[int, int]:
    """POST ``body_size`` bytes over a plain socket (a file part of 'a's for a multipart
    form), a chunk at a time, stopping as soon as the server answers. Returns (status, body
    bytes sent before the answer came)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=60) as sock:
        return _post_on(sock, parts.netloc, path, body_size, headers, chunked, cookie)


def _post_on(sock, netloc, path, body_size, headers, chunked, cookie) -> tuple[int, int]:
    head = [f"POST {path} HTTP/1.1", f"Host: {netloc}", "Connection: close",
            *(f"{k}: {v}" for k, v in headers.items())]
    if cookie:
        head.append(f"Cookie: {cookie}")
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {body_size}")
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    chunk = b"a" * (64 * 1024)
    first = MULTIPART_HEAD if "multipart" in headers.get("Content-Type", "") else b""
    sent = 0
    try:
        while sent < body_size:
            if _answered(sock):
                break
            piece = (first + chunk)[:body_size - sent] if sent == 0 else chunk[:body_size - sent]
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            sent += len(piece)
        else:
            if chunked:
                sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server closed the connection after answering: that is the point
    answer = b""
    try:
        while b"\r\n" not in answer:
            data = sock.recv(4096)
            if not data:
                break
            answer += data
    except ConnectionResetError:
        pass
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, sent


def _answered(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], 0)[0])


def session_cookie(http: httpx.Client) -> str:
    return "edgebox_session=" + http.cookies["edgebox_session"]


MULTIPART_HEAD = (b'--xyz\r\nContent-Disposition: form-data; name="sheet"; filename="big.csv"'
                  b'\r\nContent-Type: text/csv\r\n\r\n')


def multipart_headers() -> dict:
    return {"Content-Type": "multipart/form-data; boundary=xyz"}


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "streamed"])
def test_a_50_mb_upload_is_refused_before_it_is_read(client, chunked):  # noqa: F811
    http, csrf, store, daemon = client
    status, sent = raw_post(str(http.base_url), "/roster/import", 50 * MB,
                            {**multipart_headers(), "X-CSRF-Token": csrf}, chunked,
                            session_cookie(http))
    assert status == 413
    # Refused at the limit (1 MB), not after taking the 50 MB: what the socket buffers hold
    # besides is a few megabytes at most.
    assert sent < 10 * MB
    assert len(store.roster.load().households) == 6
    assert http.get("/").status_code == 200  # the panel goes on serving


def test_the_413_page_says_what_happened_in_chinese(client):  # noqa: F811
    http, csrf, store, daemon = client
    answer = http.post("/roster/import", data={"csrf": csrf},
                       files={"sheet": ("村.csv", b"x" * (2 * MB), "text/csv")})
    assert answer.status_code == 413
    assert "太大" in answer.text and "1024KB" in answer.text
    assert "too large" not in answer.text


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "streamed"])
def test_an_unauthenticated_large_post_to_login_is_cut_off(served, chunked):  # noqa: F811
    panel, store, daemon = served
    status, sent = raw_post(panel.url, "/login", 300 * MB,
                            {"Content-Type": "application/x-www-form-urlencoded"}, chunked)
    assert status == 413 and sent < 10 * MB
    assert not store.events_of_kinds(["web_login"])


def test_a_visitors_post_to_a_page_is_not_read_at_all(served):  # noqa: F811
    panel, store, daemon = served
    status, sent = raw_post(panel.url, "/roster/import", 300 * MB, multipart_headers(),
                            chunked=True)
    assert status == 303 and sent < 10 * MB  # sent to the login page, the body left unread


def test_a_flood_of_visitors_does_not_log_the_office_out(served):  # noqa: F811
    panel, store, daemon = served
    office, csrf = login(panel)
    for _ in range(600):  # each visit without a cookie makes a fresh visitor session
        assert httpx.get(panel.url + "login", timeout=30).status_code == 200
    assert office.get("/").status_code == 200
    assert office.get("/roster").status_code == 200
    # Visitors are never written to the store; the one login is, by its hash.
    [(kept,)] = store.db.execute("SELECT token_hash FROM web_sessions").fetchall()
    assert kept != office.cookies["edgebox_session"] and len(kept) == 64
    office.close()


PAGES = ["/", "/roster", "/broadcast", "/health", "/roster/groups/第一组/print"]


def test_every_page_and_error_carries_the_security_headers(client):  # noqa: F811
    http, csrf, store, daemon = client
    incident = store.incidents.open(datetime.now(timezone.utc), "第一组", "H03",
                                    "+8618600138003")
    anonymous = httpx.Client(base_url=str(http.base_url), timeout=30)
    answers = [http.get(p) for p in [*PAGES, f"/incidents/{incident.id}", "/static/app.js",
                                     "/no-such-page", "/logout"]]
    answers += [anonymous.get("/login"), anonymous.get("/"),
                anonymous.post("/login", data={"password": "x"}),  # 403: no CSRF token
                http.post("/roster/import", data={"csrf": csrf},
                          files={"sheet": ("a.csv", b"x" * (2 * MB), "text/csv")})]
    assert [a.status_code for a in answers] == [200] * 7 + [404, 405, 200, 303, 403, 413]
    for answer in answers:
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] in ("same-origin", "no-referrer")
        assert answer.headers["x-content-type-options"] == "nosniff"
    anonymous.close()


def test_pages_hold_nothing_inline_that_the_policy_would_block(client):  # noqa: F811
    http, csrf, store, daemon = client
    incident = store.incidents.open(datetime.now(timezone.utc), "第一组", "H03",
                                    "+8618600138003")
    for path in [*PAGES, f"/incidents/{incident.id}", "/?lang=en"]:
        html = http.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"<style|\sstyle=", html), path
        assert not re.search(r"\son[a-z]+=", html), path
        assert "includeIndicatorStyles" in html  # htmx is told not to inject its own style


def test_a_zip_bomb_uploaded_as_the_roster_is_refused_with_a_clear_message(client):  # noqa: F811
    from tests.test_xlsx_bounds import GOOD, SHEET, bomb_sheet, with_member
    http, csrf, store, daemon = client
    bomb = with_member(GOOD, SHEET, bomb_sheet(200 * MB))
    answer = http.post("/roster/import", data={"csrf": csrf},
                       files={"sheet": ("村.xlsx", bomb, "application/octet-stream")})
    assert answer.status_code == 400
    assert "解压后超过8 MB" in answer.text  # in the page's language
    assert len(store.roster.load().households) == 6


def test_the_box_view_reads_the_siren_from_the_log(tmp_path):
    from datetime import timedelta

    from edgebox.config_file import parse_config
    from edgebox.store import SqliteStore
    from edgebox.web.box_view import BoxView
    store = SqliteStore(tmp_path / "box.db")
    now = [datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)]
    view = BoxView(store, parse_config('[[modems]]\nport = "/dev/null"\nname = "m1"\n'),
                   lambda: now[0])
    assert not view.siren_is_on()
    store.append_event(now[0], "siren_on", seconds=60, pattern="continuous")
    assert view.siren_is_on()
    now[0] += timedelta(seconds=61)
    assert not view.siren_is_on()  # its time ran out
    store.append_event(now[0], "siren_test", seconds=5)
    assert view.siren_is_on()
    store.append_event(now[0], "siren_off", reason="max_on_time")
    assert not view.siren_is_on()
    store.append_event(now[0], "modem_ready", modem="m1")
    assert view.modems()["m1"]["alive"]
    store.close()
