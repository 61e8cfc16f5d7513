"""No English on a Chinese screen, SMS or CLI message.

A village office reads Chinese: every word the box shows it (web panel pages, the SMS it sends,
the CLI's outputs, the demo) comes from the Chinese catalogue. These tests render them as the
office sees them, from a real alarm in an in-process village (the daemon's own threads, fake
modems, virtual time), and fail on any ASCII word of two or more letters that is not in the
allow-list below (names of things the office knows by their Latin letters, units, the sample
data's own names).
"""
from __future__ import annotations

import html
import io
import re
import resource

import httpx
import pytest
from click.testing import CliRunner

from edgebox.cli import main
from edgebox.daemon.office import OfficeDesk
from edgebox.demo.scenario import run_demo
from edgebox.domain import messages
from edgebox.domain.messages import render, template_fields
from edgebox.domain.timeline import contacts_of, describe
from edgebox.web.box_view import BoxView
from edgebox.web.passwords import hash_password
from edgebox.web.server import WebPanel
from edgebox.web.settings import WebSettings
from tests.inprocess.village import Village
from tests.support import LIU, OFFICE, SHEET, TOWNSHIP, WANG

# Words a Chinese office reads in Latin letters: the SIM card, the USB stick, a PIN, an SMS,
# a CSV/Excel sheet (.xlsx), kilobytes, the GSM network, the audio files a recorded prompt may
# be (WAV, MP3, AMR); "English" is the link to the English pages; edgebox is the program's name.
# Anything else is a word someone forgot to translate.
ALLOWED = {"SIM", "USB", "PIN", "SMS", "CSV", "Excel", "xlsx", "KB", "MB", "GB", "GSM",
           "WAV", "MP", "AMR", "English", "edgebox"}
ASCII_WORD = re.compile(r"[A-Za-z]{2,}")
# What a browser does not show of a page: scripts, styles, tags.
HIDDEN = re.compile(r"<script.*?</script>|<style.*?</style>|<[^>]+>", re.S)


# A path or an address (a modem's port, the panel's URL), a file's name (edgebox.txt), a config
# key (speaker.enabled) and a command or key in backticks (`systemctl stop edgebox`, `SIM_PIN`)
# are names, not words.
PATH = re.compile(r"[\w.+-]*://\S*|(?<![\w])/[\w./*-]+|[\w-]+\.(?:txt|csv|toml|xlsx)"
                  r"(?![A-Za-z0-9])|`[^`]*`|\b[a-z_]+\.[a-z_]+\b")  # … and a config key


def english_words(text: str, also_allowed: set[str] = frozenset()) -> list[str]:
    words = ASCII_WORD.findall(PATH.sub(" ", text))
    return sorted({w for w in words if w not in ALLOWED | also_allowed})


def visible_text(page: str) -> str:
    return html.unescape(HIDDEN.sub(" ", page))


def test_the_check_finds_english_and_lets_names_numbers_and_the_allow_list_pass():
    assert english_words("报警人短信补充：fire") == ["fire"]
    assert english_words("第一组  (10 households)") == ["households"]
    assert english_words("H01 王建国 138 0013 8001 SIM卡 USB PIN 12KB") == []
    assert english_words("m1 就绪（fake://village-1） /dev/edgebox-modem") == []
    assert english_words("请在edgebox.txt里设置 `SIM_PIN`，再 `systemctl start edgebox`") == []
    assert visible_text('<p class="x">确认<script>var a;</script></p>').split() == ["确认"]


