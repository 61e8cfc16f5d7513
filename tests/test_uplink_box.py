"""The box's side of the uplink without a hub: wire format, settings, link commands, pruning,
the disk watch and the township summary."""
import gzip
import json
import re
import shutil
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from edgebox.config_file import parse_config
from edgebox.daemon.app import build_services
from edgebox.errors import ConfigError
from edgebox.store import SqliteStore
from edgebox.uplink import ledger as notes
from edgebox.uplink import protocol
from edgebox.uplink.client import HubClient
from edgebox.emulator import EmulatorServer, Latency
from edgebox.uplink.diskwatch import DiskWatch, DiskWatchService
from edgebox.uplink.errors import BadBatch, LinkDown
from edgebox.uplink.ledger import UplinkLedger
from edgebox.uplink.link import LinkManager
from edgebox.uplink.retention import DiskUsage
from edgebox.uplink.uploader import Uploader, backoff_seconds
from tests.hub_support import TOKEN, fill_box, settings, wait_until
from tests.support import kinds, query, start_box, stop, wait_for

MINIMAL = '[[modems]]\nname = "main"\nport = "/dev/ttyUSB2"\n'
NOW = datetime(2026, 6, 1, 14, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path):
    store = SqliteStore(tmp_path / "box.db")
    yield store
    store.close()


def hub_answering(acked=None):
    """An in-process stand-in for the hub that acknowledges whatever it is sent."""
    seen = []

    def handle(request: httpx.Request) -> httpx.Response:
        document = protocol.decode_batch(request.content)
        seen.append(document)
        return httpx.Response(200, json={"acked_seq": acked or document["through"],
                                         "stored": len(document["events"]), "duplicates": 0})
    return httpx.MockTransport(handle), seen


def uploader_for(store, tmp_path, disk=DiskUsage(100, 10, 90), clock=lambda: NOW, **overrides):
    transport, seen = hub_answering()
    config = settings("http://hub.invalid", **overrides)
    client = HubClient(config.url, config.box_id, TOKEN, transport=transport,
                       clock=lambda: clock().timestamp())
    link = LinkManager(config.url, check="true")
    up = Uploader(config, store, office=["+8657188886666"], township=["+8657100000001"],
                  clock=clock, client=client, link=link, disk_usage=lambda path: disk)
    return up, seen


# ---- the wire format -------------------------------------------------------------------------

def test_signature_covers_every_part_of_the_request():
    body = protocol.encode_batch("box-1", 0, [], {})
    args = ("box-1", "1770000000", "ab" * 16, "POST", protocol.UPLOAD_PATH, body)
    signature = protocol.sign(TOKEN, *args)
    assert signature.startswith("v1=") and protocol.signature_matches(TOKEN, signature, *args)
    for index, changed in enumerate(["box-2", "1770000001", "cd" * 16, "PUT", "/other",
                                     body + b"x"]):
        altered = list(args)
        altered[index] = changed
        assert not protocol.signature_matches(TOKEN, signature, *altered)
    assert not protocol.signature_matches("other-token-0123456", signature, *args)


def test_batches_round_trip_and_bad_ones_are_named():
    events = [{"seq": 3, "at": "2026-06-01T00:00:00+00:00", "kind": "siren_on",
               "incident_id": 1, "data": {"seconds": 60}}]
    body = protocol.encode_batch("box-1", 2, events, {"backlog": 0})
    assert body == protocol.encode_batch("box-1", 2, events, {"backlog": 0})  # deterministic
    assert protocol.decode_batch(body)["events"] == events
    assert protocol.decode_batch(body)["through"] == 3
    with pytest.raises(BadBatch, match="gzip"):
        protocol.decode_batch(b"plain")
    with pytest.raises(BadBatch, match="increase"):
        protocol.decode_batch(protocol.encode_batch("box-1", 3, events, {}))
    with pytest.raises(BadBatch, match="truncated"):
        protocol.decode_batch(body[:-6])
    bomb = gzip.compress(b" " * (protocol.MAX_BATCH_BYTES + 10))
    with pytest.raises(BadBatch, match="larger"):
        protocol.decode_batch(bomb)
    wrong = gzip.compress(json.dumps({"box": "b", "after": 0, "through": 5, "events": [],
                                      "status": {}}).encode())
    with pytest.raises(BadBatch, match="through"):
        protocol.decode_batch(wrong)


