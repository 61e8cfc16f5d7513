"""The hub's door, tried with hand-made requests against a real hub process, on SQLite and
PostgreSQL: duplicates, tampering, replays, wrong tokens, clock skew, a box that is ahead."""
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from edgebox.store import SqliteStore
from edgebox.uplink import protocol
from edgebox.uplink.uploader import Uploader
from tests.hub_support import (TOKEN, HubProcess, HubView, fill_box, hub_database_url,
                               register, settings)

pytestmark = pytest.mark.slow
MAX_SKEW = 120


@pytest.fixture(params=["sqlite", "postgresql"])
def hub(request, tmp_path):
    url = hub_database_url(request.param, tmp_path)
    register(url)
    register(url, "box-2", token="another-token-for-box-two")
    process = HubProcess(url, tmp_path, max_skew=MAX_SKEW).start()
    view = HubView(url)
    yield process, view
    process.stop()
    view.close()


def events(first: int, last: int) -> list[dict]:
    at = datetime(2026, 5, 1, tzinfo=timezone.utc)
    return [{"seq": n, "at": (at + timedelta(seconds=n)).isoformat(), "kind": "siren_on",
             "incident_id": None, "data": {"n": n, "text": "警报"}} for n in range(first, last + 1)]


def post(process, body: bytes, box="box-1", token=TOKEN, skew: float = 0, nonce=None,
         headers=None):
    headers = headers or protocol.signed_headers(token, box, time.time() + skew,
                                                 protocol.UPLOAD_PATH, body, nonce)
    return httpx.post(process.url + protocol.UPLOAD_PATH, content=body, headers=headers,
                      timeout=30)


def batch(first, last, after=None, box="box-1", log=""):
    return protocol.encode_batch(box, first - 1 if after is None else after,
                                 events(first, last), {"backlog": 0}, log=log)


def test_duplicate_and_overlapping_batches_are_stored_once(hub):
    process, view = hub
    first = post(process, batch(1, 10))
    assert first.status_code == 200, first.text
    assert first.json() | {"hub_time": 0} == {"acked_seq": 10, "stored": 10, "duplicates": 0,
                                              "hub_time": 0}
    again = post(process, batch(1, 10)).json()  # same batch, new nonce: a retried upload
    assert (again["acked_seq"], again["stored"], again["duplicates"]) == (10, 0, 10)
    overlap = post(process, batch(6, 15, after=5)).json()
    assert (overlap["acked_seq"], overlap["stored"], overlap["duplicates"]) == (15, 5, 5)
    stored = view.events()
    assert [e["seq"] for e in stored] == list(range(1, 16))
    assert stored[3]["data"] == {"n": 4, "text": "警报"}


def test_each_log_of_a_box_has_its_own_sequence_and_cursor(hub):
    process, view = hub
    first, second, third = "a" * 32, "b" * 32, "c" * 32
    assert post(process, batch(1, 10, log=first)).json()["acked_seq"] == 10
    # The same box with a new database: seq 1 again, under another log id. Nothing of it is a
    # duplicate, and a retry is a duplicate only within its own log.
    fresh = post(process, batch(1, 4, log=second)).json()
    assert (fresh["acked_seq"], fresh["stored"], fresh["duplicates"]) == (4, 4, 0)
    again = post(process, batch(1, 4, log=second)).json()
    assert (again["acked_seq"], again["stored"], again["duplicates"]) == (4, 0, 4)
    assert view.box()["log_no"] == 2 and view.box()["acked_seq"] == 4
    # A batch naming no log (firmware from before log ids) goes on with the box's latest log.
    older = post(process, batch(5, 6)).json()
    assert (older["acked_seq"], older["stored"]) == (6, 2)
    # The first card back in the box: its log goes on from its own cursor.
    back = post(process, batch(11, 12, log=first)).json()
    assert (back["acked_seq"], back["stored"], back["duplicates"]) == (12, 2, 0)
    assert view.count(log=1) == 12 and view.count(log=2) == 6
    assert view.events(log=2)[-1]["data"] == {"n": 6, "text": "警报"}
    assert (view.box()["log_no"], view.box()["acked_seq"]) == (1, 12)
    # A log the hub has never seen cannot begin past its start: the box is told to rewind.
    ahead = post(process, batch(5, 6, log=third))
    assert ahead.status_code == 409 and ahead.json()["acked_seq"] == 0
    assert (view.box()["log_no"], view.box()["acked_seq"]) == (3, 0)
    assert post(process, batch(1, 6, log=third)).json()["stored"] == 6
    assert [log["acked_seq"] for log in view.logs()] == [12, 6, 6]
    unfit = post(process, batch(1, 2, log="not a log id"))
    assert unfit.status_code == 400 and "'log'" in unfit.json()["detail"]
    assert view.count() == 24