def test_every_sms_template_is_chinese_with_sample_fields():
    sample = {"group": "第一组", "caller": "张伟", "member": "王建国", "address": "石桥村一组3号",
              "notified": 5, "number": "186 0013 8003", "time": "08:30", "balance": "3.50",
              "modem": "1号模块", "label": "火灾", "text": "厨房着火", "minutes": 2, "households": 51,
              "messages": 68, "reason": "没有广播权限", "action": "添加", "detail": "张三 13800138000",
              "count": 2, "names": "王建国、李秀英", "acked": 3, "total": 5, "fastest": 35,
              "mean": 60, "risk": "（独居老人）", "dial": "请拨火警119，", "call": "火警119",
              "village": "石桥村", "phone": "186 0013 8003", "who": "王建国", "seconds": 35,
              "what": "厨房着火，"}
    for name in messages.TEMPLATES:
        fields = template_fields(messages.template("zh", name))
        for drill in (False, True):
            text = render("zh", name, drill=drill, **{f: sample[f] for f in fields})
            assert not english_words(text), (name, text)


# -- one real alarm in an in-process village, read by the office ---------------------------------

LADDER = ((1, ["sms_office", "sms_township"]),)


@pytest.fixture(scope="module")
def alarmed(tmp_path_factory):
    """A village after a call, the caller's typed SMS, a neighbour's SMS alarm, the ladder's
    texts to the office and the township, and the township's broadcast."""
    where = tmp_path_factory.mktemp("village")
    box = Village(where, ladder=LADDER,
                  settings={"broadcast": {"allowed": [OFFICE, TOWNSHIP]},
                            "admin": {"leader_pin": "2468"}}).start()
    try:
        box.call("H03")
        box.wait_idle()
        box.sms("H03", "火 厨房着火，快来")      # the caller says what it is
        box.wait_idle()
        box.sms(LIU, "医 老人摔倒了，在院子里")  # a told neighbour's own alarm, by SMS
        box.wait_idle()
        box.run(3 * 60, step=30)               # nobody acknowledges: office and township
        box.sms(TOWNSHIP, "广播 明天上午停电，请提前做好准备，谢谢")
        box.sms(TOWNSHIP, "广播")                          # refused: nothing to say
        box.sms(WANG, "管理 2468 加 赵六 138001")          # refused: a phone too short
        box.wait_idle()
        yield box
    finally:
        box.stop()


def test_every_sms_the_box_sent_in_the_alarm_is_chinese(alarmed):
    sent = alarmed.query_dicts("SELECT phone, text AS body FROM deliveries WHERE kind = 'sms'")
    assert sent
    for row in sent:
        assert not english_words(row["body"]), row


def test_refusals_are_answered_in_chinese(alarmed):
    replies = [row["body"] for row in alarmed.query_dicts(
        "SELECT text AS body FROM deliveries WHERE purpose = 'reply'")]
    assert any("广播内容是空的" in r for r in replies), replies
    assert any("“138001”位数不对" in r for r in replies), replies


def test_an_sms_alarm_and_its_words_are_logged_in_chinese(alarmed):
    kinds = [kind for (kind,) in alarmed.query("SELECT DISTINCT kind FROM events")]
    lines = [describe_line(alarmed, e) for e in alarmed.events(*kinds)]
    assert not english_words("\n".join(lines)), "\n".join(lines)
    # The neighbour's alarm came by SMS: not logged as a call.
    sms_alarm = [line for line in lines if "刘洋" in line and "报警" in line]
    assert sms_alarm and not any("来电报警：刘洋" in line for line in lines), lines


def test_the_office_and_township_are_named_in_the_timeline(alarmed):
    lines = [describe_line(alarmed, e) for e in alarmed.events("sms_sent")]
    to_office = [line for line in lines if "133 0013 8099" in line]
    to_township = [line for line in lines if "133 0013 8088" in line]
    assert to_office and to_township, lines
    assert all("未登记" not in line for line in to_office + to_township), lines


def test_the_townships_broadcast_is_not_signed_by_the_village_office_and_keeps_its_commas(
        alarmed):
    [body] = {row["body"] for row in alarmed.query_dicts(
        "SELECT text AS body FROM deliveries WHERE purpose = 'broadcast'")}
    assert body.startswith("【镇广播】") and "村委" not in body, body
    assert "明天上午停电，请提前做好准备，谢谢" in body, body