def test_every_batch_names_the_databases_log_and_a_new_database_has_a_new_one(store, tmp_path):
    fill_box(store, incidents=1, noise=30, start=NOW - timedelta(hours=1))
    up, seen = uploader_for(store, tmp_path)
    assert up.run_once().ok and len(seen) == 2
    log_id = up.ledger.log_id()
    assert re.fullmatch(r"[0-9a-f]{32}", log_id) and {d["log"] for d in seen} == {log_id}
    assert up.ledger.status()["log_id"] == log_id
    up.client.close()
    reopened = SqliteStore(tmp_path / "box.db")  # the same database, opened again
    assert UplinkLedger(reopened).log_id() == log_id
    reopened.close()
    other = SqliteStore(tmp_path / "other.db")
    assert UplinkLedger(other).log_id() not in ("", log_id)
    # Notes cleared by hand (to send everything again): a new id, so the hub keeps the resent
    # log apart instead of dropping it as duplicates.
    other.db.conn.execute("DELETE FROM uplink_state")
    remade = UplinkLedger(other).log_id()
    assert re.fullmatch(r"[0-9a-f]{32}", remade) and UplinkLedger(other).log_id() == remade
    other.close()
    for bad in ("", "x" * 65, "有", 7, "a\n"):
        body = gzip.compress(json.dumps({"box": "b", "log": bad, "after": 0, "through": 0,
                                         "events": [], "status": {}}).encode())
        with pytest.raises(BadBatch, match="'log'"):
            protocol.decode_batch(body)


def test_backoff_doubles_up_to_its_ceiling():
    waits = [backoff_seconds(n, 10, 300) for n in range(1, 8)]
    assert all(7.5 <= w <= 10 for w in waits[:1]) and all(w <= 300 for w in waits)
    assert 60 <= waits[3] <= 80 and 225 <= waits[6] <= 300


# ---- settings --------------------------------------------------------------------------------

def test_no_url_no_uploader_and_the_token_is_secret(tmp_path):
    # Without an uplink only the disk watch runs (the uploader does its job when there is one).
    assert [type(s).__name__ for s in build_services(parse_config(MINIMAL), None)] == [
        "DiskWatchService"]
    text = MINIMAL + '[box]\nid = "box-1"\n[uplink]\nurl = "https://hub.example/"\n'
    with pytest.raises(ConfigError, match="'uplink.token': is required"):
        build_services(parse_config(text), None)
    config = parse_config(text + f'token = "{TOKEN}"\n')
    store = SqliteStore(tmp_path / "box.db")
    services = build_services(config, store)
    assert [type(s).__name__ for s in services] == ["Uploader"]
    assert TOKEN not in repr(services) and TOKEN not in repr(config.redacted())
    assert config.redacted()["uplink.token"] == "***"
    services[0].client.close()
    store.close()


@pytest.mark.parametrize("extra,key,problem", [
    ('url = "ftp://hub"', "uplink.url", "http:// or https://"),
    (f'url = "http://hub"\ntoken = "{TOKEN}"\nlink_up = "pon /dev/ttyUSB2"', "uplink.link_up",
     "AT port"),
    (f'url = "http://hub"\ntoken = "{TOKEN}"\nprune_kinds = [1]', "uplink.prune_kinds",
     "list of event kinds"),
    ('summary_hour = 24', "uplink.summary_hour", "between 0 and 23"),
])
def test_uplink_mistakes_name_their_key(extra, key, problem):
    with pytest.raises(ConfigError) as caught:
        build_services(parse_config(MINIMAL + "[uplink]\n" + extra + "\n"), None)
    assert caught.value.key == key and problem in str(caught.value)


def test_a_box_id_unfit_for_a_header_is_refused():
    text = MINIMAL + f'[box]\nid = "石桥村"\n[uplink]\nurl = "http://hub"\ntoken = "{TOKEN}"\n'
    with pytest.raises(ConfigError, match="'box.id'"):
        build_services(parse_config(text), None)


# ---- the link ---------------------------------------------------------------------------------

def test_link_commands_bring_the_link_up_and_down(tmp_path):
    flag = tmp_path / "ppp0"
    link = LinkManager("http://hub.invalid", check=f"test -e {flag}", up=f"touch {flag}",
                       down=f"rm {flag}", up_seconds=5)
    assert not link.is_up()
    assert link.ensure_up() is True and flag.exists()
    assert link.ensure_up() is False  # already up: not ours to take down
    link.take_down()
    assert not flag.exists()
    failing = LinkManager("http://hub.invalid", check=f"test -e {flag}", up="false")
    with pytest.raises(LinkDown, match="link-up command failed"):
        failing.ensure_up()
    none = LinkManager("http://127.0.0.1:9", probe_seconds=1)
    with pytest.raises(LinkDown, match="no link"):
        none.ensure_up()


