"""A roster saved while the box runs is the one the next call is looked up in, whichever
process saved it; a roster emptied under a running box is told to the office at once."""
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from edgebox.domain.messages import render
from edgebox.domain.roster import Roster
from edgebox.store import SqliteStore
from tests.support import SHEET, kinds, query, start_box, stop, wait_for

pytestmark = pytest.mark.slow

OFFICE = "+8613300138099"
NEW_PHONE = "18800138033"  # 张伟 (H03) got a new phone


@pytest.fixture
def box(tmp_path, emulator):
    daemon, db, config, log_path = start_box(tmp_path, [emulator],
                                             f'[numbers]\noffice = ["{OFFICE}"]\n')
    yield daemon, db, config, log_path
    stop(daemon)


def texted(emulator):
    return [e for e in emulator.log() if e["kind"] == "sms_sent"]


def test_a_sheet_imported_while_the_box_runs_is_used_at_once(box, emulator, tmp_path):
    daemon, db, config, log_path = box
    sheet = tmp_path / "changed.csv"
    sheet.write_text(SHEET.replace("+86 186 0013 8003", NEW_PHONE), encoding="utf-8")
    imported = subprocess.run([sys.executable, "-m", "edgebox", "roster", "import", str(sheet),
                               "--config", str(config)], capture_output=True, text=True,
                              timeout=60)
    assert imported.returncode == 0, imported.stderr
    emulator.call(NEW_PHONE)
    wait_for(lambda: query(db, "SELECT caller_household_id FROM incidents") == [("H03",)],
             30, "the alarm from the new phone", log_path)
    alarm_text = render("zh", "alarm", group="第一组", caller="张伟", address="石桥村一组3号")
    wait_for(lambda: {e["number"] for e in texted(emulator) if e["text"] == alarm_text}
             == {"+8613800138001", "+8613900138002", "+8615013800022", "+8613700138004"},
             60, "the group to be texted", log_path)
    assert "unknown_caller" not in kinds(db)
    assert "已导入6户，2个联防组；运行中的报警器已启用" in imported.stdout


def test_an_import_while_no_box_runs_says_when_it_is_used(tmp_path):
    config = tmp_path / "edgebox.toml"
    config.write_text(f'[box]\ndatabase = "{tmp_path / "box.db"}"\n[[modems]]\nport = "x"\n',
                      encoding="utf-8")
    sheet = tmp_path / "village.csv"
    sheet.write_text(SHEET, encoding="utf-8")
    imported = subprocess.run([sys.executable, "-m", "edgebox", "roster", "import", str(sheet),
                               "--config", str(config)], capture_output=True, text=True,
                              timeout=60)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip().endswith("报警器启动时启用")


def test_a_roster_emptied_under_a_running_box_is_told_to_the_office(box, emulator):
    daemon, db, config, log_path = box
    # Every writer of the roster goes through the store; the sheet import and the web page
    # refuse an empty sheet, the store itself does not.
    store = SqliteStore(db)
    store.roster.replace(Roster((), ()), datetime.now(timezone.utc), source="a test")
    store.close()
    wait_for(lambda: any(e["number"] == OFFICE and e["text"] == render("zh", "roster_empty")
                         for e in texted(emulator)), 30, "the office's SMS", log_path)
    assert daemon.poll() is None