def describe_line(box: Village, event: dict) -> str:
    """The line the daemon's log, the panel and the demo show (with the box's own numbers)."""
    contacts = contacts_of(box.config.numbers_office, box.config.numbers_township)
    return describe(event, box.daemon.store.roster.load(), "zh", contacts)


# -- the web panel's Chinese pages ---------------------------------------------------------------

PASSWORD = "村委值班2024"


@pytest.fixture(scope="module")
def office(alarmed):
    store, config = alarmed.daemon.store, alarmed.config
    settings = WebSettings("127.0.0.1", 0, hash_password(PASSWORD), 3600, 5, 600, "CN", "zh")
    panel = WebPanel(settings, store, BoxView(store, config, alarmed.clock.now),
                     OfficeDesk(store, alarmed.daemon.events, alarmed.clock.now),
                     alarmed.clock.now)
    panel.start()
    client = httpx.Client(base_url=panel.url, timeout=30)
    login = client.get("/login").text
    assert not english_words(visible_text(login)), visible_text(login)
    csrf = re.search(r'name="csrf" value="([^"]+)"', login).group(1)
    assert client.post("/login", data={"password": PASSWORD, "csrf": csrf}).status_code == 303
    try:
        yield client
    finally:
        client.close()
        panel.stop()


NAMES = {"CHINA", "MOBILE"}  # the sample modem's operator, as the network names itself


@pytest.mark.parametrize("path", ["/", "/incidents/1", "/incidents/2", "/roster", "/broadcast",
                                  "/health", "/roster/print", "/fragments/incidents/1",
                                  "/speaker"])
def test_every_chinese_page_of_the_panel_is_chinese(office, path):
    page = office.get(path)
    assert page.status_code == 200, path
    words = english_words(visible_text(page.text), NAMES)
    assert not words, (path, words)


def test_the_import_preview_is_chinese_with_headers_and_one_phone_a_cell(office):
    csrf = re.search(r'name="csrf" value="([^"]+)"', office.get("/roster").text).group(1)
    preview = office.post("/roster/import", data={"csrf": csrf},
                          files={"sheet": ("村.csv", SHEET.encode("utf-8"), "text/csv")})
    assert preview.status_code == 200
    assert not english_words(visible_text(preview.text), {"csv"}), visible_text(preview.text)
    assert "<th>户主姓名</th>" in preview.text and "<th>电话</th>" in preview.text
    # 李秀英's two phones: each on its own line, not run together.
    assert re.search(r"139 0013 8002\s*<br>\s*150 1380 0022", preview.text), preview.text


# -- the CLI's Chinese outputs -------------------------------------------------------------------

def cli(*args, config=None):
    result = CliRunner().invoke(main, [*args, *(["--config", str(config)] if config else [])])
    return result.exit_code, result.output


def test_roster_show_and_import_speak_chinese(alarmed, tmp_path):
    code, shown = cli("roster", "show", config=alarmed.config_path)
    assert code == 0 and "王建国" in shown, shown
    assert not english_words(shown), shown
    bad = tmp_path / "village.csv"
    bad.write_text(SHEET.replace("13700138004", "138001"), encoding="utf-8")
    code, refused = cli("roster", "import", str(bad), config=alarmed.config_path)
    assert code != 0 and "138001" in refused, refused
    assert not english_words(refused, {"csv"}), refused
    # a file that is not the sheet at all: Excel's "Unicode text"
    unicode_text = tmp_path / "village.txt"
    unicode_text.write_bytes(b"\xff\xfe" + SHEET.encode("utf-16-le"))
    code, refused = cli("roster", "import", str(unicode_text), config=alarmed.config_path)
    assert code != 0 and "不是CSV" in refused, refused
    assert not english_words(refused, {"txt", "Unicode", "UTF"}), refused


def test_incidents_list_and_show_speak_chinese(alarmed):
    code, listed = cli("incidents", "list", config=alarmed.config_path)
    assert code == 0 and "张伟" in listed
    assert not english_words(listed), listed
    code, shown = cli("incidents", "show", "1", config=alarmed.config_path)
    assert code == 0 and "张伟" in shown
    assert not english_words(shown), shown


