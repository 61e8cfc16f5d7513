"""Provisioning from edgebox.txt: Notepad's encodings, bad lines, masking, keeping the old."""
import codecs
import json
import re

import pytest
from click.testing import CliRunner

from edgebox.cli import main
from edgebox.config_file import KEYS, load_config
from edgebox.provision import ProvisionError, textfile
from edgebox.provision.apply import (SIREN_BOOT_COMMENT, Paths, apply, check_values,
                                     import_roster, show_on_led, with_siren_boot_lines)
from edgebox.provision.fields import MASK, Context
from edgebox.provision.template import template_bytes
from edgebox.provision.fields import FIELDS
from tests.card_support import (EVERY_MISTAKE, EVERY_MISTAKE_COUNT, NOTHING_GIVEN,
                                NOTHING_GIVEN_COUNT)
from tests.support import SHEET

CJK = re.compile(r"[\u4e00-\u9fff]")

KEY = "ssh-ed25519 " + "A" * 68 + " tech@laptop"
GOOD = f"""# a comment
BOX_ID=shiqiao-01
LANGUAGE=en
OFFICE_NUMBERS=0571-8888 6666, 138 0013 8000
ESCALATION_NUMBERS=13900139000
SIREN_PIN=22
SIREN_ACTIVE=low
SIM_PIN=1234
UPLOAD_URL=https://hub.example.cn
UPLOAD_TOKEN=abcdefghijklmnop1234
PANEL_PASSWORD=secret-panel
SSH_KEY={KEY}
TIMEZONE=Asia/Shanghai
"""


@pytest.fixture
def box(tmp_path):
    zoneinfo = tmp_path / "zoneinfo"
    for zone in ("Asia/Shanghai", "Asia/Urumqi"):
        (zoneinfo / zone).parent.mkdir(parents=True, exist_ok=True)
        (zoneinfo / zone).write_bytes(b"TZif2")
    paths = Paths(tmp_path / "boot", tmp_path / "etc", zoneinfo, tmp_path / "model")
    paths.boot.mkdir()
    return paths


def write(paths, text, encoding="utf-8", bom=False, crlf=False):
    if crlf:
        text = text.replace("\n", "\r\n")
    data = text.encode(encoding)
    (paths.boot / "edgebox.txt").write_bytes((codecs.BOM_UTF8 if bom else b"") + data)


def config_of(paths):
    return load_config(paths.etc / "edgebox.toml")


def test_a_good_file_becomes_the_config_the_daemon_reads(box):
    write(box, GOOD)
    outcome = apply(box)
    assert outcome.status == "applied", outcome.problems
    config = config_of(box)
    assert config.box_id == "shiqiao-01" and config.box_language == "en"
    assert config.numbers_office == ["+8657188886666", "+8613800138000"]
    assert config.numbers_township == ["+8613900139000"]
    assert (config.siren_pin, config.siren_active_high) == (22, False)
    assert config.siren_backend == "simulated"  # no Raspberry Pi model in the device tree
    assert config.modems[0].port == "/dev/edgebox-modem" and config.modems[0].pin == "1234"
    assert config.box_database == "/var/lib/edgebox/edgebox.db"
    assert (box.etc / "ssh/authorized_keys").read_text() == KEY + "\n"
    assert str(box.etc / "localtime").endswith("localtime")
    assert (box.etc / "localtime").resolve() == (box.zoneinfo / "Asia/Shanghai").resolve()
    assert oct((box.etc / "edgebox.toml").stat().st_mode & 0o777) == "0o640"
    if "web.password_hash" in KEYS:  # the password itself never reaches the config
        from edgebox.web.passwords import password_matches
        assert password_matches("secret-panel", config.get("web.password_hash"))
        assert config.get("web.listen") == "0.0.0.0:80"
        assert "secret-panel" not in (box.etc / "edgebox.toml").read_text()
    if "uplink.url" in KEYS:
        assert config.get("uplink.url") == "https://hub.example.cn"
        assert config.get("uplink.token") == "abcdefghijklmnop1234"
        assert (box.etc / "upload-enabled").exists()


