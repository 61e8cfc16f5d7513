"""A wrong config stops the daemon with one clear line naming the key; secrets never shown."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from edgebox.config import MODEM_KEYS
from edgebox.config_file import KEYS, load_config, parse_config
from edgebox.domain.escalation import DEFAULT_LADDER
from edgebox.errors import ConfigError

EXAMPLE = Path(__file__).parent.parent / "config" / "edgebox.example.toml"
MINIMAL = '[[modems]]\nport = "/dev/ttyUSB2"\n'


def test_example_config_is_valid_and_documents_every_key():
    config = load_config(EXAMPLE)
    assert [m.port for m in config.modems] == ["/dev/edgebox-modem"]
    text = EXAMPLE.read_text(encoding="utf-8")
    section = None
    documented = set()
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if m := re.match(r"^\[\[?(\w+)\]\]?", line):
            section = m.group(1)
        elif m := re.match(r"^(\w+)\s*=", line):
            documented.add(f"{section}.{m.group(1)}")
            assert lines[i - 1].startswith("#"), f"{section}.{m.group(1)} has no comment above it"
    assert documented == set(KEYS) | {f"modems.{key}" for key in MODEM_KEYS} | {
        "escalation.after_minutes", "escalation.actions"}
    # The example spells out the ladder a box gets without any [[escalation]] table.
    assert config.escalation == DEFAULT_LADDER


def test_each_owner_declares_its_own_section_once():
    from edgebox.adapters.audio.settings import SPEAKER_KEYS
    from edgebox.adapters.gpio.panel_keys import PANEL_KEYS
    from edgebox.adapters.speech.settings import SPEECH_KEYS
    from edgebox.config import CORE_KEYS, Key, join_sections
    from edgebox.uplink.settings import UPLINK_KEYS
    from edgebox.web.settings import WEB_KEYS
    for section, keys in (("panel", PANEL_KEYS), ("speech", SPEECH_KEYS),
                          ("speaker", SPEAKER_KEYS), ("web", WEB_KEYS), ("uplink", UPLINK_KEYS)):
        assert keys and all(key.startswith(section + ".") for key in keys)
        assert not any(key.startswith(section + ".") for key in CORE_KEYS)
    assert list(KEYS) == [*CORE_KEYS, *PANEL_KEYS, *SPEECH_KEYS, *SPEAKER_KEYS, *WEB_KEYS,
                          *UPLINK_KEYS]
    with pytest.raises(ValueError, match="declared twice: web.listen"):
        join_sections(CORE_KEYS, WEB_KEYS, {"web.listen": Key(str, "")})


def test_defaults_fill_everything_but_the_port():
    config = parse_config(MINIMAL)
    assert config.alarm_ring_seconds == 25 and config.box_language == "zh"
    assert config.modems[0].name == "modem1" and config.modems[0].flow_control == "none"
    with pytest.raises(ConfigError, match="'modems': is required"):
        parse_config("")
    with pytest.raises(ConfigError, match=r"'modems\[2\].port': is required"):
        parse_config(MINIMAL + "[[modems]]\nname = 'b'\n")
    with pytest.raises(ConfigError, match="two modems are called 'a'"):
        parse_config("[[modems]]\nname='a'\nport='x'\n[[modems]]\nname='a'\nport='y'\n")


@pytest.mark.parametrize("text,key,problem", [
    ('[[modems]]\nprot = "/dev/x"', "modems[1].prot", "did you mean 'port'"),
    ('[modem]\nport = "/dev/x"', "modem.port", "did you mean 'modems'"),
    (MINIMAL + "baudrate = 'fast'", "modems[1].baudrate", "must be a whole number"),
    (MINIMAL + "baudrate = 1234", "modems[1].baudrate", "must be one of"),
    (MINIMAL + "flow_control = 'xon'", "modems[1].flow_control", "none, rtscts, dsrdtr"),
    (MINIMAL + "[alarm]\nring_seconds = true", "alarm.ring_seconds", "must be"),
    (MINIMAL + "[alarm]\nring_seconds = 1000", "alarm.ring_seconds", "between 5 and 120"),
    (MINIMAL + "[alarm]\nring_style = 'ring'", "alarm.ring_style", "one of call, flash"),
    (MINIMAL + "[alarm]\nflash_seconds = 1", "alarm.flash_seconds", "between 3 and 30"),
    (MINIMAL + "[alarm]\nflash_seconds = '8'", "alarm.flash_seconds", "must be"),
    (MINIMAL + "[box]\nlanguage = 'fr'", "box.language", "zh, en"),
    (MINIMAL + "[numbers]\noffice = ['12345']", "numbers.office", "not a valid number"),
    (MINIMAL + "[numbers]\noffice = [12345]", "numbers.office", "in quotes"),
    (MINIMAL + "[numbers]\noffice = '13800138000'", "numbers.office", "a list"),
    (MINIMAL + "[siren]\npin = 40", "siren.pin", "between 2 and 27"),
    # the sections their owners declare are checked by the same parse
    (MINIMAL + "[panel]\nbutton_ack = 40", "panel.button_ack", "BCM pin 2-27"),
    (MINIMAL + "[web]\nlisten = \"8080\"", "web.listen", "HOST:PORT"),
    (MINIMAL + "[uplink]\nurl = \"hub.example\"", "uplink.url", "http:// or https://"),
    ("[modem\nport=1", "(file)", "not valid TOML"),
    (MINIMAL + "[[escalation]]\nactions = ['siren']", "escalation[1].after_minutes",
     "is required"),
    (MINIMAL + "[[escalation]]\nafter_minutes = 2\nactions = ['siren', 'call_police']",
     "escalation[1].actions", "not 'call_police'"),
    (MINIMAL + "[[escalation]]\nafter_minutes = 2\nactions = []", "escalation[1].actions",
     "must name some of"),
    (MINIMAL + "[[escalation]]\nafter_minutes = 2\nactions = ['siren']\nwhen = 3",
     "escalation[1].when", "unknown key"),
    (MINIMAL + "[[escalation]]\nafter_minutes = 5\nactions = ['siren']\n[[escalation]]\n"
     "after_minutes = 2\nactions = ['sms_office']", "escalation", "rising"),
])
def test_each_mistake_names_its_key(text, key, problem):
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert caught.value.key == key
    assert problem in str(caught.value)


def test_secret_pin_is_never_echoed():
    with pytest.raises(ConfigError) as caught:
        parse_config(MINIMAL + 'pin = "98x7"')
    assert "98x7" not in str(caught.value)
    config = parse_config(MINIMAL + 'pin = "9876"')
    assert config.modems[0].pin == "9876"
    assert config.redacted()["modems"][0]["pin"] == "***"
    assert "9876" not in repr(config.redacted()) and "9876" not in repr(config.modems)


def test_numbers_are_normalised():
    config = parse_config(MINIMAL + "[numbers]\noffice = ['0086 138 0013 8000', '010-12345678']")
    assert config.numbers_office == ["+8613800138000", "+861012345678"]


def test_bom_from_windows_notepad_is_tolerated():
    assert parse_config("\ufeff" + MINIMAL).modems[0].port == "/dev/ttyUSB2"


@pytest.mark.parametrize("body", ['[[modems]]\nport = "/dev/x"\nbaudrate = "fast"\n', "[[[",
                                  '[[modems]]\nport = "/dev/x"\npin = "12ab"\n'])
def test_daemon_refuses_bad_config_with_one_line_and_no_traceback(tmp_path, body):
    path = tmp_path / "edgebox.toml"
    path.write_text(body, encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "edgebox", "run", "--config", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    # Chinese, the box's first language: the file does not say otherwise (or cannot be read)
    assert result.stderr.startswith("edgebox: 设置项"), result.stderr
    assert "12ab" not in result.stderr


def test_a_box_that_speaks_english_refuses_its_bad_config_in_english(tmp_path):
    path = tmp_path / "edgebox.toml"
    path.write_text('[box]\nlanguage = "en"\n[[modems]]\nport = "/dev/x"\nbaudrate = "fast"\n',
                    encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "edgebox", "run", "--config", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr == ("edgebox: config key 'modems[1].baudrate': must be a whole number,"
                             " not 'fast'\n")


def test_missing_config_file_is_a_clear_error(tmp_path):
    result = subprocess.run([sys.executable, "-m", "edgebox", "run", "--config",
                             str(tmp_path / "nope.toml")], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "nope.toml不存在" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_the_old_call_audio_port_is_read_as_the_voice_modem_s_audio_port_with_a_notice():
    # A box upgraded with its old file keeps its live loudspeaker; the notice says what to move.
    text = ('[speaker]\ncall_audio_port = "/dev/ttyUSB4"\n[[modems]]\nname = "sms"\n'
            'port = "/dev/ttyUSB2"\nvoice = false\n[[modems]]\nname = "main"\n'
            'port = "/dev/ttyUSB3"\n')
    config = parse_config(text)
    assert [m.audio_port for m in config.modems] == ["", "/dev/ttyUSB4"]
    [notice] = config.notices
    assert "speaker.call_audio_port" in notice and "modem main" in notice
    assert "[[modems]]" in notice and "/dev/ttyUSB4" in notice
    assert parse_config(MINIMAL).notices == ()


def test_the_old_call_audio_port_that_disagrees_with_the_modem_s_is_a_clear_error():
    text = ('[speaker]\ncall_audio_port = "/dev/ttyUSB4"\n[[modems]]\nport = "/dev/ttyUSB2"\n'
            'audio_port = "/dev/ttyUSB1"\n')
    with pytest.raises(ConfigError, match="speaker.call_audio_port.*already says "
                                          "'/dev/ttyUSB1': delete speaker.call_audio_port"):
        parse_config(text)
    same = text.replace("ttyUSB1", "ttyUSB4")  # saying the same twice is only a notice
    assert parse_config(same).modems[0].audio_port == "/dev/ttyUSB4"


@pytest.mark.parametrize("text, english, chinese", [
    ('[alarm]\nring_style = "loud"\n' + MINIMAL,
     "config key 'alarm.ring_style': must be one of call, flash (got 'loud')",
     "设置项`alarm.ring_style`：只能是`call`、`flash`之一（现在是 'loud'）"),
    ('[alarm]\nring_seconds = "long"\n' + MINIMAL,
     "config key 'alarm.ring_seconds': must be a whole number or a number, not 'long'",
     "设置项`alarm.ring_seconds`：必须是整数或数字，不能是 'long'"),
    ("[[modems]]\nport = '/dev/x'\nbaud = 9600\n",
     "config key 'modems[1].baud': unknown key (did you mean 'baudrate'?)",
     "设置项`modems[1].baud`：没有这个设置项（是不是 `baudrate`？）"),
    ("[[[", None, "设置项（整个文件）：<config>不是有效的 `TOML` 文件："),
])
def test_a_config_problem_keeps_its_english_and_says_itself_in_chinese(text, english, chinese):
    from edgebox.i18n import said
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    if english:
        assert str(caught.value) == english
    assert said(caught.value, "en") == str(caught.value)
    assert said(caught.value, "zh").startswith(chinese), said(caught.value, "zh")