def test_modem_status_speaks_chinese(alarmed):
    code, shown = cli("modem", "status", config=alarmed.config_path)
    assert code == 0 and shown.startswith("m1: 就绪"), shown
    assert not english_words(shown, NAMES), shown


def test_the_selftest_speaks_chinese(alarmed):
    code, report = cli("selftest", "--siren-seconds", "0", config=alarmed.config_path)
    assert code == 1 and "花名册" in report and "自检未通过：1项失败" in report, report
    assert not english_words(report, {"UTC", "CST"}), report


def test_the_demo_speaks_chinese_from_title_to_summary():
    out = io.StringIO()
    assert run_demo(lang="zh", out=out)
    text = out.getvalue()
    assert "全部送达" in text
    assert not english_words(text, {"demo"}), text


# -- a sheet's problems, on the command line and in the web panel's import preview ---------------

# One household a problem: a name too long, six phones, a flag nobody knows, a check-in time
# that is not one, a boundary group with a name too long.
BAD_SHEET = (
    "户号,户主姓名,地址,电话,组别,中心户长,标记,报平安时间\n"
    "H01,王建国,石桥村一组1号,138 0013 8001,第一组,是,,8点半\n"
    f"H02,{'李' * 25},石桥村一组2号,13900138002,第一组,,,\n"
    "H03,张伟,石桥村一组3号,13800138011;13800138012;13800138013;13800138014;13800138015;"
    "13800138016,第一组,,,\n"
    "H04,刘洋,石桥村一组4号,13700138004,第一组,,会飞,\n"
    f"H05,陈静,石桥村二组1号,13600138005,第二组、{'组' * 25},是,,\n"
    "H06,杨磊,石桥村二组2号,13500138006,第二组,,,25:00\n"
)


def _zip(**members: bytes) -> bytes:
    import zipfile
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():  # a fixed date: the same bytes in every process
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data)
    return out.getvalue()


# (file name, bytes, a word the refusal names): every kind of sheet the office can get wrong
BAD_FILES = [
    ("村.csv", BAD_SHEET.encode("utf-8"), "会飞"),
    ("村.xlsx", b"this is not a workbook at all", "xlsx"),
    ("村.xlsx", _zip(**{"readme.txt": b"hello"}), "xlsx"),
]
# Test ids by name, not by the bytes: xdist's workers must collect the same ids.
BAD_FILE_IDS = ["csv-every-problem", "xlsx-not-a-zip", "xlsx-zip-without-workbook"]


@pytest.mark.parametrize("name, content, named", BAD_FILES, ids=BAD_FILE_IDS)
def test_a_bad_sheets_problems_are_chinese_on_the_command_line(alarmed, tmp_path, name,
                                                              content, named):
    sheet = tmp_path / name
    sheet.write_bytes(content)
    code, refused = cli("roster", "import", str(sheet), config=alarmed.config_path)
    assert code == 2 and named in refused, refused
    assert not english_words(refused), refused


def test_every_problem_of_the_bad_sheet_is_named(alarmed, tmp_path):
    sheet = tmp_path / "village.csv"
    sheet.write_bytes(BAD_SHEET.encode("utf-8"))
    _code, refused = cli("roster", "import", str(sheet), config=alarmed.config_path)
    for line in range(2, 8):
        assert f"第{line}行" in refused, (line, refused)


def test_a_sheet_that_cannot_be_read_is_refused_in_chinese(alarmed, tmp_path):
    for missing in (tmp_path / "nowhere.csv", tmp_path):  # no such file; a folder
        code, refused = cli("roster", "import", str(missing), config=alarmed.config_path)
        assert code == 2 and str(missing) in refused, refused
        assert not english_words(refused), refused