def test_on_a_raspberry_pi_the_siren_uses_real_gpio(box):
    box.board_model.write_bytes(b"Raspberry Pi 4 Model B Rev 1.4\0")
    write(box, GOOD)
    assert apply(box).ok
    assert config_of(box).siren_backend == "rpi"


@pytest.mark.parametrize("encoding,bom,crlf", [
    ("utf-8", True, True), ("utf-8", False, True), ("utf-8", True, False),
    ("gbk", False, True), ("utf-16", False, True)])
def test_notepad_encodings_and_line_ends_are_read(box, encoding, bom, crlf):
    write(box, GOOD.replace("# a comment", "# 石桥村 报警器"), encoding, bom, crlf)
    outcome = apply(box)
    assert outcome.ok, outcome.problems
    assert config_of(box).box_id == "shiqiao-01"


def test_full_width_equals_quotes_and_lower_case_keys_are_accepted(zones):
    text = GOOD.replace("BOX_ID=shiqiao-01", 'box_id ＝ "shiqiao-01"')
    values = check_values(text, {}, Context(zoneinfo=zones))
    assert values["BOX_ID"] == "shiqiao-01"


@pytest.fixture
def zones(tmp_path):
    root = tmp_path / "zones"
    (root / "Asia").mkdir(parents=True)
    (root / "Asia/Shanghai").write_bytes(b"TZif2")
    return root


@pytest.mark.parametrize("line,expected", [
    ("ESCALATION_NUMBERS=138001",
     "line 4 (ESCALATION_NUMBERS): '138001' has the wrong number of digits"),
    ("SIREN_PIN=40", "line 4 (SIREN_PIN): must be a whole number from 2 to 27 (got '40')"),
    ("SIREN_ACTIVE=on", "line 4 (SIREN_ACTIVE): must be high"),
    ("LANGUAGE=fr", "line 4 (LANGUAGE): must be zh (Chinese) or en (English)"),
    ("TIMEZONE=Mars/Olympus", "line 4 (TIMEZONE): must be a time zone name"),
    ("SSH_KEY=hello", "line 4 (SSH_KEY): must be one public key line"),
    ("UPLOAD_URL=ftp://x", "line 4 (UPLOAD_URL): must be an address starting with https://"),
    ("SIRENPIN=17", "line 4: unknown key SIRENPIN (did you mean SIREN_PIN?)"),
    ("just some words", "line 4: expected KEY=value"),
    ("BOX_ID=again", "line 4 (BOX_ID): already set on line 2"),
])
def test_a_bad_line_is_named_by_number_and_key(line, expected, zones):
    text = "# settings\nBOX_ID=b1\nOFFICE_NUMBERS=13800138000\n" + line + "\n"
    with pytest.raises(ProvisionError) as caught:
        check_values(text, {}, Context(zoneinfo=zones))
    assert any(problem.startswith(expected) for problem in caught.value.problems), \
        caught.value.problems


def test_missing_required_keys_and_a_token_without_url_are_reported(zones):
    with pytest.raises(ProvisionError) as caught:
        check_values("UPLOAD_URL=https://hub.example.cn\n", {}, Context(zoneinfo=zones))
    problems = caught.value.problems
    assert any(p.startswith("BOX_ID: is required") for p in problems)
    assert any(p.startswith("OFFICE_NUMBERS: is required") for p in problems)
    assert "UPLOAD_TOKEN: is required when UPLOAD_URL is set" in problems


def test_a_secret_is_never_echoed_in_a_problem(zones):
    with pytest.raises(ProvisionError) as caught:
        check_values("BOX_ID=b\nOFFICE_NUMBERS=13800138000\nSIM_PIN=12ab\n", {},
                     Context(zoneinfo=zones))
    assert "12ab" not in str(caught.value.problems)