def test_a_box_ahead_of_the_hub_is_told_where_to_rewind(hub):
    process, view = hub
    post(process, batch(1, 5))
    answer = post(process, batch(50, 60, after=49))
    assert answer.status_code == 409 and answer.json()["acked_seq"] == 5
    assert view.count() == 5


def test_tampered_payload_is_rejected_and_nothing_is_stored(hub):
    process, view = hub
    body = batch(1, 3)
    headers = protocol.signed_headers(TOKEN, "box-1", time.time(), protocol.UPLOAD_PATH, body)
    tampered = protocol.encode_batch("box-1", 0, events(1, 3)[:2] + [
        {**events(3, 3)[0], "data": {"n": 3, "text": "误报"}}], {"backlog": 0})
    answer = post(process, tampered, headers=headers)
    assert answer.status_code == 401 and answer.json()["error"] == "bad_signature"
    flipped = bytearray(body)
    flipped[-9] ^= 1
    assert post(process, bytes(flipped), headers=headers).json()["error"] == "bad_signature"
    as_other_box = dict(headers, **{protocol.BOX_HEADER: "box-2"})
    assert post(process, body, headers=as_other_box).json()["error"] == "bad_signature"
    assert view.count() == 0 and view.count("box-2") == 0
    assert post(process, body, headers=headers).status_code == 200  # the genuine one passes


def test_replayed_request_is_rejected_even_after_a_hub_restart(hub):
    process, view = hub
    body = batch(1, 4)
    headers = protocol.signed_headers(TOKEN, "box-1", time.time(), protocol.UPLOAD_PATH, body)
    assert post(process, body, headers=headers).status_code == 200
    replay = post(process, body, headers=headers)
    assert replay.status_code == 401 and replay.json()["error"] == "replay"
    process.stop()
    process.start()
    assert post(process, body, headers=headers).json()["error"] == "replay"
    assert view.count() == 4


def test_wrong_token_unknown_box_and_missing_headers_are_rejected(hub):
    process, view = hub
    body = batch(1, 2)
    wrong = post(process, body, token="not-the-token-of-box-one")
    assert wrong.status_code == 401 and wrong.json()["error"] == "bad_signature"
    other = post(process, body, token="another-token-for-box-two")  # box-2's token for box-1
    assert other.json()["error"] == "bad_signature"
    unknown = post(process, batch(1, 2, box="box-9"), box="box-9")
    # An unknown box answers exactly as a wrong signature: the hub tells no one which exist.
    assert unknown.status_code == 401
    assert without_time(unknown.json()) == without_time(wrong.json())
    bare = httpx.post(process.url + protocol.UPLOAD_PATH, content=body, timeout=30)
    assert bare.status_code == 401 and bare.json()["error"] == "missing_header"
    # Signed by box-2 but claiming to be box-1's batch: refused.
    mixed = post(process, batch(1, 2), box="box-2", token="another-token-for-box-two")
    assert mixed.status_code == 400
    assert view.count() == 0 and view.count("box-2") == 0


def without_time(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k != "hub_time"}