@pytest.mark.parametrize("name, content, named", BAD_FILES, ids=BAD_FILE_IDS)
def test_a_bad_sheets_problems_are_chinese_in_the_import_preview(office, name, content, named):
    csrf = re.search(r'name="csrf" value="([^"]+)"', office.get("/roster").text).group(1)
    preview = office.post("/roster/import", data={"csrf": csrf},
                          files={"sheet": (name, content, "application/octet-stream")})
    assert preview.status_code == 400
    shown = visible_text(preview.text)
    assert named in shown, shown
    assert not english_words(shown), shown


def test_the_roster_warnings_are_chinese_in_the_import_preview(office):
    # SHEET's 第二组 has two households, fewer than advised; 第一组's 李秀英 lives alone
    flagged = SHEET.replace("H01,王建国,石桥村一组1号,138 0013 8001,第一组,是,",
                            "H01,王建国,石桥村一组1号,138 0013 8001,第一组,是,独居老人")
    csrf = re.search(r'name="csrf" value="([^"]+)"', office.get("/roster").text).group(1)
    preview = office.post("/roster/import", data={"csrf": csrf},
                          files={"sheet": ("村.csv", flagged.encode("utf-8"), "text/csv")})
    shown = visible_text(preview.text)
    assert preview.status_code == 200 and "第二组有2户" in shown, shown
    assert "王建国是独居老人户" in shown, shown
    assert not english_words(shown, {"csv"}), shown



def test_a_form_the_roster_page_cannot_take_is_refused_in_chinese(office):
    csrf = re.search(r'name="csrf" value="([^"]+)"', office.get("/roster").text).group(1)
    no_file = office.post("/roster/import", data={"csrf": csrf},
                          files={"sheet": ("", b"", "application/octet-stream")})
    stale = office.post("/roster/households/H99/move", data={"csrf": csrf, "group": "G9"})
    for refused in (no_file, stale):
        shown = visible_text(refused.text)
        assert refused.status_code == 400 and "未保存" in shown, shown
        assert not english_words(shown), shown


# -- the selftest's word on speech in alarm calls, in each of its states -------------------------

# The modem names itself (maker, model, network, signal as AT+CSQ); the speech engine is a
# program (espeak-ng) with its voice's code (cmn); modules are sold by their model (EC2x,
# A76xx; the emulator's generic modem is EMU-1).
SPEECH_NAMES = {"SIMCOM", "INCORPORATED", "CSQ", "CHINA", "MOBILE", "UTC", "CST", "espeak", "ng",
                "cmn", "EC", "xx", "EMU"}


@pytest.mark.parametrize("profile, speech, said", [
    ("sim7600", "", "合成了一句"),                                       # espeak-ng renders it
    ("sim7600", 'engine = "tones"\n', "模拟音调用"),                     # the simulated voice
    ("sim7600", 'engine = "espeak-ng"\nvoice = "xx-none"\n', "没有`xx-none`这个语音"),
    ("generic", "", "只振铃"),                                           # rings only
])
def test_the_selftest_says_how_the_box_speaks_into_calls_in_chinese(tmp_path, profile, speech,
                                                                     said):
    from edgebox.emulator import EmulatorServer
    from edgebox.emulator.timing import Latency
    emu = EmulatorServer(profile, link=str(tmp_path / "modem"),
                         latency=Latency.realistic(scale=0.02))
    emu.start()
    try:
        config = tmp_path / "edgebox.toml"
        config.write_text(f'[box]\ndatabase = "{tmp_path / "box.db"}"\n[speech]\n{speech}'
                          f'[[modems]]\nname = "m1"\nport = "{emu.link}"\n', encoding="utf-8")
        _code, report = cli("selftest", "--siren-seconds", "0", config=config)
    finally:
        emu.stop()
    [line] = [line for line in report.splitlines() if "模块m1通话语音" in line]
    assert said in line, report
    assert not english_words(report, SPEECH_NAMES), report


# -- a wrong config and a wrong edgebox.txt, as the technician reads them ------------------------