def test_secrets_are_masked_on_the_card_and_kept_at_the_next_boot(box):
    write(box, GOOD, bom=True, crlf=True)
    before = (box.boot / "edgebox.txt").read_bytes()
    assert apply(box).ok
    after = (box.boot / "edgebox.txt").read_bytes()
    assert after.startswith(codecs.BOM_UTF8) and b"\r\n" in after and b"\n\n" not in after
    text = after.decode("utf-8-sig")
    for secret in ("1234", "abcdefghijklmnop1234", "secret-panel"):
        assert secret not in text
    assert f"SIM_PIN={MASK}" in text and f"UPLOAD_TOKEN={MASK}" in text
    # Only the secret values changed: every other line is byte for byte what was written.
    changed = [(a, b) for a, b in zip(before.split(b"\r\n"), after.split(b"\r\n")) if a != b]
    assert [a.split(b"=")[0] for a, _ in changed] == [b"SIM_PIN", b"UPLOAD_TOKEN",
                                                      b"PANEL_PASSWORD"]
    # Next boot: the masked file applies, nothing is rewritten (whenever it is), and the
    # secrets are still the real ones.
    config_text = (box.etc / "edgebox.toml").read_text()
    outcome = apply(box)
    assert outcome.status == "unchanged", outcome.problems
    assert (box.etc / "edgebox.toml").read_text() == config_text
    assert config_of(box).modems[0].pin == "1234"


def test_a_masked_secret_with_nothing_applied_before_is_an_error(box):
    write(box, GOOD.replace("SIM_PIN=1234", f"SIM_PIN={MASK}"))
    outcome = apply(box)
    assert outcome.status == "rejected"
    assert outcome.problems == ["line 8 (SIM_PIN): is masked but no earlier value is known; "
                                "type the value again"]


def test_a_bad_file_keeps_the_previous_settings_and_says_which_line(box):
    write(box, GOOD)
    assert apply(box).ok
    config_before = (box.etc / "edgebox.toml").read_bytes()
    state_before = (box.etc / "provisioned.json").read_bytes()
    write(box, GOOD.replace("SIREN_PIN=22", "SIREN_PIN=99").replace("BOX_ID=shiqiao-01",
                                                                    "BOX_ID=new-id"))
    outcome = apply(box)
    assert outcome.status == "rejected" and not outcome.ok
    assert outcome.problems == ["line 6 (SIREN_PIN): must be a whole number from 2 to 27 "
                                "(got '99')"]
    assert (box.etc / "edgebox.toml").read_bytes() == config_before
    assert (box.etc / "provisioned.json").read_bytes() == state_before
    assert (box.etc / "ssh/authorized_keys").exists()


def test_the_cli_reports_a_bad_line_in_the_log_and_in_the_status_file(box):
    write(box, GOOD)
    runner = CliRunner()
    args = ["provision", "apply", "--boot", str(box.boot), "--etc", str(box.etc)]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    write(box, GOOD.replace("LANGUAGE=en", "LANGUAGE=klingon"), bom=True, crlf=True)
    second = runner.invoke(main, args)
    assert second.exit_code == 1
    assert "line 3 (LANGUAGE): must be zh (Chinese) or en (English)" in second.output
    status = (box.boot / "edgebox-status.txt").read_bytes().decode("utf-8-sig")
    assert "NOT applied" in status and "line 3 (LANGUAGE)" in status
    assert "第3行（LANGUAGE）：必须填 `zh`（中文）或 `en`（英文）（填的是“klingon”）" in status
    assert config_of(box).box_language == "en"


def test_a_box_never_applied_logs_the_problems_in_chinese(box):
    write(box, GOOD.replace("LANGUAGE=en", "LANGUAGE=klingon"))
    result = CliRunner().invoke(main, ["provision", "apply", "--boot", str(box.boot),
                                       "--etc", str(box.etc)])
    assert result.exit_code == 1
    assert ("edgebox: edgebox.txt: 第3行（LANGUAGE）：必须填 `zh`（中文）或 `en`（英文）"
            "（填的是“klingon”）") in result.output, result.output