def test_no_link_means_no_request_and_a_logged_failure(store, tmp_path):
    up, seen = uploader_for(store, tmp_path)
    up.link = LinkManager("http://hub.invalid", check="false")
    report = up.run_once()
    assert not report.ok and "no link" in report.error and seen == []
    assert [e.kind for e in store.events_after(0)][-1] == "uplink_failed"
    assert up.ledger.get(notes.LAST_ERROR) == report.error
    up.client.close()


def test_upload_advances_to_the_acknowledgement_only(store, tmp_path):
    fill_box(store, incidents=2, noise=5, start=NOW - timedelta(days=1))
    up, seen = uploader_for(store, tmp_path)
    report = up.run_once()
    total = len(store.events_after(0, 10 ** 6))
    assert report.ok and up.ledger.acked_seq() == total
    assert [d["after"] for d in seen] == [0, 25][:len(seen)] and seen[0]["box"] == "box-1"
    status = seen[-1]["status"]
    assert status["backlog"] == 0 and status["health"][0]["modem"] == "main"
    up.client.close()


# ---- pruning, the disk, the township ------------------------------------------------------------

def test_pruning_keeps_what_matters_and_anything_not_yet_at_the_hub(store, tmp_path):
    old = NOW - timedelta(days=30)
    fill_box(store, incidents=2, noise=10, start=old)
    store.append_event(old, "sms_received", number="+8613000000000", household=None, text="广告")
    store.append_event(old, "sms_received", number="+8613900138000", household="H02", text="1")
    handled = store.inbox.keep_sms(old, "main", "+8613900138000", "1", old)
    with store.inbox.handling_sms(old, handled, "1"):
        pass
    waiting = store.inbox.keep_sms(old, "main", "+8613900138001", "取消", None)  # never acted on
    clicked = store.inbox.keep_office_action(old, "siren_off", "web", "office", None, None, "")
    with store.inbox.handling_office_action(old, clicked):
        pass
    pressed = store.inbox.keep_office_action(old, "acknowledge", "button", "", None, None, "")
    acked = store.events_after(0, 10 ** 6)[-1].seq
    store.health.record(NOW, "main", signal=20)  # not yet uploaded: must stay
    up, _ = uploader_for(store, tmp_path, prune_kinds=("modem_health", "sms_received"),
                         prune_after_days=7, keep_days=365)
    up.ledger.set_acked(acked)
    from edgebox.uplink.retention import prune
    counts = prune(store, acked, NOW, ["modem_health", "sms_received"], 7, 365)
    kinds = [e.kind for e in store.events_after(0, 10 ** 6)]
    assert kinds.count("modem_health") == 1  # only the one the hub has not acknowledged
    assert kinds.count("sms_received") == 1  # the member's reply stays
    assert "incident_opened" in kinds and counts["incidents"] == 0
    # A year on, incidents and their deliveries go too, once the hub has all their events.
    later = NOW + timedelta(days=400)
    acked = store.events_after(0, 10 ** 6)[-1].seq
    counts = prune(store, acked, later, ["modem_health"], 7, 365)
    assert counts["incidents"] == 2 and store.incidents.all() == [] and store.outbox.all() == []
    # the SMS acted on goes with them; the one never acted on stays, to be acted on
    assert counts["inbox"] == 1 and [r.id for r in store.inbox.unhandled_sms()] == [waiting]
    assert counts["office_actions"] == 1
    assert [r.id for r in store.inbox.unhandled_office_actions()] == [pressed]
    assert store.events_after(0) == []
    assert len(store.health.latest()) == 1  # the newest reading of each modem is kept
    up.client.close()


def test_a_filling_disk_is_reported_once_a_day_to_the_log_and_the_office(store, tmp_path):
    now = [NOW]
    up, _ = uploader_for(store, tmp_path, disk=DiskUsage(1000 * 2 ** 20, 900 * 2 ** 20,
                                                         100 * 2 ** 20),
                         clock=lambda: now[0], disk_warn_percent=85)
    up.run_once()
    up.run_once()
    warnings = [e for e in store.events_after(0) if e.kind == "disk_low"]
    assert len(warnings) == 1 and warnings[0].data["used_percent"] == 90
    office = [d for d in store.outbox.all() if d.purpose == "office_notice"]
    assert len(office) == 1 and office[0].phone == "+8657188886666"
    assert "90%" in office[0].text and "100MB" in office[0].text
    now[0] = NOW + timedelta(days=1)
    up.run_once()
    assert len([d for d in store.outbox.all() if d.purpose == "office_notice"]) == 2
    up.client.close()