# The Pi's pin names, as the boards and every wiring diagram print them.
PIN_NAMES = {"GPIO", "BCM"}
# Values typed in a config, named back as Python shows them (not words to translate).
CONFIG_VALUES = {"True", "False"}
# TOML values of every type, each wrong for some key: a key's check meets one of them.
BAD_VALUES = ['"1 2"', '"  "', '""', "123456789", "-5", "0.001", "true", "[1]", '["1 2"]',
              "[-1.0]", "[]", '"+1"', "[0.001, 1]", "[1, 1, 1]"]


def _config_problem(text: str):
    from edgebox.config_file import parse_config
    from edgebox.errors import ConfigError
    try:
        parse_config(text)
    except ConfigError as exc:
        return exc
    return None


def _every_key_with_every_bad_value():
    """(key, TOML) for each declared key and each value of BAD_VALUES."""
    from edgebox.config import MODEM_KEYS
    from edgebox.config_file import KEYS
    for key in KEYS:
        section, name = key.split(".", 1)
        for value in BAD_VALUES:
            yield key, f'[{section}]\n{name} = {value}\n[[modems]]\nport = "/dev/null"\n'
    for name in MODEM_KEYS:
        for value in BAD_VALUES:
            port = "" if name == "port" else 'port = "/dev/null"\n'
            yield f"modems.{name}", f"[[modems]]\n{port}{name} = {value}\n"


def _assert_chinese(error, also_allowed=frozenset()):
    from edgebox.i18n import Text, said
    assert isinstance(error.problem, Text), (error.key, error.problem)
    shown = said(error, "zh")
    assert "设置项" in shown, shown
    assert not english_words(shown, PIN_NAMES | CONFIG_VALUES | also_allowed), (str(error), shown)
    return error.problem.key


def test_every_problem_a_config_key_can_have_is_a_text_said_in_chinese():
    kinds = {_assert_chinese(error) for error in (
        _config_problem(text) for _key, text in _every_key_with_every_bad_value()) if error}
    # the type, the range and the choices of a key, and each section's own checks, were met
    assert {"config.must_be_not", "config.got", "config.must_be"} <= kinds, kinds
    assert len(kinds) >= 5, kinds