@pytest.mark.parametrize("text, count", [(EVERY_MISTAKE, EVERY_MISTAKE_COUNT),
                                         (NOTHING_GIVEN, NOTHING_GIVEN_COUNT)],
                         ids=["every-bad-line", "nothing-given"])
def test_every_problem_in_the_status_file_is_chinese_then_english(box, text, count):
    write(box, text, bom=True, crlf=True)
    result = CliRunner().invoke(main, ["provision", "apply", "--boot", str(box.boot),
                                       "--etc", str(box.etc)])
    assert result.exit_code == 1
    status = (box.boot / "edgebox-status.txt").read_bytes().decode("utf-8-sig")
    lines = [line for line in status.split("\r\n") if line.strip()]
    english_only = [line for line in lines if not CJK.search(line)]
    assert not english_only, status
    problems = [line for line in lines if "ERROR" in line]
    assert len(problems) == count, status
    for line in problems:
        assert line.startswith("  错误 / ERROR: "), line
        chinese, english = line.removeprefix("  错误 / ERROR: ").split(" / ")
        # Chinese first, naming the line and the key as the file does; then the English
        assert CJK.search(chinese), line
        assert not CJK.search(english.replace("石桥", "")), line  # only what was typed
        assert re.match(r"(第\d+行|[A-Z_]+：)", chinese), line
        assert re.match(r"(line \d+|[A-Z_]+:)", english), line
    if text == EVERY_MISTAKE:  # every key's check was met
        named = {field.name for field in FIELDS if any(f"（{field.name}）" in line
                                                       for line in problems)}
        assert named == {field.name for field in FIELDS}, status


def test_ssh_stays_off_without_a_key_and_the_time_zone_follows(box):
    write(box, GOOD)
    assert apply(box).ok
    write(box, GOOD.replace(f"SSH_KEY={KEY}", "SSH_KEY=").replace(
        "TIMEZONE=Asia/Shanghai", "TIMEZONE=Asia/Urumqi"))
    assert apply(box).status == "applied"
    assert not (box.etc / "ssh/authorized_keys").exists()
    assert (box.etc / "localtime").resolve() == (box.zoneinfo / "Asia/Urumqi").resolve()


def test_a_missing_file_keeps_everything(box):
    outcome = apply(box)
    assert outcome.status == "missing" and outcome.ok
    assert not (box.etc / "edgebox.toml").exists()


def test_the_blank_template_documents_every_key_and_needs_only_the_required_ones(box):
    (box.boot / "edgebox.txt").write_bytes(template_bytes())
    raw = (box.boot / "edgebox.txt").read_bytes()
    assert raw.startswith(codecs.BOM_UTF8) and raw.count(b"\r\n") == raw.count(b"\n")
    outcome = apply(box)
    assert outcome.status == "rejected"
    assert sorted(p.split(":")[0] for p in outcome.problems) == [
        "line 20 (BOX_ID)", "line 29 (OFFICE_NUMBERS)"]
    text = raw.decode("utf-8-sig").replace("BOX_ID=\r", "BOX_ID=b1\r").replace(
        "OFFICE_NUMBERS=\r", "OFFICE_NUMBERS=13800138000\r")
    (box.boot / "edgebox.txt").write_text(text, encoding="utf-8")
    assert apply(box).ok