def raw_batch(document: dict) -> bytes:
    """The document gzipped; the text "5000 digits" becomes a number of 5000 digits (more
    than Python converts by default)."""
    import gzip
    import json
    return gzip.compress(json.dumps(document).replace('"5000 digits"', "9" * 5000).encode())


@pytest.mark.parametrize("field, value", [
    ("seq", 2 ** 63), ("seq", 2 ** 64 + 5), ("incident_id", 2 ** 63), ("incident_id", -1),
    ("after", 2 ** 63), ("backlog", 2 ** 63), ("seq", "5000 digits")])
def test_out_of_range_numbers_are_refused_with_400_not_500(hub, field, value):
    process, view = hub
    event = {"seq": 1, "at": "2026-05-01T00:00:00+00:00", "kind": "siren_on",
             "incident_id": None, "data": {}}
    document = {"box": "box-1", "after": 0, "through": 1, "events": [event], "status": {}}
    if field in ("seq", "incident_id"):
        event[field] = value
        document["through"] = event["seq"]
        if value == "5000 digits":
            document["through"] = 1
    elif field == "after":
        document.update(after=value, through=value, events=[])
    else:
        document["status"] = {field: value}
    answer = post(process, raw_batch(document))
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "bad_batch"
    assert view.count() == 0
    assert post(process, batch(1, 2)).status_code == 200  # the hub is fine afterwards


def test_a_time_header_of_many_digits_is_refused_not_a_crash(hub):
    process, view = hub
    body = batch(1, 2)
    headers = protocol.signed_headers(TOKEN, "box-1", time.time(), protocol.UPLOAD_PATH, body)
    stamp = "9" * 5000
    headers[protocol.TIME_HEADER] = stamp
    headers[protocol.SIGNATURE_HEADER] = protocol.sign(
        TOKEN, "box-1", stamp, headers[protocol.NONCE_HEADER], "POST", protocol.UPLOAD_PATH,
        body)
    answer = post(process, body, headers=headers)
    assert answer.status_code == 401 and answer.json()["error"] == "bad_signature"


def test_bad_batches_are_refused_with_400(hub):
    process, view = hub
    assert post(process, b"not gzip at all").status_code == 400
    import gzip
    assert post(process, gzip.compress(b'{"box": "box-1"}')).json()["error"] == "bad_batch"
    unordered = protocol.encode_batch("box-1", 0, events(2, 2) + events(1, 1), {})
    assert post(process, unordered).status_code == 400
    assert view.count() == 0


@pytest.mark.parametrize("skew", [-MAX_SKEW + 20, MAX_SKEW - 20])
def test_clock_skew_within_the_limit_is_tolerated(hub, skew):
    process, view = hub
    assert post(process, batch(1, 3), skew=skew).status_code == 200
    assert view.count() == 3


@pytest.mark.parametrize("skew", [-MAX_SKEW - 60, MAX_SKEW + 60])
def test_clock_skew_beyond_the_limit_is_refused_with_the_hubs_time(hub, skew):
    process, view = hub
    answer = post(process, batch(1, 3), skew=skew)
    assert answer.status_code == 401 and answer.json()["error"] == "clock_skew"
    assert abs(answer.json()["hub_time"] - time.time()) < MAX_SKEW
    assert view.count() == 0


def test_a_box_with_a_wrong_clock_learns_the_hubs_time_and_uploads(hub, tmp_path):
    process, view = hub
    store = SqliteStore(tmp_path / "box.db")
    fill_box(store, incidents=1, noise=3)
    late = lambda: datetime.now(timezone.utc) - timedelta(hours=5)  # noqa: E731
    uploader = Uploader(settings(process.url), store, clock=late)
    report = uploader.run_once()
    assert report.ok, report.error
    assert abs(uploader.client.clock_offset - 5 * 3600) < MAX_SKEW
    offsets = [e for e in store.events_after(0, 1000) if e.kind == "uplink_clock_offset"]
    assert len(offsets) == 1
    assert view.count() == len(store.events_after(0, 1000))  # the note about it included
    uploader.client.close()
    store.close()