MODEM = '[[modems]]\nport = "/dev/null"\n'
# What is wrong with a config as a whole, or in the tables and lists the keys' checks do not see.
ESCALATION = MODEM + "[[escalation]]\nafter_minutes = 1\n"
BAD_CONFIGS = [
    pytest.param("", id="no-modem"),
    pytest.param("modems = 1\n", id="modems-not-tables"),
    pytest.param(MODEM + "baud = 9600\n", id="modem-key-typo"),
    pytest.param("[box]\nnmae = 'x'\n" + MODEM, id="section-key-typo"),
    pytest.param("[sirens]\nzzz = 1\n" + MODEM, id="unknown-section"),
    pytest.param(MODEM + 'name = "a"\n' + MODEM + 'name = "a"\n', id="two-modems-one-name"),
    pytest.param("escalation = 1\n" + MODEM, id="escalation-not-tables"),
    pytest.param(ESCALATION + "actions = ['打电话']\n", id="escalation-unknown-action"),
    pytest.param(ESCALATION + "actions = []\n", id="escalation-no-action"),
    pytest.param(ESCALATION + "actions = ['sms_office']\nwhen = 2\n",
                 id="escalation-unknown-key"),
    pytest.param(MODEM + "[[escalation]]\nafter_minutes = 5\nactions = ['sms_office']\n"
                 "[[escalation]]\nafter_minutes = 1\nactions = ['sms_office']\n",
                 id="escalation-not-rising"),
    pytest.param("[speaker]\ncall_audio_port = 1\n" + MODEM, id="moved-key-not-text"),
    pytest.param("[speaker]\ncall_audio_port = '/dev/a'\n" + MODEM
                 + "name = '主模块'\naudio_port = '/dev/b'\n", id="moved-key-twice"),
    pytest.param("[numbers]\noffice = [13800138000]\n" + MODEM, id="phone-not-text"),
    pytest.param("[numbers]\noffice = ['138001']\n" + MODEM, id="phone-too-short"),
    pytest.param("[drill]\nschedule = [1]\n" + MODEM, id="drill-not-text"),
    pytest.param("[drill]\nschedule = ['sometimes']\n" + MODEM, id="drill-not-a-slot"),
    pytest.param("[drill]\nschedule = ['daily 1 10:00']\n" + MODEM, id="drill-daily-with-day"),
    pytest.param("[drill]\nschedule = ['weekly 9 10:00']\n" + MODEM, id="drill-weekday"),
    pytest.param("[drill]\nschedule = ['monthly 40 10:00']\n" + MODEM, id="drill-month-day"),
    pytest.param("[drill]\nschedule = ['daily 25:00']\n" + MODEM, id="drill-time"),
]
# The words of a drill schedule, typed as they are (named back, not translated).
TYPED_IN_BAD_CONFIGS = {"sometimes", "daily", "weekly", "monthly"}
# Checks of several keys together, made where the settings are read.
SETTINGS = [
    ("edgebox.uplink.settings", "uplink_settings", "[uplink]\nurl = 'https://hub.example.cn'\n"),
    ("edgebox.uplink.settings", "uplink_settings",
     "[box]\nid = '石桥'\n[uplink]\nurl = 'https://hub.example.cn'\ntoken = 'x'\n"),
    ("edgebox.uplink.settings", "uplink_settings",
     "[uplink]\nurl = 'https://hub.example.cn'\ntoken = 'x'\nlink_up = 'pon /dev/null'\n"),
    ("edgebox.uplink.settings", "uplink_settings",
     "[uplink]\nurl = 'https://hub.example.cn'\ntoken = 'x'\nprune_kinds = [1]\n"),
    ("edgebox.uplink.settings", "sms_uplink_settings", "[uplink]\nsms_to = '+8613800138000'\n"),
    ("edgebox.speaker.settings", "speaker_settings", "[speaker]\nquiet_hours = '22:00-22:00'\n"),
    ("edgebox.speaker.settings", "speaker_settings",
     "[speaker]\nlive_numbers = ['13800138000']\n"),
    ("edgebox.speaker.settings", "speaker_settings", "[speaker]\nsimulated_file = ' '\n"),
    ("edgebox.speaker.settings", "speaker_settings", "[speaker]\nrelay_pin = 17\n"),
    ("edgebox.adapters.gpio.panel", "panel_settings", "[panel]\nbutton_ack = 17\n"),
]


@pytest.mark.parametrize("text", BAD_CONFIGS)
def test_what_is_wrong_with_a_config_as_a_whole_is_said_in_chinese(text):
    error = _config_problem(text)
    assert error is not None, text
    _assert_chinese(error, TYPED_IN_BAD_CONFIGS)


@pytest.mark.parametrize("module, function, text", SETTINGS,
                         ids=[f"{function}-{n}" for n, (_m, function, _t) in enumerate(SETTINGS)])
def test_what_is_wrong_with_keys_read_together_is_said_in_chinese(module, function, text):
    import importlib
    from edgebox.config_file import parse_config
    from edgebox.errors import ConfigError
    config = parse_config(text + MODEM + 'name = "主模块"\n')  # named as a village names it
    with pytest.raises(ConfigError) as caught:
        getattr(importlib.import_module(module), function)(config)
    _assert_chinese(caught.value)


def test_no_config_error_is_made_of_plain_english():
    """Every ``ConfigError(key, problem)`` in the package gives a Text (or hands one on), never
    a string literal, an f-string or ``str(...)``: those have no Chinese."""
    import ast
    from pathlib import Path
    import edgebox
    plain = []
    for path in Path(edgebox.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ConfigError"
                    and len(node.args) == 2):
                problem = node.args[1]
                if (isinstance(problem, (ast.Constant, ast.JoinedStr, ast.BinOp))
                        or (isinstance(problem, ast.Call)
                            and getattr(problem.func, "id", None) == "str")):
                    plain.append(f"{path.name}:{node.lineno}")
    assert not plain, plain