def test_the_disk_watch_alone_checks_at_start_and_outlives_a_failed_reading(store):
    readings = [OSError("disk unreadable"), DiskUsage(1000, 960, 40)]

    def reading(path):
        value = readings[0] if len(readings) == 1 else readings.pop(0)
        if isinstance(value, Exception):
            raise value
        return value

    watch = DiskWatch(store, "box-1", 90, language="en", office=["+8657188886666"],
                      disk_usage=reading)
    service = DiskWatchService(watch, clock=lambda: NOW, period=0.05)
    service.start()
    try:
        wait_until(lambda: any(e.kind == "disk_low" for e in store.events_after(0)), 30,
                   "the warning after the failed reading")
        wait_until(lambda: len(readings) == 1, 30, "more readings")
    finally:
        service.stop()
    assert [e.kind for e in store.events_after(0)].count("disk_low") == 1  # once a day
    office = [d for d in store.outbox.all() if d.purpose == "office_notice"]
    assert [d.phone for d in office] == ["+8657188886666"]
    assert office[0].text.startswith("[Watch] Alarm box box-1 storage at 96%")


@pytest.mark.slow
def test_a_box_with_no_uplink_still_warns_the_office_of_a_filling_disk(tmp_path):
    used = shutil.disk_usage(tmp_path)
    percent = 100 * used.used / used.total
    if percent < 10:  # the lowest warning level the config allows
        pytest.skip(f"the test disk is only {percent:.0f}% used")
    emulator = EmulatorServer(link=str(tmp_path / "modem"), latency=Latency.realistic(scale=0.02))
    emulator.start()
    office = "+8613300138099"
    daemon = None
    try:
        daemon, db, config, log_path = start_box(
            tmp_path, [emulator],
            extra=f'[numbers]\noffice = ["{office}"]\n[uplink]\ndisk_warn_percent = 10\n')
        assert "url" not in config.read_text()  # no uplink: no uploader in the daemon
        wait_for(lambda: [e for e in emulator.log() if e["kind"] == "sms_sent"], 60,
                 "the office's text", log_path)
        texts = [e for e in emulator.log() if e["kind"] == "sms_sent"]
        assert [e["number"] for e in texts] == [office]
        warned = json.loads(query(db, "SELECT data FROM events WHERE kind = 'disk_low'")[0][0])
        assert abs(warned["used_percent"] - percent) < 5
        assert texts[0]["text"] == (f"【联防】报警器edgebox存储已用{warned['used_percent']}%，"
                                    f"剩余{warned['free_mb']}MB，请尽快处理")
        assert not [k for k in kinds(db) if k.startswith("uplink_")]  # no uploader ran
    finally:
        if daemon is not None:
            stop(daemon)
        emulator.stop()


def test_township_gets_a_daily_summary_only_while_uploads_fail(store, tmp_path):
    now = [NOW]
    up, _ = uploader_for(store, tmp_path, clock=lambda: now[0], summary_after_hours=24)
    up.link = LinkManager("http://hub.invalid", check="false")
    fill_box(store, incidents=2, noise=2, start=NOW - timedelta(hours=3))
    up.run_once()  # the first day of silence: nothing yet
    assert not [d for d in store.outbox.all() if d.purpose == "township_summary"]
    now[0] = NOW + timedelta(hours=25)
    fill_box(store, incidents=1, noise=1, start=now[0] - timedelta(hours=1))
    up.run_once()
    up.run_once()
    summaries = [d for d in store.outbox.all() if d.purpose == "township_summary"]
    assert len(summaries) == 1 and summaries[0].phone == "+8657100000001"
    text = summaries[0].text
    assert "报警1次" in text and "发送失败1条" in text and "main信号" in text, text
    assert "已1天未上传" in text
    # Once uploads go through again, no more summaries.
    up.link = LinkManager("http://hub.invalid", check="true")
    now[0] = NOW + timedelta(hours=50)
    assert up.run_once().ok
    assert len([d for d in store.outbox.all() if d.purpose == "township_summary"]) == 1
    up.client.close()