def test_a_roster_sheet_on_the_card_is_imported_and_a_bad_one_changes_nothing(box, tmp_path):
    write(box, GOOD)
    assert apply(box).ok
    database = tmp_path / "box.db"
    toml = (box.etc / "edgebox.toml").read_text()
    (box.etc / "edgebox.toml").write_text(toml.replace("/var/lib/edgebox/edgebox.db",
                                                       str(database)))
    (box.boot / "roster.csv").write_text(SHEET, encoding="utf-8-sig")
    outcome = import_roster(box)
    assert outcome.status == "applied", outcome.problems
    assert import_roster(box).status == "unchanged"
    (box.boot / "roster.csv").write_text(SHEET.replace("138 0013 8001", "138001"),
                                         encoding="utf-8")
    bad = import_roster(box)
    assert bad.status == "rejected"
    assert any("line 2" in problem for problem in bad.problems), bad.problems
    from edgebox.store import SqliteStore
    assert len(SqliteStore(str(database)).roster.load().households) == 6


def test_masking_leaves_comments_and_empty_secrets_alone():
    text = "# UPLOAD_TOKEN=in-a-comment\r\nUPLOAD_TOKEN=\r\nSIM_PIN = 1234 \r\n"
    assert textfile.mask_secrets(text) == (f"# UPLOAD_TOKEN=in-a-comment\r\nUPLOAD_TOKEN=\r\n"
                                           f"SIM_PIN = {MASK} \r\n")


def test_check_command_tells_a_technician_before_the_card_goes_in(tmp_path):
    good = tmp_path / "edgebox.txt"
    good.write_text(GOOD.replace("SIM_PIN=1234", f"SIM_PIN={MASK}"), encoding="utf-8")
    result = CliRunner().invoke(main, ["provision", "check", str(good)])
    assert result.exit_code == 0, result.output
    good.write_text(GOOD.replace("SIREN_PIN=22", "SIREN_PIN=x"), encoding="utf-8")
    result = CliRunner().invoke(main, ["provision", "check", str(good)])
    assert result.exit_code == 2 and "line 6 (SIREN_PIN)" in result.output


def test_the_state_file_is_private(box):
    write(box, GOOD)
    assert apply(box).ok
    state = box.etc / "provisioned.json"
    assert oct(state.stat().st_mode & 0o777) == "0o600"
    assert json.loads(state.read_text())["values"]["SIM_PIN"] == "1234"


PI_CONFIG_TXT = """# Do not modify this file!
arm_64bit=1
enable_uart=1
upstream_kernel=1

kernel=vmlinuz-6.1.0-arm64
initramfs initrd.img-6.1.0-arm64
"""


def test_the_siren_pin_is_held_off_from_power_on_in_config_txt(box):
    (box.boot / "config.txt").write_text(PI_CONFIG_TXT)
    write(box, GOOD)  # SIREN_PIN=22, SIREN_ACTIVE=low: the relay is off while the pin is high
    assert apply(box).ok
    text = (box.boot / "config.txt").read_text()
    assert text.startswith(PI_CONFIG_TXT) and text.endswith("\n[all]\n" + SIREN_BOOT_COMMENT
                                                           + "\ngpio=22=op,dh\n")
    write(box, GOOD.replace("SIREN_PIN=22", "SIREN_PIN=17").replace("SIREN_ACTIVE=low",
                                                                    "SIREN_ACTIVE=high"))
    assert apply(box).status == "applied"
    text = (box.boot / "config.txt").read_text()
    assert "gpio=22" not in text and text.count("[all]") == 1
    assert text.endswith(SIREN_BOOT_COMMENT + "\ngpio=17=op,dl\n")
    assert apply(box).status == "unchanged"  # nothing rewritten at an ordinary boot
    # A bad file changes nothing there either.
    write(box, GOOD.replace("SIREN_PIN=22", "SIREN_PIN=5").replace("LANGUAGE=en", "LANGUAGE=x"))
    assert apply(box).status == "rejected"
    assert (box.boot / "config.txt").read_text() == text


