"""`edgebox selftest` against the modem emulator: pass, fail with a fix, and the busy modem."""
import json
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from edgebox.emulator import EmulatorServer
from edgebox.emulator.timing import Latency
from edgebox.selftest import checks
from tests.support import import_sheet, start_box, stop


def selftest(config, *args):
    result = subprocess.run([sys.executable, "-m", "edgebox", "selftest", "--config", str(config),
                             "--json", *args], capture_output=True, text=True, timeout=120)
    return result.returncode, json.loads(result.stdout)


@pytest.fixture
def emulator(tmp_path):
    emu = EmulatorServer(link=str(tmp_path / "modem"), latency=Latency.realistic(scale=0.02))
    emu.start()
    yield emu
    emu.stop()


def write_config(tmp_path, port):
    config = tmp_path / "edgebox.toml"
    config.write_text(f'[box]\ndatabase = "{tmp_path / "box.db"}"\n'
                      f'[[modems]]\nport = "{port}"\n', encoding="utf-8")
    return config


def by_name(report):
    return {check["name"]: check for check in report["checks"]}


def test_a_working_box_passes_and_the_test_sms_goes_out(tmp_path, emulator):
    config = write_config(tmp_path, emulator.link)
    import_sheet(tmp_path, config)
    code, report = selftest(config, "--sms", "138 0013 8000")
    checks_ = by_name(report)
    assert code == 0 and report["passed"], report
    assert checks_["roster"] == {"name": "roster", "status": "pass",
                                 "detail": "6 households in 2 groups", "fix": ""}
    for name in ("modem present", "modem answering", "modem SIM ready", "modem registered",
                 "modem signal", "modem test SMS"):
        assert checks_[name.replace("modem", "modem modem1", 1)]["status"] == "pass", checks_
    assert checks_["storage writable"]["status"] == "pass"
    assert checks_["siren"]["status"] == "skip"
    sent = [e for e in emulator.log() if e["kind"] == "sms_sent"]
    assert [e["number"] for e in sent] == ["+8613800138000"]
    assert "selftest" in sent[0]["text"]


def test_a_box_without_a_roster_fails(tmp_path, emulator):
    config = write_config(tmp_path, emulator.link)
    code, report = selftest(config)  # the database does not even exist
    roster = by_name(report)["roster"]
    assert code == 1 and roster["status"] == "fail"
    # --json is for programs: English; the report a technician reads is in the box's language
    detail = roster["detail"]
    assert detail.startswith("the roster is empty") and "does not exist" in detail
    assert "edgebox roster import" in roster["fix"]
    shown = subprocess.run([sys.executable, "-m", "edgebox", "selftest", "--config", str(config)],
                           capture_output=True, text=True, timeout=120).stdout
    assert "花名册为空，来电报警将通知不到任何人" in shown and "不存在" in shown, shown
    assert not (tmp_path / "box.db").exists()  # looking changed nothing
    from edgebox.store import SqliteStore
    SqliteStore(tmp_path / "box.db").close()  # a database, but no households in it
    code, report = selftest(config)
    assert code == 1 and by_name(report)["roster"]["status"] == "fail"


def test_no_network_fails_with_what_to_do(tmp_path, emulator):
    emulator.network(registered=False)
    code, report = selftest(write_config(tmp_path, emulator.link))
    registered = by_name(report)["modem modem1 registered"]
    assert code == 1 and not report["passed"]
    assert registered["status"] == "fail" and "antenna" in registered["fix"]


def test_a_missing_modem_is_reported_with_its_port(tmp_path):
    code, report = selftest(write_config(tmp_path, tmp_path / "no-such-modem"))
    present = by_name(report)["modem modem1 present"]
    assert code == 1 and present["status"] == "fail"
    assert "does not exist" in present["detail"] and "USB" in present["fix"]


