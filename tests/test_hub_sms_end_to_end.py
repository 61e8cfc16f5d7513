"""A village box with no data link reaches the county hub by SMS: the box's daemon on one
emulated modem, the hub (``edgebox hub serve --modem``) on its own emulated modem, the two
modems on one network (EmulatorServer.link_sms). An alarm nobody acknowledges climbs to the
township; the hub receives the day report and the escalation, shows them "by SMS", texts its
duty officer, and records the officer's "1 <n>"."""
from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timezone

import httpx
import pytest

from edgebox.emulator import EmulatorServer, Latency
from edgebox.hub.alerts import AlertRules, raise_due
from edgebox.hub.database import open_database
from edgebox.hub.duty import add_officer
from tests.conftest import TIME_SCALE
from tests.hub_support import TOKEN, HubProcess, register
from tests.support import TOWNSHIP, WANG, query, start_box, stop, wait_for

pytestmark = pytest.mark.slow
HUB_NUMBER = "+8613900000100"  # the hub's modem
BOX_NUMBER = "+8613912345678"  # the box's modem, as the hub's network shows it
OFFICER = "+8613700000001"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def hub_modem(tmp_path):
    modem = EmulatorServer(link=str(tmp_path / "hub-modem"),
                           latency=Latency.realistic(scale=TIME_SCALE))
    modem.start()
    yield modem
    modem.stop()


def test_a_box_with_no_data_link_reaches_the_hub_by_sms(tmp_path, emulator, hub_modem):
    emulator.link_sms(HUB_NUMBER, hub_modem, BOX_NUMBER)
    url = str(tmp_path / "hub.db")
    register(url, "edgebox", village="石桥村", township="太湖源镇")
    db = open_database(url)
    add_officer(db, "太湖源镇", OFFICER, "值班员")
    subprocess.run([sys.executable, "-m", "edgebox", "hub", "user", "add", "wang",
                    "--password-stdin", "--db", url], input=PASSWORD + "\n", check=True,
                   capture_output=True, text=True, timeout=60)
    hub = HubProcess(url, tmp_path, options=("--modem", hub_modem.link)).start()
    extra = (f'[numbers]\ntownship = ["{TOWNSHIP}"]\n'
             f'[uplink]\nsms_to = "{HUB_NUMBER}"\ntoken = "{TOKEN}"\nsummary_hour = 0\n'
             '[[escalation]]\nafter_minutes = 0.05\nactions = ["sms_township"]\n')
    daemon, box_db, config, log_path = start_box(tmp_path, [emulator], extra=extra)
    try:
        emulator.call(WANG, rings=1)
        wait_for(lambda: query(box_db, "SELECT count(*) FROM deliveries WHERE purpose ="
                                       " 'uplink_sms' AND state = 'sent'")[0][0] >= 2,
                 60, "both reports sent", log_path)
        # The township's own text went before the report of it (the outbox's priorities).
        sent = [e for e in emulator.log() if e["kind"] == "sms_sent"]
        numbers = [e["number"] for e in sent]
        assert numbers.index(TOWNSHIP) < max(i for i, n in enumerate(numbers)
                                             if n == HUB_NUMBER)

        def hub_rows(sql):
            with db.transaction(write=False) as tx:
                return tx.rows(sql)
        wait_for(lambda: len(hub_rows("SELECT seq FROM sms_reports")) == 2, 60,
                 "both reports at the hub", hub.log_path)
        assert sorted(r[0] for r in hub_rows("SELECT kind FROM sms_reports")) == ["D", "E"]
        # The duty officer is texted, in Chinese, through the hub's own modem.
        wait_for(lambda: any(e["kind"] == "sms_sent" and e["number"] == OFFICER
                             for e in hub_modem.log()), 60, "the officer's alert",
                 hub.log_path)
        alert = next(e for e in hub_modem.log() if e["kind"] == "sms_sent"
                     and e["number"] == OFFICER)
        number = re.search(r"告警(\d+)：", alert["text"]).group(1)
        assert "石桥村" in alert["text"] and "升级到乡镇" in alert["text"]
        hub_modem.sms(OFFICER, f"1 {number}")
        wait_for(lambda: hub_rows("SELECT acked_by FROM alerts WHERE acked_by IS NOT NULL"),
                 60, "the officer's acknowledgement", hub.log_path)
        hub_modem.sms(BOX_NUMBER, "EB1 edgebox 99 D garbled")  # refused, kept with why
        wait_for(lambda: hub_rows("SELECT reason FROM sms_refused"), 60, "the refusal",
                 hub.log_path)
        # Shown on the box's page, marked as by SMS.
        client = httpx.Client(base_url=hub.url, timeout=30)
        page = client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        client.post("/login", data={"csrf": csrf, "name": "wang", "password": PASSWORD})
        shown = client.get("/boxes/edgebox/sms").text
        assert "日报（短信）" in shown and "升级到乡镇（短信）" in shown and "尚未到达" in shown
        alerts_page = client.get("/alerts").text
        assert "升级到乡镇" in alerts_page and f"{OFFICER} 20" in alerts_page  # acked by, at
        assert "被拒的短信上报" in alerts_page and "EB1 edgebox 99 D garbled" in alerts_page
        # Duty officers from the county page: a forged form and a bad number change nothing.
        token = re.search(r'name="csrf" value="([^"]+)"', alerts_page).group(1)
        form = {"csrf": token, "township": "太湖源镇", "phone": "+8613700000002", "name": "李"}
        assert client.post("/alerts/duty", data={**form, "csrf": "forged"}).status_code == 403
        bad = client.post("/alerts/duty", data={**form, "phone": "137 0000 0002"})
        assert bad.status_code == 400 and "must be international" in bad.text
        assert client.post("/alerts/duty", data=form).status_code == 303
        assert "+8613700000002" in client.get("/alerts").text
        # A data link appears: the full log fills in, and the alarm is counted once.
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace("[uplink]\n", f'[uplink]\nurl = "{hub.url}"\n'),
                          encoding="utf-8")
        upload = subprocess.run([sys.executable, "-m", "edgebox", "upload", "now", "--config",
                                 str(config)], capture_output=True, text=True, timeout=120)
        assert upload.returncode == 0, upload.stderr
        assert hub_rows("SELECT count(*) FROM incidents") == [(1,)]
        # The log marks the step that told the township: by SMS and by log, one alert.
        assert '"township": true' in hub_rows("SELECT data FROM events WHERE kind ="
                                              " 'escalated'")[0][0]
        raise_due(db, datetime.now(timezone.utc), AlertRules())
        assert hub_rows("SELECT count(*) FROM alerts WHERE kind = 'township'") == [(1,)]
        shown = client.get("/boxes/edgebox/sms").text
        assert "升级到乡镇（短信）" in shown and "已到达" in shown
        client.close()
    finally:
        stop(daemon)
        hub.stop()
        db.close()