def test_siren_lines_leave_the_rest_of_a_raspberry_pi_os_config_txt_alone():
    text = "dtparam=audio=on\r\n[pi4]\r\narm_boost=1\r\ngpio=5=op,dl\r\n"
    once = with_siren_boot_lines(text, 17, True)
    assert once == ("dtparam=audio=on\r\n[pi4]\r\narm_boost=1\r\ngpio=5=op,dl\r\n\r\n[all]\r\n"
                    f"{SIREN_BOOT_COMMENT}\r\ngpio=17=op,dl\r\n")
    assert with_siren_boot_lines(once, 17, True) == once
    assert with_siren_boot_lines(once, 4, False).endswith(
        f"gpio=5=op,dl\r\n\r\n[all]\r\n{SIREN_BOOT_COMMENT}\r\ngpio=4=op,dh\r\n")


def test_the_image_s_blank_card_holds_the_default_siren_pin_off(tmp_path):
    config_txt = tmp_path / "config.txt"
    config_txt.write_text(PI_CONFIG_TXT)
    result = CliRunner().invoke(main, ["provision", "template", str(tmp_path / "edgebox.txt"),
                                       "--config-txt", str(config_txt)])
    assert result.exit_code == 0, result.output
    assert config_txt.read_text().endswith("\ngpio=17=op,dl\n")
    assert (tmp_path / "edgebox.txt").read_bytes() == template_bytes()


def test_an_apn_becomes_the_ppp_peer_for_mobile_data_and_none_removes_it(box):
    write(box, GOOD + "APN=cmnet\n")
    outcome = apply(box)
    assert outcome.ok and not any("APN" in note for note in outcome.notes), outcome.notes
    peer = (box.etc / "ppp/edgebox").read_text().splitlines()
    assert "/dev/edgebox-modem-data" in peer and "persist" in peer and "usepeerdns" in peer
    assert "defaultroute-metric 2048" in peer  # a LAN's DHCP route (metric 1024) wins
    assert f'connect "/usr/sbin/chat -v -f {box.etc}/ppp/edgebox.chat"' in peer
    chat = (box.etc / "ppp/edgebox.chat").read_text().splitlines()
    assert "OK 'AT+CGDCONT=1,\"IP\",\"cmnet\"'" in chat and "OK ATD*99#" in chat
    assert "cmnet" not in (box.etc / "edgebox.toml").read_text()  # not the daemon's setting
    write(box, GOOD + "APN=\n")
    assert apply(box).status == "applied"
    assert not (box.etc / "ppp/edgebox").exists() and not (box.etc / "ppp/edgebox.chat").exists()


def test_a_bad_apn_is_named_and_writes_no_peer(box):
    write(box, GOOD + "APN=cm net\n")
    outcome = apply(box)
    assert outcome.status == "rejected"
    assert outcome.problems[0].startswith("line 14 (APN): must be the operator's access point")
    assert not (box.etc / "ppp").exists()


def fake_leds(tmp_path):
    led = tmp_path / "leds" / "ACT"
    led.mkdir(parents=True)
    for name, value in (("trigger", "heartbeat"), ("delay_on", ""), ("delay_off", "")):
        (led / name).write_text(value)
    return led


def test_a_rejected_card_makes_the_activity_led_blink_fast(box, tmp_path):
    led = fake_leds(tmp_path)
    box = Paths(box.boot, box.etc, box.zoneinfo, box.board_model, tmp_path / "leds")
    write(box, GOOD)
    outcomes = [("edgebox.txt", apply(box))]
    assert show_on_led(box.leds, outcomes) is None
    assert (led / "trigger").read_text() == "heartbeat"
    write(box, GOOD.replace("LANGUAGE=en", "LANGUAGE=x"))
    outcomes = [("edgebox.txt", apply(box))]
    assert show_on_led(box.leds, outcomes) == "ACT"
    assert [(led / n).read_text() for n in ("trigger", "delay_on", "delay_off")] == [
        "timer", "100", "100"]
    # No LED to blink (not a Pi): the log says so and nothing fails.
    assert show_on_led(tmp_path / "no-leds", outcomes) is None
    # A Pi 400 has only the power LED.
    (tmp_path / "leds" / "ACT").rename(tmp_path / "leds" / "PWR")
    assert show_on_led(box.leds, outcomes) == "PWR"