@pytest.mark.parametrize("command", [["run"], ["roster", "show"], ["incidents", "list"],
                                     ["selftest"], ["web", "password", "--stdin"]],
                         ids=["run", "roster-show", "incidents-list", "selftest", "web-password"])
def test_every_command_refuses_a_bad_config_in_chinese(tmp_path, command):
    config = tmp_path / "edgebox.toml"
    config.write_text('[alarm]\nring_style = "loud"\n' + MODEM, encoding="utf-8")
    code, said = cli(*command, config=config)
    assert code != 0 and "`alarm.ring_style`" in said and "`call`、`flash`" in said, said
    assert not english_words(said, {"loud"}), said
    # … and a box that speaks English, in English
    config.write_text('[box]\nlanguage = "en"\n[alarm]\nring_style = "loud"\n' + MODEM,
                      encoding="utf-8")
    code, said = cli(*command, config=config)
    assert code != 0 and "must be one of call, flash (got 'loud')" in said, said


def test_the_web_panel_refuses_keys_that_do_not_go_together_in_chinese(tmp_path):
    config = tmp_path / "edgebox.toml"
    config.write_text(f'[box]\ndatabase = "{tmp_path / "box.db"}"\n[web]\nlisten = '
                      '"127.0.0.1:0"\n[uplink]\nurl = "https://hub.example.cn"\n' + MODEM,
                      encoding="utf-8")
    limit = resource.getrlimit(resource.RLIMIT_DATA)
    code, said = cli("web", "serve", config=config)
    assert code == 2 and "设置了 `uplink.url` 就必须填写" in said, said
    assert not english_words(said), said
    # refused before the panel caps its own memory (here: the test runner's process)
    assert resource.getrlimit(resource.RLIMIT_DATA) == limit


def test_an_upload_without_a_platform_is_refused_in_chinese(tmp_path):
    config = tmp_path / "edgebox.toml"
    config.write_text(f'[box]\ndatabase = "{tmp_path / "box.db"}"\n' + MODEM, encoding="utf-8")
    code, said = cli("upload", "now", config=config)
    assert code == 2 and "设置项`uplink.url`" in said, said
    assert not english_words(said), said


def test_a_config_that_cannot_be_read_is_refused_in_chinese(tmp_path):
    code, said = cli("run", config=tmp_path / "nowhere.toml")
    assert code == 2 and "nowhere.toml不存在" in said, said
    assert not english_words(said), said


def test_the_card_s_status_file_is_chinese_first(tmp_path):
    from datetime import datetime, timezone
    from edgebox.provision.apply import Paths, apply
    from edgebox.provision.status import status_report
    from tests.card_support import EVERY_MISTAKE, KEY_WORDS, NOTHING_GIVEN, TYPED
    for text in (EVERY_MISTAKE, NOTHING_GIVEN):
        paths = Paths(tmp_path / "boot", tmp_path / "etc", tmp_path / "zoneinfo")
        paths.boot.mkdir(exist_ok=True)
        (paths.boot / "edgebox.txt").write_text(text, encoding="utf-8")
        report = status_report([("edgebox.txt", apply(paths))], datetime.now(timezone.utc))
        for line in report.splitlines():
            chinese = line.split(" / ")[0]  # each line: its Chinese, then " / " and the English
            assert not english_words(chinese, KEY_WORDS | TYPED), line


def test_provision_check_says_each_problem_in_chinese_then_english(tmp_path):
    from tests.card_support import EVERY_MISTAKE, KEY_WORDS, TYPED
    card = tmp_path / "edgebox.txt"
    card.write_text(EVERY_MISTAKE, encoding="utf-8")
    code, said = cli("provision", "check", str(card))
    assert code == 2 and "第2行（LANGUAGE）" in said and "line 2 (LANGUAGE)" in said, said
    for line in said.splitlines():
        assert not english_words(line.split(" / ")[0], KEY_WORDS | TYPED), line