def test_the_report_says_the_running_daemon_holds_the_modem(tmp_path, emulator):
    daemon, _db, config, _log = start_box(tmp_path, [emulator])
    try:
        result = subprocess.run([sys.executable, "-m", "edgebox", "selftest", "--config",
                                 str(config)], capture_output=True, text=True, timeout=120)
    finally:
        stop(daemon)
    assert result.returncode == 1
    # in the box's language, Chinese by default
    assert "报警服务正占用模块" in result.stdout
    assert f"pid {daemon.pid}" in result.stdout
    assert "systemctl stop edgebox" in result.stdout
    assert result.stdout.rstrip().endswith("自检未通过：1项失败")


def test_an_unset_clock_fails_and_a_sane_one_passes():
    assert checks.check_clock(datetime(1970, 1, 1, tzinfo=timezone.utc)).status == "fail"
    assert checks.check_clock(datetime(2030, 1, 1, tzinfo=timezone.utc)).status == "pass"


def test_a_bad_config_is_one_failed_check(tmp_path):
    config = tmp_path / "edgebox.toml"
    config.write_text("[box]\nlanguage = 'fr'\n", encoding="utf-8")
    code, report = selftest(config)
    assert code == 1 and report["checks"][0]["name"] == "config"
    assert "box.language" in report["checks"][0]["detail"]


def test_buttons_are_checked_only_where_there_are_real_ones(tmp_path):
    from edgebox.config_file import KEYS, parse_config
    if "panel.button_siren" not in KEYS:
        assert checks.check_buttons(parse_config('[[modems]]\nport = "/dev/x"\n')) is None
        return
    plain = parse_config('[[modems]]\nport = "/dev/x"\n')
    assert checks.check_buttons(plain).detail == "no panel buttons configured"
    wired = parse_config('[panel]\nbutton_siren = 5\n[[modems]]\nport = "/dev/x"\n')
    result = checks.check_buttons(wired)
    assert result.status == "skip" and "simulated" in result.detail


@pytest.mark.parametrize("profile, status, words", [
    ("sim7600", "pass", "a file the modem plays (AT+CCMXPLAY); espeak-ng (cmn) rendered"),
    ("sim800", "pass", "an AMR file the modem plays (AT+CREC)"),
    ("generic", "warn", "ring only, no words")])
def test_the_selftest_says_how_this_box_speaks_into_alarm_calls(tmp_path, profile, status,
                                                                 words):
    emu = EmulatorServer(profile, link=str(tmp_path / "modem"),
                         latency=Latency.realistic(scale=0.02))
    emu.start()
    try:
        config = write_config(tmp_path, emu.link)
        import_sheet(tmp_path, config)
        code, report = selftest(config)
    finally:
        emu.stop()
    speech = by_name(report)["modem modem1 speech in calls"]
    assert speech["status"] == status and words in speech["detail"], speech
    assert code == 0  # a box that only rings still works: the SMS carries the words


def test_the_selftest_names_a_missing_live_voice_port_and_a_key_that_moved(tmp_path):
    emu = EmulatorServer("sim7600", link=str(tmp_path / "modem"),
                         latency=Latency.realistic(scale=0.02))
    emu.start()
    try:
        config = write_config(tmp_path, emu.link)
        import_sheet(tmp_path, config)
        base = config.read_text(encoding="utf-8")
        speaker = ('[speaker]\nenabled = true\nlive_numbers = ["13900139000"]\n'
                   'live_pin = "2468"\n')
        config.write_text(speaker + base, encoding="utf-8")
        _, without_port = selftest(config)
        config.write_text(speaker + 'call_audio_port = "/dev/ttyUSB4"\n' + base,
                          encoding="utf-8")
        _, old_key = selftest(config)
    finally:
        emu.stop()
    port = by_name(without_port)["modem modem1 live voice port"]
    assert port["status"] == "warn" and "audio_port" in port["fix"], port
    assert "config" not in by_name(without_port)
    moved = by_name(old_key)["config"]
    assert moved["status"] == "warn" and "speaker.call_audio_port" in moved["detail"], moved
    assert "modem modem1 live voice port" not in by_name(old_key)
